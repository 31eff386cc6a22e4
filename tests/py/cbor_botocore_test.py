#!/usr/bin/env python3
"""cbor_botocore_test: smithy-rpc-v2-cbor requests and replies of luaws vs botocore, random shapes.

For every service botocore lists with the smithy-rpc-v2-cbor protocol, models are generated into
a temporary folder (never the repository), and for every operation seeded random parameters
built from the input shape are serialised by botocore's RpcV2CBORSerializer and by luaws; method,
path, headers and body bytes must be equal. Random values of each output shape are encoded with
botocore's CBOR serialiser and parsed by both RpcV2CBORParser and luaws; the results must be
equal (timestamps as ISO 8601 text, blobs as bytes). Error bodies (__type with namespaces and
URIs, x-amzn-query-error) must give the same code and message. botocore itself speaks json to
these services (its protocol priority puts json first); that choice is checked too.
"""
import base64
import datetime
import json
import math
import os
import random
import subprocess
import sys
import tempfile

try:
    import botocore.session
    from botocore import parsers, serialize
except ImportError:
    print("skip: botocore is not installed")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

SEED = 8949
CASES_PER_OPERATION = 3
SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
LUAWS_BIN = os.environ.get("LUAWS_BIN", os.path.join(SOURCE_DIR, "build", "luaws"))

DRIVER = r'''
local cjson = require "cjson"
local model = require "luaws.sdk.model"
local cbor_protocol = require "luaws.sdk.protocol.smithy-rpc-v2-cbor"
local protocol = require "luaws.sdk.protocol"

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function unhex(h) return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end

local function json(v)
  local t = type(v)
  if t == "table" then
    local n, count = #v, 0
    for _ in pairs(v) do count = count + 1 end
    local parts = {}
    if n > 0 and n == count then
      for i = 1, n do parts[i] = json(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    for k, x in pairs(v) do parts[#parts + 1] = cjson.encode(tostring(k)) .. ":" .. json(x) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v ~= v then return '"NaN"' end
    if v == math.huge then return '"Infinity"' end
    if v == -math.huge then return '"-Infinity"' end
    return string.format("%.17g", v)
  elseif t == "string" then
    return cjson.encode(hex(v))   -- strings as hex: blobs may hold any byte
  end
  return tostring(v)
end

local cases = cjson.decode(io.read("a"))
local out = {}
for i, case in ipairs(cases) do
  local svc = model.load(case.service)
  local op = svc:operation(case.operation)
  local ok, result = pcall(function()
    if case.kind == "request" then
      local req = cbor_protocol.build(svc, op, case.params)
      local headers = {}
      for _, h in ipairs(req.headers) do headers[h[1]:lower()] = h[2] end
      return { method = req.method, path = req.path, headers = headers, body = req.body }
    elseif case.kind == "response" then
      local r = cbor_protocol.parse(svc, op, { status = 200, headers = {}, body = unhex(case.body) })
      r.ResponseMetadata = nil
      return r
    elseif case.kind == "error" then
      local e = cbor_protocol.parse_error(svc, op, { status = case.status, headers = case.headers,
        body = unhex(case.body) })
      return { code = e.code, message = e.message, query_code = e.query_code, type = e.type }
    else
      local picked = protocol.for_service(svc)
      return { picked = picked == cbor_protocol and "smithy-rpc-v2-cbor" or picked == require("luaws.sdk.protocol.json") and "json" or "other" }
    end
  end)
  out[i] = ok and json(result) or json({ error = tostring(type(result) == "table" and result.message or result) })
end
io.write("[" .. table.concat(out, ",\n") .. "]")
'''


class Generator:
    """Random values for botocore shapes, in the form both sides accept as parameters."""

    def __init__(self, rng):
        self.rng = rng

    def string(self):
        alphabet = "abcXYZ019 _-/:+=é中😀"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, 12)))

    def value(self, shape, depth=0, for_output=False):
        t = shape.type_name
        r = self.rng
        if t == "structure":
            if shape.metadata.get("document"):
                return {"k": self.string()}
            names = list(shape.members)
            if shape.is_tagged_union:
                if not names:
                    return {}
                chosen = [r.choice(names)]
            else:
                required = set(shape.required_members)
                # Idempotency tokens always set: botocore fills them in a handler, not the serialiser.
                chosen = [n for n in names if n in required or shape.members[n].metadata.get("idempotencyToken")
                          or (depth < 4 and r.random() < 0.6)]
            out = {}
            for n in chosen:
                member = shape.members[n]
                if member.serialization.get("eventstream") or member.type_name == "structure" and member.metadata.get("eventstream"):
                    continue
                out[n] = self.value(member, depth + 1, for_output)
            return out
        if t == "list":
            return [self.value(shape.member, depth + 1, for_output) for _ in range(r.randint(0, 3 if depth < 4 else 0))]
        if t == "map":
            keys = sorted({self.string() or "k" for _ in range(r.randint(0, 3 if depth < 4 else 0))})
            return {k: self.value(shape.value, depth + 1, for_output) for k in keys}
        if t in ("string", "character"):
            if shape.enum:
                return r.choice(shape.enum)
            return self.string()
        if t == "blob":
            return "".join(r.choice("abc=+/0") for _ in range(r.randint(0, 8)))
        if t == "boolean":
            return r.random() < 0.5
        if t in ("integer", "short", "byte"):
            return r.choice([0, 1, -1, 23, 24, 255, 256, 65535, 65536, -24, -25, r.randint(-2**31, 2**31 - 1)])
        if t == "long":
            return r.choice([0, 2**32, -2**32 - 1, 2**53, -(2**53), r.randint(-2**53, 2**53)])
        if t in ("float", "double"):
            v = r.choice([0.0, 1.5, -2.25, 1e10, 3.0, r.uniform(-1e6, 1e6), r.uniform(-1, 1) * 10 ** r.randint(-30, 30)])
            return v
        if t == "timestamp":
            return r.choice([0, 1, 1700000000, r.randint(0, 4102444800)])
        raise ValueError("no generator for %s" % t)


def cbor_services(loader):
    out = []
    for name in loader.list_available_services("service-2"):
        md = loader.load_service_model(name, "service-2")["metadata"]
        if "smithy-rpc-v2-cbor" in md.get("protocols", [md["protocol"]]):
            out.append(name)
    return out


def normalise(shape, value):
    """botocore's parsed value in luaws's representation (strings hex, timestamps ISO)."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        return {k: normalise(shape.members[k], v) for k, v in value.items()}
    if t == "list":
        return [normalise(shape.member, v) for v in value]
    if t == "map":
        return {k: normalise(shape.value, v) for k, v in value.items()}
    if t == "timestamp":
        if isinstance(value, datetime.datetime):
            text = value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            if value.microsecond:
                text += ("." + "%06d" % value.microsecond).rstrip("0")
            return (text + "Z").encode().hex()
        return value
    if t == "blob":
        return bytes(value).hex()
    if t in ("string", "character"):
        return value.encode().hex()
    return value


def cbor_text_map(d):
    """CBOR bytes of a map of text to text (error bodies)."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        return bytes([major << 5 | 24, n]) if n < 256 else bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    out = bytearray(head(5, len(d)))
    for k, v in d.items():
        for text in (k, v):
            raw = text.encode()
            out += head(3, len(raw)) + raw
    return bytes(out)


def same(a, b):
    if a in ([], {}) and b in ([], {}):  # luaws's JSON cannot tell an empty list from an empty map
        return True
    if isinstance(a, float) or isinstance(b, float):
        try:
            return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
        except (TypeError, ValueError):
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def main():
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    services = cbor_services(loader)
    if len(services) < 5:
        print("FAIL: expected several smithy-rpc-v2-cbor services in botocore, found %r" % services)
        return 1
    rng = random.Random(SEED)
    gen = Generator(rng)
    serializer = serialize.RpcV2CBORSerializer()
    body_writer = serialize.RpcV2CBORSerializer()
    parser = parsers.RpcV2CBORParser()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = os.path.join(tmp, "lua", "luaws", "sdk", "services")
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "tools", "gen_services.py"), "--out", out_dir]
                       + services, check=True, stdout=subprocess.DEVNULL)
        cases, expected = [], []
        for name in services:
            model = session.get_service_model(name)
            cases.append({"kind": "pick", "service": name, "operation": model.operation_names[0]})
            expected.append(("pick", name, None, {"picked": model.resolved_protocol.encode().hex()}))
            for op_name in model.operation_names:
                op = model.operation_model(op_name)
                for _ in range(CASES_PER_OPERATION):
                    params = gen.value(op.input_shape) if op.input_shape is not None else {}
                    request = serializer.serialize_to_request(params, op)
                    headers = {k.lower(): v for k, v in request["headers"].items()}
                    cases.append({"kind": "request", "service": name, "operation": op_name, "params": params})
                    expected.append(("request", name, op_name, {
                        "method": request["method"].encode().hex(), "path": request["url_path"].encode().hex(),
                        "headers": {k: v.encode().hex() for k, v in headers.items()},
                        "body": bytes(request["body"]).hex()}))
                    if op.output_shape is not None and not op.output_shape.event_stream_name:
                        value = gen.value(op.output_shape, for_output=True)
                        body = bytearray()
                        body_writer._serialize_data_item(body, value, op.output_shape)
                        parsed = parser.parse({"body": bytes(body), "headers": {}, "status_code": 200},
                                              op.output_shape)
                        parsed.pop("ResponseMetadata", None)
                        cases.append({"kind": "response", "service": name, "operation": op_name,
                                      "body": bytes(body).hex()})
                        expected.append(("response", name, op_name, normalise(op.output_shape, parsed)))
            # Error bodies: namespaced __type, a query-compatible header, no __type at all.
            op = model.operation_model(model.operation_names[0])
            for err_name in (op.error_shapes[:2] or [None]):
                code = err_name.name if err_name is not None else "Oops"
                for type_text, hdrs, status in (
                        ("com.amazonaws.x#%s:http://internal.amazon.com/" % code, {}, 400),
                        (code, {"x-amzn-query-error": "AWS.Legacy.%s;Sender" % code}, 400),
                        (None, {}, 503)):
                    value = {"message": "boom é"}
                    if type_text is not None:
                        value["__type"] = type_text
                    body = cbor_text_map(value)
                    parsed = parser.parse({"body": bytes(body), "headers": hdrs, "status_code": status}, None)
                    err = parsed["Error"]
                    cases.append({"kind": "error", "service": name, "operation": op.name, "status": status,
                                  "headers": hdrs, "body": bytes(body).hex()})
                    exp = {"code": err["Code"].encode().hex(), "message": err["Message"].encode().hex()}
                    if "QueryErrorCode" in err:
                        exp["query_code"] = err["QueryErrorCode"].encode().hex()
                        exp["type"] = err["Type"].encode().hex()
                    expected.append(("error", name, op.name, exp))

        env = dict(os.environ, LUAWS_PATH=os.path.join(tmp, "lua") + ":" + os.environ.get("LUAWS_PATH", ""))
        driver = os.path.join(tmp, "driver.lua")
        with open(driver, "w") as f:
            f.write(DRIVER)
        proc = subprocess.run([LUAWS_BIN, driver], input=json.dumps(cases).encode(), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            print("FAIL: the luaws driver exited %d: %s" % (proc.returncode, proc.stderr.decode()[-2000:]))
            return 1
        results = json.loads(proc.stdout)
    counts = {}
    for (kind, name, op_name, exp), got in zip(expected, results):
        if kind == "error":
            exp = {k: v for k, v in exp.items()}
            got = {k: v for k, v in got.items() if k in exp or k == "error"}
        ok = same(got, exp)
        key = (name, kind)
        counts[key] = counts.get(key, 0) + 1
        if ok:
            passed += 1
        else:
            failed += 1
            if failed <= 8:
                print("FAIL %s %s %s\n  botocore: %s\n  luaws:    %s" % (kind, name, op_name,
                      json.dumps(exp)[:600], json.dumps(got)[:600]))
    for name in services:
        print("%-30s requests %3d  responses %3d  errors %d  pick %d" % (name, counts.get((name, "request"), 0),
              counts.get((name, "response"), 0), counts.get((name, "error"), 0), counts.get((name, "pick"), 0)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
