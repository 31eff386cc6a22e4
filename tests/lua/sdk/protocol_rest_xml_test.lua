-- protocol_rest_xml_test: rest-xml bodies (root, namespaces, lists, maps, attributes), replies and <Error> shapes.
-- luacheck: no max line length (fixtures: wire forms read best unbroken)
local T = require "testing"
local F = require "rest_fixtures"
local rx, RX, build, headers_of = F.rx, F.RX, F.build, F.headers_of

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

T.test("event streams (S3 SelectObjectContent's shape): blob and XML event payloads", function()
  local es = require "luaws.eventstream"
  local function event(name, payload)
    return es.encode({ { ":message-type", "string", "event" }, { ":event-type", "string", name } }, payload)
  end
  local body = event("Records", "a,b\n1,2\n") .. event("Stats",
    "<Stats><BytesScanned>10</BytesScanned><BytesReturned>8</BytesReturned></Stats>") .. event("End", "")
  local out = RX.parse(rx, rx:operation("Select"), { status = 200, headers = {}, body = body })
  local seen = {}
  for ev in out.Payload do seen[#seen + 1] = ev end
  T.eq(seen[1].Records.Payload, "a,b\n1,2\n")
  T.same(seen[2].Stats.Details, { BytesScanned = 10, BytesReturned = 8 })
  T.same(seen[3], {}, "an event the model does not know is empty, as botocore")
  T.eq(#seen, 3)
end)

T.done()
