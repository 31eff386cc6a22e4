-- protocol_validate_test: parameter validation names paths (Tags[2].Key) on one line, for every protocol.
-- luacheck: no max line length (fixtures: wire forms read best unbroken)
local T = require "testing"
local F = require "rest_fixtures"
local model = require "luaws.sdk.model"
local validate = require "luaws.sdk.protocol.validate"
local rj, rx, RX, build = F.rj, F.rx, F.RX, F.build

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

T.done()
