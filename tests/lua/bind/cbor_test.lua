-- cbor_test: luaws.cbor against RFC 8949 appendix A vectors, malformed input (appendix F) and limits.
local T = require "testing"
local cbor = require "luaws.cbor"

local function unhex(h) return (h:gsub("%s", ""):gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

local function seq(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

local NAN = 0 / 0
local INF = math.huge

-- {value, hex, encodes}: encodes = true when encode(value) gives exactly hex (preferred form).
local VECTORS = {
  { 0, "00", true }, { 1, "01", true }, { 10, "0a", true }, { 23, "17", true }, { 24, "1818", true },
  { 25, "1819", true }, { 100, "1864", true }, { 1000, "1903e8", true },
  { 1000000, "1a000f4240", true }, { 1000000000000, "1b000000e8d4a51000", true },
  { 18446744073709551615.0, "1bffffffffffffffff" },
  { -18446744073709551616.0, "3bffffffffffffffff" },
  { -1, "20", true }, { -10, "29", true }, { -100, "3863", true }, { -1000, "3903e7", true },
  { math.mininteger, "3b7fffffffffffffff", true }, { math.maxinteger, "1b7fffffffffffffff", true },
  { 0.0, "f90000", "shortest" }, { -0.0, "f98000", "shortest" }, { 1.0, "f93c00", "shortest" },
  { 1.1, "fb3ff199999999999a", true }, { 1.5, "f93e00", "shortest" }, { 65504.0, "f97bff", "shortest" },
  { 100000.0, "fa47c35000", "shortest" }, { 3.4028234663852886e+38, "fa7f7fffff", "shortest" },
  { 1.0e+300, "fb7e37e43c8800759c", true }, { 5.960464477539063e-8, "f90001", "shortest" },
  { 0.00006103515625, "f90400", "shortest" }, { -4.0, "f9c400", "shortest" },
  { -4.1, "fbc010666666666666", true },
  { INF, "f97c00", true }, { NAN, "f97e00", true }, { -INF, "f9fc00", true },
  { INF, "fa7f800000" }, { NAN, "fa7fc00000" }, { -INF, "faff800000" },
  { INF, "fb7ff0000000000000" }, { NAN, "fb7ff8000000000000" }, { -INF, "fbfff0000000000000" },
  { false, "f4", true }, { true, "f5", true }, { cbor.null, "f6", true }, { cbor.null, "f7" },
  { 1363896240, "c11a514b67b0" }, { 1363896240.5, "c1fb41d452d9ec200000" },
  { "", "40" }, { "\1\2\3\4", "4401020304" },
  { "", "60", true }, { "a", "6161", true }, { "IETF", "6449455446", true }, { "\"\\", "62225c", true },
  { "\u{fc}", "62c3bc", true }, { "\u{6c34}", "63e6b0b4", true }, { "\u{10151}", "64f0908591", true },
  { {}, "80" }, { { 1, 2, 3 }, "83010203", true }, { { 1, { 2, 3 }, { 4, 5 } }, "8301820203820405", true },
  { seq(25), "98190102030405060708090a0b0c0d0e0f101112131415161718181819", true },
  { {}, "a0", true }, { { [1] = 2, [3] = 4 }, "a201020304" },
  { { a = 1, b = { 2, 3 } }, "a26161016162820203" }, { { "a", { b = "c" } }, "826161a161626163", true },
  { { a = "A", b = "B", c = "C", d = "D", e = "E" }, "a56161614161626142616361436164614461656145" },
  { "\1\2\3\4\5", "5f42010243030405ff" }, { "streaming", "7f657374726561646d696e67ff" },
  { {}, "9fff" }, { { 1, { 2, 3 }, { 4, 5 } }, "9f018202039f0405ffff" },
  { { 1, { 2, 3 }, { 4, 5 } }, "9f01820203820405ff" }, { { 1, { 2, 3 }, { 4, 5 } }, "83018202039f0405ff" },
  { { 1, { 2, 3 }, { 4, 5 } }, "83019f0203ff820405" },
  { seq(25), "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff" },
  { { a = 1, b = { 2, 3 } }, "bf61610161629f0203ffff" }, { { "a", { b = "c" } }, "826161bf61626163ff" },
  { { Fun = true, Amt = -2 }, "bf6346756ef563416d7421ff" },
}

local function same_value(a, b)
  if type(a) == "number" and type(b) == "number" then
    if a ~= a then return b ~= b end
    if math.type(a) ~= math.type(b) then return false end
    if a == 0 and b == 0 then return 1 / a == 1 / b end
    return a == b
  end
  return T.deep_equal(a, b)
end

T.test("RFC 8949 appendix A: every well-formed vector decodes to its value", function()
  for _, v in ipairs(VECTORS) do
    local got, err = cbor.decode(unhex(v[2]))
    T.eq(err, nil, v[2])
    T.ok(same_value(got, v[1]), "decoding " .. v[2] .. " gave " .. tostring(got))
  end
end)

T.test("RFC 8949 appendix A: preferred serialisation encodes byte for byte", function()
  local n = 0
  for _, v in ipairs(VECTORS) do
    if v[3] then
      local opts = v[3] == "shortest" and { floats = "shortest" } or nil
      T.eq(hex(cbor.encode(v[1], opts)), v[2], "encoding the value of " .. v[2])
      n = n + 1
    end
  end
  T.ok(n >= 40, "most vectors are checked")
  T.eq(hex(cbor.encode(cbor.bytes("\1\2\3\4"))), "4401020304")
  T.eq(hex(cbor.encode(cbor.array {})), "80")
  T.eq(hex(cbor.encode(cbor.map { 5 })), "a10105")
  T.eq(hex(cbor.encode(cbor.tag(1, 1363896240))), "c11a514b67b0")
  T.eq(hex(cbor.encode(cbor.float32(100000.0))), "fa47c35000")
  T.eq(hex(cbor.encode(1.0)), "fb3ff0000000000000", "floats are doubles unless asked otherwise")
  T.eq(hex(cbor.encode("\xc0\xae")), "42c0ae", "a string that is not UTF-8 goes as bytes")
end)

T.test("tags: epoch time is its number, bignums and other tags are errors", function()
  for _, bad in ipairs { "c249010000000000000000", "c349010000000000000000" } do
    local v, err = cbor.decode(unhex(bad))
    T.eq(v, nil)
    T.eq(err.code, "CBORError")
    T.match(err.message, "bignum")
  end
  for _, bad in ipairs { "c074323031332d30332d32315432303a30343a30305a", "d74401020304",
    "d818456449455446", "c16161" } do
    local v, err = cbor.decode(unhex(bad))
    T.eq(v, nil, bad)
    T.match(tostring(err), "^CBORError: .*tag")
  end
end)

T.test("malformed and hostile input: error tables with offsets, never crashes", function()
  local cases = {
    [""] = "truncated", ["18"] = "truncated", ["1c"] = "reserved", ["1f"] = "indefinite",
    ["5f01ff"] = "another type", ["5f5f4100ffff"] = "another type", ["ff"] = "break",
    ["9f"] = "truncated", ["9f01"] = "truncated", ["bf01"] = "truncated", ["a1"] = "truncated",
    ["62c0ae"] = "UTF%-8", ["63eda080"] = "UTF%-8", ["f818"] = "simple", ["f0"] = "simple",
    ["5bffffffffffffffff"] = "longer than the input", ["7a7fffffff61"] = "longer than the input",
    ["9bffffffffffffffff"] = "count larger", ["bbffffffffffffffff"] = "count larger",
    ["0001"] = "bytes after", ["a18001"] = "map key", ["a1f96e0001"] = "map key",
    ["7f6161"] = "truncated",
  }
  for h, pattern in pairs(cases) do
    local v, err = cbor.decode(unhex(h))
    T.eq(v, nil, h)
    T.eq(type(err), "table", h)
    T.match(err.message, pattern, h)
    T.eq(math.type(err.offset), "integer", h)
  end
  local deep = string.rep("\x81", 100000) .. "\0"
  local v, err = cbor.decode(deep)
  T.eq(v, nil)
  T.match(err.message, "deeper than the limit")
  local ok = cbor.decode(string.rep("\x81", 50) .. "\0")
  T.eq(type(ok), "table", "50 levels are fine")
  T.eq(cbor.decode(string.rep("\x81", 10) .. "\0", { max_depth = 5 }), nil)
  T.eq(cbor.decode("\x61a", { max_size = 1 }), nil)
end)

T.test("maps: null members are absent, nulls in arrays keep their place", function()
  local v = cbor.decode(unhex("a26161f6616282f601"))
  T.eq(v.a, nil)
  T.eq(v.b[1], cbor.null)
  T.eq(v.b[2], 1)
end)

T.test("writer: heads, indefinite items and values in the order given", function()
  local w = cbor.writer()
  w:map(3):text("b"):int(-2):text("a"):array(2):float32(1.5):float64(0 / 0):text("c"):begin("text")
  w:text("x"):text("y"):finish()
  T.eq(hex(w:result()), "a3616221616182fa3fc00000f97e0061637f61786179ff")
  local r = cbor.writer():tag(1):int(0):bytes("\0"):bool(false):null():value({ 1 }):result()
  T.eq(hex(r), "c1004100f4f68101")
  T.raises(function() cbor.encode(function() end) end)
  local cycle = {}
  cycle[1] = cycle
  T.raises(function() cbor.encode(cycle) end)
end)

T.test("round trips of random values", function()
  math.randomseed(12345)
  local function random_value(depth)
    local r = math.random(depth > 3 and 5 or 7)
    if r == 1 then return math.random(-2 ^ 40, 2 ^ 40) end
    if r == 2 then return (math.random() - 0.5) * 10 ^ math.random(-300, 300) end
    if r == 3 then
      local chars = {}
      for i = 1, math.random(0, 30) do chars[i] = string.char(math.random(32, 126)) end
      return table.concat(chars)
    end
    if r == 4 then return math.random(2) == 1 end
    if r == 5 then return math.random(-30, 30) end
    if r == 6 then
      local t = {}
      for i = 1, math.random(1, 5) do t[i] = random_value(depth + 1) end
      return t
    end
    local t = {}
    for i = 1, math.random(1, 5) do t["k" .. i] = random_value(depth + 1) end
    return t
  end
  for _ = 1, 500 do
    local v = random_value(0)
    local opts = math.random(2) == 1 and { floats = "shortest" } or nil
    local back, err = cbor.decode(cbor.encode(v, opts))
    T.eq(err, nil)
    T.ok(same_value(back, v), "round trip")
  end
end)

T.done()
