-- core.jmespath.value: JSON values in Lua for JMESPath: types, null, truth, equality, JSON text.
--
-- Lua cannot tell [] from {} or keep a null inside a list, so JMESPath marks what it builds
-- with luaws.core.json's kinds (so its encoder writes them back exactly): arrays carry
-- json.array_mt, objects json.object_mt (or a per-object metatable whose `keys` field keeps
-- their key order), and a null inside an array or object is json.null (cjson.null is read as
-- null too). Unmarked tables (what the protocol parsers return) are arrays when they are empty
-- or have [1], else objects; unmarked objects iterate in sorted key order.
local M = {}

local json = require "luaws.core.json"
local ok_cjson, cjson = pcall(require, "cjson")
local CJSON_NULL = ok_cjson and cjson.null or json.null
M.NULL, M.ARRAY_MT, M.OBJECT_MT = json.null, json.array_mt, json.object_mt
local NULL, ARRAY_MT, OBJECT_MT = M.NULL, M.ARRAY_MT, M.OBJECT_MT
local KIND = { [ARRAY_MT] = "array", [OBJECT_MT] = "object" }

--- array(t) -> t marked as a JMESPath array (t defaults to a new table).
function M.array(t) return setmetatable(t or {}, ARRAY_MT) end

--- object(t, keys) -> t marked as a JMESPath object; keys (optional) is its key order.
function M.object(t, keys)
  if keys then return setmetatable(t or {}, { __name = "luaws.json.object", __jmespath = "object", keys = keys }) end
  return setmetatable(t or {}, OBJECT_MT)
end

--- type_of(v) -> "null" | "string" | "number" | "boolean" | "array" | "object" | "expref".
function M.type_of(v)
  if v == nil or v == NULL or v == CJSON_NULL then return "null" end
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return t end
  if t ~= "table" then return "string" end  -- userdata/functions: treated as opaque strings
  local mt = getmetatable(v)
  local mark = mt and (KIND[mt] or rawget(mt, "__jmespath"))
  if mark then return mark end
  if next(v) == nil or rawget(v, 1) ~= nil then return "array" end
  return "object"
end
local type_of = M.type_of

--- len(array) -> its length, counting NULL placeholders (rawlen: no __len surprises).
function M.len(a) return rawlen(a) end

--- keys(object) -> array of its keys: the recorded order, else sorted.
function M.keys(o)
  local mt = getmetatable(o)
  local order = mt and rawget(mt, "keys")
  if order then
    local out = {}
    for _, k in ipairs(order) do if rawget(o, k) ~= nil then out[#out + 1] = k end end
    return out
  end
  local out = {}
  for k in pairs(o) do if type(k) == "string" then out[#out + 1] = k end end
  table.sort(out)
  return out
end

--- is_false(v) -> true for JMESPath false values: null, false, "", [], {}.
function M.is_false(v)
  if v == nil or v == NULL or v == CJSON_NULL or v == false or v == "" then return true end
  return type(v) == "table" and next(v) == nil
end

--- from_null(v) -> v, with NULL turned into nil (for values handed back to Lua callers).
function M.from_null(v)
  if v == NULL or v == CJSON_NULL then return nil end
  return v
end

--- equal(a, b) -> deep JMESPath equality (python's ==: 1 == 1.0; true ~= 1 only at top level).
local function equal(a, b)
  if a == NULL or a == CJSON_NULL then a = nil end
  if b == NULL or b == CJSON_NULL then b = nil end
  if a == b then return true end
  local ta, tb = type_of(a), type_of(b)
  if ta ~= tb then
    -- Empty unmarked tables may be either; python's [] == {} is false but one of them is unknown.
    if (ta == "array" or ta == "object") and (tb == "array" or tb == "object") then
      return next(a) == nil and next(b) == nil
        and (getmetatable(a) == nil or getmetatable(b) == nil)
    end
    return false
  end
  if ta == "array" then
    local n = M.len(a)
    if n ~= M.len(b) then return false end
    for i = 1, n do if not equal(a[i], b[i]) then return false end end
    return true
  elseif ta == "object" then
    for k, v in pairs(a) do
      if b[k] == nil or not equal(v, b[k]) then return false end
    end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  return false
end
M.equal = equal

---------------------------------------------------------------------------------------------------
-- JSON text: decode (marked tables, NULL placeholders) and encode (python's json.dumps)
---------------------------------------------------------------------------------------------------

local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function utf8_char(cp) return utf8.char(cp) end

local function decode_error(s, pos, what)
  error({ json_error = true, message = string.format("%s at character %d of %q", what, pos, s) }, 0)
end

local decode_value

local function skip(s, pos) return (s:find("[^ \t\r\n]", pos)) or #s + 1 end

local function decode_string(s, pos)
  local out, i = {}, pos + 1
  while true do
    local c = s:sub(i, i)
    if c == "" then decode_error(s, pos, "unterminated string") end
    if c == '"' then return table.concat(out), i + 1 end
    if c == "\\" then
      local e = s:sub(i + 1, i + 1)
      if ESCAPES[e] then
        out[#out + 1], i = ESCAPES[e], i + 2
      elseif e == "u" then
        local hex = s:match("^%x%x%x%x", i + 2)
        if not hex then decode_error(s, i, "bad \\u escape") end
        local cp = tonumber(hex, 16)
        i = i + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = s:match("^\\u(%x%x%x%x)", i)
          local low = lo and tonumber(lo, 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            cp, i = 0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00), i + 6
          end
        end
        out[#out + 1] = utf8_char(cp)
      else
        decode_error(s, i, "bad escape")
      end
    elseif c:byte() < 32 then
      decode_error(s, i, "control character in string")
    else
      local j = s:find('[%c"\\]', i) or #s + 1
      out[#out + 1], i = s:sub(i, j - 1), j
    end
  end
end

function decode_value(s, pos)
  pos = skip(s, pos)
  local c = s:sub(pos, pos)
  if c == "{" then
    local obj, keys = {}, {}
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "}" then return M.object(obj, keys), pos + 1 end
    while true do
      if s:sub(pos, pos) ~= '"' then decode_error(s, pos, "expected a key") end
      local key
      key, pos = decode_string(s, pos)
      pos = skip(s, pos)
      if s:sub(pos, pos) ~= ":" then decode_error(s, pos, "expected ':'") end
      local v
      v, pos = decode_value(s, pos + 1)
      if obj[key] == nil then keys[#keys + 1] = key end
      obj[key] = v == nil and NULL or v
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "}" then return M.object(obj, keys), pos + 1 end
      if d ~= "," then decode_error(s, pos, "expected ',' or '}'") end
      pos = skip(s, pos + 1)
    end
  elseif c == "[" then
    local arr, n = {}, 0
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "]" then return M.array(arr), pos + 1 end
    while true do
      local v
      v, pos = decode_value(s, pos)
      n = n + 1
      arr[n] = v == nil and NULL or v
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "]" then return M.array(arr), pos + 1 end
      if d ~= "," then decode_error(s, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(s, pos)
  elseif s:find("^true", pos) then return true, pos + 4
  elseif s:find("^false", pos) then return false, pos + 5
  elseif s:find("^null", pos) then return nil, pos + 4
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if num and num:match("^-?0%d") then num = nil end
  local v = num and tonumber(num)
  if v == nil then decode_error(s, pos, "unexpected text") end
  return v, pos + #num
end

--- decode(s) -> the JSON value in s (nil for null), with marked arrays/objects; raises
-- {json_error=true, message=} on malformed text or trailing characters.
function M.decode(s)
  local v, pos = decode_value(s, 1)
  pos = skip(s, pos)
  if pos <= #s then decode_error(s, pos, "trailing characters") end
  return v
end

-- Python's repr of a float: shortest round-trip digits, exponent form outside 1e-4..1e16.
local function float_repr(x)
  if x ~= x then return "NaN" end
  if x == math.huge then return "Infinity" end
  if x == -math.huge then return "-Infinity" end
  local s
  for p = 1, 17 do
    s = string.format("%." .. p .. "e", x)
    if tonumber(s) == x then break end
  end
  local mant, exp = s:match("^(-?[%d.]+)e([-+]%d+)$")
  exp = tonumber(exp)
  local digits = mant:gsub("[.-]", ""):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local sign = (x < 0 or 1 / x < 0) and "-" or ""
  if exp < -4 or exp >= 16 then
    local m = digits:sub(1, 1) .. (#digits > 1 and "." .. digits:sub(2) or "")
    return string.format("%s%se%s%02d", sign, m, exp < 0 and "-" or "+", math.abs(exp))
  end
  if exp >= 0 then
    if #digits <= exp + 1 then return sign .. digits .. string.rep("0", exp + 1 - #digits) .. ".0" end
    return sign .. digits:sub(1, exp + 1) .. "." .. digits:sub(exp + 2)
  end
  return sign .. "0." .. string.rep("0", -exp - 1) .. digits
end
M.float_repr = float_repr

local function encode_string(s)
  local out = s:gsub('[%c"\\\128-\255]+', function(run)
    local parts = {}
    for _, cp in utf8.codes(run, true) do
      if cp == 34 then parts[#parts + 1] = '\\"'
      elseif cp == 92 then parts[#parts + 1] = "\\\\"
      elseif cp == 10 then parts[#parts + 1] = "\\n"
      elseif cp == 13 then parts[#parts + 1] = "\\r"
      elseif cp == 9 then parts[#parts + 1] = "\\t"
      elseif cp == 8 then parts[#parts + 1] = "\\b"
      elseif cp == 12 then parts[#parts + 1] = "\\f"
      elseif cp >= 0x10000 then
        local v = cp - 0x10000
        parts[#parts + 1] = string.format("\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
      elseif cp < 32 or cp >= 127 then parts[#parts + 1] = string.format("\\u%04x", cp)
      else parts[#parts + 1] = utf8.char(cp) end
    end
    return table.concat(parts)
  end)
  return '"' .. out .. '"'
end

--- encode(v, spaced) -> JSON text as python's json.dumps writes it: compact (separators ","
-- and ":") or, with spaced, python's default ", " and ": ". ASCII only (\u escapes), floats as
-- python's repr, object keys in their recorded order (else sorted).
local function encode(v, spaced)
  local t = type_of(v)
  if t == "null" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return float_repr(v)
  end
  if t == "string" then
    if type(v) ~= "string" then v = tostring(v) end
    return utf8.len(v) and encode_string(v) or encode_string((v:gsub("[\128-\255]", "?")))
  end
  local comma, colon = spaced and ", " or ",", spaced and ": " or ":"
  if t == "array" then
    local parts = {}
    for i = 1, M.len(v) do parts[i] = encode(v[i], spaced) end
    return "[" .. table.concat(parts, comma) .. "]"
  end
  if t == "expref" then return "null" end
  local parts = {}
  for _, k in ipairs(M.keys(v)) do parts[#parts + 1] = encode_string(k) .. colon .. encode(v[k], spaced) end
  return "{" .. table.concat(parts, comma) .. "}"
end
M.encode = encode

return M
