-- protocol_jsondoc_test: JSON replies by shape: exact big integers, ISO timestamps, error tables for bad input.
-- luacheck: no max line length (fixtures: wire forms read best unbroken)
local T = require "testing"
local F = require "rest_fixtures"
local model = require "luaws.sdk.model"
local rj, rx, RJ, RX = F.rj, F.rx, F.RJ, F.RX

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

T.done()
