#!/usr/bin/env python3
"""sigv4_botocore_test: signs seeded random requests with botocore and with luaws, compares."""
import datetime
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
from unittest import mock
from urllib.parse import quote

try:
    from botocore.auth import S3SigV4Auth, SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("skip: botocore is not installed")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

SEED = 20150830
HEADER_CASES = 300  # SigV4Auth: normalised, double-encoded paths
S3_CASES = 60       # S3SigV4Auth: paths as given, x-amz-content-sha256 signed
QUERY_CASES = 60    # SigV4QueryAuth: presigned URLs

SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
LUAWS_BIN = os.environ.get("LUAWS_BIN", os.path.join(SOURCE_DIR, "build", "luaws"))

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
RESERVED = "!$&'()*+,;=:@"
UTF8 = ["é", "ß", "ሴ", "日本", "😀", "Ω"]
SERVICES = ["kms", "ec2", "autoscaling", "iam", "sts", "sqs", "dynamodb", "service", "execute-api"]
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-gov-west-1", "cn-north-1", "il-central-1"]
HEADER_NAMES = ["Content-Type", "X-Amz-Target", "X-Amz-Meta-Color", "My-Header1", "x-custom",
                "Accept", "Content-Encoding", "X-Amz-Acl", "Cache-Control", "If-Match", "X-Zeta"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]


def random_text(rng, alphabet, low, high):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def random_segment(rng):
    kind = rng.random()
    if kind < 0.08:
        return rng.choice([".", ".."])
    if kind < 0.12:
        return ""  # makes "//"
    parts = []
    for _ in range(rng.randint(1, 4)):
        pick = rng.random()
        if pick < 0.5:
            parts.append(random_text(rng, UNRESERVED, 1, 6))
        elif pick < 0.65:
            parts.append(rng.choice(RESERVED))
        elif pick < 0.8:
            parts.append(rng.choice(UTF8))
        elif pick < 0.9:
            parts.append(" ")
        else:
            # Already percent-encoded on the wire; both signers must encode the '%' again.
            parts.append(quote(rng.choice(UTF8 + ["/", "?", "#", " "]), safe=""))
    return "".join(parts)


def random_path(rng, encoded_only=False):
    segments = [random_segment(rng) for _ in range(rng.randint(0, 5))]
    path = "/" + "/".join(segments)
    if rng.random() < 0.3:
        path += "/"
    if encoded_only:
        # S3 style: the path on the wire is already encoded once and is signed as it is.
        path = "/".join(quote(s, safe="-_.~") for s in path.split("/"))
    return path


def encode(s):
    return quote(s, safe="-_.~")


def random_query(rng, allow_repeats=True):
    pairs = []
    keys = []
    for _ in range(rng.randint(0, 6)):
        if keys and allow_repeats and rng.random() < 0.25:
            key = rng.choice(keys)  # repeated key: sorted by value
        else:
            key = random_text(rng, UNRESERVED + RESERVED + " ", 1, 8)
            if rng.random() < 0.15:
                key += rng.choice(UTF8)
            keys.append(key)
        pick = rng.random()
        if pick < 0.15:
            pairs.append(encode(key) + "=")          # empty value
        elif pick < 0.22 and allow_repeats:
            pairs.append(encode(key))                # no '=' at all
        else:
            value = random_text(rng, UNRESERVED + RESERVED + " /", 0, 10)
            if rng.random() < 0.2:
                value += rng.choice(UTF8)
            pairs.append(encode(key) + "=" + encode(value))
    if not allow_repeats:
        seen, unique = set(), []
        for pair in pairs:
            k = pair.split("=")[0]
            if k not in seen:
                seen.add(k)
                unique.append(pair)
        pairs = unique
    return "&".join(pairs)


def random_headers(rng):
    headers = []
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(HEADER_NAMES)
        name = "".join(c.upper() if rng.random() < 0.3 else c for c in name)
        value = random_text(rng, UNRESERVED + RESERVED + "\"/ ", 0, 16)
        pick = rng.random()
        if pick < 0.2:
            value = "  " + value + "   "
        elif pick < 0.35:
            value = value.replace(" ", " \t  ")
        headers.append([name, value])
    if headers and rng.random() < 0.3:
        headers.append([headers[0][0].lower(), random_text(rng, UNRESERVED, 1, 8)])  # duplicate
    return headers


def random_request(rng, kind):
    service = "s3" if kind == "s3" else rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    if rng.random() < 0.2:
        endpoint = "http://127.0.0.1:%d" % rng.randint(1024, 65535)
    elif rng.random() < 0.1:
        endpoint = "https://%s.%s.amazonaws.com:8443" % (service, region)
    else:
        endpoint = "https://%s.%s.amazonaws.com" % (service, region)
    path = random_path(rng, encoded_only=(kind == "s3"))
    query = random_query(rng, allow_repeats=(kind != "query"))
    url = endpoint + path + ("?" + query if query else "")
    body = ""
    if kind != "query" and rng.random() < 0.6:
        body = random_text(rng, UNRESERVED + RESERVED + " {}\"\n", 0, 200)
        if rng.random() < 0.2:
            body += rng.choice(UTF8)
    token = None
    if rng.random() < 0.4:
        token = random_text(rng, UNRESERVED + "+/=", 16, 300)
    when = datetime.datetime(2015, 1, 1) + datetime.timedelta(seconds=rng.randint(0, 20 * 365 * 86400))
    access_key = rng.choice(["AKIDEXAMPLE", "AKIAIOSFODNN7EXAMPLE", "ASIA" + random_text(rng, UNRESERVED[:36], 16, 16)])
    secret_key = random_text(rng, UNRESERVED + "+/", 40, 40)
    return {
        "kind": kind, "method": rng.choice(METHODS if kind != "query" else ["GET", "PUT"]),
        "url": url, "headers": random_headers(rng), "body": body, "service": service,
        "region": region, "access_key": access_key, "secret_key": secret_key,
        "session_token": token, "time": when.strftime("%Y%m%dT%H%M%SZ"), "when": when.isoformat(),
        "expires": rng.randint(1, 604800),
    }


class CanonicalCapture(logging.Handler):
    """Keeps botocore's last logged canonical request, to explain a mismatch."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.canonical = ""

    def emit(self, record):
        if record.msg.startswith("CanonicalRequest"):
            self.canonical = record.args[0] if isinstance(record.args, tuple) else record.args


def botocore_sign(case, capture):
    credentials = Credentials(case["access_key"], case["secret_key"], case["session_token"])
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode("utf-8"))
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: duplicates are kept in order
    when = datetime.datetime.fromisoformat(case["when"])
    if case["kind"] == "query":
        auth = SigV4QueryAuth(credentials, case["service"], case["region"], expires=case["expires"])
    elif case["kind"] == "s3":
        auth = S3SigV4Auth(credentials, case["service"], case["region"])
    else:
        auth = SigV4Auth(credentials, case["service"], case["region"])
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        auth.add_auth(request)
    if case["kind"] == "query":
        return request.url.rsplit("X-Amz-Signature=", 1)[1], capture.canonical
    return request.headers["Authorization"], capture.canonical


LUA_DRIVER = r"""
local cjson = require "cjson"
local sigv4 = require "luaws.sigv4"
local f = assert(io.open(arg[1], "rb"))
local cases = cjson.decode(f:read("a"))
f:close()
local out = {}
for i, c in ipairs(cases) do
  local ok, r = pcall(sigv4.sign, {
    method = c.method, url = c.url, headers = c.headers, body = c.body,
    region = c.region, service = c.service, access_key = c.access_key, secret_key = c.secret_key,
    session_token = c.session_token ~= cjson.null and c.session_token or nil, time = c.time,
    mode = c.kind == "query" and "query" or "header", expires = c.expires,
    normalize_path = c.kind ~= "s3", double_encode = c.kind ~= "s3", sign_body = c.kind == "s3",
  })
  if not ok then
    out[i] = { error = tostring(r) }
  elseif c.kind == "query" then
    out[i] = { value = r.url:match("X%-Amz%-Signature=(%x+)$"), canonical = r.canonical_request }
  else
    out[i] = { value = r.authorization, canonical = r.canonical_request }
  end
end
io.write(cjson.encode(out))
"""


def main():
    rng = random.Random(SEED)
    cases = ([random_request(rng, "header") for _ in range(HEADER_CASES)]
             + [random_request(rng, "s3") for _ in range(S3_CASES)]
             + [random_request(rng, "query") for _ in range(QUERY_CASES)])

    capture = CanonicalCapture()
    logger = logging.getLogger("botocore.auth")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(capture)
    logger.propagate = False
    expected = [botocore_sign(case, capture) for case in cases]

    with tempfile.TemporaryDirectory() as tmp:
        requests_path = os.path.join(tmp, "requests.json")
        driver_path = os.path.join(tmp, "driver.lua")
        with open(requests_path, "w", encoding="utf-8") as f:
            json.dump(cases, f)
        with open(driver_path, "w", encoding="utf-8") as f:
            f.write(LUA_DRIVER)
        proc = subprocess.run([LUAWS_BIN, driver_path, requests_path], capture_output=True, timeout=240)
    if proc.returncode != 0:
        print("luaws failed (%d): %s" % (proc.returncode, proc.stderr.decode(errors="replace")))
        print("0 passed, %d failed" % len(cases))
        return 1
    results = json.loads(proc.stdout)

    passed = failed = 0
    for i, (case, (want, botocore_canonical), got) in enumerate(zip(cases, expected, results)):
        if got.get("value") == want:
            passed += 1
            continue
        failed += 1
        if failed <= 5:
            print("FAIL case %d (%s %s %s)" % (i + 1, case["kind"], case["method"], case["url"]))
            print("  headers: %r" % case["headers"])
            print("  botocore: %s\n  luaws:    %s" % (want, got.get("value") or got.get("error")))
            print("  botocore canonical request:\n%s" % botocore_canonical)
            print("  luaws canonical request:\n%s" % got.get("canonical"))
    kinds = {k: sum(1 for c in cases if c["kind"] == k) for k in ("header", "s3", "query")}
    print("signed %d requests (seed %d): %d SigV4Auth, %d S3SigV4Auth, %d SigV4QueryAuth"
          % (len(cases), SEED, kinds["header"], kinds["s3"], kinds["query"]))
    if len(results) != len(cases):
        failed += 1
        print("luaws returned %d results for %d requests" % (len(results), len(cases)))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed >= 200 else 1


if __name__ == "__main__":
    sys.exit(main())
