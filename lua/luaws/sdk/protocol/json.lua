-- protocol.json: AWS JSON 1.0/1.1 (KMS, Organizations): X-Amz-Target requests, shaped JSON replies.
--
-- Requests are written from the input shape, not by cjson, so an empty list is [] (cjson cannot
-- tell an empty array from an empty object) and integers stay exact beyond 14 digits.
-- Replies: integers as Lua integers, timestamps (epoch seconds on the wire) as ISO 8601 UTC
-- strings like the XML protocols give, blobs base64-decoded to raw bytes (symmetric with input,
-- where blobs are raw bytes that get base64-encoded), members absent when absent.
local cjson = require "cjson.safe"
local shared = require "luaws.sdk.protocol.shared"

local M = {}

local encode

local function encode_string(s)
  return cjson.encode(s)
end

local function encode_scalar(shape, ref, v)
  local kind = shape.type
  if kind == "string" or kind == "character" then
    return encode_string(v)
  elseif kind == "boolean" then
    return v and "true" or "false"
  elseif kind == "integer" or kind == "long" or kind == "short" or kind == "byte" then
    return string.format("%d", math.tointeger(v))
  elseif kind == "float" or kind == "double" then
    local text = shared.number_text(v)
    if text == "NaN" or text:find("Infinity") then return encode_string(text) end
    return text
  elseif kind == "blob" then
    return encode_string(shared.base64_encode(v))
  elseif kind == "timestamp" then
    local wire = shared.format_timestamp(shared.parse_timestamp(v), ref and ref.timestampFormat or "unixtimestamp")
    if type(wire) == "number" then return string.format("%d", wire) end
    return encode_string(wire)
  end
  return assert(cjson.encode(v))
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

encode = function(shape, ref, v)
  local kind = shape.type
  if kind == "structure" then
    if shape.document then return assert(cjson.encode(v)) end
    local parts = {}
    for _, m in ipairs(shape.members) do
      local x = v[m.name]
      if x ~= nil then
        parts[#parts + 1] = encode_string(m.locationName or m.name) .. ":" .. encode(m.shape, m, x)
      end
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "list" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = encode(shape.member.shape, shape.member, x) end
    return "[" .. table.concat(parts, ",") .. "]"
  elseif kind == "map" then
    local parts = {}
    for _, k in ipairs(sorted_keys(v)) do
      parts[#parts + 1] = encode_string(tostring(k)) .. ":" .. encode(shape.value.shape, shape.value, v[k])
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return encode_scalar(shape, ref, v)
end

--- build(svc, op, params) -> {method=, path=, query=nil, headers={{name, value}, ...}, body=}
-- Validates params against the input shape (raises ParamValidation) and fills idempotency tokens.
function M.build(svc, op, params)
  params = shared.prepare(svc, op, params)
  local headers = {
    { "Content-Type", "application/x-amz-json-" .. (svc.json_version or "1.0") },
    { "X-Amz-Target", (svc.target_prefix or "") .. "." .. op.name },
  }
  if svc.query_compatible then headers[#headers + 1] = { "x-amzn-query-mode", "true" } end
  local body = op.input and encode(op.input, nil, params) or "{}"
  return { method = op.http.method, path = op.http.path, query = nil, headers = headers, body = body }
end

local parse

local function parse_scalar(shape, v)
  local kind = shape.type
  if kind == "integer" or kind == "long" or kind == "short" or kind == "byte" then
    return math.tointeger(v) or v
  elseif kind == "timestamp" then
    if type(v) == "number" then return shared.iso_timestamp(v) end
    return v
  elseif kind == "blob" then
    if type(v) == "string" then return shared.base64_decode(v) or v end
    return v
  elseif kind == "float" or kind == "double" then
    if type(v) == "string" then
      if v == "NaN" then return 0 / 0 end
      if v == "Infinity" then return math.huge end
      if v == "-Infinity" then return -math.huge end
    end
    return v
  end
  return v
end

parse = function(shape, v)
  if v == nil or v == cjson.null then return nil end
  local kind = shape.type
  if kind == "structure" then
    if shape.document or type(v) ~= "table" then return v end
    local out = {}
    for _, m in ipairs(shape.members) do
      local raw = v[m.locationName or m.name]
      if raw ~= nil and raw ~= cjson.null then out[m.name] = parse(m.shape, raw) end
    end
    return out
  elseif kind == "list" then
    if type(v) ~= "table" then return v end
    local out = {}
    for _, x in ipairs(v) do
      local item = parse(shape.member.shape, x)
      if item ~= nil then out[#out + 1] = item end
    end
    return out
  elseif kind == "map" then
    if type(v) ~= "table" then return v end
    local out = {}
    for k, x in pairs(v) do
      local item = parse(shape.value.shape, x)
      if item ~= nil then out[k] = item end
    end
    return out
  end
  return parse_scalar(shape, v)
end

--- parse_body(svc, op, res, shape, body) -> the value of `shape` in JSON text `body` ({} when
-- blank), or raises ResponseParseError. Event-stream payloads use it too.
function M.parse_body(svc, op, res, shape, body)
  body = body or ""
  if not body:match("%S") then return {} end
  local decoded, err = cjson.decode(body)
  if decoded == nil then
    error(require("luaws.core.errors").new { code = "ResponseParseError", service = svc.service_id,
      operation = op.name, status = res.status,
      message = "invalid JSON in response: " .. tostring(err) }, 0)
  end
  if decoded == cjson.null then decoded = {} end -- a `null` body (moto's PutKeyPolicy): no output, as botocore
  if type(decoded) ~= "table" then -- a bare string or number where an object belongs
    error(require("luaws.core.errors").new { code = "ResponseParseError", service = svc.service_id,
      operation = op.name, status = res.status,
      message = "invalid JSON in response: expected an object, got a " .. type(decoded) }, 0)
  end
  return shape and parse(shape, decoded) or {}
end

--- parse(svc, op, res) -> result table shaped by the output shape, with ResponseMetadata
-- {RequestId=, HTTPStatusCode=, HTTPHeaders=}. res = {status=, headers=, body=}. An event-stream
-- output (Kinesis SubscribeToShard) comes from a streamed res: the initial-response event gives
-- the other members, result[<member>] iterates the events (luaws.sdk.protocol.eventstream).
function M.parse(svc, op, res)
  local result
  local member
  for _, m in ipairs(op.output and op.output.members or {}) do  -- inline: keeps the module unloaded
    if m.eventstream then member = m end
  end
  if member then
    local eventstream = require "luaws.sdk.protocol.eventstream"
    local stream = eventstream.open(res, { shape = member.shape, service = svc, operation = op,
      parse = function(shape, bytes) return M.parse_body(svc, op, res, shape, bytes) end })
    result = M.parse_body(svc, op, res, op.output, stream:initial_response())
    result[member.name] = stream
  else
    result = M.parse_body(svc, op, res, op.output, res.body)
  end
  result.ResponseMetadata = shared.response_metadata(res)
  return result
end

--- event_streams: parse takes a streamed res (res.body a chunk iterator) for event-stream outputs.
M.event_streams = true

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=}.
M.parse_error = shared.parse_error

M.encode_value = encode  -- (shape, ref, value) -> JSON text; for tests and the rest-json future
return M
