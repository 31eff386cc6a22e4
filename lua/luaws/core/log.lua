-- log: the --debug request/response trace on stderr, with every secret redacted before printing.
local M = {}

local REDACTED = "<redacted>"
local BODY_LIMIT = 2048

-- Field names that carry secrets. Matching is on the lower-cased name; paging and idempotency
-- tokens are not secrets and are worth seeing when debugging, so they are exempt.
local SECRET_NAME_PARTS = { "secret", "token", "password", "credential", "plaintext", "privatekey",
  "keymaterial", "authorization", "signature" }
local NOT_SECRET = { nexttoken = true, clienttoken = true, paginationtoken = true,
  continuationtoken = true, startingtoken = true }

local sink = io.stderr

--- Whether debug logging is on (the host's --debug flag, shared with tracebacks).
function M.enabled()
  return require("luaws.host").debug()
end

--- Turns debug logging on or off; returns the new state.
function M.enable(on)
  return require("luaws.host").debug(on and true or false)
end

--- Redirects output (a file handle with :write) for tests; returns the previous sink.
function M.set_sink(handle)
  local previous = sink
  sink = handle or io.stderr
  return previous
end

--- Whether a header, parameter or field name names a secret.
function M.is_secret_name(name)
  local plain = tostring(name):lower():gsub("[^%w]", "")
  if NOT_SECRET[plain] then return false end
  for _, part in ipairs(SECRET_NAME_PARTS) do
    if plain:find(part, 1, true) then return true end
  end
  return false
end

-- Returns a copy of a decoded JSON value with secret fields replaced, and whether any was.
local function redact_json_value(value)
  if type(value) ~= "table" then return value, false end
  local out, changed = {}, false
  for k, v in pairs(value) do
    if type(k) == "string" and M.is_secret_name(k) then
      out[k], changed = REDACTED, true
    else
      local inner_changed
      out[k], inner_changed = redact_json_value(v)
      changed = changed or inner_changed
    end
  end
  return setmetatable(out, getmetatable(value)), changed
end

-- Redacts "name=value" pairs (query strings and form bodies, names may be dotted like
-- Credentials.SecretAccessKey). Percent-encoded names are decoded only for matching.
local function redact_form(text)
  return (text:gsub("([^&=?]+)=([^&]*)", function(name, value)
    local decoded = name:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    for segment in decoded:gmatch("[^.]+") do
      if M.is_secret_name(segment) then return name .. "=" .. REDACTED end
    end
    return name .. "=" .. value
  end))
end

-- Redacts <Name>...</Name> elements whose name is secret, including whole subtrees such as
-- <Credentials>, so nested keys never print.
local function redact_xml(text)
  return (text:gsub("<([%w_:%-]+)([^>]*)>(.-)</%1>", function(name, attrs, inner)
    if M.is_secret_name(name:match("[^:]+$")) then
      return "<" .. name .. attrs .. ">" .. REDACTED .. "</" .. name .. ">"
    end
    return "<" .. name .. attrs .. ">" .. redact_xml(inner) .. "</" .. name .. ">"
  end))
end

-- Last line of defence: a JSON-looking "secretName": "value" pair that failed to decode (a
-- truncated body, say) is still redacted.
local function redact_json_text(text)
  return (text:gsub('"([%w_%-%.]+)"(%s*:%s*)("[^"]*"?)', function(name, sep, value)
    if M.is_secret_name(name) then return '"' .. name .. '"' .. sep .. '"' .. REDACTED .. '"' end
    return '"' .. name .. '"' .. sep .. value
  end))
end

--- Returns the body with secret fields redacted (JSON, XML or form encoded).
function M.redact_body(body)
  if type(body) ~= "string" or body == "" then return body or "" end
  local first = body:match("^%s*(.)")
  if first == "{" or first == "[" then
    local cjson = require "cjson.safe"
    local decoded = cjson.decode(body)
    if type(decoded) == "table" then
      -- Re-encoding loses empty arrays and key order, so only a body with a secret is rewritten.
      local redacted, changed = redact_json_value(decoded)
      if not changed then return body end
      local encoded = cjson.encode(redacted)
      if encoded then return encoded end
    end
    return redact_json_text(body)
  elseif first == "<" then
    return redact_xml(body)
  elseif body:find("=", 1, true) then
    return redact_form(body)
  end
  return body
end

--- Returns the URL with secret query parameters (presigned URLs) redacted.
function M.redact_url(url)
  local base, query = tostring(url):match("^([^?]*)%?(.*)$")
  if not base then return tostring(url) end
  return base .. "?" .. redact_form(query)
end

--- Returns a header value, or the redaction marker for a secret header.
function M.redact_header(name, value)
  if M.is_secret_name(name) then return REDACTED end
  return value
end

-- Scrubs literal secret values (the credentials in use) that slipped through name-based rules.
local function scrub(text, secrets)
  if not secrets then return text end
  for _, secret in ipairs(secrets) do
    if type(secret) == "string" and #secret >= 8 then
      local start = text:find(secret, 1, true)
      while start do
        text = text:sub(1, start - 1) .. REDACTED .. text:sub(start + #secret)
        start = text:find(secret, start + #REDACTED, true)
      end
    end
  end
  return text
end

local function truncate(body)
  if #body <= BODY_LIMIT then return body end
  return body:sub(1, BODY_LIMIT) .. string.format("... (%d bytes)", #body)
end

local function emit(lines, secrets)
  for i, line in ipairs(lines) do lines[i] = "[debug] " .. scrub(line, secrets):gsub("[\r\n]", " ") end
  sink:write(table.concat(lines, "\n"), "\n")
  if sink.flush then sink:flush() end
end

-- Headers arrive as a list of {name, value} (requests) or a name -> value map (responses).
local function header_lines(lines, prefix, headers)
  if type(headers) ~= "table" then return end
  local pairs_list = {}
  if headers[1] ~= nil then
    for _, h in ipairs(headers) do pairs_list[#pairs_list + 1] = { h[1], h[2] } end
  else
    for name, value in pairs(headers) do pairs_list[#pairs_list + 1] = { name, value } end
    table.sort(pairs_list, function(a, b) return a[1] < b[1] end)
  end
  for _, h in ipairs(pairs_list) do
    lines[#lines + 1] = string.format("  %s %s: %s", prefix, h[1], M.redact_header(h[1], tostring(h[2])))
  end
end

--- Logs a request about to be sent: info = {service=, operation=, method=, url=, headers=,
--- body=, attempt=}; secrets = list of literal values to scrub (secret key, session token).
function M.request(info, secrets)
  local lines = { string.format("%s %s %s %s (attempt %d)", info.service, info.operation,
    info.method, M.redact_url(info.url), info.attempt or 1) }
  header_lines(lines, ">", info.headers)
  if info.body and info.body ~= "" then
    lines[#lines + 1] = "  > body: " .. truncate(M.redact_body(info.body))
  end
  emit(lines, secrets)
end

--- Logs the outcome of one attempt: info = {service=, operation=, method=, url=, attempt=,
--- elapsed= (seconds), status=, headers=, body=, error= (transport error table)}.
function M.response(info, secrets)
  local outcome
  if info.status then
    outcome = tostring(info.status)
  else
    local err = info.error or {}
    outcome = string.format("%s (%s)", tostring(err.code or "error"), tostring(err.message or ""))
  end
  local lines = { string.format("%s %s %s %s -> %s in %.1f ms (attempt %d)", info.service,
    info.operation, info.method, M.redact_url(info.url), outcome, (info.elapsed or 0) * 1000,
    info.attempt or 1) }
  header_lines(lines, "<", info.headers)
  if info.body and info.body ~= "" then
    lines[#lines + 1] = "  < body: " .. truncate(M.redact_body(info.body))
  end
  emit(lines, secrets)
end

--- Logs a free-form note (a retry decision, say) in the same format.
function M.note(text, secrets)
  emit({ text }, secrets)
end

return M
