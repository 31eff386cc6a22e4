-- json_test: the lossless codec keeps array/object kinds, null, integers and floats, and rejects bad text.
local T = require "testing"
local json = require "luaws.core.json"

T.test("empty arrays and objects keep their kind through a round trip", function()
  local doc = json.decode('{"a":[],"b":{},"c":[1,2.5,"x",null,true]}')
  T.eq(getmetatable(doc.a), json.array_mt)
  T.eq(getmetatable(doc.b), json.object_mt)
  T.eq(doc.c[4], json.null)
  T.eq(math.type(doc.c[1]), "integer")
  T.eq(json.encode(doc), '{"a":[],"b":{},"c":[1,2.5,"x",null,true]}')
end)

T.test("key order: key_order first, then alphabetical; indent pretty-prints", function()
  T.eq(json.encode({ z = 1, a = 2, Version = 3 }, { key_order = { "Version" } }), '{"Version":3,"a":2,"z":1}')
  T.eq(json.encode({ a = { 1 } }, { indent = " " }), '{\n "a": [\n  1\n ]\n}')
end)

T.test("bad text raises MalformedJSON naming the line", function()
  local ok, e = pcall(json.decode, '{"a":\n tru}')
  T.ok(not ok)
  T.eq(e.code, "MalformedJSON")
  T.ok(e.message:find("line 2", 1, true), e.message)
  local _, e2 = pcall(json.decode, 42)
  T.eq(e2.code, "MalformedJSON")
end)

T.test("cycles, NaN and function values are refused", function()
  local t = {} t.self = t
  T.ok(not pcall(json.encode, t))
  T.ok(not pcall(json.encode, { 0 / 0 }))
  T.ok(not pcall(json.encode, { print }))
end)

T.test("normalize marks plain tables; copy keeps marks", function()
  local n = json.normalize { Statement = { { Sid = "x" } }, Empty = {} }
  T.eq(getmetatable(n.Statement), json.array_mt)
  T.eq(getmetatable(n.Empty), json.object_mt)
  T.eq(getmetatable(json.copy(n).Statement), json.array_mt)
end)

T.done()
