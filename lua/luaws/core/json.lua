-- json: a lossless JSON codec (object/array kinds, null, key order kept stable) for documents luaws writes back.
local M = {}

local cjson_ok, cjson = pcall(require, "cjson")
local cjson_null = cjson_ok and cjson.null or nil

M.null = setmetatable({}, { __name = "luaws.json.null", __tostring = function() return "null" end })

-- Arrays and objects carry these metatables after decoding so that an empty array stays an array
-- and an empty object stays an object when the document is written back.
local array_mt = { __name = "luaws.json.array" }
local object_mt = { __name = "luaws.json.object" }
M.array_mt, M.object_mt = array_mt, object_mt

--- json.array(t) / json.object(t) -> t, marked so the encoder keeps its JSON kind.
function M.array(t) return setmetatable(t or {}, array_mt) end
function M.object(t) return setmetatable(t or {}, object_mt) end

local function json_error(text, pos, what)
  local line = select(2, text:sub(1, pos):gsub("\n", "")) + 1
  error({ code = "MalformedJSON",
          message = string.format("invalid JSON at line %d (byte %d): %s", line, pos, what) }, 0)
end

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function utf8_of(code) return utf8.char(code) end

-- A recursive-descent decoder. cjson 2.1 cannot tell [] from {} and turns integers into floats;
-- a key policy must come back byte-for-byte equivalent, so we decode it ourselves.
local function decode_json(text)
  local pos = 1
  local function skip()
    pos = text:find("[^ \t\r\n]", pos) or #text + 1
  end
  local value
  local function str()
    local parts = {}
    pos = pos + 1
    while true do
      local s, e, chunk = text:find('^([^"\\%c]*)', pos)
      if s then parts[#parts + 1] = chunk; pos = e + 1 end
      local c = text:sub(pos, pos)
      if c == '"' then pos = pos + 1; return table.concat(parts) end
      if c == "\\" then
        local n = text:sub(pos + 1, pos + 1)
        if escapes[n] then
          parts[#parts + 1] = escapes[n]; pos = pos + 2
        elseif n == "u" then
          local hex = text:match("^%x%x%x%x", pos + 2)
          if not hex then json_error(text, pos, "bad \\u escape") end
          local code = tonumber(hex, 16)
          pos = pos + 6
          if code >= 0xD800 and code <= 0xDBFF then
            local low = text:match("^\\u(%x%x%x%x)", pos)
            local lc = low and tonumber(low, 16)
            if not lc or lc < 0xDC00 or lc > 0xDFFF then json_error(text, pos, "lone surrogate") end
            code = 0x10000 + (code - 0xD800) * 0x400 + (lc - 0xDC00)
            pos = pos + 6
          end
          parts[#parts + 1] = utf8_of(code)
        else
          json_error(text, pos, "bad escape")
        end
      elseif c == "" then
        json_error(text, pos, "unterminated string")
      else
        json_error(text, pos, "control character in string")
      end
    end
  end
  function value()
    skip()
    local c = text:sub(pos, pos)
    if c == "{" then
      local obj = setmetatable({}, object_mt)
      pos = pos + 1
      skip()
      if text:sub(pos, pos) == "}" then pos = pos + 1; return obj end
      while true do
        skip()
        if text:sub(pos, pos) ~= '"' then json_error(text, pos, "expected a string key") end
        local k = str()
        skip()
        if text:sub(pos, pos) ~= ":" then json_error(text, pos, "expected ':'") end
        pos = pos + 1
        obj[k] = value()
        skip()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return obj end
        if d ~= "," then json_error(text, pos - 1, "expected ',' or '}'") end
      end
    elseif c == "[" then
      local arr = setmetatable({}, array_mt)
      pos = pos + 1
      skip()
      if text:sub(pos, pos) == "]" then pos = pos + 1; return arr end
      while true do
        arr[#arr + 1] = value()
        skip()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return arr end
        if d ~= "," then json_error(text, pos - 1, "expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    elseif text:find("^true", pos) then pos = pos + 4; return true
    elseif text:find("^false", pos) then pos = pos + 5; return false
    elseif text:find("^null", pos) then pos = pos + 4; return M.null
    else
      local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" or num == "-" then json_error(text, pos, "unexpected character") end
      pos = pos + #num
      local n = tonumber(num)
      if not n then json_error(text, pos, "malformed number") end
      -- 1e999 would decode to inf, which no JSON (and so no write-back) can hold.
      if n == math.huge or n == -math.huge then json_error(text, pos, "number out of range") end
      if num:find("^-?%d+$") then return math.tointeger(n) or n end
      return n + 0.0
    end
  end
  local ok, result = pcall(value)
  if not ok then error(result, 0) end
  skip()
  if pos <= #text then json_error(text, pos, "trailing characters") end
  return result
end

--- json.decode(text) -> value: objects and arrays keep their kind (json.object_mt/array_mt), null
--- is json.null, numbers keep integer vs float. Raises {code="MalformedJSON", message=}.
function M.decode(text)
  if type(text) ~= "string" then
    error({ code = "MalformedJSON", message = "JSON text must be a string" }, 2)
  end
  return decode_json(text)
end

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return n > 0, n
end

local function format_number(n)
  if math.type(n) == "integer" then return string.format("%d", n) end
  if n ~= n or n == math.huge or n == -math.huge then error("cannot encode " .. tostring(n) .. " in JSON", 0) end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return string.format("%.1f", n) end
  for digits = 15, 17 do
    local s = string.format("%." .. digits .. "g", n)
    if tonumber(s) == n then return s end
  end
  return string.format("%.17g", n)
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
                    ["\b"] = "\\b", ["\f"] = "\\f" }
    return named[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function key_sorter(order)
  local rank = {}
  for i, k in ipairs(order or {}) do rank[k] = i end
  return function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra and rb then return ra < rb end
    if ra or rb then return ra ~= nil end
    return a < b
  end
end

--- json.encode(value[, {indent=" "|nil, key_order={...}}]) -> string. Deterministic: object
--- keys sorted (key_order first), marked arrays/objects keep their kind, plain empty tables are {}.
function M.encode(value, opts)
  opts = opts or {}
  local indent = opts.indent
  local sorter = key_sorter(opts.key_order)
  local out = {}
  local function emit(v, depth, seen)
    local t = type(v)
    if v == M.null or (cjson_null ~= nil and v == cjson_null) then
      out[#out + 1] = "null"
    elseif t == "string" then out[#out + 1] = quote(v)
    elseif t == "number" then out[#out + 1] = format_number(v)
    elseif t == "boolean" then out[#out + 1] = tostring(v)
    elseif t == "table" then
      if seen[v] then error("cannot encode a cyclic table in JSON", 0) end
      seen[v] = true
      local mt = getmetatable(v)
      local seq, n = is_sequence(v)
      local nl = indent and ("\n" .. indent:rep(depth + 1)) or ""
      local close_nl = indent and ("\n" .. indent:rep(depth)) or ""
      if mt == array_mt or (mt ~= object_mt and seq) then
        if (n or 0) == 0 and mt == array_mt then n = #v end
        if n == 0 then out[#out + 1] = "[]"
        else
          out[#out + 1] = "["
          for i = 1, n do
            out[#out + 1] = (i > 1 and "," or "") .. nl
            emit(v[i], depth + 1, seen)
          end
          out[#out + 1] = close_nl .. "]"
        end
      else
        local keys = {}
        for k in pairs(v) do
          if type(k) ~= "string" then
            if type(k) ~= "number" then error("cannot encode a " .. type(k) .. " key in JSON", 0) end
            k = tostring(k)
          end
          keys[#keys + 1] = k
        end
        table.sort(keys, sorter)
        if #keys == 0 then out[#out + 1] = "{}"
        else
          out[#out + 1] = "{"
          for i, k in ipairs(keys) do
            out[#out + 1] = (i > 1 and "," or "") .. nl .. quote(k) .. (indent and ": " or ":")
            local item = v[k]
            if item == nil then item = v[tonumber(k)] end
            emit(item, depth + 1, seen)
          end
          out[#out + 1] = close_nl .. "}"
        end
      end
      seen[v] = nil
    else
      error("cannot encode a " .. t .. " in JSON", 0)
    end
  end
  emit(value, 0, {})
  return table.concat(out)
end

--- json.copy(value) -> a deep copy that keeps the array/object marks.
function M.copy(v)
  if type(v) ~= "table" or v == M.null then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = M.copy(x) end
  return setmetatable(c, getmetatable(v))
end

--- json.normalize(value) -> a deep copy in which every plain table is marked array (a non-empty
--- sequence) or object, so a document built in Lua compares and encodes like one decoded.
function M.normalize(v)
  if type(v) ~= "table" or v == M.null then return v end
  local mt = getmetatable(v)
  local out = {}
  for k, x in pairs(v) do out[k] = M.normalize(x) end
  if mt == array_mt or mt == object_mt then return setmetatable(out, mt) end
  return setmetatable(out, is_sequence(v) and array_mt or object_mt)
end

return M
