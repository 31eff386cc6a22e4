-- jmespath_functions_test: luaws.core.jmespath.functions: arity and type checks, each function.
local T = require "testing"
local functions = require "luaws.core.jmespath.functions"
local value = require "luaws.core.jmespath.value"

local function call(name, ...)
  local args = table.pack(...)
  return functions.call(name, args, args.n, function(ref, x) return ref.fn(x) end)
end

T.test("all 26 functions of the specification are there", function()
  T.same(functions.names, { "abs", "avg", "ceil", "contains", "ends_with", "floor", "join", "keys", "length",
    "map", "max", "max_by", "merge", "min", "min_by", "not_null", "reverse", "sort", "sort_by",
    "starts_with", "sum", "to_array", "to_number", "to_string", "type", "values" })
end)

T.test("numbers, strings, arrays", function()
  T.eq(call("abs", -2), 2)
  T.eq(call("avg", value.array { 1, 2 }), 1.5)
  T.eq(call("avg", value.array()), nil)
  T.eq(call("ceil", 1.2), 2)
  T.eq(math.type(call("floor", 1.8)), "integer")
  T.eq(call("join", "-", value.array { "a", "b" }), "a-b")
  T.eq(call("length", "é日"), 2, "characters, not bytes")
  T.eq(call("reverse", "abé"), "éba")
  T.same(call("sort", value.array { "b", "a" }), { "a", "b" })
  T.eq(call("sum", value.array()), 0)
  T.eq(call("max", value.array { 3, 9, 2 }), 9)
  T.eq(call("to_number", " 12 "), 12)
  T.eq(call("to_number", "0x10"), nil, "python's int()/float() take no hex")
  T.eq(call("to_string", value.array { 1, "a" }), '[1,"a"]')
  T.eq(call("type", value.NULL), "null")
  T.eq(call("not_null", nil, value.NULL, 3), 3)
end)

T.test("arity and type errors are error tables", function()
  local cases = { { "abs", "JMESPathTypeError", "x" }, { "length", "JMESPathArityError" },
    { "sum", "JMESPathTypeError", value.array { 1, true } }, { "nope", "JMESPathUnknownFunction" },
    { "max", "JMESPathTypeError", value.array { 1, "a" } }, { "merge", "JMESPathArityError" } }
  for _, c in ipairs(cases) do
    local ok, e = pcall(call, c[1], table.unpack(c, 3))
    T.ok(not ok, c[1])
    T.eq(e.code, c[2], c[1])
  end
end)

T.test("expression functions call back with each element", function()
  local arr = value.array { { n = 2 }, { n = 1 }, { n = 2, last = true } }
  local by_n = setmetatable({ fn = function(x) return x.n end }, { __jmespath = "expref" })
  T.eq(call("sort_by", arr, by_n)[3].last, true, "stable: equal keys keep their order")
  T.eq(call("max_by", arr, by_n).last, nil, "the first of the greatest")
  T.eq(call("min_by", arr, by_n).n, 1)
  T.same(call("map", by_n, arr), { 2, 1, 2 })
end)

T.done()
