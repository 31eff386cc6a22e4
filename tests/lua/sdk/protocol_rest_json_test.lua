-- protocol_rest_json_test: rest-json requests and replies (payloads, NaN, tokens, empty vs absent, errors, client).
-- luacheck: no max line length (fixtures: wire forms read best unbroken)
local T = require "testing"
local cjson = require "cjson"
local crypto = require "luaws.crypto"
local F = require "rest_fixtures"
local protocol = require "luaws.sdk.protocol"
local rj, RJ, RX, build, headers_of = F.rj, F.RJ, F.RX, F.build, F.headers_of

T.test("protocol table: rest-json and rest-xml are picked for their services", function()
  T.eq(RJ, require "luaws.sdk.protocol.rest-json")
  T.eq(RX, require "luaws.sdk.protocol.rest-xml")
  T.eq(protocol.resolve { protocol = "json", metadata = { protocols = { "smithy-rpc-v2-cbor", "json" } } }, "json",
    "botocore's priority: json before cbor")
  T.eq(protocol.resolve { protocol = "query", metadata = { protocols = { "query" } } }, "query")
end)

T.test("NaN and Infinity: headers and JSON bodies spell them as botocore does", function()
  T.eq(headers_of(build(rj, RJ, "GetObject", { Bucket = "b", Key = "k", Ratio = 0 / 0 }))["x-ratio"], "NaN")
  local req = build(rj, RJ, "CreateThing", { Name = "n", Ratio = -math.huge, Token = "t" })
  T.same(cjson.decode(req.body), { Name = "n", Ratio = "-Infinity", Token = "t" })
  local res = RJ.parse(rj, rj:operation("CreateThing"), { status = 201, headers = {}, body = '{"Ratio":"NaN"}' })
  T.ok(res.Ratio ~= res.Ratio, "NaN parsed")
  res = RJ.parse(rj, rj:operation("CreateThing"), { status = 201, headers = {}, body = '{"Ratio":"Infinity"}' })
  T.eq(res.Ratio, math.huge)
end)

T.test("payload members: structure, string, blob, union; absent structure payload is {}", function()
  local req = build(rj, RJ, "PutConfig", { AccountId = "123", Name = "n", ClientToken = "t",
    Config = { Enabled = true, Limit = 9007199254740993, Label = "x" } })
  T.eq(req.body, '{"Enabled":true,"Limit":9007199254740993,"label":"x"}', "exact long, locationName used")
  T.eq(headers_of(req)["content-type"], "application/json")
  req = build(rj, RJ, "PutConfig", { AccountId = "123", Name = "n", ClientToken = "t" })
  T.eq(req.body, "{}")
  req = build(rj, RJ, "PutText", { Text = "plain text" })
  T.eq(req.body, "plain text")
  T.eq(headers_of(req)["content-type"], nil, "a string payload gets no JSON content type")
  req = build(rj, RJ, "PutBlob", { Data = "\0\1\2", Kind = "application/octet-stream" })
  T.eq(req.body, "\0\1\2")
  T.ok(req.streaming)
  req = build(rj, RJ, "PutChoice", { Choice = { Number = 3 } })
  T.eq(req.body, '{"Number":3}')
  local e = T.raises(function() build(rj, RJ, "PutChoice", { Choice = { Number = 3, Text = "x" } }) end)
  T.match(e.message, "tagged union")
end)

T.test("streaming blob: a string body, or a reader handed through for the HTTP layer", function()
  local reader = { read = function() return nil end }
  local req = build(rj, RJ, "PutBlob", { Data = reader })
  T.eq(req.body, reader)
  local e = T.raises(function() build(rj, RJ, "PutText", { Text = reader }) end)
  T.eq(e.code, "ParamValidation", "only streaming blobs take readers")
  local res = RJ.parse(rj, rj:operation("GetObject"), { status = 200, headers = {}, body = "\0bytes" })
  T.eq(res.Body, "\0bytes")
end)

T.test("idempotency tokens: filled once when absent (header or body), kept when given", function()
  local req = build(rj, RJ, "PutConfig", { AccountId = "1", Name = "n" })
  T.match(headers_of(req)["x-client-token"], "^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$")
  req = build(rj, RJ, "CreateThing", { Name = "n" })
  T.match(cjson.decode(req.body).Token, "^%x+%-%x+%-4")
  req = build(rj, RJ, "CreateThing", { Name = "n", Token = "mine" })
  T.eq(cjson.decode(req.body).Token, "mine")
end)

T.test("empty vs absent: [] and {} are sent, absent members are not", function()
  local req = build(rj, RJ, "CreateThing", { Name = "n", Items = {}, Tags = {}, Token = "t" })
  T.eq(req.body, '{"Name":"n","Tags":{},"Items":[],"Token":"t"}')
  req = build(rj, RJ, "CreateThing", { Name = "", Token = "t" })
  T.eq(req.body, '{"Name":"","Token":"t"}', "an empty string is a value")
  local res = RJ.parse(rj, rj:operation("CreateThing"), { status = 201, headers = {}, body = '{"Items":[],"Name":null}' })
  T.same(res.Items, {})
  T.eq(res.Name, nil, "null is absent")
  T.eq(res.Tags, nil)
end)

T.test("replies: status code member, headers (RFC 1123 to ISO 8601), prefix maps, lists, jsonvalue", function()
  local res = RJ.parse(rj, rj:operation("GetObject"), { status = 206, body = "abc", headers = {
    ["content-type"] = "text/plain", ["last-modified"] = "Wed, 21 Oct 2015 07:28:00 GMT", ["x-meta-color"] = "red",
    ["x-tags"] = 'a, "b,c"', ["x-doc"] = crypto.base64_encode('{"k":[1]}'), ["x-count"] = "7", ["x-ratio"] = "-Infinity",
    ["x-amzn-requestid"] = "rid" } })
  T.eq(res.Status, 206)
  T.eq(res.Body, "abc")
  T.eq(res.ContentType, "text/plain")
  T.eq(res.LastModified, "2015-10-21T07:28:00Z")
  T.same(res.Meta, { color = "red" })
  T.same(res.Tags, { "a", "b,c" })
  T.same(res.Doc, { k = { 1 } })
  T.eq(res.Count, 7)
  T.eq(math.type(res.Count), "integer")
  T.eq(res.Ratio, -math.huge)
  T.eq(res.ResponseMetadata.RequestId, "rid")
  T.eq(res.ResponseMetadata.HTTPStatusCode, 206)
end)

T.test("error shapes: x-amzn-errortype wins, __type and code cleaned, modeled members as err.fields", function()
  local op = rj:operation("CreateThing")
  local e = RJ.parse_error(rj, op, { status = 409, headers = { ["x-amzn-errortype"] = "ThingExists:http://internal/",
    ["retry-after"] = "30", ["x-amzn-requestid"] = "rid" }, body = '{"message":"exists","Reason":"dup","__type":"Other"}' })
  T.eq(e.code, "ThingExists")
  T.eq(e.message, "exists")
  T.eq(e.request_id, "rid")
  T.eq(e.type, "Sender")
  T.same(e.fields, { Message = "exists", Reason = "dup", RetryAfter = 30 })
  e = RJ.parse_error(rj, op, { status = 409, headers = {}, body = '{"__type":"com.example#ThingExists","message":"m"}' })
  T.eq(e.code, "ThingExists")
  e = RJ.parse_error(rj, op, { status = 400, headers = {}, body = '{"code":"Throttled","Message":"slow"}' })
  T.eq(e.code, "Throttled")
  T.eq(e.message, "slow")
  e = RJ.parse_error(rj, op, { status = 503, headers = {}, body = "<html>busy</html>" })
  T.eq(e.code, "HTTP503")
  T.eq(e.type, "Receiver")
end)

T.test("awsQueryCompatible: x-amzn-query-error gives the query code and type", function()
  local errors_mod = require "luaws.sdk.protocol.errors"
  local e = errors_mod.parse(nil, nil, { status = 400, headers = { ["x-amzn-query-error"] = "AWS.SimpleQueueService.NonExistentQueue;Sender" },
    body = '{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no queue"}' }, "json")
  T.eq(e.code, "AWS.SimpleQueueService.NonExistentQueue")
  T.eq(e.query_code, "QueueDoesNotExist")
  T.eq(e.type, "Sender")
end)

T.test("the client raises modeled fields on the error table and joins host prefixes", function()
  local client = require "luaws.sdk.client"
  local http = require "luaws.http"
  local real = http.request
  local seen = {}
  http.request = function(req)
    seen[#seen + 1] = req
    return { status = 409, headers = { ["x-amzn-errortype"] = "ThingExists" }, body = '{"message":"m","Reason":"dup"}' }
  end
  local ok, e = pcall(function()
    local c = client.new("fixture-restjson", { region = "us-east-1", credentials = false,
      endpoint_url = "https://rj.us-east-1.example.com" })
    return c:CreateThing { Name = "n" }
  end)
  local ok2, e2 = pcall(function()
    local c = client.new("fixture-restjson", { region = "us-east-1", credentials = false,
      endpoint_url = "https://rj.us-east-1.example.com" })
    return c:PutConfig { AccountId = "123", Name = "n" }
  end)
  http.request = real
  T.ok(not ok)
  T.eq(e.code, "ThingExists")
  T.eq(e.fields.Reason, "dup")
  T.eq(seen[1].url, "https://rj.us-east-1.example.com/things")
  T.ok(not ok2 and e2.code == "ThingExists")
  T.eq(seen[2].url, "https://123.data-rj.us-east-1.example.com/config/n")
end)

T.test("event streams: the payload member iterates events as they arrive; exceptions raise", function()
  local es = require "luaws.eventstream"
  local function event(name, payload)
    return es.encode({ { ":message-type", "string", "event" }, { ":event-type", "string", name },
      { ":content-type", "string", "application/json" } }, payload)
  end
  local body = event("Chunk", '{"Text":"hel","Count":1}') .. event("Chunk", '{"Text":"lo","Count":9007199254740993}')
    .. es.encode({ { ":message-type", "string", "exception" }, { ":exception-type", "string", "Boom" } },
      '{"message":"went wrong"}')
  local chunks, i = { body:sub(1, 10), body:sub(11, 70), body:sub(71) }, 0
  local res = { status = 200, headers = { ["x-tag"] = "t1" }, body = function() i = i + 1 return chunks[i] end }
  T.ok(RJ.event_streams)
  local out = RJ.parse(rj, rj:operation("Subscribe"), res)
  T.eq(out.RequestTag, "t1")
  local texts = {}
  local ok, e = pcall(function()
    for ev in out.Events do texts[#texts + 1] = ev.Chunk.Text .. ":" .. ev.Chunk.Count end
  end)
  T.same(texts, { "hel:1", "lo:9007199254740993" })
  T.ok(not ok)
  T.eq(e.code, "Boom")
  T.eq(e.fields.Message, "went wrong")
end)

T.test("through the client: an event-stream reply is read while it arrives (chunked, from a server)", function()
  local es = require "luaws.eventstream"
  local fakeserver = require "fakeserver"
  local function event(name, payload)
    return es.encode({ { ":message-type", "string", "event" }, { ":event-type", "string", name } }, payload)
  end
  local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
  local first, second = event("Chunk", '{"Text":"a","Count":1}'), event("Chunk", '{"Text":"b","Count":2}')
  local server = fakeserver.start { routes = { ["/subscribe"] = { headers = { ["x-tag"] = "t9",
    ["Content-Type"] = "application/vnd.amazon.eventstream" },
    chunks = { { hex = hex(first:sub(1, 7)) }, { hex = hex(first:sub(8)), delay = 0.05 }, { hex = hex(second) } } } } }
  local ok, err = pcall(function()
    local c = require("luaws.sdk.client").new("fixture-restjson", { region = "us-east-1", credentials = false,
      endpoint_url = server.url })
    local out = c:Subscribe {}
    T.eq(out.RequestTag, "t9")
    local texts = {}
    for ev in out.Events do texts[#texts + 1] = ev.Chunk.Text end
    T.same(texts, { "a", "b" })
  end)
  server.stop()
  if not ok then error(err, 0) end
end)

T.done()
