-- harness/sigv4: the URL, query and header parsing of luaws.sigv4.sign under fuzz.
-- Input (as fuzz_sigv4.c reads it): byte 1 holds switches; then lines: method, path, query, host,
-- "name:value" header lines (a line starting with a space or tab continues the previous value)
-- up to an empty line; the rest is the body. The URL is "https://" .. host .. path ["?" query],
-- or host .. path ... when the host line brings its own scheme.
local sigv4 = require "luaws.sigv4"
local oracle = require "oracle"

local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FuzzSessionTokenValue0123456789"

local function parse_input(data)
  local lines = oracle.lines(data:sub(2))
  local method, path, query, host = lines[1] or "", lines[2] or "", lines[3] or "", lines[4] or ""
  local url = (host:find("://", 1, true) and "" or "https://") .. host .. path
    .. (query ~= "" and ("?" .. query) or "")
  local headers, i = {}, 5
  while i <= #lines and lines[i] ~= "" do
    local line = lines[i]
    if line:find("^[ \t]") and #headers > 0 then
      local last = headers[#headers]
      last[2] = last[2] .. "\n" .. line
    else
      local name, value = line:match("^([^:]*):(.*)$")
      if name and name ~= "" then headers[#headers + 1] = { name, value }
      elseif line ~= "" then headers[#headers + 1] = { line, "" } end
    end
    i = i + 1
  end
  local body = table.concat(lines, "\n", i + 1)
  return method ~= "" and method or "GET", url, headers, body
end

local function check_result(r, mode, headers, data)
  if type(r.signature) ~= "string" or not r.signature:match("^%x+$") or #r.signature ~= 64 then
    oracle.fail("signature is not 64 hex digits")
  end
  for _, field in ipairs { "canonical_request", "string_to_sign", "authorization" } do
    local text = r[field]
    local leaked = text and text:find(SECRET, 1, true) and not data:find(SECRET, 1, true)
    if leaked then oracle.fail("%s holds the secret key", field) end
  end
  if mode == "header" and not (r.authorization or ""):find("Signature=" .. r.signature, 1, true) then
    oracle.fail("authorization does not carry the signature")
  end
  for _, h in ipairs(headers) do
    if h[1]:find(";", 1, true) then return end
  end
  if r.signed_headers:find("[A-Z]") then oracle.fail("signed headers not lowercase: %s", r.signed_headers) end
  -- (Header names holding ";" make the list ambiguous; those inputs returned above.)
  local previous
  for name in r.signed_headers:gmatch("[^;]+") do
    if previous and name < previous then oracle.fail("signed headers not sorted: %s", r.signed_headers) end
    previous = name
  end
end

return {
  run = function(data)
    local method, url, headers, body = parse_input(data)
    local first = data:byte(1) or 0
    local mode = (first % 2 == 0) and "header" or "query"
    local options = {
      method = method, url = url, headers = headers, body = body, region = "us-east-1", service = "kms",
      access_key = "AKIDEXAMPLE", secret_key = SECRET, time = "20150830T123600Z", mode = mode,
      session_token = (first % 4 >= 2) and TOKEN or nil, normalize_path = first % 8 >= 4,
      double_encode = first % 16 >= 8, sign_body = first % 32 >= 16,
    }
    local ok, r = pcall(sigv4.sign, options)
    if not ok then
      oracle.expect_error("sigv4.sign", r, { "InvalidParameter" })
      return
    end
    check_result(r, mode, headers, data)
    -- The same request signs the same way, whether the key comes from the cache or not.
    local again = sigv4.sign(options)
    sigv4.clear_cache()
    local fresh = sigv4.sign(options)
    if again.signature ~= r.signature or fresh.signature ~= r.signature then
      oracle.fail("signing the same request twice gave different signatures")
    end
  end,
}
