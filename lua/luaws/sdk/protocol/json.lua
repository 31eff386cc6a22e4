-- protocol.json: AWS JSON 1.0/1.1 (KMS, Organizations): X-Amz-Target requests, shaped JSON replies.
--
-- Requests are written from the input shape, not by cjson, so an empty list is [] (cjson cannot
-- tell an empty array from an empty object) and integers stay exact beyond 14 digits.
-- Replies: integers as Lua integers, timestamps (epoch seconds on the wire) as ISO 8601 UTC
-- strings like the XML protocols give, blobs base64-decoded to raw bytes (symmetric with input,
-- where blobs are raw bytes that get base64-encoded), members absent when absent.
local cjson = require "cjson.safe"
local shared = require "luaws.sdk.protocol.shared"
local jsondoc = require "luaws.sdk.protocol.jsondoc"
local errors = require "luaws.core.errors"

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

local sorted_keys = shared.sorted_keys

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
  -- botocore sends every JSON call to "/" whatever the model's requestUri says.
  return { method = op.http.method, path = "/", query = nil, headers = headers, body = body,
    host_prefix = require("luaws.sdk.protocol.httpbinding").host_prefix(svc, op, params) }
end

--- parse_body(svc, op, res, shape, body) -> the value of `shape` in JSON text `body` ({} when
-- blank), or raises ResponseParseError. Event-stream payloads use it too.
function M.parse_body(svc, op, res, shape, body)
  local ok, result = pcall(function()
    local decoded = jsondoc.decode(body or "")
    if type(decoded) ~= "table" then -- a bare string or number where an object belongs
      error(errors.new { code = "ResponseParseError",
        message = "invalid JSON in response: expected an object, got a " .. type(decoded) }, 0)
    end
    return shape and jsondoc.parse(shape, decoded) or {}
  end)
  if ok then return result end
  error(errors.wrap(result, { code = "ResponseParseError", service = svc.service_id, operation = op.name,
    status = res.status }), 0)
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

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=, fields=}.
function M.parse_error(svc, op, res)
  return require("luaws.sdk.protocol.errors").parse(svc, op, res, "json")
end

M.encode_value = encode  -- (shape, ref, value) -> JSON text; for tests and the rest-json future
return M
