-- protocol.shared: what every AWS protocol needs: validation, timestamps, base64, headers, errors.
local crypto = require "luaws.crypto"
local errors = require "luaws.core.errors"
local model = require "luaws.sdk.model"

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
-- Timestamps. Inputs may be epoch numbers or ISO 8601 strings; outputs are ISO 8601 UTC strings.

-- Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- parse_timestamp(s) -> epoch seconds (number, may be fractional) or nil. Accepts ISO 8601
-- ("2024-01-02T03:04:05Z", ".123", "+09:00", a bare date) and epoch numbers in a string.
function M.parse_timestamp(s)
  if type(s) == "number" then return s end
  if type(s) ~= "string" then return nil end
  local epoch = tonumber(s)
  if epoch and s:match("^%s*[%d.]+%s*$") then return epoch end
  local y, mo, d, rest = s:match("^%s*(%d%d%d%d)-(%d%d)-(%d%d)(.*)$")
  if not y then return nil end
  local h, mi, sec, frac, zone = 0, 0, 0, "", ""
  if rest ~= "" and not rest:match("^%s*$") then
    h, mi, sec, frac, zone = rest:match("^[Tt ](%d%d):(%d%d):(%d%d)(%.?%d*)(.-)%s*$")
    if not h then
      h, mi, zone = rest:match("^[Tt ](%d%d):(%d%d)(.-)%s*$")
      sec, frac = 0, ""
      if not h then return nil end
    end
  end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 24 or mi > 59 or sec > 60 then return nil end
  local offset = 0
  if zone ~= "" and zone ~= "Z" and zone ~= "z" then
    local sign, oh, om = zone:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  local t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
  if frac ~= "" and frac ~= "." then t = t + tonumber("0" .. frac) end
  return t
end

--- format_timestamp(epoch, format) -> the wire form: "iso8601" (default; microseconds only when
-- present, like botocore), "unixtimestamp" (integer seconds), "rfc822".
function M.format_timestamp(epoch, format)
  format = (format or "iso8601"):lower()
  local whole = math.floor(epoch)
  if format == "unixtimestamp" then return whole end
  if format == "rfc822" then return os.date("!%a, %d %b %Y %H:%M:%S GMT", whole) end
  local micro = math.floor((epoch - whole) * 1e6 + 0.5)
  if micro >= 1000000 then whole, micro = whole + 1, 0 end
  if micro > 0 then
    return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. string.format(".%06dZ", micro)
  end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", whole)
end

--- iso_timestamp(epoch) -> "YYYY-MM-DDTHH:MM:SSZ" (fraction kept, trailing zeros dropped).
function M.iso_timestamp(epoch)
  local whole = math.floor(epoch)
  local micro = math.floor((epoch - whole) * 1e6 + 0.5)
  if micro >= 1000000 then whole, micro = whole + 1, 0 end
  local s = os.date("!%Y-%m-%dT%H:%M:%S", whole)
  if micro > 0 then s = s .. (string.format(".%06d", micro):gsub("0+$", "")) end
  return s .. "Z"
end

---------------------------------------------------------------------------------------------
-- Numbers the way Python's str() prints them (query bodies must match botocore's).

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
-- Parameter validation against an input shape (botocore's ParamValidator, as one error).

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true, n
end

local function describe(v)
  if type(v) == "string" then
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    return string.format("%q", v)
  end
  if type(v) == "table" then return "a table" end
  return tostring(v)
end

local function lua_type(v)
  if math.type(v) then return math.type(v) end
  return type(v)
end

-- math.tointeger also converts strings ("3600"): a parameter must already be a number.
local function is_integral(v)
  return type(v) == "number" and math.tointeger(v) ~= nil
end

local SCALAR_CHECKS = {
  string = function(v) return type(v) == "string", "string" end,
  character = function(v) return type(v) == "string", "string" end,
  blob = function(v) return type(v) == "string", "string (bytes)" end,
  boolean = function(v) return type(v) == "boolean", "boolean" end,
  integer = function(v) return is_integral(v), "integer" end,
  long = function(v) return is_integral(v), "integer" end,
  short = function(v) return is_integral(v), "integer" end,
  byte = function(v) return is_integral(v), "integer" end,
  float = function(v) return type(v) == "number", "number" end,
  double = function(v) return type(v) == "number", "number" end,
  timestamp = function(v)
    return M.parse_timestamp(v) ~= nil, "epoch number or ISO 8601 string"
  end,
}

local validate

local function type_problem(problems, path, v, valid)
  problems[#problems + 1] = string.format("Invalid type for parameter %s, value: %s, type: %s, valid types: %s",
    path, describe(v), lua_type(v), valid)
end

local function validate_structure(shape, v, path, problems)
  if type(v) ~= "table" then return type_problem(problems, path, v, "table of members") end
  if shape.document then return end
  local where = path == "" and "input" or path
  for _, name in ipairs(shape.required) do
    if v[name] == nil then
      problems[#problems + 1] = string.format('Missing required parameter in %s: "%s"', where, name)
    end
  end
  -- Known members in model order, then unknown names sorted: the message is stable.
  for _, m in ipairs(shape.members) do
    local x = v[m.name]
    if x ~= nil then validate(m.shape, x, path == "" and m.name or (path .. "." .. m.name), problems) end
  end
  local unknown = {}
  for k in pairs(v) do
    if not (type(k) == "string" and shape.by_name[k]) then unknown[#unknown + 1] = k end
  end
  if #unknown == 0 then return end
  table.sort(unknown, function(a, b) return tostring(a) < tostring(b) end)
  local names = {}
  for i, m in ipairs(shape.members) do names[i] = m.name end
  for _, k in ipairs(unknown) do
    local close = type(k) == "string" and model.suggest(k, names, 1) or {}
    if #close > 0 then
      problems[#problems + 1] = string.format('Unknown parameter in %s: "%s" (did you mean "%s"?)',
        where, tostring(k), close[1])
    else
      problems[#problems + 1] = string.format('Unknown parameter in %s: "%s", must be one of: %s',
        where, tostring(k), table.concat(names, ", "))
    end
  end
end

validate = function(shape, v, path, problems)
  local kind = shape.type
  if kind == "structure" then
    return validate_structure(shape, v, path, problems)
  elseif kind == "list" then
    local ok = type(v) == "table" and is_sequence(v)
    if not ok then return type_problem(problems, path, v, "list (array table)") end
    for i, x in ipairs(v) do validate(shape.member.shape, x, path .. "[" .. i .. "]", problems) end
  elseif kind == "map" then
    if type(v) ~= "table" then return type_problem(problems, path, v, "map (table)") end
    for k, x in pairs(v) do
      validate(shape.key.shape, k, path .. " (key)", problems)
      validate(shape.value.shape, x, path .. "." .. tostring(k), problems)
    end
  else
    local check = SCALAR_CHECKS[kind]
    if check then
      local ok, valid = check(v)
      if not ok then type_problem(problems, path, v, valid) end
    end
  end
end

--- validate(svc, op, params): raises ParamValidation listing every problem on one line.
function M.validate(svc, op, params)
  local problems = {}
  if op.input then
    validate(op.input, params, "", problems)
  elseif next(params) ~= nil then
    problems[1] = string.format("%s takes no parameters", op.name)
  end
  if #problems > 0 then
    errors.raise({ code = "ParamValidation", service = svc.service_id, operation = op.name,
      message = "Parameter validation failed: " .. table.concat(problems, "; "),
      problems = problems }, 2)
  end
end

--- prepare(svc, op, params) -> a copy of params with idempotency tokens filled, validated.
function M.prepare(svc, op, params)
  if params ~= nil and type(params) ~= "table" then
    errors.raise({ code = "ParamValidation", service = svc.service_id, operation = op.name,
      message = "Parameter validation failed: parameters must be a table, got " .. type(params) }, 2)
  end
  local copy = {}
  for k, v in pairs(params or {}) do copy[k] = v end
  for _, name in ipairs(op.idempotency_tokens or {}) do
    if copy[name] == nil then copy[name] = M.uuid4() end
  end
  M.validate(svc, op, copy)
  return copy
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
