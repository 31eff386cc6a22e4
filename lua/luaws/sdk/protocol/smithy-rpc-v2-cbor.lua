-- protocol.smithy-rpc-v2-cbor: Smithy RPC v2 CBOR: POST /service/<Target>/operation/<Op>, CBOR bodies.
--
-- Requests are written member by member from the input shape with luaws.cbor's writer, as
-- botocore's RpcV2CBORSerializer does: structures as maps of their set members (model order),
-- maps with their keys sorted, blobs as byte strings, timestamps as tag 1 over whole epoch
-- seconds, floats as singles, doubles as doubles, NaN/Infinity as half floats.
-- Replies decode in C, then follow the output shape like the JSON protocol's: integers as Lua
-- integers, timestamps as ISO 8601 UTC strings, blobs as raw bytes, absent members absent.
local cbor = require "luaws.cbor"
local errors = require "luaws.core.errors"
local shared = require "luaws.sdk.protocol.shared"

local M = {}

local INTEGERS = { integer = true, long = true, short = true, byte = true }

local sorted_keys = shared.sorted_keys

local write

local function write_scalar(w, kind, v)
  if kind == "string" or kind == "character" then
    w:text(v)
  elseif kind == "blob" then
    w:bytes(v)
  elseif kind == "boolean" then
    w:bool(v)
  elseif INTEGERS[kind] then
    w:int(math.tointeger(v))
  elseif kind == "float" then
    w:float32(v)
  elseif kind == "double" then
    w:float64(v)
  elseif kind == "timestamp" then
    w:tag(1):int(math.floor(shared.parse_timestamp(v)))
  else  -- bigInteger, bigDecimal and anything newer: the generic mapping
    w:value(v)
  end
end

write = function(w, shape, v)
  local kind = shape.type
  if kind == "structure" then
    if shape.document then return w:value(v) end
    local set = {}
    for _, m in ipairs(shape.members) do
      if v[m.name] ~= nil then set[#set + 1] = m end
    end
    w:map(#set)
    for _, m in ipairs(set) do
      w:text(m.locationName or m.name)
      write(w, m.shape, v[m.name])
    end
  elseif kind == "list" then
    w:array(#v)
    for _, x in ipairs(v) do write(w, shape.member.shape, x) end
  elseif kind == "map" then
    local keys = sorted_keys(v)
    w:map(#keys)
    for _, k in ipairs(keys) do
      w:text(tostring(k))
      write(w, shape.value.shape, v[k])
    end
  else
    write_scalar(w, kind, v)
  end
end

--- encode_value(shape, value) -> the CBOR bytes of value as shape (for tests and event streams).
function M.encode_value(shape, v)
  local w = cbor.writer()
  write(w, shape, v)
  return w:result()
end

local event_stream_member = require("luaws.sdk.protocol.eventstream").member

--- build(svc, op, params) -> {method="POST", path=, headers={{name, value}, ...}, body=}
-- Validates params against the input shape (raises ParamValidation) and fills idempotency tokens.
function M.build(svc, op, params)
  params = shared.prepare(svc, op, params)
  local accept = event_stream_member(op) and "application/vnd.amazon.eventstream" or "application/cbor"
  local headers = { { "smithy-protocol", "rpc-v2-cbor" }, { "Accept", accept } }
  if svc.query_compatible then headers[#headers + 1] = { "x-amzn-query-mode", "true" } end
  local body = ""
  if op.input then
    body = M.encode_value(op.input, params)
    headers[#headers + 1] = { "Content-Type", accept }
  end
  local target = svc.target_prefix or (svc.metadata and svc.metadata.targetPrefix) or svc.service_id
  return { method = "POST", path = "/service/" .. tostring(target) .. "/operation/" .. op.name,
    headers = headers, body = body }
end

local parse

local function parse_error_value(what, v)
  error({ message = string.format("expected %s in the CBOR response, got %s", what, type(v)) }, 0)
end

local function parse_scalar(kind, v)
  if INTEGERS[kind] then
    if type(v) ~= "number" then parse_error_value("a number", v) end
    return math.tointeger(v) or v
  elseif kind == "timestamp" then
    if type(v) == "number" then
      if v ~= v or v == math.huge or v == -math.huge or math.abs(v) > 253402300799 then
        parse_error_value("a timestamp in range", v)
      end
      return shared.iso_timestamp(v)
    end
    local epoch = shared.parse_timestamp(v)
    if epoch then return shared.iso_timestamp(epoch) end
    parse_error_value("a timestamp", v)
  elseif kind == "float" or kind == "double" then
    if type(v) ~= "number" then parse_error_value("a number", v) end
    return v + 0.0
  end
  return v
end

parse = function(shape, v)
  if v == nil or v == cbor.null then return nil end
  local kind = shape.type
  if kind == "structure" then
    if shape.document then return v end
    if type(v) ~= "table" then parse_error_value("a map for " .. tostring(shape.name), v) end
    local out = {}
    for _, m in ipairs(shape.members) do
      local item = parse(m.shape, v[m.name])
      if item ~= nil then out[m.name] = item end
    end
    return out
  elseif kind == "list" then
    if type(v) ~= "table" then parse_error_value("an array for " .. tostring(shape.name), v) end
    local out = {}
    for _, x in ipairs(v) do
      local item = parse(shape.member.shape, x)
      if item ~= nil then out[#out + 1] = item end
    end
    return out
  elseif kind == "map" then
    if type(v) ~= "table" then parse_error_value("a map for " .. tostring(shape.name), v) end
    local out = {}
    for k, x in pairs(v) do
      local item = parse(shape.value.shape, x)
      if item ~= nil then out[k] = item end
    end
    return out
  end
  return parse_scalar(kind, v)
end

local function parse_failure(svc, op, res, message)
  return errors.new { code = "ResponseParseError", service = svc.service_id, operation = op.name,
    status = res.status, message = message }
end

--- decode(svc, op, res, bytes) -> the decoded CBOR value, or raises ResponseParseError.
local function decode(svc, op, res, bytes)
  local value, err = cbor.decode(bytes)
  if value == nil then
    error(parse_failure(svc, op, res, "invalid CBOR in response: " .. tostring(err and err.message)), 0)
  end
  return value
end

--- parse_shape(svc, op, res, shape, bytes) -> value of `shape` decoded from CBOR bytes ({} when
-- empty), or raises ResponseParseError. Event-stream payloads use it too.
function M.parse_shape(svc, op, res, shape, bytes)
  if bytes == nil or bytes == "" then return {} end
  local value = decode(svc, op, res, bytes)
  local ok, parsed = pcall(parse, shape, value)
  if not ok then
    local message = type(parsed) == "table" and parsed.message or tostring(parsed)
    error(parse_failure(svc, op, res, message), 0)
  end
  return parsed or {}
end

--- parse(svc, op, res) -> result shaped by the output shape, with ResponseMetadata.
-- res = {status=, headers=, body=}; for operations with an event-stream output, res.body is
-- luaws.http's streaming body and result[<member>] the event iterator (sdk/protocol/eventstream).
function M.parse(svc, op, res)
  local stream_member = event_stream_member(op)
  local result
  if stream_member then
    local stream = require("luaws.sdk.protocol.eventstream").open(res, {
      shape = stream_member.shape, service = svc, operation = op,
      parse = function(shape, bytes) return M.parse_shape(svc, op, res, shape, bytes) end,
    })
    result = M.parse_shape(svc, op, res, op.output, stream:initial_response())
    result[stream_member.name] = stream
  else
    local body = res.body or ""
    result = op.output and M.parse_shape(svc, op, res, op.output, body) or {}
    if not op.output and body ~= "" then decode(svc, op, res, body) end
  end
  result.ResponseMetadata = shared.response_metadata(res)
  return result
end

--- event_streams: parse takes a streamed res (res.body a chunk iterator) for event-stream outputs.
M.event_streams = true

local function clean_code(code)
  code = tostring(code)
  code = code:match("^([^:]*)") or code
  code = code:match("#([^#]*)$") or code
  return code
end

--- parse_error(svc, op, res) -> {code=, message=, status=, request_id=, type=, query_code=,
-- fields=} as botocore's RpcV2CBORParser reads it: the code from __type (else the status),
-- x-amzn-query-error's code for awsQueryCompatible services, and the modeled members of the
-- error shape in `fields`.
function M.parse_error(svc, _op, res)
  local body = res.body or ""
  local decoded = {}
  if body ~= "" then decoded = cbor.decode(body) end
  local out
  if type(decoded) ~= "table" then
    out = { code = "HTTP" .. tostring(res.status), message = string.format(
      "HTTP %s with an unreadable CBOR error body", tostring(res.status)) }
  else
    -- A __type that names nothing once cleaned (":x", "ns#") counts as absent: the status.
    local code = type(decoded.__type) == "string" and clean_code(decoded.__type) or ""
    if code == "" then code = tostring(math.tointeger(res.status) or res.status) end
    local message = decoded.message or decoded.Message
    out = { code = code, message = type(message) == "string" and message or "" }
    local query_error = shared.header(res, "x-amzn-query-error")
    if query_error then
      local qcode, qtype = query_error:match("^([^;]+);(.*)$")
      if qcode then out.query_code, out.code, out.type = out.code, qcode, qtype end
    end
    local shape = svc and svc.error_shape and (svc:error_shape(out.code)
      or (out.query_code and svc:error_shape(out.query_code)))
    if shape then
      local ok, fields = pcall(parse, shape, decoded)
      if ok then out.fields = fields end
      if (out.type == nil or out.type == "") and shape.error and shape.error.sender then out.type = "Sender" end
    end
  end
  out.status = res.status
  out.request_id = shared.header(res, "x-amzn-requestid")
  if out.type == nil or out.type == "" then
    out.type = (res.status or 0) >= 500 and "Receiver" or "Sender"
  end
  return out
end

return M
