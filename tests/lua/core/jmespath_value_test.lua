-- jmespath_value_test: luaws.core.jmespath.value: JSON kinds, truth, equality, python's JSON text.
local T = require "testing"
local value = require "luaws.core.jmespath.value"
local json = require "luaws.core.json"

T.test("kinds: marked tables, core.json documents, unmarked guesses", function()
  T.eq(value.type_of(value.array()), "array")
  T.eq(value.type_of(value.object()), "object")
  T.eq(value.type_of(json.decode("{}")), "object")
  T.eq(value.type_of(json.decode("[]")), "array")
  T.eq(value.type_of(json.null), "null")
  T.eq(value.type_of(require("cjson").null), "null")
  T.eq(value.type_of({ 1 }), "array")
  T.eq(value.type_of({ a = 1 }), "object")
  T.eq(value.type_of({}), "array")
end)

T.test("truth and equality follow JMESPath", function()
  for _, v in ipairs { false, "", value.array(), value.object(), value.NULL } do T.ok(value.is_false(v)) end
  for _, v in ipairs { 0, " ", { 0 }, true } do T.ok(not value.is_false(v)) end
  T.ok(value.equal({ a = { 1, 2 } }, value.decode('{"a": [1, 2]}')))
  T.ok(not value.equal(value.decode("[]"), value.decode("{}")))
  T.ok(not value.equal(value.decode('{"a": null}'), value.decode("{}")), "a null member is a member")
  T.ok(value.equal(1, 1.0))
end)

T.test("decode keeps order, kinds and nulls; encode writes python's json.dumps", function()
  local v = value.decode('{"z": [1, null, 2.50], "a": {"é": "\\u00e9\\ud83d\\ude00"}, "e": 1e2}')
  T.same(value.keys(v), { "z", "a", "e" })
  T.eq(v.z[2], value.NULL)
  T.eq(value.encode(v), '{"z":[1,null,2.5],"a":{"\\u00e9":"\\u00e9\\ud83d\\ude00"},"e":100.0}')
  T.eq(value.encode(v, true), '{"z": [1, null, 2.5], "a": {"\\u00e9": "\\u00e9\\ud83d\\ude00"}, "e": 100.0}')
  T.eq(value.float_repr(1 / 3), "0.3333333333333333")
  T.eq(value.float_repr(1e-5), "1e-05")
  T.eq(value.float_repr(-0.0), "-0.0")
  local ok, e = pcall(value.decode, '{"a" 1}')
  T.ok(not ok and e.json_error)
end)

T.done()
