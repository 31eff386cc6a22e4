-- harness/sigv4: the URL, query and header parsing of luaws.sigv4.sign under fuzz.
-- Input: line 1 is the URL, then "name: value" header lines up to an empty line, then the body.
local sigv4 = require "luaws.sigv4"
local oracle = require "oracle"

local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FuzzSessionTokenValue0123456789"

local function parse_input(data)
  local lines = oracle.lines(data)
  local url = lines[1] or ""
  local headers, i = {}, 2
  while i <= #lines and lines[i] ~= "" do
    local line = lines[i]
    local name, value = line:match("^([^:]*):(.*)$")
    if name and name ~= "" then headers[#headers + 1] = { name, value } end
    i = i + 1
  end
  local body = table.concat(lines, "\n", i + 1)
  return url, headers, body
end

local function check_result(r, mode)
  if type(r.signature) ~= "string" or not r.signature:match("^%x+$") or #r.signature ~= 64 then
    oracle.fail("signature is not 64 hex digits")
  end
  for _, field in ipairs { "canonical_request", "string_to_sign", "authorization" } do
    local text = r[field]
    if text and text:find(SECRET, 1, true) then oracle.fail("%s holds the secret key", field) end
  end
  if mode == "header" and not (r.authorization or ""):find("Signature=" .. r.signature, 1, true) then
    oracle.fail("authorization does not carry the signature")
  end
  if r.signed_headers:find("[A-Z]") then oracle.fail("signed headers not lowercase: %s", r.signed_headers) end
  local previous
  for name in r.signed_headers:gmatch("[^;]+") do
    if previous and name < previous then oracle.fail("signed headers not sorted: %s", r.signed_headers) end
    previous = name
  end
end

return {
  run = function(data)
    local url, headers, body = parse_input(data)
    local first = data:byte(1) or 0
    local mode = (first % 2 == 0) and "header" or "query"
    local options = {
      method = "POST", url = url, headers = headers, body = body, region = "us-east-1", service = "kms",
      access_key = "AKIDEXAMPLE", secret_key = SECRET, time = "20150830T123600Z", mode = mode,
      session_token = (first % 4 >= 2) and TOKEN or nil, normalize_path = first % 8 >= 4,
      double_encode = first % 16 >= 8, sign_body = first % 32 >= 16,
    }
    local ok, r = pcall(sigv4.sign, options)
    if not ok then
      oracle.expect_error("sigv4.sign", r, { "InvalidParameter" })
      return
    end
    check_result(r, mode)
    -- The same request signs the same way, whether the key comes from the cache or not.
    local again = sigv4.sign(options)
    sigv4.clear_cache()
    local fresh = sigv4.sign(options)
    if again.signature ~= r.signature or fresh.signature ~= r.signature then
      oracle.fail("signing the same request twice gave different signatures")
    end
  end,
}
