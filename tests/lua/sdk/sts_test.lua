-- sts_test: role_arn chains, credential_source, MFA and web identity (STS is a recording fake).
local T = require "testing"
local fx = require "credfix"
local credentials = fx.credentials
local tmpdir = fx.tmpdir
local write = fx.write
local env = fx.env
local reset_sts = fx.reset_sts
local chain = fx.chain
local CREDENTIALS_FILE = fx.CREDENTIALS_FILE

local ROLES = write("config-roles", [[
[profile b]
role_arn = arn:aws:iam::111111111111:role/B
source_profile = a
external_id = ext-123
role_session_name = sess-b
duration_seconds = 1800
region = eu-west-1

[profile c]
role_arn = arn:aws:iam::222222222222:role/C
source_profile = b

[profile loop1]
role_arn = arn:aws:iam::1:role/L1
source_profile = loop2

[profile loop2]
role_arn = arn:aws:iam::1:role/L2
source_profile = loop1

[profile self]
role_arn = arn:aws:iam::3:role/Self
source_profile = self
aws_access_key_id = AKIASELF
aws_secret_access_key = self-secret

[profile selfnokeys]
role_arn = arn:aws:iam::3:role/Self
source_profile = selfnokeys

[profile both]
role_arn = arn:aws:iam::4:role/X
source_profile = a
credential_source = Environment

[profile neither]
role_arn = arn:aws:iam::4:role/X

[profile dangling]
role_arn = arn:aws:iam::4:role/X
source_profile = nobody

[profile fromenv]
role_arn = arn:aws:iam::5:role/Env
credential_source = Environment

[profile badsource]
role_arn = arn:aws:iam::5:role/Env
credential_source = Floppy

[profile mfa]
role_arn = arn:aws:iam::6:role/Mfa
source_profile = a
mfa_serial = arn:aws:iam::123456789012:mfa/me

[profile badduration]
role_arn = arn:aws:iam::6:role/D
source_profile = a
duration_seconds = soon

[profile emptysource]
role_arn = arn:aws:iam::6:role/D
source_profile = emptyone

[profile emptyone]
region = us-east-1
]])

local function roles_env(extra)
  local vars = { AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_CONFIG_FILE = ROLES }
  for k, v in pairs(extra or {}) do vars[k] = v end
  env(vars)
  reset_sts()
end

T.test("role_arn + source_profile assumes the role with the profile's options, lazily", function()
  roles_env()
  local p = credentials.chain { profile = "b" }
  T.eq(#fx.sts_calls, 0, "nothing is called before get()")
  local c = p:get()
  T.eq(c.access_key, "ASIA1")
  T.eq(c.secret_key, "sts-secret-1")
  T.eq(c.session_token, "sts-token-1")
  T.eq(c.source, "assume-role:arn:aws:iam::111111111111:role/B")
  T.eq(c.expiration, fx.clock + 3600)
  T.eq(#fx.sts_calls, 1)
  local call = fx.sts_calls[1]
  T.eq(call.operation, "AssumeRole")
  T.same(call.params, { RoleArn = "arn:aws:iam::111111111111:role/B", ExternalId = "ext-123",
    RoleSessionName = "sess-b", DurationSeconds = 1800 })
  T.eq(call.signed_by, "AKIAA", "source profile a's keys sign the call")
  T.eq(call.opts.region, "eu-west-1")
  T.eq(call.opts.profile, "b")
  p:get()
  T.eq(#fx.sts_calls, 1, "cached until near expiry")
end)

T.test("multi-hop chains: c assumes its role with b's assumed credentials", function()
  roles_env()
  local c = chain { profile = "c" }
  T.eq(#fx.sts_calls, 2)
  T.eq(fx.sts_calls[1].params.RoleArn, "arn:aws:iam::111111111111:role/B")
  T.eq(fx.sts_calls[1].signed_by, "AKIAA")
  T.eq(fx.sts_calls[2].params.RoleArn, "arn:aws:iam::222222222222:role/C")
  T.eq(fx.sts_calls[2].signed_by, "ASIA1")
  T.match(fx.sts_calls[2].params.RoleSessionName, "^luaws%-session%-%d+$")
  T.eq(c.access_key, "ASIA2")
end)

T.test("assumed roles are shared between chains and refreshed when under 5 minutes remain", function()
  roles_env()
  chain { profile = "b" }
  chain { profile = "b" }
  T.eq(#fx.sts_calls, 1, "a second chain reuses the assumed role")
  local p = credentials.chain { profile = "b" }
  p:get()
  local start = fx.clock
  fx.clock = start + 3600 - 6 * 60
  T.eq(p:get().access_key, "ASIA1", "6 minutes left: still fresh")
  fx.clock = start + 3600 - 4 * 60
  T.eq(p:get().access_key, "ASIA2", "4 minutes left: refreshed")
  T.eq(#fx.sts_calls, 2)
  fx.clock = start
end)

T.test("source_profile loops and self references", function()
  roles_env()
  local e = T.raises(function() chain { profile = "loop1" } end)
  T.eq(e.code, "InfiniteLoop")
  T.match(e.message, "loop1 %-> loop2 %-> loop1")
  T.match(e.message, ROLES:gsub("%p", "%%%0"))
  T.eq(chain { profile = "self" }.access_key, "ASIA1")
  T.eq(fx.sts_calls[1].signed_by, "AKIASELF", "a profile may use its own keys to assume its role")
  T.eq(T.raises(function() chain { profile = "selfnokeys" } end).code, "InfiniteLoop")
end)

T.test("broken role profiles are clear errors naming profile and file", function()
  roles_env()
  local cases = {
    both = "both source_profile and credential_source",
    neither = "neither source_profile nor credential_source",
    dangling = "source_profile 'nobody' referenced in profile 'dangling'",
    badsource = "credential_source \"Floppy\" in profile 'badsource'",
    badduration = "duration_seconds \"soon\" in profile 'badduration'",
    emptysource = "source_profile 'emptyone' %(used by profile 'emptysource'%) has no credentials",
  }
  for profile, pattern in pairs(cases) do
    local e = T.raises(function() chain { profile = profile } end, profile)
    T.eq(e.exit, 2, profile)
    T.match(e.message, pattern, profile)
    if profile ~= "emptysource" then T.match(e.message, ROLES:gsub("%p", "%%%0"), profile) end
  end
  T.eq(#fx.sts_calls, 0)
end)

T.test("credential_source = Environment signs with the environment's keys", function()
  roles_env { AWS_ACCESS_KEY_ID = "AKIAENVSRC", AWS_SECRET_ACCESS_KEY = "e" }
  T.eq(chain { profile = "fromenv" }.access_key, "ASIA1")
  T.eq(fx.sts_calls[1].signed_by, "AKIAENVSRC")
  roles_env()
  local e = T.raises(function() chain { profile = "fromenv" } end)
  T.eq(e.code, "NoCredentials")
  T.match(e.message, "credential_source Environment")
end)

T.test("mfa_serial prompts for the token code and sends it", function()
  roles_env()
  local asked
  credentials.hooks.prompt = function(message) asked = message return "123456" end
  local c = chain { profile = "mfa" }
  credentials.hooks.prompt = nil
  T.eq(c.access_key, "ASIA1")
  T.eq(asked, "Enter MFA code for arn:aws:iam::123456789012:mfa/me: ")
  T.eq(fx.sts_calls[1].params.SerialNumber, "arn:aws:iam::123456789012:mfa/me")
  T.eq(fx.sts_calls[1].params.TokenCode, "123456")
end)

T.test("without a terminal the MFA prompt is a clear error", function()
  local script = write("mfa.lua", [[
local ok, e = pcall(require("luaws.sdk.credentials.sts").prompt, "Enter MFA code for arn:x: ")
io.write(tostring(ok), " ", tostring(e and e.code), " ", tostring(e and e.message))
]])
  local p = io.popen("setsid -w " .. os.getenv("LUAWS_BIN") .. " " .. script .. " </dev/null 2>&1")
  local out = p:read("a")
  p:close()
  T.match(out, "^false NoTerminal Enter MFA code for arn:x: no terminal")
end)

T.test("web identity from the environment: unsigned AssumeRoleWithWebIdentity, token re-read", function()
  local token = write("token", "jwt-1\n")
  roles_env { AWS_WEB_IDENTITY_TOKEN_FILE = token, AWS_ROLE_ARN = "arn:aws:iam::7:role/Web",
    AWS_ROLE_SESSION_NAME = "websess", AWS_REGION = "us-west-2" }
  local p = credentials.chain {}
  local c = p:get()
  T.eq(c.access_key, "ASIA1")
  T.eq(c.source, "web-identity:arn:aws:iam::7:role/Web")
  local call = fx.sts_calls[1]
  T.eq(call.operation, "AssumeRoleWithWebIdentity")
  T.same(call.params, { RoleArn = "arn:aws:iam::7:role/Web", WebIdentityToken = "jwt-1",
    RoleSessionName = "websess" })
  T.eq(call.opts.credentials, false, "the call is unsigned")
  T.eq(call.opts.region, "us-west-2")
  write("token", "jwt-2")
  fx.clock = fx.clock + 3600
  p:get()
  fx.clock = fx.clock - 3600
  T.eq(fx.sts_calls[2].params.WebIdentityToken, "jwt-2")
end)

T.test("web identity from a profile; env web identity is ignored for an explicit profile", function()
  local token = write("token2", "jwt-profile")
  local cfg = write("config-web", "[profile web]\nweb_identity_token_file = " .. token
    .. "\nrole_arn = arn:aws:iam::8:role/FromProfile\n[profile norole]\nweb_identity_token_file = "
    .. token .. "\n")
  env { AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE,
    AWS_WEB_IDENTITY_TOKEN_FILE = tmpdir .. "/missing-token", AWS_ROLE_ARN = "arn:aws:iam::7:role/Env" }
  reset_sts()
  T.eq(chain { profile = "web" }.access_key, "ASIA1")
  T.eq(fx.sts_calls[1].params.RoleArn, "arn:aws:iam::8:role/FromProfile")
  T.eq(fx.sts_calls[1].params.WebIdentityToken, "jwt-profile")
  local e = T.raises(function() chain { profile = "norole" } end)
  T.eq(e.code, "InvalidConfiguration")
  T.match(e.message, "role_arn")
  env { AWS_WEB_IDENTITY_TOKEN_FILE = tmpdir .. "/missing-token", AWS_ROLE_ARN = "arn:aws:iam::7:role/Env" }
  e = T.raises(function() chain() end)
  T.eq(e.code, "CredentialRetrievalError")
  T.match(e.message, "missing%-token")
end)

fx.finish()
T.done()
