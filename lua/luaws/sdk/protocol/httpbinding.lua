-- protocol.httpbinding: the HTTP bindings rest-json and rest-xml share (URI, query, headers, payload).
--
-- A codec supplies the body format: {encode_body(input_shape, op, params) -> text,
-- encode_payload(shape, ref, value) -> text, empty_payload = "{}" | "", requires_empty_body(shape)
-- -> bool, content_type = "application/json" | nil, decode(svc, op, res) -> document,
-- parse_shape(shape, ref, document) -> value, read_bytes(svc, op, res, shape, bytes) -> value
-- (an event's payload)}. Serialisation follows botocore's
-- BaseRestSerializer and parsing its BaseRestParser, so the differential tests can compare.
local uri = require "luaws.core.uri"
local errors = require "luaws.core.errors"
local shared = require "luaws.sdk.protocol.shared"
local timestamp = require "luaws.sdk.protocol.timestamp"
local validate = require "luaws.sdk.protocol.validate"
local crypto = require "luaws.crypto"
local cjson = require "cjson.safe"

local M = {}

--- number_text(v) -> v as Python's str() prints it ("3", "1.5", "2.0", "1e+20", "NaN", "-Infinity"):
--- the protocols' one number printer (luaws.sdk.protocol.shared).
M.number_text = shared.number_text

local function fail(svc, op, message)
  errors.raise({ code = "ParamValidation", service = svc.service_id, operation = op.name,
    message = "Parameter validation failed: " .. message }, 3)
end

local INTEGERS = { integer = true, long = true, short = true, byte = true, bigInteger = true }

-- The text of a scalar in a URI label, query string or header. default_ts: the timestamp format
-- of that location ("iso8601" for URI and query, "rfc822" for headers).
local function scalar_text(shape, ref, v, default_ts, in_header)
  local kind = shape.type
  if kind == "boolean" then return v and "true" or "false" end
  if INTEGERS[kind] then return math.tointeger(v) and string.format("%d", math.tointeger(v)) or tostring(v) end
  if kind == "float" or kind == "double" then return M.number_text(v) end
  if kind == "timestamp" then
    return tostring(timestamp.format(v, ref and ref.timestampFormat or default_ts))
  end
  if kind == "blob" and in_header then return crypto.base64_encode(v) end
  if kind == "string" and in_header and ref and ref.jsonvalue then
    return crypto.base64_encode(assert(cjson.encode(v)))
  end
  return tostring(v)
end

-- A header list: items joined by ",", strings holding "," or '"' quoted (botocore's rule).
local function header_list(shape, v)
  local parts = {}
  local member = shape.member
  for _, x in ipairs(v) do
    local text = scalar_text(member.shape, member, x, "rfc822", true)
    if member.shape.type == "string" and text:find('[,"]') then
      text = '"' .. text:gsub('"', '\\"') .. '"'
    end
    parts[#parts + 1] = text
  end
  return table.concat(parts, ",")
end

local sorted_keys = shared.sorted_keys

local function has_header(headers, name)
  name = name:lower()
  for _, h in ipairs(headers) do
    if h[1]:lower() == name then return true end
  end
  return false
end

-- Members bound to the URI, query, headers; the rest go to body_params.
local function partition(input, params)
  local parts = { labels = {}, query = {}, query_maps = {}, named_query = {}, headers = {},
    body = {}, has_body = false }
  for _, m in ipairs(input.members) do
    local v = params[m.name]
    local loc = m.location
    local name = m.locationName or m.name
    if v == nil then -- luacheck: ignore 542
    elseif loc == "uri" then
      parts.labels[name] = scalar_text(m.shape, m, v, "iso8601")
    elseif loc == "querystring" then
      local kind = m.shape.type
      if kind == "map" then
        parts.query_maps[#parts.query_maps + 1] = { m, v }
      elseif kind == "list" then
        parts.named_query[name] = true
        for _, x in ipairs(v) do
          parts.query[#parts.query + 1] = { name, scalar_text(m.shape.member.shape, m.shape.member, x, "iso8601") }
        end
      else
        parts.named_query[name] = true
        parts.query[#parts.query + 1] = { name, scalar_text(m.shape, m, v, "iso8601") }
      end
    elseif loc == "header" then
      if m.shape.type == "list" then
        if #v > 0 then parts.headers[#parts.headers + 1] = { name, header_list(m.shape, v) } end
      else
        parts.headers[#parts.headers + 1] = { name, scalar_text(m.shape, m, v, "rfc822", true) }
      end
    elseif loc == "headers" then
      for _, k in ipairs(sorted_keys(v)) do parts.headers[#parts.headers + 1] = { name .. k, tostring(v[k]) } end
    elseif loc ~= "statusCode" then
      parts.body[m.name] = v
      parts.has_body = true
    end
  end
  -- A query map adds its keys unless a named query member already sent that name.
  for _, entry in ipairs(parts.query_maps) do
    local m, v = entry[1], entry[2]
    local value_ref = m.shape.value
    for _, k in ipairs(sorted_keys(v)) do
      if not parts.named_query[k] then
        local x = v[k]
        if value_ref.shape.type == "list" then
          for _, item in ipairs(x) do parts.query[#parts.query + 1] = { k, tostring(item) } end
        else
          parts.query[#parts.query + 1] = { k, scalar_text(value_ref.shape, value_ref, x, "iso8601") }
        end
      end
    end
  end
  return parts
end

-- Fills {Label} and greedy {Label+} in the path template; labels are percent-encoded, with "/"
-- kept only in greedy ones. An absent or empty label is a validation error (it would change
-- which resource the path names).
local function render_path(svc, op, template, labels)
  return (template:gsub("{([^}]+)}", function(name)
    local greedy = name:sub(-1) == "+"
    local key = greedy and name:sub(1, -2) or name
    local v = labels[key]
    if v == nil or v == "" then fail(svc, op, string.format("URI label %s must be a non-empty string", key)) end
    return uri.encode(v, greedy)
  end))
end

--- host_prefix(svc, op, params) -> the expanded hostPrefix ("data-" , "{AccountId}.") or nil;
-- each {Label} names a hostLabel member whose value must match [A-Za-z0-9.-]+.
function M.host_prefix(svc, op, params)
  local template = op.host_prefix
  if not template then return nil end
  return (template:gsub("{([^}]+)}", function(name)
    local v = params and params[name]
    if type(v) ~= "string" or not v:match("^[%w%.%-]+$") then
      fail(svc, op, string.format("Invalid value for parameter(s): %s. Must contain only alphanumeric"
        .. " characters, hyphen, or period.", name))
    end
    return v
  end))
end

local CHECKSUMS = {
  crc32 = crypto.crc32, crc32c = crypto.crc32c, crc64nvme = crypto.crc64nvme, sha1 = crypto.sha1,
  sha256 = crypto.sha256, sha512 = crypto.sha512, md5 = crypto.md5,
}

--- apply_checksum(svc, op, params, req): adds the request checksum botocore adds by default
-- (request_checksum_calculation=when_supported; AWS_REQUEST_CHECKSUM_CALCULATION=when_required
-- limits it to operations that require one): for httpChecksumRequired operations and those
-- with an httpChecksum requestAlgorithmMember, x-amz-checksum-<algorithm> over the body (CRC32
-- unless the caller picked ChecksumAlgorithm) and the algorithm header. A caller's own
-- x-amz-checksum-* header wins. A body that is a reader gets req.checksum_algorithm instead, for
-- the HTTP layer to compute while streaming.
function M.apply_checksum(svc, op, params, req)
  local cs = op.http_checksum or {}
  local required = op.http_checksum_required or cs.requestChecksumRequired
  local member = cs.requestAlgorithmMember
  for _, h in ipairs(req.headers) do
    if h[1]:lower():find("^x%-amz%-checksum%-") then return end
  end
  -- AWS_REQUEST_CHECKSUM_CALCULATION=when_required: only where the operation demands one.
  local when = (os.getenv("AWS_REQUEST_CHECKSUM_CALCULATION") or "when_supported"):lower()
  local algorithm
  if member and params[member] ~= nil then
    algorithm = tostring(params[member]):lower()
  elseif required or (member and when ~= "when_required") then
    algorithm = "crc32"
    local ref = member and op.input and op.input.by_name[member]
    if ref and ref.location == "header" then
      req.headers[#req.headers + 1] = { ref.locationName or member, "CRC32" }
    end
  else
    return
  end
  local hash = CHECKSUMS[algorithm]
  if not hash then fail(svc, op, "Unsupported checksum algorithm: " .. algorithm) end
  if type(req.body or "") ~= "string" then
    req.checksum_algorithm = algorithm
    return
  end
  req.headers[#req.headers + 1] = { "x-amz-checksum-" .. algorithm, crypto.base64_encode(hash(req.body or "")) }
end

--- build(svc, op, params, codec) -> {method=, path=, query=<encoded string>, headers={{n, v}...},
-- body=<string|reader|nil>, host_prefix=<string|nil>, streaming=<bool>}. Validates params
-- first (ParamValidation) and fills idempotency tokens.
function M.build(svc, op, params, codec)
  params = validate.prepare(svc, op, params)
  local template = op.http.path or "/"
  local path_template, literal_query = template:match("^([^?]*)%??(.*)$")
  local input = op.input
  local req = { method = op.http.method or "POST", headers = {}, host_prefix = M.host_prefix(svc, op, params) }
  local parts = input and partition(input, params) or { labels = {}, query = {}, headers = {}, body = {} }
  req.path = render_path(svc, op, path_template, parts.labels)
  local qs = uri.query_string(parts.query)
  if literal_query ~= "" and qs ~= "" then
    req.query = literal_query .. "&" .. qs
  else
    req.query = literal_query ~= "" and literal_query or qs
  end
  req.headers = parts.headers
  local body, streaming = nil, false
  local payload = input and input.payload
  if payload then
    local ref = input.by_name[payload]
    local v = params[payload]
    local kind = ref.shape.type
    if kind == "blob" or kind == "string" then
      body, streaming = v or "", true
    elseif v ~= nil then
      body = codec.encode_payload(ref.shape, ref, v)
    else
      body = codec.empty_payload
    end
  elseif parts.has_body then
    body = codec.encode_body(input, op, parts.body)
  elseif input and codec.requires_empty_body(input) then
    body = codec.empty_payload
  end
  if not streaming and codec.content_type and type(body) == "string" and body ~= ""
      and not has_header(req.headers, "Content-Type") then
    req.headers[#req.headers + 1] = { "Content-Type", codec.content_type }
  end
  if body == "" then body = nil end
  req.body, req.streaming = body, streaming
  M.apply_checksum(svc, op, params, req)
  return req
end

---------------------------------------------------------------------------------------------
-- Replies

local function parse_error(svc, op, res, message)
  error(errors.new { code = "ResponseParseError", service = svc.service_id, operation = op.name,
    status = res.status, message = message }, 0)
end

local function header_value(res, name)
  local headers = res.headers or {}
  local v = headers[name] or headers[name:lower()]
  if v ~= nil then return v end
  local want = name:lower()
  for k, x in pairs(headers) do
    if type(k) == "string" and k:lower() == want then return x end
  end
  return nil
end

-- Splits a header list at commas outside double quotes, unquoting quoted items.
local function split_header_list(text)
  local items, i, n = {}, 1, #text
  while i <= n do
    while i <= n and text:sub(i, i):match("%s") do i = i + 1 end
    if text:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while j <= n and text:sub(j, j) ~= '"' do
        if text:sub(j, j) == "\\" then j = j + 1 end
        buf[#buf + 1] = text:sub(j, j)
        j = j + 1
      end
      items[#items + 1] = table.concat(buf)
      i = (text:find(",", j + 1, true) or n) + 1
    else
      local comma = text:find(",", i, true) or (n + 1)
      items[#items + 1] = (text:sub(i, comma - 1):gsub("%s+$", ""))
      i = comma + 1
    end
  end
  return items
end

--- header_scalar(shape, ref, text) -> the value of a header's text, or nil, message.
function M.header_scalar(shape, ref, text)
  local kind = shape.type
  if INTEGERS[kind] then
    local n = tonumber(text)
    if not n then return nil, "not an integer: " .. text end
    return math.tointeger(n) or n
  elseif kind == "float" or kind == "double" then
    if text == "NaN" then return 0 / 0 end
    if text == "Infinity" then return math.huge end
    if text == "-Infinity" then return -math.huge end
    local n = tonumber(text)
    if not n then return nil, "not a number: " .. text end
    return n
  elseif kind == "boolean" then
    return text:lower() == "true"
  elseif kind == "timestamp" then
    return timestamp.iso(text)
  elseif kind == "blob" then
    return crypto.base64_decode(text) or text
  elseif kind == "string" and ref and ref.jsonvalue then
    local raw = crypto.base64_decode(text)
    local decoded = raw and cjson.decode(raw)
    if decoded == nil then return nil, "not base64 JSON" end
    return decoded
  elseif kind == "list" then
    local out = {}
    for _, item in ipairs(split_header_list(text)) do
      local v, err = M.header_scalar(shape.member.shape, shape.member, item)
      if v == nil then return nil, err end
      out[#out + 1] = v
    end
    return out
  end
  return text
end

--- parse_located(svc, op, shape, res, out): fills out with the members bound to the status
-- code, headers and header-prefix maps. Raises ResponseParseError on unreadable values.
function M.parse_located(svc, op, shape, res, out)
  for _, m in ipairs(shape.members) do
    local loc = m.location
    if loc == "statusCode" then
      out[m.name] = res.status
    elseif loc == "header" then
      local text = header_value(res, m.locationName or m.name)
      if text ~= nil then
        local v, err = M.header_scalar(m.shape, m, tostring(text))
        if v == nil then
          parse_error(svc, op, res, string.format("header %s: %s", m.locationName or m.name, tostring(err)))
        end
        out[m.name] = v
      end
    elseif loc == "headers" then
      local prefix = (m.locationName or ""):lower()
      local map = {}
      for k, v in pairs(res.headers or {}) do
        if type(k) == "string" and k:lower():sub(1, #prefix) == prefix then map[k:sub(#prefix + 1)] = v end
      end
      out[m.name] = map
    end
  end
end

--- parse(svc, op, res, codec) -> result shaped by op.output (headers, status code, payload or
-- body members) with ResponseMetadata {RequestId=, HTTPStatusCode=, HTTPHeaders=}. A blob or
-- string payload is the body string (res.body_reader, when the HTTP layer streams, is handed
-- through as is).
local function parse_reply(svc, op, res, codec)
  local shape = op.output
  local result = {}
  if shape then
    local payload = shape.payload
    if payload then
      local ref = shape.by_name[payload]
      local kind = ref.shape.type
      if ref.eventstream or ref.shape.eventstream then
        -- read while it arrives (client.lua streams res for modules with event_streams = true)
        result[payload] = require("luaws.sdk.protocol.eventstream").open(res, { shape = ref.shape,
          service = svc, operation = op, parse = function(event_shape, bytes)
            return codec.read_bytes(svc, op, res, event_shape, bytes)
          end })
      elseif kind == "blob" or kind == "string" then
        result[payload] = res.body_reader or res.body or ""
      else
        result[payload] = codec.parse_shape(ref.shape, ref, codec.decode(svc, op, res))
      end
    else
      local parsed = codec.parse_shape(shape, nil, codec.decode(svc, op, res), true)
      for k, v in pairs(parsed or {}) do result[k] = v end
    end
    M.parse_located(svc, op, shape, res, result)
  end
  local headers = {}
  for k, v in pairs(res.headers or {}) do headers[tostring(k):lower()] = v end
  result.ResponseMetadata = {
    RequestId = headers["x-amzn-requestid"] or headers["x-amz-request-id"],
    HostId = headers["x-amz-id-2"],
    HTTPStatusCode = res.status,
    HTTPHeaders = headers,
  }
  return result
end

function M.parse(svc, op, res, codec)
  local ok, result = pcall(parse_reply, svc, op, res, codec)
  if ok then return result end
  error(errors.wrap(result, { code = "ResponseParseError", service = svc.service_id, operation = op.name,
    status = res.status }), 0)
end

return M
