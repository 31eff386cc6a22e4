-- protocol_rest_test: the edge cases of rest-json and rest-xml, one named test each (issue 12 item 3).
-- luacheck: no max line length (fixtures: wire forms read best unbroken)
--
-- Uses hand-written models (tests/fixtures/models) with one member of each binding, so the
-- tests need no generated models; tests/py/protocol_diff_test.py covers the real services.
local T = require "testing"
local cjson = require "cjson"
local crypto = require "luaws.crypto"
local uri = require "luaws.core.uri"

local SOURCE = os.getenv("LUAWS_SOURCE_DIR") or "."
package.path = SOURCE .. "/tests/fixtures/models/?.lua;" .. package.path

local model = require "luaws.sdk.model"
local protocol = require "luaws.sdk.protocol"
local timestamp = require "luaws.sdk.protocol.timestamp"
local validate = require "luaws.sdk.protocol.validate"

local rj = model.load("fixture-restjson")
local rx = model.load("fixture-restxml")
local RJ = protocol.for_service(rj)
local RX = protocol.for_service(rx)

local function build(svc, mod, op, params) return mod.build(svc, svc:operation(op), params) end

local function headers_of(req)
  local out = {}
  for _, h in ipairs(req.headers) do out[h[1]:lower()] = h[2] end
  return out
end

T.test("protocol table: rest-json and rest-xml are picked for their services", function()
  T.eq(RJ, require "luaws.sdk.protocol.rest-json")
  T.eq(RX, require "luaws.sdk.protocol.rest-xml")
  T.eq(protocol.resolve { protocol = "json", metadata = { protocols = { "smithy-rpc-v2-cbor", "json" } } }, "json",
    "botocore's priority: json before cbor")
  T.eq(protocol.resolve { protocol = "query", metadata = { protocols = { "query" } } }, "query")
end)

T.test("URI labels: percent-encoded; '/' kept only in greedy {Key+}", function()
  local req = build(rj, RJ, "GetObject", { Bucket = "a/b c", Key = "dir one/x+y/../ü~.txt" })
  T.eq(req.method, "GET")
  T.eq(req.path, "/buckets/a%2Fb%20c/objects/dir%20one/x%2By/../%C3%BC~.txt")
  T.eq(req.body, nil, "a GET with no body members sends no body")
  T.eq(uri.encode("a/b", true), "a/b")
  T.eq(uri.encode("a/b"), "a%2Fb")
  T.eq(uri.encode("-._~ *"), "-._~%20%2A")
end)

T.test("an empty or absent URI label is a validation error, not a different path", function()
  local e = T.raises(function() build(rj, RJ, "GetObject", { Bucket = "", Key = "k" }) end)
  T.eq(e.code, "ParamValidation")
  T.match(e.message, "URI label Bucket")
  e = T.raises(function() build(rj, RJ, "GetObject", { Key = "k" }) end)
  T.match(e.message, 'Missing required parameter in input: "Bucket"')
end)

T.test("query string: scalars, lists repeat the name, maps add their keys, booleans and timestamps", function()
  local req = build(rj, RJ, "GetObject", { Bucket = "b", Key = "k", VersionId = "v 1", Tags = { "x", "y&z" },
    Filters = { versionId = "ignored: the named member wins", color = "red" }, Flag = true, When = 0 })
  local pairs_ = uri.split_query(req.query)
  local seen = {}
  for _, kv in ipairs(pairs_) do seen[#seen + 1] = kv[1] .. "=" .. kv[2] end
  table.sort(seen)
  T.same(seen, { "color=red", "flag=true", "tag=x", "tag=y&z", "versionId=v 1", "when=1970-01-01T00:00:00Z" })
  T.match(req.query, "versionId=v%%201")
  T.match(req.query, "tag=y%%26z")
end)

T.test("a literal query in the request URI stays first (\"?mode=plain\")", function()
  local req = build(rj, RJ, "PutText", { Text = "hello" })
  T.eq(req.path, "/text")
  T.eq(req.query, "mode=plain")
end)

T.test("header bindings: RFC 1123 timestamps, lists quoted, prefix maps, jsonvalue base64, doubles", function()
  local req = build(rj, RJ, "GetObject", { Bucket = "b", Key = "k", IfModifiedSince = "2015-10-21T07:28:00Z",
    Ids = { "a", "b,c", 'say "hi"' }, Meta = { color = "red", size = "L" }, Doc = { a = { 1, 2 } }, Ratio = 0.5,
    Epoch = 1445412480 })
  local h = headers_of(req)
  T.eq(h["if-modified-since"], "Wed, 21 Oct 2015 07:28:00 GMT")
  T.eq(h["x-ids"], 'a,"b,c","say \\"hi\\""')
  T.eq(h["x-meta-color"], "red")
  T.eq(h["x-meta-size"], "L")
  T.same(cjson.decode(crypto.base64_decode(h["x-doc"])), { a = { 1, 2 } })
  T.eq(h["x-ratio"], "0.5")
  T.eq(h["x-epoch"], "1445412480", "timestampFormat unixTimestamp in a header")
  local empty = headers_of(build(rj, RJ, "GetObject", { Bucket = "b", Key = "k", Ids = {} }))
  T.eq(empty["x-ids"], nil, "an empty header list sends no header")
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

T.test("hostPrefix with hostLabel members; a bad label is refused before sending", function()
  local req = build(rj, RJ, "PutConfig", { AccountId = "123456789012", Name = "n", ClientToken = "t" })
  T.eq(req.host_prefix, "123456789012.data-")
  local e = T.raises(function() build(rj, RJ, "PutConfig", { AccountId = "evil.com/", Name = "n" }) end)
  T.match(e.message, "AccountId")
end)

T.test("idempotency tokens: filled once when absent (header or body), kept when given", function()
  local req = build(rj, RJ, "PutConfig", { AccountId = "1", Name = "n" })
  T.match(headers_of(req)["x-client-token"], "^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$")
  req = build(rj, RJ, "CreateThing", { Name = "n" })
  T.match(cjson.decode(req.body).Token, "^%x+%-%x+%-4")
  req = build(rj, RJ, "CreateThing", { Name = "n", Token = "mine" })
  T.eq(cjson.decode(req.body).Token, "mine")
end)

T.test("httpChecksumRequired: CRC32 of the body; httpChecksum algorithm member honoured", function()
  local req = build(rj, RJ, "PutConfig", { AccountId = "1", Name = "n", ClientToken = "t", Config = { Enabled = true } })
  T.eq(headers_of(req)["x-amz-checksum-crc32"], crypto.base64_encode(crypto.crc32('{"Enabled":true}')))
  local tagging = { Bucket = "b", Tagging = { TagSet = { { Key = "k", Value = "v" } } } }
  req = build(rx, RX, "PutTagging", tagging)
  local h = headers_of(req)
  T.eq(h["x-amz-sdk-checksum-algorithm"], "CRC32")
  T.eq(h["x-amz-checksum-crc32"], crypto.base64_encode(crypto.crc32(req.body)))
  tagging.ChecksumAlgorithm = "SHA256"
  h = headers_of(build(rx, RX, "PutTagging", tagging))
  T.eq(h["x-amz-checksum-sha256"], crypto.base64_encode(crypto.sha256(req.body)))
  T.eq(h["x-amz-checksum-crc32"], nil)
  tagging.ChecksumAlgorithm = "MD5X"
  T.eq(T.raises(function() build(rx, RX, "PutTagging", tagging) end).code, "ParamValidation")
  T.eq(crypto.hex(crypto.md5("")), "d41d8cd98f00b204e9800998ecf8427e", "Content-MD5 is available")
  T.eq(crypto.hex(crypto.crc32c("hello")), "9a71bb4c")
  T.eq(crypto.hex(crypto.crc64nvme("123456789")), "ae8b14860a799888")
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

T.test("replies: integers beyond 2^53 stay exact; epoch timestamps become ISO 8601", function()
  local res = RJ.parse(rj, rj:operation("CreateThing"), { status = 201, headers = {},
    body = '{"Id":9007199254740993,"Name":"id 12345678901234567890 in text","Created":1445412480.25}' })
  T.eq(res.Id, 9007199254740993)
  T.eq(res.Name, "id 12345678901234567890 in text")
  T.eq(res.Created, "2015-10-21T07:28:00.25Z")
end)

T.test("malformed replies are error tables: 18e300 timestamps, wrong types, bad JSON/XML, bad headers", function()
  local op = rj:operation("CreateThing")
  for _, body in ipairs { '{"Created":18e300}', '{"Created":"yesterday"}', '{"Items":"x"}', '{"Name":{}}', '{"Id":"x"}',
      "{oops", '{"Tags":[1]}' } do
    local e = T.raises(function() RJ.parse(rj, op, { status = 201, headers = {}, body = body }) end)
    T.eq(e.code, "ResponseParseError", body)
    T.eq(e.operation, "CreateThing")
    T.eq(getmetatable(e), require("luaws.core.errors").metatable)
  end
  local e = T.raises(function()
    RJ.parse(rj, rj:operation("GetObject"), { status = 200, headers = { ["x-count"] = "many" }, body = "" })
  end)
  T.eq(e.code, "ResponseParseError")
  e = T.raises(function() RX.parse(rx, rx:operation("GetZone"), { status = 200, headers = {}, body = "<Zone><Id>" }) end)
  T.eq(e.code, "ResponseParseError")
  local json = require "luaws.sdk.protocol.json"
  local kms = model.load("kms")
  e = T.raises(function()
    json.parse(kms, kms:operation("ListRetirableGrants"), { status = 200, headers = {},
      body = '{"Grants":[{"CreationDate":18e300}]}' })
  end)
  T.eq(e.code, "ResponseParseError", "the json protocol's os.date crash is gone")
  T.match(e.message, "out of range")
end)

T.test("timestamps: ISO 8601, epoch, RFC 822 both ways; never raise", function()
  T.eq(timestamp.parse("2015-10-21T07:28:00Z"), 1445412480)
  T.eq(timestamp.parse("Wed, 21 Oct 2015 07:28:00 GMT"), 1445412480)
  T.eq(timestamp.parse("1445412480"), 1445412480)
  T.eq(timestamp.parse("2015-10-21T09:28:00+02:00"), 1445412480)
  T.eq(timestamp.format(1445412480.5, "iso8601"), "2015-10-21T07:28:00.500000Z")
  T.eq(timestamp.format(1445412480, "rfc822"), "Wed, 21 Oct 2015 07:28:00 GMT")
  T.eq(timestamp.format("2015-10-21T07:28:00Z", "unixTimestamp"), 1445412480)
  T.eq(timestamp.format(-62135596800), "0001-01-01T00:00:00Z")
  for _, bad in ipairs { 18e300, 0 / 0, math.huge, "2015-13-01", "soon", {} } do
    local ok, v, err = pcall(timestamp.iso, bad)
    T.ok(ok, "never raises")
    T.eq(v, nil)
    T.ok(type(err) == "string")
  end
end)

T.test("validation names the path (Tags[2].Key) and every problem on one line, before sending", function()
  local e = T.raises(function()
    build(rx, RX, "PutTagging", { Bucket = "b", Tagging = { TagSet = { { Key = "a", Value = "1" }, { Key = 2 } } },
      Taging = 1 })
  end)
  T.eq(e.code, "ParamValidation")
  T.match(e.message, "Invalid type for parameter Tagging%.TagSet%[2%]%.Key, value: 2, type: integer, valid types: string")
  T.match(e.message, 'Unknown parameter in input: "Taging" %(did you mean "Tagging"%?%)')
  T.ok(not e.message:find("\n"), "one line")
  local problems = validate.problems(rj:operation("CreateThing").input, { Name = "n", Created = 18e300, Count = 1.5 })
  T.eq(#problems, 2)
  local kms = model.load("kms")
  e = T.raises(function() require("luaws.sdk.protocol.json").build(kms, kms:operation("CreateGrant"),
    { KeyId = "k", GranteePrincipal = "p", Operations = { "Decrypt", 7 } }) end)
  T.match(e.message, "Operations%[2%]", "the same validator serves every protocol")
end)

T.test("rest-xml body: root from the input's locationName and namespace, wrapped and flattened lists, maps, attributes", function()
  local req = build(rx, RX, "CreateZone", { Name = "z&<", Comment = "c", Names = { "a", "b" }, Flat = { "f1", "f2" },
    Labels = { k = "v" }, Grantee = { Type = "CanonicalUser", ID = "id" }, When = 0, Weight = 1.0, Private = false })
  T.eq(req.body, '<CreateZoneRequest xmlns="https://rx.example.com/doc/2024-01-01/"><Name>z&amp;&lt;</Name>'
    .. "<ZoneComment>c</ZoneComment><Names><Name>a</Name><Name>b</Name></Names><Flat>f1</Flat><Flat>f2</Flat>"
    .. "<Labels><entry><key>k</key><value>v</value></entry></Labels>"
    .. '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>id</ID></Grantee>'
    .. "<When>1970-01-01T00:00:00Z</When><Weight>1.0</Weight><Private>false</Private></CreateZoneRequest>")
  T.eq(headers_of(req)["content-type"], nil, "rest-xml sets no content type, as botocore")
  req = build(rx, RX, "PutTagging", { Bucket = "b", Tagging = { TagSet = {} } })
  T.eq(req.path, "/b")
  T.eq(req.query, "tagging")
  T.eq(req.body, '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet></TagSet></Tagging>')
end)

T.test("rest-xml replies: body members, header members, flattened lists, maps", function()
  local res = RX.parse(rx, rx:operation("CreateZone"), { status = 201, headers = { location = "/zone/1" }, body =
    '<CreateZoneResponse xmlns="x"><Zone><Id>1</Id><Count>3</Count><Created>2015-10-21T07:28:00Z</Created></Zone>'
    .. "<Names><Name>a</Name></Names><Flat>f1</Flat><Flat>f2</Flat>"
    .. "<Labels><entry><key>k</key><value>v</value></entry></Labels><Weight>NaN</Weight></CreateZoneResponse>" })
  T.same(res.Zone, { Id = "1", Count = 3, Created = "2015-10-21T07:28:00Z" })
  T.eq(res.Location, "/zone/1")
  T.same(res.Names, { "a" })
  T.same(res.Flat, { "f1", "f2" })
  T.same(res.Labels, { k = "v" })
  T.ok(res.Weight ~= res.Weight)
  res = RX.parse(rx, rx:operation("CreateZone"), { status = 201, headers = {}, body = "" })
  T.eq(res.Zone, nil, "an empty body gives no members")
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

T.test("error shapes: rest-xml <Error> and <ErrorResponse>, with modeled fields", function()
  local op = rx:operation("GetZone")
  local e = RX.parse_error(rx, op, { status = 404, headers = { ["x-amz-request-id"] = "r1" },
    body = "<Error><Code>NoSuchZone</Code><Message>gone</Message><ZoneId>z1</ZoneId><RequestId>r2</RequestId></Error>" })
  T.eq(e.code, "NoSuchZone")
  T.eq(e.message, "gone")
  T.eq(e.fields.ZoneId, "z1")
  e = RX.parse_error(rx, op, { status = 404, headers = {}, body =
    "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchZone</Code><Message>m</Message><ZoneId>z2</ZoneId></Error>"
    .. "<RequestId>r3</RequestId></ErrorResponse>" })
  T.eq(e.code, "NoSuchZone")
  T.eq(e.request_id, "r3")
  T.eq(e.fields.ZoneId, "z2")
  e = RX.parse_error(rx, op, { status = 404, headers = {}, body = "" })
  T.eq(e.code, "HTTP404", "a bodiless 404 (HEAD) still gives a code")
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

T.done()
