-- protocol.rest-json: REST with JSON bodies (Lambda, API Gateway, EFS, ...): HTTP bindings + JSON.
--
-- Requests: httpbinding places members in the URI, query, headers; the rest (or the payload
-- member) is JSON written from the shape (luaws.sdk.protocol.json's encoder: [] vs {}, exact
-- integers, base64 blobs, epoch-second timestamps, "NaN"/"Infinity" strings).
-- Replies: members shaped like botocore's RestJSONParser, timestamps as ISO 8601 UTC strings,
-- blobs decoded; wrong JSON types and out-of-range values are ResponseParseError tables.
local cjson = require "cjson.safe"
local errors = require "luaws.core.errors"
local httpbinding = require "luaws.sdk.protocol.httpbinding"
local json = require "luaws.sdk.protocol.json"
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
    if t == "string" then v = tonumber(v) end
    if type(v) ~= "number" then bad(path .. ": expected an integer, got " .. t) end
    return math.tointeger(v) or v
  elseif kind == "float" or kind == "double" or kind == "bigDecimal" then
    if v == "NaN" then return 0 / 0 end
    if v == "Infinity" then return math.huge end
    if v == "-Infinity" then return -math.huge end
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

--- parse_value(shape, value[, path][, body_only]) -> the Lua value of decoded JSON `value`
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
M.parse_value = parse_value

--- decode_body(body) -> decoded JSON (an empty body is {}), or raises ResponseParseError.
function M.decode_body(body)
  if body == nil or not body:match("%S") then return {} end
  local decoded, err = cjson.decode(body)
  if decoded == nil then bad("invalid JSON in response: " .. tostring(err)) end
  if decoded == cjson.null then return {} end
  return decoded
end

local codec = {
  empty_payload = "{}",
  content_type = "application/json",
}

function codec.encode_body(input, _, params)
  return json.encode_value(input, nil, params)
end

function codec.encode_payload(shape, ref, value)
  return json.encode_value(shape, ref, value)
end

function codec.requires_empty_body(input)
  for _, m in ipairs(input.members) do
    if not m.location then return true end
  end
  return false
end

function codec.decode(_, _, res)
  return M.decode_body(res.body)
end

function codec.parse_shape(shape, _, doc, body_only)
  return parse_value(shape, doc, "response", body_only)
end

M.codec = codec

--- build(svc, op, params) -> {method=, path=, query=, headers={{name, value}, ...}, body=,
-- host_prefix=, streaming=}. Validates params (ParamValidation) and fills idempotency tokens.
function M.build(svc, op, params)
  return httpbinding.build(svc, op, params, codec)
end

--- parse(svc, op, res) -> result shaped by op.output with ResponseMetadata.
-- res = {status=, headers=, body=}. Raises ResponseParseError tables.
function M.parse(svc, op, res)
  return httpbinding.parse(svc, op, res, codec)
end

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=, fields=}.
function M.parse_error(svc, op, res)
  return require("luaws.sdk.protocol.errors").parse(svc, op, res, "rest-json")
end

return M
