-- log_test: --debug logs every request with timing but never a secret: the redaction
-- rules of luaws.log, then a real --debug run whose stderr is grepped for the secret and token.
local T = require "testing"
local log = require "luaws.core.log"

local SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
local TOKEN = "FwoGZXIvYXdzEBQaDEXAMPLESESSIONTOKENVALUE0123456789"

-- A sink that collects what the log writes.
local function capture(fn)
  local chunks = {}
  local previous = log.set_sink({ write = function(self, ...)
    for _, s in ipairs { ... } do chunks[#chunks + 1] = s end
    return self
  end })
  local ok, err = pcall(fn)
  log.set_sink(previous)
  if not ok then error(err, 0) end
  return table.concat(chunks)
end

T.test("secret-looking names are recognised, paging and idempotency tokens are not", function()
  for _, name in ipairs { "Authorization", "X-Amz-Security-Token", "SecretAccessKey", "SessionToken",
    "Credentials", "Password", "GrantTokens", "Plaintext", "aws_secret_access_key", "X-Amz-Signature",
    "X-Amz-Credential", "KeyMaterial" } do
    T.ok(log.is_secret_name(name), name)
  end
  for _, name in ipairs { "NextToken", "ClientToken", "Marker", "KeyId", "AccessKeyId",
    "Content-Type", "X-Amz-Date", "X-Amz-Target" } do
    T.ok(not log.is_secret_name(name), name)
  end
end)

T.test("JSON bodies: secret fields redacted at any depth", function()
  local body = require("cjson").encode {
    KeyId = "k1", GrantTokens = { "gt-1" },
    Credentials = { AccessKeyId = "ASIAEXAMPLE", SecretAccessKey = SECRET, SessionToken = TOKEN },
    Nested = { { password = "hunter2hunter2" } }, NextToken = "page-2",
  }
  local out = log.redact_body(body)
  T.ok(not out:find(SECRET, 1, true) and not out:find(TOKEN, 1, true), out)
  T.ok(not out:find("hunter2", 1, true) and not out:find("gt-1", 1, true), out)
  T.match(out, '"KeyId":"k1"')
  T.match(out, '"NextToken":"page%-2"')
  -- a truncated JSON body (not decodable) still loses its secret values
  local cut = '{"SecretAccessKey": "' .. SECRET .. '", "SessionToken": "' .. TOKEN
  out = log.redact_body(cut)
  T.ok(not out:find(SECRET, 1, true) and not out:find(TOKEN, 1, true), out)
end)

T.test("XML bodies: whole <Credentials> subtrees and secret elements redacted", function()
  local body = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId>"
    .. "<SecretAccessKey>" .. SECRET .. "</SecretAccessKey><SessionToken>" .. TOKEN
    .. "</SessionToken></Credentials><AssumedRoleUser><Arn>arn:aws:sts::1:x</Arn></AssumedRoleUser>"
    .. "</AssumeRoleResult></AssumeRoleResponse>"
  local out = log.redact_body(body)
  T.ok(not out:find(SECRET, 1, true) and not out:find(TOKEN, 1, true), out)
  T.match(out, "<Arn>arn:aws:sts::1:x</Arn>")
  out = log.redact_body("<CreateAccessKeyResult><AccessKey><SecretAccessKey>" .. SECRET
    .. "</SecretAccessKey><UserName>u</UserName></AccessKey></CreateAccessKeyResult>")
  T.ok(not out:find(SECRET, 1, true), out)
  T.match(out, "<UserName>u</UserName>")
end)

T.test("form bodies and presigned URLs: secret parameters redacted", function()
  local out = log.redact_body("Action=GetSessionToken&TokenCode=123456&SerialNumber=arn&Password="
    .. "p%40ss&Credentials.SecretAccessKey=" .. SECRET)
  T.ok(not out:find(SECRET, 1, true) and not out:find("p%40ss", 1, true), out)
  T.match(out, "Action=GetSessionToken")
  T.match(out, "SerialNumber=arn")
  local url = log.redact_url("https://s3.amazonaws.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    .. "&X-Amz-Credential=AKIA%2F20150830&X-Amz-Security-Token=" .. TOKEN .. "&X-Amz-Signature=abc123")
  T.ok(not url:find(TOKEN, 1, true) and not url:find("abc123", 1, true), url)
  T.match(url, "X%-Amz%-Algorithm=AWS4%-HMAC%-SHA256")
end)

T.test("request and response lines: timing, attempt, headers redacted, secrets scrubbed", function()
  local out = capture(function()
    log.request({ service = "kms", operation = "ListKeys", method = "POST", url = "https://kms/",
      attempt = 1, body = '{"Limit":5}', headers = {
        { "Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=deadbeef" },
        { "X-Amz-Security-Token", TOKEN }, { "X-Amz-Target", "TrentService.ListKeys" } } },
      { SECRET, TOKEN })
    log.response({ service = "kms", operation = "ListKeys", method = "POST", url = "https://kms/",
      attempt = 2, elapsed = 0.0123, status = 200, headers = { ["x-amzn-requestid"] = "r-1" },
      body = '{"Echo":"' .. SECRET .. '"}' }, { SECRET, TOKEN })
  end)
  T.match(out, "%[debug%] kms ListKeys POST https://kms/ %(attempt 1%)")
  T.match(out, "%[debug%] kms ListKeys POST https://kms/ %-> 200 in 12%.3 ms %(attempt 2%)")
  T.match(out, "X%-Amz%-Target: TrentService%.ListKeys")
  T.match(out, "x%-amzn%-requestid: r%-1")
  T.ok(not out:find("deadbeef", 1, true), "signature leaked")
  T.ok(not out:find(SECRET, 1, true) and not out:find(TOKEN, 1, true), "secret leaked: " .. out)
  for line in out:gmatch("[^\n]+") do T.match(line, "^%[debug%] ") end
end)

T.test("long bodies are truncated", function()
  local out = capture(function()
    log.response({ service = "s", operation = "o", method = "GET", url = "http://x/", status = 200,
      body = string.rep("a", 10000) }, nil)
  end)
  T.ok(#out < 3000, "output is short")
  T.match(out, "%(10000 bytes%)")
end)

T.test("aws.debug toggles the same flag as --debug", function()
  local was = aws.debug()
  T.eq(aws.debug(true), true)
  T.eq(log.enabled(), true)
  T.eq(require("luaws.host").debug(), true)
  T.eq(aws.debug(false), false)
  T.eq(log.enabled(), false)
  aws.debug(was)
end)

T.test("--debug run: every request logged with timing, no secret or token anywhere", function()
  local fakeserver = require "fakeserver"
  local NEW_SECRET = "AssumedSecretKeyAssumedSecretKey0123456789"
  local NEW_TOKEN = "AssumedSessionTokenAssumedSessionToken0123456789"
  local GRANT_TOKEN = "GrantTokenGrantTokenGrantToken0123456789"
  local server = fakeserver.start { routes = { ["/"] = {
    { status = 200, headers = { ["Content-Type"] = "text/xml", ["x-amzn-RequestId"] = "r-1" },
      body = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
        .. "<Credentials><AccessKeyId>ASIANEWKEY</AccessKeyId><SecretAccessKey>" .. NEW_SECRET
        .. "</SecretAccessKey><SessionToken>" .. NEW_TOKEN .. "</SessionToken><Expiration>"
        .. "2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:s"
        .. "</AssumedRoleId><Arn>arn:aws:sts::111122223333:assumed-role/r/s</Arn></AssumedRoleUser>"
        .. "</AssumeRoleResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>"
        .. "</AssumeRoleResponse>" },
    { status = 200, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
      body = require("cjson").encode { GrantId = "g-1", GrantToken = GRANT_TOKEN } },
    { status = 400, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
      body = '{"__type":"ThrottlingException","message":"slow down"}' },
    { status = 200, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
      body = '{"Keys":[],"Truncated":false}' },
  } } }
  local script_path = os.tmpname()
  local f = assert(io.open(script_path, "w"))
  f:write([[
    local creds = { access_key = "AKIDDEBUGTEST", secret_key = os.getenv("T_SECRET"),
      session_token = os.getenv("T_TOKEN") }
    local url = os.getenv("T_URL")
    local sts = aws.client("sts", { region = "us-east-1", endpoint_url = url, credentials = creds })
    local assumed = sts:AssumeRole { RoleArn = "arn:aws:iam::111122223333:role/r", RoleSessionName = "s" }
    local kms = aws.client("kms", { region = "us-east-1", endpoint_url = url, credentials = {
      access_key = assumed.Credentials.AccessKeyId, secret_key = assumed.Credentials.SecretAccessKey,
      session_token = assumed.Credentials.SessionToken } })
    kms:CreateGrant { KeyId = "k", GranteePrincipal = "arn:aws:iam::111122223333:root",
      Operations = { "Decrypt" }, GrantTokens = { os.getenv("T_GRANT") } }
    require("luaws.sdk.client").hooks.sleep = function() end
    kms:ListKeys {}
    print("done")
  ]])
  f:close()
  local cmd = string.format("T_SECRET=%s T_TOKEN=%s T_GRANT=%s T_URL=%s %s --debug %s 2>&1",
    SECRET, TOKEN, GRANT_TOKEN, server.url, os.getenv("LUAWS_BIN"), script_path)
  local p = io.popen(cmd)
  local out = p:read("a")
  local _, _, code = p:close()
  os.remove(script_path)
  server.stop()
  T.eq(code, 0, out)
  T.match(out, "done\n")
  T.match(out, "%[debug%] sts AssumeRole POST http://127%.0%.0%.1:%d+/ %-> 200 in %d+%.%d ms %(attempt 1%)")
  T.match(out, "%[debug%] kms CreateGrant POST http://127%.0%.0%.1:%d+/ %-> 200 in")
  T.match(out, "%[debug%] kms ListKeys POST [^\n]+ %-> 400 in [^\n]+%(attempt 1%)")
  T.match(out, "%[debug%] kms ListKeys POST [^\n]+ %-> 200 in [^\n]+%(attempt 2%)")
  T.match(out, "Authorization: <redacted>")
  T.match(out, "<AssumedRoleId>AROA:s</AssumedRoleId>", "what is not secret stays readable")
  T.match(out, '"GrantId":"g%-1"')
  T.match(out, '< body: {"Keys":%[%],"Truncated":false}', "a body without secrets prints as received")
  for label, secret in pairs { secret_key = SECRET, session_token = TOKEN, assumed_secret = NEW_SECRET,
    assumed_token = NEW_TOKEN, grant_token = GRANT_TOKEN } do
    T.ok(not out:find(secret, 1, true), label .. " leaked into --debug output")
  end
  -- the same literal secrets with the first and last characters dropped would reveal a partial leak
  T.ok(not out:find(SECRET:sub(2, -2), 1, true), "partial secret leaked")
end)

T.done()
