-- protocol.shared: what every AWS protocol needs: timestamps, base64, headers, XML helpers, errors.
local crypto = require "luaws.crypto"
local errors = require "luaws.core.errors"
local timestamp = require "luaws.sdk.protocol.timestamp"

local M = {}

---------------------------------------------------------------------------------------------
-- base64 and UUIDs come from the C core (luaws.crypto).

--- base64_encode(bytes) -> standard base64 text.
M.base64_encode = crypto.base64_encode

--- base64_decode(text) -> bytes, or nil when text is not base64.
function M.base64_decode(s)
  return (crypto.base64_decode(s))
end

--- uuid4() -> a random RFC 4122 version 4 UUID.
M.uuid4 = crypto.uuid4

---------------------------------------------------------------------------------------------
-- Timestamps: luaws.sdk.protocol.timestamp does the work and never raises a raw Lua error.

--- parse_timestamp(s) -> epoch seconds (number, may be fractional) or nil. Accepts ISO 8601,
-- RFC 822 and epoch numbers (also in a string), in years 1..9999.
function M.parse_timestamp(s)
  return (timestamp.parse(s))
end

--- format_timestamp(epoch, format) -> the wire form: "iso8601" (default; microseconds only when
-- present, like botocore), "unixtimestamp" (integer seconds), "rfc822"; raises a
-- ParamValidation error table for values out of range.
function M.format_timestamp(epoch, format)
  local wire, err = timestamp.format(epoch, format)
  if wire == nil then errors.raise({ code = "ParamValidation", message = err }, 2) end
  return wire
end

--- iso_timestamp(epoch) -> "YYYY-MM-DDTHH:MM:SSZ" (fraction kept, trailing zeros dropped); a
-- reply's value out of range (NaN, 18e300) raises a ResponseParseError table.
function M.iso_timestamp(epoch)
  local iso, err = timestamp.iso(epoch)
  if iso == nil then errors.raise({ code = "ResponseParseError", message = err }, 2) end
  return iso
end

---------------------------------------------------------------------------------------------
-- Numbers the way Python's str() prints them (query bodies must match botocore's).

--- sorted_keys(t) -> t's keys in a stable order (by their text), so maps serialise reproducibly.
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

--- number_text(v) -> "3" for integers, the shortest round-tripping form for floats
-- ("1.5", "2.0", "1e+20"); NaN/Infinity as botocore spells them.
function M.number_text(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v then return "NaN" end
  if v == math.huge then return "Infinity" end
  if v == -math.huge then return "-Infinity" end
  local s
  for precision = 15, 17 do
    s = string.format("%." .. precision .. "g", v)
    if tonumber(s) == v then break end
  end
  if not s:find("[%.eEn]") then s = s .. ".0" end
  return s
end

---------------------------------------------------------------------------------------------
-- Headers: luaws.http may hand back a map (any case) or an array of {name, value}.

--- header(res, name) -> the first value of header `name` (case-insensitive) or nil.
function M.header(res, name)
  local headers = res and res.headers
  if type(headers) ~= "table" then return nil end
  local want = name:lower()
  if headers[1] ~= nil then
    for _, pair in ipairs(headers) do
      if type(pair) == "table" and tostring(pair[1]):lower() == want then return pair[2] end
    end
    return nil
  end
  local v = headers[want] or headers[name]
  if v ~= nil then return v end
  for k, x in pairs(headers) do
    if type(k) == "string" and k:lower() == want then return x end
  end
  return nil
end

--- lower_headers(res) -> {lower-case name = value} (boto3's HTTPHeaders).
function M.lower_headers(res)
  local out = {}
  local headers = res and res.headers
  if type(headers) ~= "table" then return out end
  if headers[1] ~= nil then
    for _, pair in ipairs(headers) do out[tostring(pair[1]):lower()] = pair[2] end
  else
    for k, v in pairs(headers) do out[tostring(k):lower()] = v end
  end
  return out
end

--- response_metadata(res, request_id) -> {RequestId=, HTTPStatusCode=, HTTPHeaders=}.
function M.response_metadata(res, request_id)
  return {
    RequestId = request_id or M.header(res, "x-amzn-requestid") or M.header(res, "x-amz-request-id"),
    HTTPStatusCode = res.status,
    HTTPHeaders = M.lower_headers(res),
  }
end

---------------------------------------------------------------------------------------------
-- Parameter validation lives in luaws.sdk.protocol.validate, shared by every protocol.

--- validate(svc, op, params): raises ParamValidation listing every problem on one line.
function M.validate(svc, op, params)
  return require("luaws.sdk.protocol.validate").check(svc, op, params)
end

--- prepare(svc, op, params) -> a copy of params with idempotency tokens filled, validated.
function M.prepare(svc, op, params)
  return require("luaws.sdk.protocol.validate").prepare(svc, op, params)
end

---------------------------------------------------------------------------------------------
-- XML helpers over luaws.xml's element tables {name=, attrs=, text=, [1..n]=children}.

--- local_name(element) -> the tag without a namespace prefix ("ns:Foo" / "{uri}Foo" -> "Foo").
function M.local_name(el)
  local name = el.name or ""
  return name:match("([^:}]*)$")
end

--- child(el, name) -> the first child element called name, or nil.
function M.child(el, name)
  for _, c in ipairs(el) do
    if type(c) == "table" and M.local_name(c) == name then return c end
  end
  return nil
end

--- text(el) -> the element's text ("" when empty).
function M.text(el)
  if el == nil then return nil end
  if type(el.text) == "string" then return el.text end
  return ""
end

--- decode_xml(body) -> root element or nil, message.
function M.decode_xml(body)
  local ok, xml = pcall(require, "luaws.xml")
  if not ok or type(xml) ~= "table" or type(xml.decode) ~= "function" then
    return nil, "luaws.xml is not available"
  end
  local ok2, root, err = pcall(xml.decode, body)
  if not ok2 then return nil, tostring(root) end
  if type(root) ~= "table" then return nil, err or "not XML" end
  return root
end

---------------------------------------------------------------------------------------------
-- Error responses, whatever the protocol: JSON, query XML, EC2 XML, HTML, empty.

local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [413] = "Payload Too Large", [429] = "Too Many Requests", [500] = "Internal Server Error",
  [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local function snippet(body)
  local s = body:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if #s > 200 then s = s:sub(1, 200) .. "..." end
  return s
end

local function generic_error(res, body, why)
  local status = res.status or 0
  local reason = REASONS[status]
  local message
  if body == "" then
    message = string.format("HTTP %d%s with an empty body", status, reason and (" " .. reason) or "")
  else
    message = string.format("HTTP %d%s, %s: %s", status, reason and (" " .. reason) or "", why, snippet(body))
  end
  return { code = "HTTP" .. tostring(status), message = message }
end

-- Strips "prefix#" and ":suffix" decorations from JSON error codes.
local function clean_code(code)
  code = tostring(code)
  code = code:match("^([^:]*)") or code
  code = code:match("#([^#]*)$") or code
  return code
end

-- Depth-first search for an <Error> element with a <Code> child.
local function find_error_element(el, depth)
  if depth > 4 then return nil end
  if M.local_name(el) == "Error" and M.child(el, "Code") then return el end
  for _, c in ipairs(el) do
    if type(c) == "table" then
      local found = find_error_element(c, depth + 1)
      if found then return found end
    end
  end
  return nil
end

local function parse_xml_error(body)
  local root = M.decode_xml(body)
  if not root then return nil end
  if M.local_name(root):lower() == "html" then return nil end
  local err_el = find_error_element(root, 0)
  if not err_el then return nil end
  local out = {
    code = M.text(M.child(err_el, "Code")),
    message = M.text(M.child(err_el, "Message")) or "",
    type = M.child(err_el, "Type") and M.text(M.child(err_el, "Type")) or nil,
  }
  local rid = M.child(root, "RequestId") or M.child(root, "RequestID") or M.child(err_el, "RequestId")
  out.request_id = rid and M.text(rid) or nil
  if out.code == "" then return nil end
  return out
end

local function parse_json_error(res, body)
  local cjson = require "cjson.safe"
  local decoded = body ~= "" and cjson.decode(body) or nil
  if body ~= "" and type(decoded) ~= "table" then return nil end
  decoded = decoded or {}
  local code = decoded.__type or decoded.code or decoded.Code
  local header_type = M.header(res, "x-amzn-ErrorType")
  if (code == nil or code == cjson.null) and header_type then code = header_type end
  if code == nil or code == cjson.null then return nil end
  local message = decoded.message or decoded.Message or decoded.errorMessage
  if message == cjson.null or type(message) ~= "string" then message = "" end
  if clean_code(code) == "" then return nil end -- ":Name:..." or "ns#": no code to report
  local out = { code = clean_code(code), message = message }
  local query_error = M.header(res, "x-amzn-query-error")
  if query_error then
    local qcode, qtype = query_error:match("^([^;]+);(.*)$")
    if qcode then
      out.query_code, out.code, out.type = out.code, qcode, qtype
    end
  end
  return out
end

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=}.
-- Sniffs the body rather than trusting the protocol: JSON services do answer with XML
-- (moto's KMS SignatureDoesNotMatch), proxies with HTML, and 5xx often with nothing.
function M.parse_error(svc, _op, res)
  local body = res.body or ""
  local trimmed = body:match("^%s*(.-)%s*$")
  local out
  local first = trimmed:sub(1, 1)
  if first == "{" or (trimmed == "" and M.header(res, "x-amzn-ErrorType")) then
    out = parse_json_error(res, trimmed)
    if not out then out = generic_error(res, trimmed, "unreadable JSON error") end
  elseif first == "<" then
    out = parse_xml_error(trimmed)
    if not out then out = generic_error(res, trimmed, "not an AWS error document") end
  elseif trimmed == "" then
    out = generic_error(res, trimmed)
  else
    out = generic_error(res, trimmed, "not an AWS error document")
  end
  out.status = res.status
  out.request_id = out.request_id or M.header(res, "x-amzn-requestid")
    or M.header(res, "x-amz-request-id") or M.header(res, "x-amzn-request-id")
  if out.type == nil or out.type == "" then
    local shape = svc and svc.error_shape and svc:error_shape(out.code)
    if shape and shape.error and shape.error.sender then
      out.type = "Sender"
    elseif (res.status or 0) >= 500 then
      out.type = "Receiver"
    elseif (res.status or 0) >= 400 then
      out.type = "Sender"
    end
  end
  return out
end

return M
