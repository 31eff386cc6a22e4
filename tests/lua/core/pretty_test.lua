-- pretty_test: luaws.pretty renders values readably, in a stable order, and always terminates.
local T = require "testing"
local pretty = require "luaws.core.pretty"

T.test("scalars and quoted strings", function()
  T.eq(pretty.format(nil), "nil")
  T.eq(pretty.format(true), "true")
  T.eq(pretty.format(42), "42")
  T.eq(pretty.format(1.5), "1.5")
  T.eq(pretty.format("hi"), '"hi"')
  T.eq(pretty.format('a"b\\c\n\t\0\127'), [["a\"b\\c\n\t\000\127"]])
  T.eq(pretty.format("héllo"), '"héllo"', "UTF-8 stays readable")
  T.match(pretty.format(print), "^function: ") -- as tostring shows them
end)

T.test("lists print without keys, short tables inline", function()
  T.eq(pretty.format({}), "{}")
  T.eq(pretty.format({ 1, 2, 3 }), "{ 1, 2, 3 }")
  T.eq(pretty.format({ "a", { "b" } }), '{ "a", { "b" } }')
end)

T.test("keys sorted: numbers first, then strings; odd keys bracketed", function()
  local t = { z = 1, a = 2, [10] = "ten", [2] = "two", ["with space"] = 3, ["end"] = 4, [true] = 5 }
  T.eq(pretty.format(t, { width = 200 }),
    '{ [2] = "two", [10] = "ten", a = 2, ["end"] = 4, ["with space"] = 3, z = 1, [true] = 5 }')
  T.eq(pretty.format({ "x", "y", [4] = "gap" }), '{ "x", "y", [4] = "gap" }')
end)

T.test("long or nested tables go one entry per line, indented", function()
  local t = { name = string.rep("n", 70), tags = { { Key = "a", Value = "1" } } }
  T.eq(pretty.format(t), table.concat({
    "{",
    '  name = "' .. string.rep("n", 70) .. '",',
    '  tags = { { Key = "a", Value = "1" } }',
    "}",
  }, "\n"))
  T.eq(pretty.format(t, { indent = 4 }):match("\n( *)name"), "    ")
  local deep = { level1 = { level2 = { text = string.rep("x", 90) } } }
  T.eq(pretty.format(deep), table.concat({
    "{",
    "  level1 = {",
    "    level2 = {",
    '      text = "' .. string.rep("x", 90) .. '"',
    "    }",
    "  }",
    "}",
  }, "\n"))
end)

T.test("cycles are marked, shared tables are not cycles", function()
  local t = { name = "root" }
  t.self = t
  t.child = { parent = t }
  T.eq(pretty.format(t), '{ child = { parent = <cycle> }, name = "root", self = <cycle> }')
  local shared = { 1 }
  T.eq(pretty.format({ a = shared, b = shared }), "{ a = { 1 }, b = { 1 } }")
end)

T.test("long tables are elided with a count", function()
  local t = {}
  for i = 1, 250 do t[i] = i end
  local out = pretty.format(t, { max_items = 3 })
  T.eq(out, "{ 1, 2, 3, ... (247 more) }")
  T.match(pretty.format(t), "%.%.%. %(150 more%)", "default shows 100")
end)

T.test("depth is bounded", function()
  local t = { a = { b = { c = { d = {} } } } }
  T.eq(pretty.format(t, { max_depth = 2 }), "{ a = { b = {...} } }")
end)

T.test("error tables show through __tostring, broken ones do not raise", function()
  local err = setmetatable({ code = "AccessDenied", message = "no" },
    { __tostring = function(e) return e.code .. ": " .. e.message end })
  T.eq(pretty.format(err), "AccessDenied: no")
  T.eq(pretty.format({ err }), "{ AccessDenied: no }")
  local broken = setmetatable({}, { __tostring = function() error("bad") end })
  T.eq(pretty.format(broken), "<table: __tostring failed>")
end)

T.test("print writes each value, tab-separated or one per line", function()
  local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")
  local chunk = [[local p = require "luaws.core.pretty"
    p.print(1, "a", { 2 }) p.print(nil) p.print({ long = string.rep("l", 80) }, 3)]]
  local pipe = assert(io.popen(bin .. " -e '" .. chunk .. "'"))
  local out = pipe:read("a")
  pipe:close()
  T.eq(out, '1\t"a"\t{ 2 }\nnil\n{\n  long = "' .. string.rep("l", 80) .. '"\n}\n3\n')
end)

T.done()
