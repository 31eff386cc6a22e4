-- eventstream_test: event-stream frames (luaws.eventstream), sdk/protocol/eventstream over a slow
-- local server, and a smithy-rpc-v2-cbor service (hand-written model) called end to end.
-- luacheck: no max line length (a hand-written service model reads best as generated: one shape a line)
local T = require "testing"
local cbor = require "luaws.cbor"
local es = require "luaws.eventstream"
local eventstream = require "luaws.sdk.protocol.eventstream"
local http = require "luaws.http"
local fakeserver = require "fakeserver"

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

local ALL_TYPES = {
  { "t", "bool", true }, { "f", "bool", false }, { "b", "byte", -7 }, { "s", "short", -300 },
  { "i", "integer", 70000 }, { "l", "long", -5000000000 }, { "raw", "bytes", "\0\1\255" },
  { "str", "string", "héllo" }, { "ts", "timestamp", 1700000000123 },
  { "id", "uuid", "01234567-89ab-cdef-0123-456789abcdef" },
}

T.test("frames: all ten header types round trip, split anywhere", function()
  local frame = es.encode(ALL_TYPES, "payload!")
  local stream = frame .. es.encode({ { ":message-type", "string", "event" } }, "")
  local d = es.decoder()
  local got = {}
  for i = 1, #stream do  -- one byte at a time
    assert(d:feed(stream:sub(i, i)))
    local msg = d:next()
    if msg then got[#got + 1] = msg end
  end
  T.eq(#got, 2)
  local h, types = got[1].headers, got[1].types
  T.eq(got[1].payload, "payload!")
  for _, spec in ipairs(ALL_TYPES) do T.eq(h[spec[1]], spec[3], spec[1]) end
  T.eq(types.ts, "timestamp")
  T.eq(types.id, "uuid")
  T.eq(got[2].payload, "")
  T.eq(d:pending(), false)
  -- a known vector: botocore's test_eventstream "all_headers" prelude
  T.eq(es.crc32("123456789"), 0xCBF43926)
end)

T.test("frames: bad CRCs, absurd lengths and cut messages are EventStreamError tables", function()
  local frame = es.encode({ { "a", "string", "b" } }, "xyz")
  local function flip(s, i) return s:sub(1, i - 1) .. string.char(s:byte(i) ~ 1) .. s:sub(i + 1) end
  local cases = {
    { flip(frame, 2), "prelude CRC" },
    { flip(frame, #frame - 5), "message CRC" },
    { flip(frame, #frame), "message CRC" },
  }
  -- a valid prelude claiming 1 GiB, and headers longer than the message
  local function prelude(total, hlen)
    local p = string.pack(">I4I4", total, hlen)
    return p .. string.pack(">I4", es.crc32(p))
  end
  cases[#cases + 1] = { prelude(1 << 30, 0), "out of bounds" }
  cases[#cases + 1] = { prelude(20, 100), "out of bounds" }
  cases[#cases + 1] = { prelude(8, 0), "out of bounds" }
  -- a header block that lies about a string's length (CRCs made to match)
  local body = prelude(16 + 6, 6) .. "\1a\7\0\9z"
  cases[#cases + 1] = { body .. string.pack(">I4", es.crc32(body)), "header block" }
  for _, case in ipairs(cases) do
    local d = es.decoder()
    d:feed(case[1])
    local msg, err = d:next()
    T.eq(msg, nil, case[2])
    T.eq(err.code, "EventStreamError")
    T.match(err.message, case[2])
    T.eq(select(2, d:next()).code, "EventStreamError", "a broken stream stays broken")
  end
end)

-- Shapes as luaws.sdk.model decodes them (refs with .shape), for eventstream.open alone.
local function ref(name, shape, traits)
  local r = { name = name, shape = shape }
  for k, v in pairs(traits or {}) do r[k] = v end
  return r
end
local function struct(members, extra)
  local s = { type = "structure", members = members, by_name = {} }
  for _, m in ipairs(members) do s.by_name[m.name] = m end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end
local STRING, INTEGER, TIMESTAMP = { type = "string" }, { type = "integer" }, { type = "timestamp" }
local TICK = struct({ ref("Seq", INTEGER), ref("At", TIMESTAMP, { eventheader = true }),
  ref("Source", STRING, { eventheader = true }) }, { event = true })
local NOTE = struct({ ref("Text", STRING, { eventpayload = true }) }, { event = true })
local BOOM = struct({ ref("Message", STRING), ref("Reason", STRING) }, { exception = true })
local UNION = struct({ ref("Tick", TICK, { event = true }), ref("Note", NOTE, { event = true }),
  ref("Boom", BOOM) }, { eventstream = true })

local function event(name, payload, extra)
  local headers = { { ":message-type", "string", "event" }, { ":event-type", "string", name },
    { ":content-type", "string", "application/cbor" } }
  for _, h in ipairs(extra or {}) do headers[#headers + 1] = h end
  return es.encode(headers, payload)
end
local function exception(name, payload)
  return es.encode({ { ":message-type", "string", "exception" }, { ":exception-type", "string", name } }, payload)
end

local function cbor_parse(shape, bytes)
  local v = bytes ~= "" and assert(cbor.decode(bytes)) or {}
  local out = {}
  for _, m in ipairs(shape.members) do out[m.name] = v[m.name] end
  return out
end

local server = fakeserver.start {}

T.test("events arrive while the response is still coming; a modeled exception is an error table", function()
  local pieces = {
    { hex = hex(event("initial-response", cbor.encode { Count = 3 })) },
    { hex = hex(event("Tick", cbor.encode { Seq = 1 }, { { "At", "timestamp", 1700000000500 },
      { "Source", "string", "s1" } })), delay = 0.05 },
    { hex = hex(event("Note", "plain text payload")), delay = 0.4 },
    { hex = hex(event("Mystery", "")), delay = 0.05 },
  }
  local whole = event("Tick", cbor.encode { Seq = 2 }) .. exception("Boom", cbor.encode { Message = "bad", Reason = "r" })
  -- the last frames split mid-frame across two pieces
  pieces[#pieces + 1] = { hex = hex(whole:sub(1, 30)), delay = 0.4 }
  pieces[#pieces + 1] = { hex = hex(whole:sub(31)), delay = 0.05 }
  server.script { routes = { ["/events"] = { headers = { ["Content-Type"] = "application/vnd.amazon.eventstream" },
    chunks = pieces } } }
  local started = http.now()
  local res = assert(http.request { url = server.url .. "/events", method = "POST", stream = true })
  local stream = eventstream.open(res, { shape = UNION, parse = cbor_parse,
    service = { service_id = "CborTest" }, operation = { name = "Watch" } })
  T.same(cbor.decode(stream:initial_response()), { Count = 3 })
  local seen, times = {}, {}
  local ok, err = pcall(function()
    for ev in stream do
      seen[#seen + 1] = ev
      times[#times + 1] = http.now() - started
    end
  end)
  T.same(seen[1], { Tick = { Seq = 1, At = "2023-11-14T22:13:20.5Z", Source = "s1" } })
  T.same(seen[2], { Note = { Text = "plain text payload" } })
  T.same(seen[3], {}, "an unknown event is an empty table, as botocore yields")
  T.same(seen[4], { Tick = { Seq = 2 } })
  T.ok(times[1] < 0.35, "the first event came at " .. times[1] .. " s, before the rest was sent")
  T.ok(times[4] > 0.8, "the last at " .. times[4] .. " s")
  T.eq(ok, false)
  T.eq(err.code, "Boom")
  T.eq(err.message, "bad")
  T.eq(err.fields.Reason, "r")
  T.eq(err.service, "CborTest")
  T.eq(err.operation, "Watch")
  T.match(tostring(err), "Boom")
  T.eq(stream(), nil, "the stream ends after an exception")
end)

T.test("a stream cut inside a frame, or a corrupt frame, raises EventStreamError", function()
  local frame = event("Tick", cbor.encode { Seq = 1 })
  server.script { routes = { ["/cut"] = { chunks = { { hex = hex(frame .. frame:sub(1, 10)) } } },
    ["/corrupt"] = { chunks = { { hex = hex(frame:sub(1, 20) .. "X" .. frame:sub(22)) } } } } }
  for path, pattern in pairs { ["/cut"] = "ended inside a message", ["/corrupt"] = "CRC" } do
    local res = assert(http.request { url = server.url .. path, stream = true })
    local stream = eventstream.open(res, { shape = UNION, parse = cbor_parse })
    local ok, err = pcall(function() for _ in stream do end end)
    T.eq(ok, false, path)
    T.eq(err.code, "EventStreamError", path)
    T.match(err.message, pattern, path)
  end
end)

-- A smithy-rpc-v2-cbor service written by hand (no botocore service uses the protocol alone).
local MODEL = [==[
return {
metadata={apiVersion="2024-01-01",awsQueryCompatible=true,endpointPrefix="cbortest",protocol="smithy-rpc-v2-cbor",protocols={"smithy-rpc-v2-cbor"},serviceId="CborTest",signatureVersion="v4",signingName="cbortest",targetPrefix="CborTest_20240101"},
operations={
Echo={errors={"Boom"},input="EchoInput",output="EchoOutput"},
Watch={input="WatchInput",output="WatchOutput"},
},
shapes={
AttrMap=[[{key="string",type="map",value="integer"}]],
Boom=[[{error={code="Boom",sender=true,status=400},exception=true,members={{"Message","string"},{"Reason","string"}},type="structure"}]],
EchoInput=[[{members={{"Name","string"},{"Data","blob"},{"When","timestamp"},{"N","integer"},{"F","float"},{"D","double"},{"Tags","TagList"},{"Attrs","AttrMap"},{"Token","string",idempotencyToken=true}},required={"Name"},type="structure"}]],
EchoOutput=[[{members={{"Name","string"},{"Data","blob"},{"When","timestamp"},{"N","long"},{"F","float"},{"Tags","TagList"}},type="structure"}]],
EventStream=[[{eventstream=true,members={{"Tick","TickEvent",event=true},{"Note","NoteEvent",event=true},{"Boom","Boom"}},type="structure"}]],
NoteEvent=[[{event=true,members={{"Text","string",eventpayload=true}},type="structure"}]],
TagList=[[{member="string",type="list"}]],
TickEvent=[[{event=true,members={{"Seq","integer"},{"At","timestamp",eventheader=true},{"Source","string",eventheader=true}},type="structure"}]],
WatchInput=[[{members={{"Topic","string"}},type="structure"}]],
WatchOutput=[[{members={{"Count","integer"},{"Events","EventStream",eventstream=true}},type="structure"}]],
},
paginators={},
}
]==]

local dir = T.tempdir()
os.execute("mkdir -p " .. dir .. "/luaws/sdk/services")
local f = assert(io.open(dir .. "/luaws/sdk/services/cbortest.lua", "w"))
f:write(MODEL)
f:close()
package.path = dir .. "/?.lua;" .. package.path
local client = require("luaws.sdk.client").new("cbortest", { region = "us-west-2", endpoint_url = server.url,
  credentials = { access_key = "AKIDEXAMPLE", secret_key = "secret" }, max_attempts = 1 })

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
  local bad = T.raises(function() proto.parse(svc, svc:operation("Echo"), { status = 200, headers = {}, body = "\x9f" }) end)
  T.eq(bad.code, "ResponseParseError")
  T.match(bad.message, "invalid CBOR")
end)

T.test("rpc-v2-cbor event stream through the client: initial response, events while streaming", function()
  local pieces = {
    { hex = hex(event("initial-response", cbor.encode { Count = 2 })) },
    { hex = hex(event("Tick", cbor.encode { Seq = 1 })), delay = 0.05 },
    { hex = hex(event("Tick", cbor.encode { Seq = 2 })), delay = 0.5 },
  }
  server.script { routes = { ["/service/CborTest_20240101/operation/Watch"] = {
    headers = { ["Content-Type"] = "application/vnd.amazon.eventstream" }, chunks = pieces } } }
  local started = http.now()
  local out = client:Watch { Topic = "t" }
  T.ok(http.now() - started < 0.4, "the call returns before the stream ends")
  T.eq(out.Count, 2)
  local first = out.Events()
  T.same(first, { Tick = { Seq = 1 } })
  T.ok(http.now() - started < 0.4, "the first event before the stream ends")
  T.same(out.Events(), { Tick = { Seq = 2 } })
  T.eq(out.Events(), nil)
  local req = server.log()[#server.log()]
  T.eq(req.headers["accept"], "application/vnd.amazon.eventstream")
end)

T.test("an event-stream operation answered with an error status: the body is read whole, the error decoded", function()
  server.script { routes = { ["/service/CborTest_20240101/operation/Watch"] = { status = 400,
    body_hex = hex(cbor.encode { __type = "Boom", message = "no stream for you" }) } } }
  local e = T.raises(function() client:Watch { Topic = "t" } end)
  T.eq(e.code, "Boom")
  T.eq(e.message, "no stream for you")
  T.eq(e.status, 400)
end)

T.test("rest-xml style events (S3 SelectObjectContent): blob and structure payloads, no initial response", function()
  local BLOB = { type = "blob" }
  local LONG = { type = "long" }
  local STATS = struct({ ref("BytesScanned", LONG), ref("BytesReturned", LONG) })
  local RECORDS = struct({ ref("Payload", BLOB, { eventpayload = true }) }, { event = true })
  local STATS_EVENT = struct({ ref("Details", STATS, { eventpayload = true }) }, { event = true })
  local END = struct({}, { event = true })
  local SELECT = struct({ ref("Records", RECORDS, { event = true }), ref("Stats", STATS_EVENT, { event = true }),
    ref("End", END, { event = true }) }, { eventstream = true })
  local xml = require "luaws.xml"
  local function xml_parse(shape, bytes)  -- what rest-xml plugs in: the payload as XML of `shape`
    if bytes == "" then return {} end
    local root = assert(xml.decode(bytes))
    local out = {}
    for _, child in ipairs(root) do
      local m = shape.by_name[child.name]
      if m then out[child.name] = m.shape.type == "long" and math.tointeger(tonumber(child.text)) or child.text end
    end
    return out
  end
  local function xml_event(name, payload)
    return es.encode({ { ":message-type", "string", "event" }, { ":event-type", "string", name },
      { ":content-type", "string", "application/octet-stream" } }, payload)
  end
  local frames = xml_event("Records", "a,b\n\0\255") .. xml_event("Stats",
    "<Stats><BytesScanned>10</BytesScanned><BytesReturned>4</BytesReturned></Stats>") .. xml_event("End", "")
  local stream = eventstream.open({ status = 200, headers = {}, body = frames }, { shape = SELECT, parse = xml_parse })
  T.same(stream(), { Records = { Payload = "a,b\n\0\255" } })
  T.same(stream(), { Stats = { Details = { BytesScanned = 10, BytesReturned = 4 } } })
  T.same(stream(), { End = {} })
  T.eq(stream(), nil)
end)

T.test("json protocol: Kinesis SubscribeToShard events (model generated from botocore into a temp dir)", function()
  local ok = os.execute("python3 -c 'import botocore' 2>/dev/null && python3 " .. (os.getenv("LUAWS_SOURCE_DIR") or ".")
    .. "/tools/gen_services.py --out " .. dir .. "/luaws/sdk/services kinesis >/dev/null")
  if not ok then
    print("skip: botocore is not installed")
    return
  end
  local record = { Records = { { Data = "aGVsbG8=", PartitionKey = "pk", SequenceNumber = "1",
    ApproximateArrivalTimestamp = 1700000000.5 } }, ContinuationSequenceNumber = "2", MillisBehindLatest = 0 }
  local json_event = function(name, payload, kind)
    return es.encode({ { ":message-type", "string", kind or "event" },
      { kind == "exception" and ":exception-type" or ":event-type", "string", name },
      { ":content-type", "string", "application/json" } }, payload)
  end
  server.script { routes = { ["/"] = { headers = { ["Content-Type"] = "application/vnd.amazon.eventstream" },
    chunks = { { hex = hex(json_event("initial-response", "{}")) },
      { hex = hex(json_event("SubscribeToShardEvent", require("cjson").encode(record))), delay = 0.05 },
      { hex = hex(json_event("ResourceInUseException", '{"message":"in use"}', "exception")), delay = 0.5 } } } } }
  local kinesis = require("luaws.sdk.client").new("kinesis", { region = "us-east-1", endpoint_url = server.url,
    credentials = { access_key = "AKIDEXAMPLE", secret_key = "secret" }, max_attempts = 1 })
  local started = http.now()
  local out = kinesis:SubscribeToShard { ConsumerARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1",
    ShardId = "shardId-000000000000", StartingPosition = { Type = "LATEST" } }
  local first = out.EventStream()
  T.ok(http.now() - started < 0.4, "the first event before the stream ends")
  local rec = first.SubscribeToShardEvent.Records[1]
  T.eq(rec.Data, "hello")
  T.eq(rec.ApproximateArrivalTimestamp, "2023-11-14T22:13:20.5Z")
  T.eq(first.SubscribeToShardEvent.MillisBehindLatest, 0)
  local e = T.raises(function() out.EventStream() end)
  T.eq(e.code, "ResourceInUseException")
  T.eq(e.message, "in use")
  local req = server.log()[#server.log()]
  T.eq(req.headers["x-amz-target"], "Kinesis_20131202.SubscribeToShard")
end)

server.stop()
T.done()
