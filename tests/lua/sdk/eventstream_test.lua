-- eventstream_test: event-stream frames (luaws.eventstream), sdk/protocol/eventstream over a slow
-- local server, and event streams through clients (rpc-v2-cbor, json) end to end.
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
  local whole = event("Tick", cbor.encode { Seq = 2 })
    .. exception("Boom", cbor.encode { Message = "bad", Reason = "r" })
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

local cbortest = require "cbortest"
local dir = T.tempdir()
local client = cbortest.client(dir, server.url)

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
