#!/usr/bin/env python3
"""seeds.py: writes the hand-made seed inputs of fuzz/corpus/<target>/ (run once; libFuzzer adds
the rest). Seeds for sigv4 come from the AWS SigV4 test suite when it is present."""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


XML = {
    "sts-identity": """<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/alice</Arn>
    <UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account></GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>""",
    "ec2-images": """<?xml version="1.0" encoding="UTF-8"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>
<imagesSet><item><imageId>ami-0123456789abcdef0</imageId><imageOwnerId>111122223333</imageOwnerId>
<blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><snapshotId>snap-1</snapshotId>
<encrypted>true</encrypted><kmsKeyId>arn:aws:kms:us-east-1:111122223333:key/abcd</kmsKeyId></ebs></item>
</blockDeviceMapping><tagSet/></item></imagesSet></DescribeImagesResponse>""",
    "error": """<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>
<Message>The security token included in the request is expired</Message></Error>
<RequestId>req-1</RequestId></ErrorResponse>""",
    "ec2-error": """<Response><Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error></Errors>
<RequestID>x</RequestID></Response>""",
    "asg-activities": """<DescribeScalingActivitiesResponse><DescribeScalingActivitiesResult><Activities>
<member><StatusCode>Failed</StatusCode><StatusMessage>Client.InternalError: Client error on launch</StatusMessage>
<Description>Launching a new EC2 instance.  Status Reason: Instance became unhealthy</Description>
</member></Activities></DescribeScalingActivitiesResult></DescribeScalingActivitiesResponse>""",
    "entities-cdata": """<a x="1" y='&amp;&lt;&#x41;&#65;'>t&amp;ext<![CDATA[<raw> & stuff]]><b/>  <c>\u00e9\u4e2d</c></a>""",
    "namespaces": """<p:root xmlns:p="urn:x" p:attr="v"><p:child>1</p:child><?pi data?><!-- c --></p:root>""",
    "doctype": """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "lol">]><r>&e;</r>""",
    "deep": "<a>" * 210 + "</a>" * 210,
    "mixed": "<a>one<b>two</b>three<b>four</b>   </a>",
    "latin1": b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>',
    "utf16": '<?xml version="1.0" encoding="UTF-16"?><a>x</a>'.encode("utf-16"),
    "truncated": "<a><b>text</b><c",
    "empty": "",
}

JSON = {
    "get-key-policy": json.dumps({"Policy": json.dumps({
        "Version": "2012-10-17", "Id": "key-default-1",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
             "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]}), "PolicyName": "default"}),
    "describe-key": '{"KeyMetadata":{"AWSAccountId":"111122223333","KeyId":"1234abcd","Arn":"arn:aws:kms:us-east-1:111122223333:key/1234abcd","CreationDate":1.478910908E9,"Enabled":true,"KeyState":"Enabled","KeyManager":"CUSTOMER","EncryptionAlgorithms":["SYMMETRIC_DEFAULT"],"MultiRegion":false}}',
    "list-grants": '{"Grants":[{"GrantId":"abcd","Name":"luaws-asg","GranteePrincipal":"arn:aws:iam::444455556666:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling","Operations":["Decrypt","CreateGrant"],"CreationDate":1700000000,"Constraints":{"EncryptionContextSubset":{"k":"v"}}}],"Truncated":false}',
    "error-json": '{"__type":"com.amazonaws.kms#NotFoundException","message":"Key not found"}',
    "error-typed": '{"__type":"AccessDeniedException:http://internal","Message":"denied"}',
    "policy-object-statement": '{"Version":"2012-10-17","Statement":{"Sid":"One","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}',
    "policy-mixed": '{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":[],"Resource":"*","Condition":{}},{"Sid":"LuawsFuzzGrant","Effect":"Allow","Action":"kms:*"}],"Extra":[1,2.5,-0,1e300,true,false,null,"\\u00e9\\ud83d\\ude00\\n"]}',
    "numbers": '[0,-1,9007199254740993,1.0,1e-7,-2.5E+3,123456789012345678901234567890]',
    "nested": "[" * 300 + "]" * 300,
    "not-object": '"just a string"',
    "garbage": "<html><body>Service Unavailable</body></html>",
    "empty": "",
}

CONFIG = {
    "config": """[default]
region = us-east-1
output = json

[profile dev]
region=eu-west-1
role_arn = arn:aws:iam::111122223333:role/admin
source_profile = default
max_attempts = 3
retry_mode = adaptive
services = local

[services local]
kms =
  endpoint_url = http://127.0.0.1:5000
ec2 =
  endpoint_url = http://127.0.0.1:5000

[profile "spaced name"]
region = ap-northeast-1
s3 =
  addressing_style = path
""",
    "credentials": """[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
; comment
# comment
[b]
aws_access_key_id: AKIDB
aws_secret_access_key: secretb
aws_session_token = token
credential_process = /bin/false
""",
    "bad-region": "[default]\nregion = US_EAST_1!\n",
    "bad-attempts": "[default]\nmax_attempts = zero\nretry_mode = fast\n",
    "dup-section": "[default]\na=1\n[default]\nb=2\n",
    "dup-key": "[default]\na=1\nA=2\n",
    "no-section": "region = us-east-1\n",
    "no-equals": "[default]\nthis line has no separator at all\n",
    "crlf": "[default]\r\nregion = us-west-2\r\n\r\n[profile x]\r\nregion=us-west-1\r\n",
    "nested-bad": "[profile n]\nservices = s\n[services s]\nkms =\n  not a setting\n",
    "empty": "",
}


def sigv4_seeds():
    suite = os.environ.get("SIGV4_SUITE_DIR") or os.path.join(HERE, "..", "..", "shared", "sigv4-test-suite", "v4")
    if not os.path.isdir(suite):
        return
    for name in sorted(os.listdir(suite)):
        req = os.path.join(suite, name, "request.txt")
        if not os.path.exists(req):
            continue
        raw = open(req, "rb").read()
        head, _, body = raw.partition(b"\n\n")
        lines = head.split(b"\n")
        method, target, _ = (lines[0].split(b" ", 2) + [b"", b""])[:3]
        path, _, query = target.partition(b"?")
        host = b""
        headers = []
        for line in lines[1:]:
            if line.lower().startswith(b"host:"):
                host = line[5:].strip()
            headers.append(line)
        flags = 0x02 if b"normalized" in name.encode() and b"unnormalized" not in name.encode() else 0
        flags |= 0x04
        if b"session-token" in name.encode():
            flags |= 0x20
        for extra in (0, 0x01):
            data = bytes([flags | extra]) + b"\n".join([method, path, query, host] + headers) + b"\n\n" + body
            put("sigv4", "%s%s" % (name, "-query" if extra else ""), data)
    odd = {
        "ipv6": b"\x06POST\n/a/./b/../c//d\nb=2&a=1&a=0&%zz=%41\n[::1]:8443\nX-Amz-Date:x\nAuthorization:y\nUser-Agent:z\n\nbody",
        "userinfo": b"\x09GET\n/%E2%82%AC/\nAction=List&Version=1\nuser:pw@Example.COM:443\nhost:Other\n\n",
        "http": b"\x00PUT\n\n\nhttp://h:80\ncontent-type: a   b\n c\n\n",
        "s3": b"\xc0GET\n/bucket/key%2Fwith%20space\nlist-type=2&prefix=a%2Fb\ns3.amazonaws.com\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n\n",
    }
    for k, v in odd.items():
        put("sigv4", k, v)


CBOR = {  # RFC 8949 appendix A vectors and rpc-v2-cbor replies (hex)
    "uint64": "1b000000e8d4a51000", "nint": "3bffffffffffffffff", "half": "f97bff", "single": "fa47c35000",
    "double": "fb7e37e43c8800759c", "nan": "f97e00", "epoch": "c11a514b67b0", "epoch-float": "c1fb41d452d9ec200000",
    "bignum": "c249010000000000000000", "bytes": "4401020304", "text": "64f0908591",
    "array": "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
    "map": "a56161614161626142616361436164614461656145", "indef-bytes": "5f42010243030405ff",
    "indef-text": "7f657374726561646d696e67ff", "indef-nested": "9f018202039f0405ffff",
    "indef-map": "bf61610161629f0203ffff", "simple": "f4f5f6f7", "deep": "81" * 40 + "00",
    "reply": "a6644e616d6561786549746560738" + "1a262496461316453697a651b0000010000000000",
    "reply-items": "a2654974656d7382a3624964617864536565" + "6ec11a6553f10063526177420001a1624964"
                   + "6162664b69647381a0664e616d656b6e",
    "reply-counts": "a266436f756e7473a36178fb3ff8000000000000617af97c006171f97e00644e616d6560",
    "error": "a2665f5f74797065781a636f6d2e6578616d706c6523426f6f6d3a687474703a2f2f78676d657373616765626f6b",
    "truncated": "a3644e616d65", "reserved": "1c", "bad-utf8": "62c0ae", "huge-length": "5bffffffffffffffff",
}


def es_frame(headers, payload=b""):
    """An AWS event-stream frame; headers = [(name, type, value bytes)]."""
    import struct
    import zlib
    block = b"".join(bytes([len(n)]) + n.encode() + bytes([t]) + v for n, t, v in headers)
    total = 16 + len(block) + len(payload)
    prelude = struct.pack(">II", total, len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + block + payload
    return body + struct.pack(">I", zlib.crc32(body))


def eventstream_seeds():
    import struct

    def s(text):
        raw = text.encode()
        return struct.pack(">H", len(raw)) + raw
    event = [(":message-type", 7, s("event")), (":event-type", 7, s("Tick")), (":content-type", 7, s("application/json"))]
    every = [("t", 0, b""), ("f", 1, b""), ("b", 2, b"\xf9"), ("s", 3, b"\xfe\xd4"), ("i", 4, struct.pack(">i", 70000)),
             ("l", 5, struct.pack(">q", -5)), ("raw", 6, struct.pack(">H", 3) + b"\x00\x01\xff"),
             ("str", 7, s("h\u00e9")), ("ts", 8, struct.pack(">q", 1700000000123)), ("id", 9, bytes(range(16)))]
    exception = [(":message-type", 7, s("exception")), (":exception-type", 7, s("Boom"))]
    frames = {
        "event": es_frame(event, b'{"Seq":1}'),
        "all-types": es_frame(every, b"payload"),
        "empty": es_frame([]),
        "two": es_frame(event, b"{}") + es_frame(exception, b'{"message":"m"}'),
        "cut": es_frame(event, b"{}")[:-3],
        "bad-crc": es_frame(event, b"{}")[:-1] + b"\x00",
    }
    for name, frame in frames.items():
        for piece in (0, 6, 127, 128, 255):
            put("eventstream", "%s-%d" % (name, piece), bytes([piece]) + frame)


def main():
    for k, v in CBOR.items():
        put("cbor", k, bytes.fromhex(v))
    eventstream_seeds()
    for k, v in XML.items():
        put("xml", k, v)
    for k, v in JSON.items():
        put("json", k, v)
        if k.startswith("get-key-policy"):
            put("json", k + "-document", json.loads(v)["Policy"])
    for k, v in CONFIG.items():
        put("config", k, v)
    sigv4_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
