-- protocol_smithy_rpc_v2_cbor_test: the smithy-rpc-v2-cbor protocol through a client on a local
-- server (hand-written model, tests/lib/cbortest.lua): request path, headers and CBOR body, replies,
-- errors (__type, awsQueryCompatible, modeled members), malformed replies. The differential test
-- against botocore for every rpc-v2-cbor service is tests/py/cbor_botocore_test.py.
-- luacheck: no max line length (CBOR fixtures and expected headers read best unbroken)
local T = require "testing"
local cbor = require "luaws.cbor"
local fakeserver = require "fakeserver"
local cbortest = require "cbortest"

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

local server = fakeserver.start {}
local client = cbortest.client(T.tempdir(), server.url)

T.test("rpc-v2-cbor end to end: path, headers, CBOR body both ways, signed", function()
  local reply = cbor.encode { Name = "n", Data = cbor.bytes("\0\255"), When = cbor.tag(1, 1700000000.25), N = 1 << 40,
    F = cbor.float32(1.5), Tags = { "a", "b" }, Unknown = "ignored" }
  server.script { routes = { ["/service/CborTest_20240101/operation/Echo"] = { headers = {
    ["Content-Type"] = "application/cbor", ["smithy-protocol"] = "rpc-v2-cbor", ["x-amzn-requestid"] = "rid-1" },
    body_hex = hex(reply) } } }
  local out = client:Echo { Name = "n", Data = "\1\2", When = "2024-01-02T03:04:05Z", N = -3, F = 0.1, D = 0 / 0,
    Tags = {}, Attrs = { z = 1, a = 2 }, Token = "tok" }
  T.eq(out.Name, "n")
  T.eq(out.Data, "\0\255")
  T.eq(out.When, "2023-11-14T22:13:20.25Z")
  T.eq(out.N, 1 << 40)
  T.eq(math.type(out.F), "float")
  T.same(out.Tags, { "a", "b" })
  T.eq(out.Unknown, nil)
  T.eq(out.ResponseMetadata.RequestId, "rid-1")
  local req = server.log()[1]
  T.eq(req.method, "POST")
  T.eq(req.path, "/service/CborTest_20240101/operation/Echo")
  T.eq(req.headers["smithy-protocol"], "rpc-v2-cbor")
  T.eq(req.headers["content-type"], "application/cbor")
  T.eq(req.headers["accept"], "application/cbor")
  T.eq(req.headers["x-amzn-query-mode"], "true")
  T.match(req.headers["authorization"], "^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/%d+/us%-west%-2/cbortest/aws4_request")
  local sent = assert(cbor.decode((req.body_hex:gsub("..", function(x) return string.char(tonumber(x, 16)) end))))
  T.ok(math.abs(sent.F - 0.1) < 1e-7 and sent.F ~= 0.1, "a float member goes as a single")
  T.ok(sent.D ~= sent.D, "NaN")
  sent.F, sent.D = nil, nil
  T.same(sent, { Name = "n", Data = "\1\2", When = 1704164645, N = -3, Tags = {}, Attrs = { a = 2, z = 1 },
    Token = "tok" })
  T.eq(req.body_hex:sub(1, 2), "a9", "nine members, in model order:")
  T.eq(req.body_hex:sub(3, 12), "644e616d65", "Name first")
end)

T.test("rpc-v2-cbor errors: __type, awsQueryCompatible codes, modeled members", function()
  server.reset()
  server.script { routes = { ["/service/CborTest_20240101/operation/Echo"] = {
    { status = 400, headers = { ["x-amzn-requestid"] = "rid-2" },
      body_hex = hex(cbor.encode { __type = "com.example#Boom:http://internal", message = "it broke", Reason = "why" }) },
    { status = 400, headers = { ["x-amzn-query-error"] = "AWS.Legacy.Boom;Sender" },
      body_hex = hex(cbor.encode { __type = "Boom", Message = "legacy" }) },
    { status = 500, body_hex = "ff" },
  } } }
  local e = T.raises(function() client:Echo { Name = "x" } end)
  T.eq(e.code, "Boom")
  T.eq(e.message, "it broke")
  T.eq(e.status, 400)
  T.eq(e.request_id, "rid-2")
  local e2 = T.raises(function() client:Echo { Name = "x" } end)
  T.eq(e2.code, "AWS.Legacy.Boom")
  T.eq(e2.message, "legacy")
  local e3 = T.raises(function() client:Echo { Name = "x" } end)
  T.eq(e3.status, 500)
  T.match(e3.code, "^HTTP500")
  local proto = require "luaws.sdk.protocol.smithy-rpc-v2-cbor"
  local svc = client.service
  local parsed = proto.parse_error(svc, svc:operation("Echo"), { status = 400, headers = {},
    body = cbor.encode { __type = "Boom", message = "m", Reason = "why" } })
  T.eq(parsed.fields.Reason, "why")
  T.eq(parsed.type, "Sender")
  -- a __type that names nothing once cleaned (the fuzzer's ":/0/x#Boom:..."): the status is the code
  for _, empty in ipairs { ":/0/xgmeple#Boom:htup:/0/xg", "ns#", "" } do
    local nameless = proto.parse_error(svc, svc:operation("Echo"), { status = 400, headers = {},
      body = cbor.encode { __type = empty, message = "ok" } })
    T.eq(nameless.code, "400", empty)
    T.eq(nameless.message, "ok")
  end
  local bad = T.raises(function() proto.parse(svc, svc:operation("Echo"), { status = 200, headers = {}, body = "\x9f" }) end)
  T.eq(bad.code, "ResponseParseError")
  T.match(bad.message, "invalid CBOR")
end)

server.stop()
T.done()
