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

local function bad(message)
  error(errors.new { code = "ResponseParseError", message = message }, 0)
end

local INTEGERS = { integer = true, long = true, short = true, byte = true, bigInteger = true }

local parse_value

local function parse_scalar(shape, v, path)
  local kind = shape.type
  local t = type(v)
  if INTEGERS[kind] then
    if t == "string" then
      local n = tonumber(v)
      v = n and (math.tointeger(n) or n)
    end
    if type(v) ~= "number" then bad(path .. ": expected an integer, got " .. t) end
    return math.tointeger(v) or v
  elseif kind == "float" or kind == "double" or kind == "bigDecimal" then
    if v == "NaN" then return 0 / 0 end
    if v == "Infinity" then return math.huge end
    if v == "-Infinity" then return -math.huge end
    if t == "string" and tonumber(v) then return tonumber(v) + 0.0 end
    if t ~= "number" then bad(path .. ": expected a number, got " .. t) end
    return v
  elseif kind == "boolean" then
    if t ~= "boolean" then bad(path .. ": expected a boolean, got " .. t) end
    return v
  elseif kind == "timestamp" then
    local iso, err = timestamp.iso(v)
    if not iso then bad(path .. ": " .. err) end
    return iso
  elseif kind == "blob" then
    if t ~= "string" then bad(path .. ": expected base64 text, got " .. t) end
    return crypto.base64_decode(v) or v
  end
  if t ~= "string" then bad(path .. ": expected a string, got " .. t) end
  return v
end

local function first_key(v)
  for k in pairs(v) do
    if k ~= "__type" then return k end
  end
  return nil
end

--- parse(shape, value[, path][, body_only]) -> the Lua value of decoded JSON `value`
-- shaped by shape; raises a ResponseParseError table on wrong types. body_only skips members
-- bound to headers, the URI or the status code.
parse_value = function(shape, v, path, body_only)
  path = path or "response"
  if v == nil or v == cjson.null then return nil end
  local kind = shape.type
  if kind == "structure" then
    if shape.document then return v end
    if type(v) ~= "table" then bad(path .. ": expected an object, got " .. type(v)) end
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
    for _, m in ipairs(shape.members) do
      if not (body_only and m.location) then
        local raw = v[m.locationName or m.name]
        if raw ~= nil and raw ~= cjson.null then
          out[m.name] = parse_value(m.shape, raw, path .. "." .. m.name)
        end
      end
    end
    return out
  elseif kind == "list" then
    if type(v) ~= "table" then bad(path .. ": expected an array, got " .. type(v)) end
    local out = {}
    for i, x in ipairs(v) do
      local item = parse_value(shape.member.shape, x, path .. "[" .. i .. "]")
      if item ~= nil then out[#out + 1] = item end
    end
    return out
  elseif kind == "map" then
    if type(v) ~= "table" then bad(path .. ": expected an object, got " .. type(v)) end
    local out = {}
    for k, x in pairs(v) do
      local item = parse_value(shape.value.shape, x, path .. "." .. tostring(k))
      if item ~= nil then out[k] = item end
    end
    return out
  end
  return parse_scalar(shape, v, path)
end
M.parse = parse_value

-- Quotes integer literals of 16+ digits outside strings ("id":12345678901234567 ->
-- "id":"12345678901234567") so they reach parse() as text and become exact Lua integers.
local function protect_big_integers(body)
  if not body:find("%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d") then return body end
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

--- decode(body) -> decoded JSON (an empty body or `null` is {}), or raises ResponseParseError.
function M.decode(body)
  if body == nil or not body:match("%S") then return {} end
  local decoded, err = cjson.decode(protect_big_integers(body))
  if decoded == nil then bad("invalid JSON in response: " .. tostring(err)) end
  if decoded == cjson.null then return {} end
  return decoded
end

return M
