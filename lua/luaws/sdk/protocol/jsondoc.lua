-- protocol.jsondoc: JSON reply documents read by shape (json, rest-json, errors), exact and safe.
--
-- decode() keeps integers beyond 2^53 exact (lua-cjson turns them into floats: a 19-digit ID
-- would come back rounded), parse() shapes the decoded value like botocore's BaseJSONParser:
-- timestamps as ISO 8601 UTC strings, blobs decoded, "NaN"/"Infinity" numbers, unknown union
-- members as {SDK_UNKNOWN_MEMBER={name=}}; a wrong JSON type or an unrepresentable timestamp
-- ("CreationDate":18e300) is a ResponseParseError table, never a raw Lua error.
local cjson = require "cjson.safe"
local errors = require "luaws.core.errors"
local timestamp = require "luaws.sdk.protocol.timestamp"
local crypto = require "luaws.crypto"

local M = {}

-- The path of the value being read: stack[0] is the root's label, stack[1..depth] the member
-- names (strings) and list positions (integers) below it. Kept as a stack so that reading a
-- reply builds no strings; the path text is made only for an error message.
local stack = {}

local function bad(depth, message)
  local parts = { tostring(stack[0]) }
  for i = 1, depth do
    local k = stack[i]
    parts[#parts + 1] = math.type(k) == "integer" and ("[" .. k .. "]") or ("." .. tostring(k))
  end
  error(errors.new { code = "ResponseParseError", message = table.concat(parts) .. ": " .. message }, 0)
end

local INTEGERS = { integer = true, long = true, short = true, byte = true, bigInteger = true }
local EXACT = 2 ^ 53

-- Set when an integer member arrived as a float beyond 2^53 (lua-cjson rounded it): parse()
-- then reads the document again from its text with big literals protected.
local lossy = false
-- decode()'s documents and the text they came from, for that second reading.
local source = setmetatable({}, { __mode = "k" })

local parse_value

local function parse_scalar(shape, v, depth)
  local kind = shape.type
  local t = type(v)
  if INTEGERS[kind] then
    if t == "string" then
      local n = tonumber(v)
      v = n and (math.tointeger(n) or n)
    end
    if type(v) ~= "number" then bad(depth, "expected an integer, got " .. t) end
    if math.type(v) == "float" and (v >= EXACT or v <= -EXACT) then lossy = true end
    return math.tointeger(v) or v
  elseif kind == "float" or kind == "double" or kind == "bigDecimal" then
    if v == "NaN" then return 0 / 0 end
    if v == "Infinity" then return math.huge end
    if v == "-Infinity" then return -math.huge end
    if t == "string" and tonumber(v) then return tonumber(v) + 0.0 end
    if t ~= "number" then bad(depth, "expected a number, got " .. t) end
    return v
  elseif kind == "boolean" then
    if t ~= "boolean" then bad(depth, "expected a boolean, got " .. t) end
    return v
  elseif kind == "timestamp" then
    local iso, err = timestamp.iso(v)
    if not iso then bad(depth, err) end
    return iso
  elseif kind == "blob" then
    if t ~= "string" then bad(depth, "expected base64 text, got " .. t) end
    return crypto.base64_decode(v) or v
  end
  if t ~= "string" then bad(depth, "expected a string, got " .. t) end
  return v
end

local function first_key(v)
  for k in pairs(v) do
    if k ~= "__type" then return k end
  end
  return nil
end

parse_value = function(shape, v, depth, body_only)
  if v == nil or v == cjson.null then return nil end
  local kind = shape.type
  if kind == "structure" then
    if shape.document then return v end
    if type(v) ~= "table" then bad(depth, "expected an object, got " .. type(v)) end
    local out = {}
    if shape.union then
      local tag = first_key(v)
      if tag and not shape.by_name[tag] then
        local known = false
        for _, m in ipairs(shape.members) do
          if m.locationName == tag then known = true end
        end
        if not known then return { SDK_UNKNOWN_MEMBER = { name = tag } } end
      end
    end
    local below = depth + 1
    for _, m in ipairs(shape.members) do
      if not (body_only and m.location) then
        local raw = v[m.locationName or m.name]
        if raw ~= nil and raw ~= cjson.null then
          stack[below] = m.name
          out[m.name] = parse_value(m.shape, raw, below)
        end
      end
    end
    return out
  elseif kind == "list" then
    if type(v) ~= "table" then bad(depth, "expected an array, got " .. type(v)) end
    local out = {}
    local below, member = depth + 1, shape.member.shape
    for i, x in ipairs(v) do
      stack[below] = i
      local item = parse_value(member, x, below)
      if item ~= nil then out[#out + 1] = item end
    end
    return out
  elseif kind == "map" then
    if type(v) ~= "table" then bad(depth, "expected an object, got " .. type(v)) end
    local out = {}
    local below, value_shape = depth + 1, shape.value.shape
    for k, x in pairs(v) do
      stack[below] = tostring(k)
      local item = parse_value(value_shape, x, below)
      if item ~= nil then out[k] = item end
    end
    return out
  end
  return parse_scalar(shape, v, depth)
end

--- parse(shape, value[, label][, body_only]) -> the Lua value of decoded JSON `value` shaped by
-- shape; raises a ResponseParseError table naming the path (label, default "response", then
-- members and [positions]) on wrong types. body_only skips members bound to headers, the URI
-- or the status code.
function M.parse(shape, value, label, body_only)
  stack[0] = label or "response"
  lossy = false
  local out = parse_value(shape, value, 0, body_only)
  if lossy and source[value] then
    lossy = false
    out = parse_value(shape, M.decode(source[value], true), 0, body_only)
  end
  return out
end

-- Quotes integer literals of 16+ digits outside strings ("id":12345678901234567 ->
-- "id":"12345678901234567") so they reach parse() as text and become exact Lua integers.
local function protect_big_integers(body)
  local out, i, n = {}, 1, #body
  while i <= n do
    local q = body:find('"', i, true)
    local chunk = body:sub(i, (q or n + 1) - 1)
    out[#out + 1] = (chunk:gsub("([%s%[:,])(%-?%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d+)([%s,%]}])", '%1"%2"%3'))
    if not q then break end
    local j = q + 1
    while true do -- the end of the string, skipping escaped characters
      local e = body:find('[\\"]', j)
      if not e then j = n + 1 break end
      if body:sub(e, e) == '"' then j = e + 1 break end
      j = e + 2
    end
    out[#out + 1] = body:sub(q, j - 1)
    i = j
  end
  return table.concat(out)
end

--- decode(body[, exact]) -> decoded JSON (an empty body or `null` is {}), or raises
-- ResponseParseError. exact reads integer literals of 16+ digits as text (parse() makes them exact
-- integers); parse() asks for that itself when it meets a rounded one, so callers need not.
function M.decode(body, exact)
  if body == nil or not body:match("%S") then return {} end
  local decoded, err = cjson.decode(exact and protect_big_integers(body) or body)
  if decoded == nil then
    error(errors.new { code = "ResponseParseError", message = "invalid JSON in response: " .. tostring(err) }, 0)
  end
  if decoded == cjson.null then return {} end
  if type(decoded) == "table" then source[decoded] = body end
  return decoded
end

return M
