-- protocol.errors: error responses of every protocol, with the modeled error members as fields.
--
-- Codes come from where each protocol puts them: json `__type` (prefix "ns#" and suffix ":url"
-- stripped), rest-json the x-amzn-errortype header, then body `code`/`Code`, then `__type`;
-- query/ec2/rest-xml an <Error><Code> inside <ErrorResponse>, <Response><Errors> or bare
-- <Error>; awsQueryCompatible services' x-amzn-query-error header gives the query code. When the
-- code names an exception shape of the service, its members are parsed into `fields`
-- (err.fields.Reason, ...), header-bound members included.
local shared = require "luaws.sdk.protocol.shared"

local M = {}

local function clean_code(code)
  code = tostring(code)
  code = code:match("^([^:]*)") or code
  return code:match("#([^#]*)$") or code
end

local function header(res, name) return shared.header(res, name) end

-- rest-json: the header, then body code/Code, then __type (botocore's RestJSONParser order).
local function rest_json_error(res)
  local ok, decoded = pcall(require("luaws.sdk.protocol.jsondoc").decode, res.body or "")
  if not ok or type(decoded) ~= "table" then decoded = {} end
  local code
  local candidates = { header(res, "x-amzn-errortype"), decoded.code, decoded.Code, decoded.__type }
  for i = 1, 4 do
    local candidate = candidates[i]
    if type(candidate) == "string" and clean_code(candidate) ~= "" then
      code = clean_code(candidate)
      break
    end
  end
  if code == nil then return nil, decoded end
  local message = decoded.message
  if type(message) ~= "string" then message = decoded.Message end
  if type(message) ~= "string" then message = decoded.errorMessage end
  return { code = code, message = type(message) == "string" and message or "" }, decoded
end

local function modeled_fields(svc, op, res, shape, kind, decoded, xml_shape)
  if kind == "json" or kind == "rest-json" then
    local jsondoc = require "luaws.sdk.protocol.jsondoc"
    if type(decoded) ~= "table" then
      decoded = jsondoc.decode(res.body or "")
      if type(decoded) ~= "table" then decoded = {} end
    end
    local fields = jsondoc.parse(shape, decoded, "error", true) or {}
    if kind == "rest-json" then require("luaws.sdk.protocol.httpbinding").parse_located(svc, op, shape, res, fields) end
    return fields
  end
  local root = shared.decode_xml(res.body or "")
  if not root then return {} end
  local function find(el, depth)
    if depth > 4 then return nil end
    if shared.local_name(el) == "Error" then return el end
    for _, c in ipairs(el) do
      if type(c) == "table" then
        local found = find(c, depth + 1)
        if found then return found end
      end
    end
    return nil
  end
  local err_el = find(root, 0)
  if not err_el then return {} end
  local fields = xml_shape(shape, err_el)
  if kind == "rest-xml" then require("luaws.sdk.protocol.httpbinding").parse_located(svc, op, shape, res, fields) end
  return fields
end

--- parse(svc, op, res, kind[, xml_shape]) -> {code=, message=, request_id=, type=, status=,
-- fields=, query_code=}; kind is the protocol ("json", "rest-json", "query", "ec2", "rest-xml",
-- "smithy-rpc-v2-cbor"; default svc.protocol); the XML protocols pass their shape reader
-- xml_shape(shape, element) for the modeled fields. Never raises: an unreadable body gives
-- code "HTTP<status>" and a message quoting it.
function M.parse(svc, op, res, kind, xml_shape)
  kind = kind or (svc and svc.protocol)
  local out, decoded
  if kind == "rest-json" then
    local ok, e, d = pcall(rest_json_error, res)
    if ok and e then
      out, decoded = e, d
      local query_error = header(res, "x-amzn-query-error")
      local qcode, qtype
      if query_error then qcode, qtype = query_error:match("^([^;]+);(.*)$") end
      if qcode then out.query_code, out.code, out.type = out.code, qcode, qtype end
      out.status = res.status
      out.request_id = header(res, "x-amzn-requestid") or header(res, "x-amz-request-id")
    end
  end
  if not out then out = shared.parse_error(svc, op, res) end
  if out.type == nil or out.type == "" then
    out.type = (res.status or 0) >= 500 and "Receiver" or "Sender"
  end
  local lookup = out.query_code or out.code
  local shape = svc and svc.error_shape and svc:error_shape(lookup)
  if shape and (xml_shape or kind == "json" or kind == "rest-json") then
    local ok, fields = pcall(modeled_fields, svc, op, res, shape, kind, decoded, xml_shape)
    if ok and type(fields) == "table" then
      fields.ResponseMetadata = nil
      out.fields = fields
    end
  end
  return out
end

return M
