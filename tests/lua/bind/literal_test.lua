-- literal_test: luaws.literal.decode builds the same values as Lua's own compiler for the shape
-- text of every shipped service model, and rejects broken text with an error, never a crash.
local T = require "testing"
local literal = require "luaws.literal"
local model = require "luaws.sdk.model"

local function same(a, b, path)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a ~= b or math.type(a) ~= math.type(b) then
      return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b)
    end
    return true
  end
  for k, v in pairs(a) do
    local ok, why = same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. " missing" end
  end
  return true
end

T.test("every shape of every shipped model decodes as load() compiles it", function()
  local shapes, services = 0, 0
  for _, name in ipairs(model.services()) do
    local svc = model.load(name)
    if svc._shipped then
      services = services + 1
      for shape_name, text in pairs(svc._data.shapes) do
        if type(text) == "string" then
          local expected = load("return " .. text, "=shape", "t", {})()
          local ok, why = same(literal.decode(text), expected, name .. "." .. shape_name)
          if not ok then T.fail(why) end
          shapes = shapes + 1
        end
      end
    end
  end
  T.ok(services > 400, "only " .. services .. " shipped services")
  T.ok(shapes > 50000, "only " .. shapes .. " shapes")
end)

T.test("scalars, escapes, keys and positional items", function()
  local v = literal.decode([[ {"a\"b\n\065\\", 'q', -1.5e3, 42, 1.0, true, false, x_1 = {}, ["y z"] = 7; } ]])
  T.eq(v[1], 'a"b\nA\\')
  T.eq(v[2], "q")
  T.eq(v[3], -1500.0)
  T.eq(math.type(v[4]), "integer")
  T.eq(math.type(v[5]), "float")
  T.eq(v[6], true)
  T.eq(v[7], false)
  T.eq(type(v.x_1), "table")
  T.eq(v["y z"], 7)
  T.eq(next(literal.decode("{}")), nil)
  T.eq(#literal.decode("{{}, {}, {{}}}"), 3)
  T.eq(literal.decode('"plain"'), "plain")
  T.eq(literal.decode("  12  "), 12)
end)

T.test("broken text is an error naming the problem and the byte", function()
  local cases = {
    ["{a=1"] = "unfinished table", ["{a=1}x"] = "unexpected text", ['"abc'] = "unfinished string",
    ['"\\q"'] = "invalid escape", ['"\\999"'] = "decimal escape too large", ["{[nil]=1}"] = "index is nil",
    ["{a=print}"] = "unexpected symbol", ["{1 2}"] = "',' or '}' expected", ["{a=1..2}"] = "malformed number",
    [""] = "value expected", ["{[\"k\" 1}"] = "']' expected", ["{[\"k\"] 1}"] = "'=' expected",
    ["{false=5}"] = "reserved word", ["{[1]=5}"] = "numeric keys",
    ['"a\rb"'] = "unfinished string", ['"a\nb"'] = "unfinished string",
  }
  for text, problem in pairs(cases) do
    local v, err = literal.decode(text)
    T.eq(v, nil, text)
    T.match(err, "^literal: .*" .. problem:gsub("%p", "%%%0") .. ".* at byte %d+$")
  end
  T.match(select(2, literal.decode(("{"):rep(100) .. ("}"):rep(100))), "nested too deeply")
end)

T.test("every truncation of a real shape is rejected cleanly", function()
  local text = model.load("s3")._data.shapes.ListObjectsV2Request
  for i = 0, #text - 1 do
    local v, err = literal.decode(text:sub(1, i))
    T.ok(v == nil and type(err) == "string", "prefix of " .. i .. " bytes")
  end
end)

T.done()
