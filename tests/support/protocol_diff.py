"""protocol_diff: botocore's half of the differential protocol tests (values, wire forms, comparison).

Random values are built from botocore shapes (seeded), requests are serialised by botocore's own
serializers (plus its default request checksum), responses and error responses of every protocol
are written with botocore's serializers and parsed with its parsers, and luaws's answers (from
tests/support/protocol_diff_driver.lua) are compared shape by shape.
"""
import base64
import calendar
import datetime
import hashlib
import io
import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from botocore import parsers, serialize
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.config import Config
from botocore.httpchecksum import _CHECKSUM_CLS, apply_request_checksum, resolve_request_checksum_algorithm
from botocore.utils import parse_timestamp

PROTOCOLS = ["json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2"]
BODY_TEXT = "abc XYZ09 -_.~/+%&<>\"'é日😀=?#"
HEADER_TEXT = "abcXYZ09-_.~/+%&=?#;: "
LABEL_TEXT = "abc09-_.~ /+%é&=?"


def resolve_protocol(service_model):
    """The protocol botocore uses: the first of its priority order in metadata.protocols."""
    listed = service_model.metadata.get("protocols")
    if listed:
        for p in PROTOCOLS:
            if p in listed:
                return p
    return service_model.metadata["protocol"]


class ValueGen:
    """Random values of botocore shapes. mode: "request" or "response"."""

    def __init__(self, rng, mode, protocol):
        self.rng, self.mode, self.protocol = rng, mode, protocol

    def text(self, alphabet, low, high):
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(low, high)))

    def string(self, shape, ctx):
        if shape.enum:
            return self.rng.choice(shape.enum)
        if ctx == "label":
            return self.text(LABEL_TEXT, 1, 8)
        if ctx == "hostlabel":
            return self.text("abc019-", 1, 8)
        if ctx in ("header", "headerlist"):
            text = self.text(HEADER_TEXT.replace(" ", ""), 1, 8)
            if ctx == "headerlist" and self.mode == "request" and self.rng.random() < 0.3:
                text += self.rng.choice([",x", '"q"'])
            return text
        return self.text(BODY_TEXT, 0, 10)

    def value(self, shape, ctx="body", depth=0, stack=()):
        t = shape.type_name
        rng = self.rng
        if t == "structure":
            if getattr(shape, "is_document_type", False):
                return {"k": [1, "v", True], "n": {"x": 2.5}}
            return self.structure(shape, depth, stack)
        if t == "list":
            low = 1 if (self.mode == "response" and self.protocol != "json") else 0
            n = rng.randint(low, 2)
            ctx_item = "headerlist" if ctx in ("header", "headerlist") else ctx
            return [self.value(shape.member, ctx_item, depth + 1, stack) for _ in range(n)]
        if t == "map":
            out = {}
            for _ in range(rng.randint(1 if self.mode == "response" else 0, 2)):
                key_ctx = "header" if ctx == "headers" else "mapkey"
                k = self.string(shape.key, key_ctx) if shape.key.type_name == "string" else str(rng.randint(0, 9))
                if ctx == "headers":
                    k = k.lower()
                out[k] = self.value(shape.value, "header" if ctx == "headers" else ctx, depth + 1, stack)
            return dict(sorted(out.items()))
        if t == "string":
            if shape.serialization.get("jsonvalue") and ctx == "header":
                return {"a": [1, "x"], "b": True}
            return self.string(shape, ctx)
        if t in ("integer", "long", "short", "byte"):
            lo = shape.metadata.get("min", 0)
            hi = shape.metadata.get("max", 100000)
            lo, hi = int(max(lo, -10**6)), int(min(hi, 10**6))
            if t == "long" and ctx == "body" and rng.random() < 0.2 and shape.metadata.get("max") is None:
                return 2**53 + 3
            return rng.randint(lo, max(lo, hi))
        if t in ("float", "double"):
            choices = [1.5, -0.25, 3.0, 1e20, 0.1]
            if rng.random() < 0.1 and ctx not in ("label",):
                choices = [float("nan"), float("inf"), float("-inf")]
            return rng.choice(choices)
        if t == "boolean":
            return rng.random() < 0.5
        if t == "timestamp":
            base = rng.randint(0, 2_000_000_000)
            if ctx == "body" and self.protocol not in ("json", "rest-json") and rng.random() < 0.3:
                return base + 0.5
            return base
        if t == "blob":
            return self.text("abcdefXYZ0123", 0, 12)
        raise ValueError("no generator for " + t)

    def structure(self, shape, depth, stack):
        rng = self.rng
        members = shape.members
        out = {}

        recursive = stack.count(shape.name) >= 1
        if shape.is_tagged_union:
            names = [n for n in members if not members[n].serialization.get("eventstream")]
            if not names:
                return {}
            pick = rng.choice(names)
            return {pick: self.value(members[pick], "body", depth + 1, stack + (shape.name,))}
        required = set(shape.required_members)
        for name, member in members.items():
            ser = member.serialization
            if ser.get("eventstream"):
                continue
            if depth == 0 and self.mode == "request" and member.metadata.get("idempotencyToken"):
                # botocore's handler fills tokens, so both sides get the same one (in model order)
                out[name] = "00000000-0000-4000-8000-%012d" % rng.randint(0, 10**9)
                continue
            want = name in required or (not recursive and depth < 4 and rng.random() < 0.6)
            if not want:
                continue
            loc = ser.get("location")
            if self.mode == "response" and loc == "statusCode":
                out[name] = rng.choice([200, 201, 202, 204])
                continue
            ctx = {"uri": "label", "querystring": "query", "header": "header", "headers": "headers"}.get(loc, "body")
            if ser.get("hostLabel"):
                ctx = "hostlabel"
            out[name] = self.value(member, ctx, depth + 1, stack + (shape.name,))
        return out


# ---------------------------------------------------------------------------------------------
# Requests


def botocore_request(protocol, op, params):
    """botocore's request for params: {method, path, query_pairs, headers, body, host_prefix}."""
    ser = serialize.create_serializer(protocol, include_validation=False)
    req = ser.serialize_to_request(params, op)
    req["url"] = "http://example.com/"
    req["context"] = {"client_config": Config(request_checksum_calculation="when_supported"), "checksum": {}}
    resolve_request_checksum_algorithm(req, op, params)
    body = req.get("body")
    if isinstance(body, dict):  # query/ec2: form pairs; the checksum is computed on the wire form
        pass
    apply_request_checksum(req)
    host_prefix = req.get("host_prefix")
    prepare_request_dict(req, endpoint_url="https://example.com")
    prepared = create_request_object(req).prepare()
    split = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {k.lower(): v for k, v in req["headers"].items()}
    return {"method": prepared.method, "path": split.path, "query": split.query, "headers": headers,
            "body": body, "host_prefix": host_prefix, "checksum_of": checksum_of}


def checksum_of(algorithm, body):
    cls = _CHECKSUM_CLS.get(algorithm)
    return cls().handle(body) if cls else None


def query_pairs(qs):
    return sorted(p for p in qs.split("&") if p != "") if qs else []


def xml_tree(data):
    def conv(el):
        return (el.tag, sorted(el.attrib.items()), (el.text or "").strip() if len(el) else (el.text or ""),
                [conv(c) for c in el])
    return conv(ET.fromstring(data))


def cbor_value(data):
    p = parsers.RpcV2CBORParser()
    return p.parse_data_item(p.get_peekable_stream_from_bytes(data)) if data else None


def body_form(protocol, op, data, headers):
    """A comparable form of a request body."""
    if not data:
        return None
    payload = op.input_shape.serialization.get("payload") if op.input_shape else None
    if payload and op.input_shape.members[payload].type_name in ("blob", "string"):
        return ("raw", data)
    if protocol in ("json", "rest-json"):
        return ("json", json.loads(data))
    if protocol == "rest-xml":
        return ("xml", xml_tree(data))
    if protocol in ("query", "ec2"):
        return ("form", sorted(data.decode("utf-8").split("&")))
    if protocol == "smithy-rpc-v2-cbor":
        return ("cbor", cbor_value(data))
    return ("raw", data)


def header_form(name, value, op):
    """jsonvalue headers compare as the JSON they carry; others as text."""
    if op.input_shape:
        for member_name, m in op.input_shape.members.items():
            if m.serialization.get("location") == "header" and \
                    m.serialization.get("name", member_name).lower() == name and \
                    m.serialization.get("jsonvalue"):
                return json.loads(base64.b64decode(value))
    return value


def compare_request(protocol, op, ours, theirs):
    """Differences (list of strings) between luaws's answer and botocore's request."""
    diffs = []
    if ours["method"] != theirs["method"]:
        diffs.append("method %s != %s" % (ours["method"], theirs["method"]))
    if ours["path"] != theirs["path"]:
        diffs.append("path %r != %r" % (ours["path"], theirs["path"]))
    if query_pairs(ours["query"]) != query_pairs(theirs["query"]):
        diffs.append("query %r != %r" % (ours["query"], theirs["query"]))
    if (ours.get("host_prefix") or None) != theirs["host_prefix"]:
        diffs.append("host_prefix %r != %r" % (ours.get("host_prefix"), theirs["host_prefix"]))
    our_headers = {h[0].lower(): h[1] for h in ours["headers"]}
    body = base64.b64decode(ours["body_b64"])
    for name in sorted(set(our_headers) | set(theirs["headers"])):
        a, b = our_headers.get(name), theirs["headers"].get(name)
        if name.startswith("x-amz-checksum-") and a is not None and b is not None and a != b:
            # XML bodies may differ byte-wise (<a/> or attribute order): check ours against our body
            algorithm = name[len("x-amz-checksum-"):]
            expect = theirs["checksum_of"](algorithm, body)
            if expect is not None and a != expect:
                diffs.append("header %s: %r is not the checksum of our body (%r)" % (name, a, expect))
            continue
        if a is None or b is None or header_form(name, a, op) != header_form(name, b, op):
            diffs.append("header %s: %r != %r" % (name, a, b))
    try:
        a, b = body_form(protocol, op, body, our_headers), body_form(protocol, op, theirs["body"], theirs["headers"])
    except Exception as e:  # noqa: BLE001 - an unreadable body is a difference
        diffs.append("body unreadable: %s" % e)
        return diffs
    if a != b:
        diffs.append("body %r != %r" % (body[:2000], theirs["body"][:2000]))
    return diffs


# ---------------------------------------------------------------------------------------------
# Responses


def _xml_bytes(shape, value, root_name):
    ser = serialize.RestXMLSerializer()
    pseudo = ET.Element("")
    ser._serialize(shape, value, pseudo, root_name)
    return list(pseudo)[0]


def _json_body(shape, value):
    ser = serialize.JSONSerializer()
    out = {}
    ser._serialize(out, value, shape)
    return json.dumps(out).encode("utf-8")


def _cbor_body(shape, value):
    ser = serialize.RpcV2CBORSerializer()
    out = bytearray()
    ser._serialize_data_item(out, value, shape)
    return bytes(out)


def _body_of(protocol, shape, value, root_name):
    if protocol in ("json", "rest-json"):
        return _json_body(shape, value)
    if protocol == "smithy-rpc-v2-cbor":
        return _cbor_body(shape, value)
    return ET.tostring(_xml_bytes(shape, value, root_name))


def botocore_response(protocol, op, value, service_model):
    """An HTTP response carrying value for op's output shape: {status_code, headers, body}."""
    shape = op.output_shape
    status = op.http.get("responseCode", 200)
    headers = {"x-amzn-requestid": "req-1", "x-amz-request-id": "req-1"}
    body = b""
    ns = service_model.metadata.get("xmlNamespace")
    if protocol in ("rest-json", "rest-xml"):
        rest = serialize.RestJSONSerializer()
        body_params = {}
        for name, m in shape.members.items():
            if name not in value:
                continue
            loc = m.serialization.get("location")
            if loc == "statusCode":
                status = value[name]
            elif loc == "header":
                headers[m.serialization.get("name", name).lower()] = rest._convert_header_value(m, value[name])
            elif loc == "headers":
                prefix = m.serialization.get("name", "").lower()
                for k, v in value[name].items():
                    headers[prefix + k] = v
            else:
                body_params[name] = value[name]
        payload = shape.serialization.get("payload")
        if payload:
            pm = shape.members[payload]
            if pm.type_name in ("blob", "string"):
                v = value.get(payload, "")
                body = v.encode("utf-8") if isinstance(v, str) else v
            elif payload in value:
                body = _body_of(protocol, pm, value[payload], pm.serialization.get("name", payload))
        elif body_params:
            body = _body_of(protocol, shape, body_params, shape.serialization.get("name", op.name + "Result"))
    elif protocol == "json" or protocol == "smithy-rpc-v2-cbor":
        body = _body_of(protocol, shape, value, None)
        if protocol == "smithy-rpc-v2-cbor":
            headers["smithy-protocol"] = "rpc-v2-cbor"
    else:
        inner = _xml_bytes(shape, value, "Result")
        root = ET.Element(op.name + "Response")
        if ns:
            root.set("xmlns", ns)
        if protocol == "query":
            wrapper = shape.serialization.get("resultWrapper")
            holder = ET.SubElement(root, wrapper) if wrapper else root
            holder.extend(list(inner))
            meta = ET.SubElement(root, "ResponseMetadata")
            ET.SubElement(meta, "RequestId").text = "req-1"
        else:
            root.extend(list(inner))
            ET.SubElement(root, "requestId").text = "req-1"
        body = ET.tostring(root)
    return {"status_code": status, "headers": headers, "body": body}


class _NoMembers:
    """Stands in for an exception shape the model does not declare (ec2 declares none)."""
    members = {}
    name = "Unmodeled"


def botocore_error_response(protocol, service_model, code, shape, value, status):
    """An error response for the modeled exception `shape` (code `code`) carrying value; shape
    None gives an unmodeled error with a message only."""
    headers = {"x-amzn-requestid": "req-1"}
    if shape is None:
        shape, value = _NoMembers(), {}
    body_params = dict(value)
    if isinstance(shape, _NoMembers):
        return _unmodeled_error(protocol, code, status, headers)
    if protocol == "rest-json":
        headers["x-amzn-errortype"] = code + ":http://internal.amazon.com/"
        rest = serialize.RestJSONSerializer()
        for name, m in shape.members.items():
            loc = m.serialization.get("location")
            if name in body_params and loc == "header":
                header = m.serialization.get("name", name).lower()
                value = rest._convert_header_value(m, body_params.pop(name))
                if header != "x-amzn-errortype":  # a member bound to it would replace the code
                    headers[header] = value
            elif name in body_params and loc:
                body_params.pop(name)
        body = _json_body(shape, body_params)
    elif protocol == "json":
        data = json.loads(_json_body(shape, body_params))
        data["__type"] = "com.amazonaws.svc#" + code
        body = json.dumps(data).encode("utf-8")
    elif protocol == "smithy-rpc-v2-cbor":
        body_params = {k: v for k, v in body_params.items()}
        body = _cbor_body(shape, body_params)
        headers["smithy-protocol"] = "rpc-v2-cbor"
        # __type goes in as an extra map entry: re-encode with it first
        ser = serialize.RpcV2CBORSerializer()
        extra = bytearray()
        ser._serialize_type_string(extra, code, None, None)
        body = _cbor_with_type(body, bytes(extra))
    else:
        for name, m in shape.members.items():
            if m.serialization.get("location"):
                body_params.pop(name, None)
        err = _xml_bytes(shape, body_params, "Error")
        code_el = ET.Element("Code")
        code_el.text = code
        err.insert(0, code_el)
        if protocol == "ec2":
            root = ET.Element("Response")
            ET.SubElement(ET.SubElement(root, "Errors"), "Error").extend(list(err))
            ET.SubElement(root, "RequestID").text = "req-1"
        else:
            root = ET.Element("ErrorResponse")
            type_el = ET.Element("Type")
            type_el.text = "Sender"
            err.insert(0, type_el)
            root.append(err)
            ET.SubElement(root, "RequestId").text = "req-1"
        body = ET.tostring(root)
    return {"status_code": status, "headers": headers, "body": body}


def _unmodeled_error(protocol, code, status, headers):
    if protocol in ("json", "rest-json"):
        if protocol == "rest-json":
            headers["x-amzn-errortype"] = code
        return {"status_code": status, "headers": headers,
                "body": json.dumps({"__type": code, "message": "went wrong"}).encode()}
    if protocol == "smithy-rpc-v2-cbor":
        headers["smithy-protocol"] = "rpc-v2-cbor"
        ser = serialize.RpcV2CBORSerializer()
        out = bytearray([0xA2])
        for k, v in (("__type", code), ("message", "went wrong")):
            ser._serialize_type_string(out, k, None, None)
            ser._serialize_type_string(out, v, None, None)
        return {"status_code": status, "headers": headers, "body": bytes(out)}
    err = "<Error><Code>%s</Code><Message>went wrong</Message></Error>" % code
    if protocol == "ec2":
        body = "<Response><Errors>%s</Errors><RequestID>req-1</RequestID></Response>" % err
    else:
        body = "<ErrorResponse>%s<RequestId>req-1</RequestId></ErrorResponse>" % err
    return {"status_code": status, "headers": headers, "body": body.encode()}


def _cbor_with_type(body, type_value):
    """Adds "__type": <type_value> to the CBOR map in body (definite or indefinite length)."""
    first = body[0]
    key = bytes([0x66]) + b"__type"
    if first == 0xBF:
        return bytes([0xBF]) + key + type_value + body[1:]
    count = first & 0x1F
    if count < 23:
        return bytes([0xA0 | (count + 1)]) + key + type_value + body[1:]
    return body


def botocore_parse(protocol, op, response, service_model, error=False):
    parser = parsers.create_parser(protocol)
    response = dict(response, headers=HeadersDict(response["headers"]))
    if not error:
        parsed = parser.parse(response, op.output_shape)
        parsed.pop("ResponseMetadata", None)
        return parsed
    parsed = parser.parse(response, op.output_shape)
    code = parsed.get("Error", {}).get("Code")
    shape = service_model.shape_for_error_code(code)
    fields = {}
    if shape is not None:
        fields = parser.parse(response, shape)
        fields.pop("ResponseMetadata", None)
        fields.pop("Error", None)
    return {"code": code, "fields": fields}


# ---------------------------------------------------------------------------------------------
# Shape-directed comparison of parsed values


def _num(v):
    if isinstance(v, str) and v in ("NaN", "Infinity", "-Infinity"):
        return float(v)
    if isinstance(v, dict) and "__int" in v:
        return int(v["__int"])
    if isinstance(v, dict) and "__float" in v:
        return float(v["__float"])
    return v


def _bytes(v):
    if v is None:
        return None
    if hasattr(v, "read"):
        v = v.read()
    if isinstance(v, dict) and "__b64" in v:
        return base64.b64decode(v["__b64"])
    if isinstance(v, str):
        return v.encode("utf-8")
    return bytes(v)


def _epoch(v):
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            return calendar.timegm(v.timetuple()) + v.microsecond / 1e6
        return v.timestamp()
    if v is None:
        return None
    return parse_timestamp(v).timestamp()


def compare_value(shape, theirs, ours, path, diffs):
    """Appends to diffs where luaws's `ours` differs from botocore's `theirs` under shape."""
    if theirs is None and ours is None:
        return
    t = shape.type_name if shape is not None else None
    if t == "structure" and not getattr(shape, "is_document_type", False) and isinstance(theirs, dict):
        if not isinstance(ours, dict):
            diffs.append("%s: %r != %r" % (path, ours, theirs))
            return
        for name in set(theirs) | set(ours):
            member = shape.members.get(name)
            compare_value(member, theirs.get(name), ours.get(name), path + "." + name, diffs)
        return
    if t == "list" and isinstance(theirs, list):
        if ours == {}:
            ours = []
        if not isinstance(ours, list) or len(ours) != len(theirs):
            diffs.append("%s: %r != %r" % (path, ours, theirs))
            return
        for i, (a, b) in enumerate(zip(theirs, ours)):
            compare_value(shape.member, a, b, "%s[%d]" % (path, i), diffs)
        return
    if t == "map" and isinstance(theirs, dict):
        if ours == []:
            ours = {}
        if not isinstance(ours, dict) or set(map(str, ours)) != set(map(str, theirs)):
            diffs.append("%s: %r != %r" % (path, ours, theirs))
            return
        for k in theirs:
            compare_value(shape.value, theirs[k], ours.get(str(k)), "%s.%s" % (path, k), diffs)
        return
    if isinstance(theirs, list) and theirs and isinstance(theirs[0], ET.Element):
        return  # botocore hands back raw elements when a scalar member repeats (a botocore quirk)
    if theirs is None or ours is None:
        diffs.append("%s: %r != %r" % (path, ours, theirs))
        return
    try:
        if t == "timestamp":
            same = abs(_epoch(theirs) - _epoch(ours)) < 1e-3
        elif t == "blob":
            same = _bytes(theirs) == _bytes(ours)
        elif t in ("float", "double"):
            a, b = _num(theirs), _num(ours)
            same = (a != a and b != b) or a == b
        else:
            same = theirs == ours or (isinstance(theirs, (int, float)) and _num(ours) == theirs)
    except Exception:  # noqa: BLE001
        same = False
    if not same:
        diffs.append("%s: %r != %r" % (path, ours, theirs))


def json_default(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return v.decode("latin-1")
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    raise TypeError(repr(v))


def to_wire_json(v):
    """params for the luaws side: non-finite floats as the strings botocore would send."""
    if isinstance(v, float) and not math.isfinite(v):
        return {"__float": "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")}
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
        return {"__int": str(v)}
    if isinstance(v, dict):
        return {k: to_wire_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_wire_json(x) for x in v]
    return v


def run_luaws(luaws_bin, driver, cases, env, workdir):
    path_in = os.path.join(workdir, "cases.json")
    path_out = os.path.join(workdir, "answers.json")
    with open(path_in, "w", encoding="utf-8") as f:
        json.dump(cases, f, default=json_default)
    proc = subprocess.run([luaws_bin, driver, path_in, path_out], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError("driver failed")
    with open(path_out, encoding="utf-8") as f:
        return json.load(f)


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:12]


__all__ = ["ValueGen", "botocore_request", "compare_request", "botocore_response", "botocore_parse",
           "botocore_error_response", "compare_value", "resolve_protocol", "run_luaws", "to_wire_json",
           "digest", "io"]
