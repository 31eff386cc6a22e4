-- credentials_test: every credential provider, the chain's order, redaction and refresh timing.
-- STS is replaced by a recording fake (the moto-backed chain is assume_role_test.lua); IMDS and
-- container credentials come from tests/lib/fakeserver.py on 127.0.0.1.
local T = require "testing"
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials"
local metadata = require "luaws.sdk.credentials.metadata"
local cjson = require "cjson"

local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."
local tmpdir = os.tmpname()
os.remove(tmpdir)
assert(os.execute("mkdir -p " .. tmpdir))

local function write(name, text, mode)
  local path = tmpdir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  if mode then os.execute("chmod " .. mode .. " " .. path) end
  return path
end

-- The fake clock every refresh decision reads.
local clock = 1700000000
credentials.hooks.now = function() return clock end

-- Guard: nothing here may reach the real instance metadata or container hosts.
local real_http
local function http_request(req)
  assert(not req.url:find("169.254.169.254", 1, true) and not req.url:find("169.254.170.2", 1, true),
    "a test contacted a real metadata address: " .. req.url)
  return real_http(req)
end
credentials.hooks.http_request = http_request
credentials.hooks.sleep = function() end

real_http = assert(require("luaws.http").request, "luaws.http.request is missing")

-- A scripted local HTTP server (tests/lib/fakeserver.py).
local function fakeserver(script)
  local path = write("fake-" .. math.random(1e9) .. ".json", cjson.encode(script))
  local pipe = assert(io.popen("python3 " .. source_dir .. "/tests/lib/fakeserver.py " .. path, "r"))
  local port = (pipe:read("l") or ""):match("FAKESERVER READY (%d+)")
  assert(port, "fakeserver did not start")
  local s = { url = "http://127.0.0.1:" .. port }
  function s.log()
    return cjson.decode(real_http { method = "GET", url = s.url .. "/_log", timeout = 5 }.body)
  end
  function s.stop()
    real_http { method = "POST", url = s.url .. "/_shutdown", timeout = 5 }
    pipe:close()
  end
  return s
end

-- Every case gets its own environment: only the variables it names exist, and IMDS is off
-- unless the case points it at a fake server.
local function env(vars)
  local e = { HOME = tmpdir, AWS_CONFIG_FILE = tmpdir .. "/no-config",
    AWS_SHARED_CREDENTIALS_FILE = tmpdir .. "/no-credentials", AWS_EC2_METADATA_DISABLED = "true" }
  for k, v in pairs(vars or {}) do e[k] = v end
  config.set_env(e)
  credentials.clear_cache()
end

-- Fake STS: records each call (with the access key of the credentials that would sign it) and
-- answers with numbered temporary credentials valid for an hour.
local sts_calls = {}
local function fake_sts(operation, params, opts)
  local signer = opts.credentials and opts.credentials:get()
  local n = #sts_calls + 1
  sts_calls[n] = { operation = operation, params = params, opts = opts,
    signed_by = signer and signer.access_key or false }
  return { Credentials = { AccessKeyId = "ASIA" .. n, SecretAccessKey = "sts-secret-" .. n,
    SessionToken = "sts-token-" .. n, Expiration = credentials.format_time(clock + 3600) } }
end
credentials.hooks.sts = fake_sts
local function reset_sts() sts_calls = {} end

local function chain(opts) return credentials.chain(opts or {}):get() end

T.test("credentials never print, encode or iterate their secrets", function()
  local c = credentials.new { access_key = "AKIAEXAMPLEKEY1234", secret_key = "TOPSECRET",
    session_token = "SESSIONTOKEN", source = "test", expiration = "2030-01-01T00:00:00Z" }
  T.eq(c.secret_key, "TOPSECRET")
  T.eq(c.session_token, "SESSIONTOKEN")
  T.eq(c.expiration, 1893456000)
  local printed = tostring(c)
  T.match(printed, "^Credentials%(")
  T.match(printed, "1234")
  local shown = { printed, cjson.encode(c), cjson.encode { nested = { c } } }
  local has_pretty, pretty = pcall(require, "luaws.core.pretty")
  if has_pretty then shown[#shown + 1] = pretty.format { creds = c } end
  for _, text in ipairs(shown) do
    T.ok(not text:find("TOPSECRET") and not text:find("SESSIONTOKEN"), text)
  end
  for k, v in pairs(c) do
    T.ok(v ~= "TOPSECRET" and v ~= "SESSIONTOKEN", "pairs() shows " .. tostring(k))
  end
  T.ok(not printed:find("AKIAEXAMPLEKEY1234", 1, true), "the access key id is masked")
  T.eq(getmetatable(c).__name, "luaws.Credentials")
  T.eq(T.raises(function() credentials.new { access_key = "A" } end).code, "PartialCredentials")
end)

T.test("parse_time reads ISO 8601 in UTC, with fractions and offsets", function()
  T.eq(credentials.parse_time("1970-01-01T00:00:00Z"), 0)
  T.eq(credentials.parse_time("2024-02-29T12:34:56Z"), 1709210096)
  T.eq(credentials.parse_time("2024-02-29T12:34:56.789Z"), 1709210096)
  T.eq(credentials.parse_time("2024-02-29T14:34:56+02:00"), 1709210096)
  T.eq(credentials.parse_time(1709210096), 1709210096)
  T.eq(credentials.parse_time("yesterday"), nil)
  T.eq(credentials.format_time(1709210096), "2024-02-29T12:34:56Z")
end)

T.test("static provider and an explicit credentials option", function()
  env { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "env-secret" }
  local p = credentials.static { access_key = "AKIASTATIC", secret_key = "s" }
  T.eq(p:get().access_key, "AKIASTATIC")
  T.eq(p:get().source, "static")
  T.eq(chain { credentials = { access_key = "AKIAOPT", secret_key = "o" } }.access_key, "AKIAOPT")
  T.eq(chain { credentials = p }.access_key, "AKIASTATIC")
end)

T.test("environment keys, with a session token; one key alone is an error", function()
  env { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "env-secret", AWS_SESSION_TOKEN = "env-token" }
  local c = chain()
  T.eq(c.access_key, "AKIAENV")
  T.eq(c.secret_key, "env-secret")
  T.eq(c.session_token, "env-token")
  T.eq(c.source, "env")
  env { AWS_ACCESS_KEY_ID = "AKIAENV" }
  local e = T.raises(function() chain() end)
  T.eq(e.code, "PartialCredentials")
  T.match(e.message, "AWS_SECRET_ACCESS_KEY is not")
end)

local CREDENTIALS_FILE = write("credentials", [[
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[a]
aws_access_key_id = AKIAA
aws_secret_access_key = a-secret
aws_session_token = a-token

[half]
aws_access_key_id = AKIAHALF
]])

T.test("environment beats AWS_PROFILE, but an explicitly named profile beats the environment", function()
  env { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "env-secret",
    AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_PROFILE = "a" }
  T.eq(chain().access_key, "AKIAENV")
  T.eq(chain { profile = "a" }.access_key, "AKIAENV",
    "a profile equal to AWS_PROFILE is what a client passes after resolving; env still wins")
  T.eq(chain { profile = "default" }.access_key, "AKIADEFAULT")
  T.eq(chain { profile = "a", profile_explicit = true }.access_key, "AKIAA")
  env { AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_PROFILE = "a" }
  local c = chain()
  T.eq(c.access_key, "AKIAA")
  T.eq(c.session_token, "a-token")
  T.eq(c.source, "profile:a")
end)

T.test("shared files: default, keys in the config file, partial keys, missing profile", function()
  local config_path = write("config-keys", "[profile cfg]\naws_access_key_id = AKIACFG\n"
    .. "aws_secret_access_key = cfg-secret\n")
  env { AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_CONFIG_FILE = config_path }
  T.eq(chain().access_key, "AKIADEFAULT")
  T.eq(chain { profile = "cfg" }.access_key, "AKIACFG")
  local e = T.raises(function() chain { profile = "half" } end)
  T.eq(e.code, "PartialCredentials")
  T.eq(e.message, "profile 'half' in " .. CREDENTIALS_FILE .. " has aws_access_key_id but no aws_secret_access_key")
  e = T.raises(function() chain { profile = "ghost" } end)
  T.eq(e.code, "ProfileNotFound")
  T.match(e.message, "ghost")
  T.match(e.message, config_path:gsub("%p", "%%%0"))
  env { AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_PROFILE = "ghost" }
  T.eq(T.raises(function() chain() end).code, "ProfileNotFound")
end)

T.test("no credentials anywhere is NoCredentials", function()
  env {}
  local e = T.raises(function() chain() end)
  T.eq(e.code, "NoCredentials")
  T.match(e.message, "^Unable to locate credentials%. Configure with")
  T.match(e.message, "AWS_PROFILE")
  T.match(tostring(e), "^NoCredentials: Unable to locate credentials")
end)

T.test("the chain resolves lazily and once", function()
  env {}
  local p = credentials.chain {}
  env { AWS_ACCESS_KEY_ID = "AKIALATE", AWS_SECRET_ACCESS_KEY = "late" }
  T.eq(p:get().access_key, "AKIALATE")
  env { AWS_ACCESS_KEY_ID = "AKIALATER", AWS_SECRET_ACCESS_KEY = "later" }
  T.eq(p:get().access_key, "AKIALATE")
end)

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
  T.eq(#sts_calls, 0, "nothing is called before get()")
  local c = p:get()
  T.eq(c.access_key, "ASIA1")
  T.eq(c.secret_key, "sts-secret-1")
  T.eq(c.session_token, "sts-token-1")
  T.eq(c.source, "assume-role:arn:aws:iam::111111111111:role/B")
  T.eq(c.expiration, clock + 3600)
  T.eq(#sts_calls, 1)
  local call = sts_calls[1]
  T.eq(call.operation, "AssumeRole")
  T.same(call.params, { RoleArn = "arn:aws:iam::111111111111:role/B", ExternalId = "ext-123",
    RoleSessionName = "sess-b", DurationSeconds = 1800 })
  T.eq(call.signed_by, "AKIAA", "source profile a's keys sign the call")
  T.eq(call.opts.region, "eu-west-1")
  T.eq(call.opts.profile, "b")
  p:get()
  T.eq(#sts_calls, 1, "cached until near expiry")
end)

T.test("multi-hop chains: c assumes its role with b's assumed credentials", function()
  roles_env()
  local c = chain { profile = "c" }
  T.eq(#sts_calls, 2)
  T.eq(sts_calls[1].params.RoleArn, "arn:aws:iam::111111111111:role/B")
  T.eq(sts_calls[1].signed_by, "AKIAA")
  T.eq(sts_calls[2].params.RoleArn, "arn:aws:iam::222222222222:role/C")
  T.eq(sts_calls[2].signed_by, "ASIA1")
  T.match(sts_calls[2].params.RoleSessionName, "^luaws%-session%-%d+$")
  T.eq(c.access_key, "ASIA2")
end)

T.test("assumed roles are shared between chains and refreshed when under 5 minutes remain", function()
  roles_env()
  chain { profile = "b" }
  chain { profile = "b" }
  T.eq(#sts_calls, 1, "a second chain reuses the assumed role")
  local p = credentials.chain { profile = "b" }
  p:get()
  local start = clock
  clock = start + 3600 - 6 * 60
  T.eq(p:get().access_key, "ASIA1", "6 minutes left: still fresh")
  clock = start + 3600 - 4 * 60
  T.eq(p:get().access_key, "ASIA2", "4 minutes left: refreshed")
  T.eq(#sts_calls, 2)
  clock = start
end)

T.test("source_profile loops and self references", function()
  roles_env()
  local e = T.raises(function() chain { profile = "loop1" } end)
  T.eq(e.code, "InfiniteLoop")
  T.match(e.message, "loop1 %-> loop2 %-> loop1")
  T.match(e.message, ROLES:gsub("%p", "%%%0"))
  T.eq(chain { profile = "self" }.access_key, "ASIA1")
  T.eq(sts_calls[1].signed_by, "AKIASELF", "a profile may use its own keys to assume its role")
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
  T.eq(#sts_calls, 0)
end)

T.test("credential_source = Environment signs with the environment's keys", function()
  roles_env { AWS_ACCESS_KEY_ID = "AKIAENVSRC", AWS_SECRET_ACCESS_KEY = "e" }
  T.eq(chain { profile = "fromenv" }.access_key, "ASIA1")
  T.eq(sts_calls[1].signed_by, "AKIAENVSRC")
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
  T.eq(sts_calls[1].params.SerialNumber, "arn:aws:iam::123456789012:mfa/me")
  T.eq(sts_calls[1].params.TokenCode, "123456")
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
  local call = sts_calls[1]
  T.eq(call.operation, "AssumeRoleWithWebIdentity")
  T.same(call.params, { RoleArn = "arn:aws:iam::7:role/Web", WebIdentityToken = "jwt-1",
    RoleSessionName = "websess" })
  T.eq(call.opts.credentials, false, "the call is unsigned")
  T.eq(call.opts.region, "us-west-2")
  write("token", "jwt-2")
  clock = clock + 3600
  p:get()
  clock = clock - 3600
  T.eq(sts_calls[2].params.WebIdentityToken, "jwt-2")
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
  T.eq(sts_calls[1].params.RoleArn, "arn:aws:iam::8:role/FromProfile")
  T.eq(sts_calls[1].params.WebIdentityToken, "jwt-profile")
  local e = T.raises(function() chain { profile = "norole" } end)
  T.eq(e.code, "InvalidConfiguration")
  T.match(e.message, "role_arn")
  env { AWS_WEB_IDENTITY_TOKEN_FILE = tmpdir .. "/missing-token", AWS_ROLE_ARN = "arn:aws:iam::7:role/Env" }
  e = T.raises(function() chain() end)
  T.eq(e.code, "CredentialRetrievalError")
  T.match(e.message, "missing%-token")
end)

-- credential_process scripts print JSON; $1-free, they count runs in a file next to them.
local function process_profile(name, body)
  local script = write(name .. ".sh", "#!/bin/sh\n" .. body, "755")
  local cfg = write("config-" .. name, "[profile p]\ncredential_process = " .. script .. " --flag\n")
  env { AWS_CONFIG_FILE = cfg }
  return cfg
end

T.test("credential_process: Version 1 output, static when it has no Expiration", function()
  process_profile("proc-ok", [[
[ "$1" = "--flag" ] || exit 9
echo '{"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "proc-secret", "SessionToken": "proc-token"}'
]])
  local c = chain { profile = "p" }
  T.eq(c.access_key, "AKIAPROC")
  T.eq(c.secret_key, "proc-secret")
  T.eq(c.session_token, "proc-token")
  T.eq(c.source, "process:p")
  T.eq(c.expiration, nil)
end)

T.test("credential_process failures are clear and never echo the output", function()
  local cases = {
    { "echo 'AKIA SECRETOUT' ; echo 'token expired, run login' >&2 ; exit 3",
      "exited with status 3: token expired, run login" },
    { "echo 'SECRETOUT not json'", "not a JSON object" },
    { [[echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "SECRETOUT"}']], "unsupported Version \"2\"" },
    { [[echo '{"AccessKeyId": "A", "SecretAccessKey": "SECRETOUT"}']], "unsupported Version %(missing%)" },
    { [[echo '{"Version": 1, "AccessKeyId": "A", "Secret": "SECRETOUT"}']], "has no SecretAccessKey" },
    { [[echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "SECRETOUT", "Expiration": "soon"}']],
      "Expiration is not an ISO 8601 time" },
    { "exec /nonexistent/helper", "exited with status 127" },
  }
  for i, case in ipairs(cases) do
    local cfg = process_profile("proc-bad" .. i, case[1] .. "\n")
    local e = T.raises(function() chain { profile = "p" } end, "case " .. i)
    T.eq(e.code, "CredentialProcessError", "case " .. i)
    T.match(e.message, case[2], "case " .. i)
    T.match(e.message, "^credential_process of profile 'p' %(" .. cfg:gsub("%p", "%%%0") .. "%)")
    T.ok(not tostring(e):find("SECRETOUT"), "case " .. i .. " echoes stdout: " .. tostring(e))
  end
end)

T.test("refresh windows: advisory failure keeps old credentials, mandatory failure raises", function()
  local counter = tmpdir .. "/count"
  local fail_flag = tmpdir .. "/fail"
  os.remove(counter)
  os.remove(fail_flag)
  local start = clock
  process_profile("proc-refresh", string.format([[
[ -f %s ] && { echo 'refresh broke' >&2; exit 1; }
n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s
echo "{\"Version\": 1, \"AccessKeyId\": \"AKIAGEN$n\", \"SecretAccessKey\": \"s$n\", \"Expiration\": \"%s\"}"
]], fail_flag, counter, counter, credentials.format_time(start + 3600)))
  local p = credentials.chain { profile = "p" }
  T.eq(p:get().access_key, "AKIAGEN1")
  clock = start + 3600 - 16 * 60
  T.eq(p:get().access_key, "AKIAGEN1", "16 minutes left: no refresh")
  clock = start + 3600 - 14 * 60
  T.eq(p:get().access_key, "AKIAGEN2", "14 minutes left: advisory refresh")
  write("fail", "")
  -- the script always prints the same expiration, so GEN2 expires at start + 3600 as well
  T.eq(p:get().access_key, "AKIAGEN2", "advisory refresh failed: old credentials kept")
  clock = start + 3600 - 9 * 60
  local e = T.raises(function() p:get() end)
  T.eq(e.code, "CredentialProcessError")
  T.match(e.message, "refresh broke")
  os.remove(fail_flag)
  T.eq(p:get().access_key, "AKIAGEN3", "mandatory refresh once the process works again")
  clock = start
end)

T.test("AWS_CONTAINER_CREDENTIALS_FULL_URI is limited to loopback and the ECS/EKS hosts", function()
  env { AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://evil.example.com/creds" }
  local e = T.raises(function() chain() end)
  T.eq(e.code, "InvalidConfiguration")
  T.match(e.message, "evil%.example%.com")
  T.eq(metadata.check_container_url("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x")
  T.eq(metadata.check_container_url("http://[::1]:9/x"), "http://[::1]:9/x")
  T.eq(metadata.check_container_url("http://169.254.170.23/v1/credentials"), "http://169.254.170.23/v1/credentials")
  T.eq(T.raises(function() metadata.check_container_url("http://10.0.0.1/") end).code, "InvalidConfiguration")
end)

local CONTAINER_CREDS = cjson.encode { AccessKeyId = "ASIACONTAINER", SecretAccessKey = "container-secret",
  Token = "container-token", Expiration = "2030-01-01T00:00:00Z" }

T.test("container credentials: relative and full URI, token from env and from file", function()
  local server = fakeserver { routes = {
    ["/v2/credentials/abc"] = { body = CONTAINER_CREDS },
    ["/full"] = { body = CONTAINER_CREDS },
    ["/denied"] = { status = 401, body = "{\"message\": \"bad token\"}" },
  } }
  local ok, err = pcall(function()
    metadata.container_base = server.url
    env { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/abc" }
    local c = chain()
    T.eq(c.access_key, "ASIACONTAINER")
    T.eq(c.session_token, "container-token")
    T.eq(c.source, "container")
    T.eq(c.expiration, 1893456000)
    env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/full",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer env-token" }
    T.eq(chain().access_key, "ASIACONTAINER")
    env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/full",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "ignored",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = write("container-token", "file-token\n") }
    T.eq(chain().access_key, "ASIACONTAINER")
    local log = server.log()
    T.eq(#log, 3)
    T.eq(log[1].path, "/v2/credentials/abc")
    T.eq(log[1].headers.authorization, nil)
    T.eq(log[2].headers.authorization, "Bearer env-token")
    T.eq(log[3].headers.authorization, "file-token", "the token file wins over the variable")
    env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/denied" }
    local e = T.raises(function() chain() end)
    T.eq(e.code, "CredentialRetrievalError")
    T.match(e.message, "HTTP 401")
    T.eq(#server.log(), 4, "a 4xx answer is not retried")
  end)
  metadata.container_base = "http://169.254.170.2"
  server.stop()
  if not ok then error(err, 0) end
end)

local IMDS_CREDS = cjson.encode { Code = "Success", AccessKeyId = "ASIAIMDS", SecretAccessKey = "imds-secret",
  Token = "imds-token", Expiration = "2030-01-01T00:00:00Z" }

T.test("instance metadata: IMDSv2 token, role name, credentials", function()
  local server = fakeserver { routes = {
    ["PUT /latest/api/token"] = { body = "IMDS-SESSION-TOKEN" },
    ["/latest/meta-data/iam/security-credentials/"] = { body = "web-role\n" },
    ["/latest/meta-data/iam/security-credentials/web-role"] = { body = IMDS_CREDS },
  } }
  local ok, err = pcall(function()
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url }
    local c = chain()
    T.eq(c.access_key, "ASIAIMDS")
    T.eq(c.session_token, "imds-token")
    T.eq(c.source, "imds:web-role")
    local log = server.log()
    T.eq(#log, 3)
    T.eq(log[1].method, "PUT")
    T.eq(log[1].headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600")
    T.eq(log[2].headers["x-aws-ec2-metadata-token"], "IMDS-SESSION-TOKEN")
    T.eq(log[3].path, "/latest/meta-data/iam/security-credentials/web-role")
    T.eq(log[3].headers["x-aws-ec2-metadata-token"], "IMDS-SESSION-TOKEN")
  end)
  server.stop()
  if not ok then error(err, 0) end
end)

T.test("instance metadata: IMDSv1 fallback, v1 disabled, metadata disabled, nothing listening", function()
  local server = fakeserver { routes = {
    ["PUT /latest/api/token"] = { status = 405 },
    ["/latest/meta-data/iam/security-credentials/"] = { body = "old-role" },
    ["/latest/meta-data/iam/security-credentials/old-role"] = { body = IMDS_CREDS },
  } }
  local ok, err = pcall(function()
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url .. "/" }
    T.eq(chain().source, "imds:old-role")
    local log = server.log()
    T.eq(#log, 3)
    T.eq(log[2].headers["x-aws-ec2-metadata-token"], nil, "IMDSv1: no token header")
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url,
      AWS_EC2_METADATA_V1_DISABLED = "true" }
    T.match(T.raises(function() chain() end).message, "IMDSv1 is disabled")
    env { AWS_EC2_METADATA_DISABLED = "true", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url }
    T.eq(T.raises(function() chain() end).code, "NoCredentials")
    T.eq(#server.log(), 4, "disabled means not asked")
  end)
  local closed_url = server.url
  server.stop()
  if not ok then error(err, 0) end
  env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = closed_url }
  T.eq(T.raises(function() chain() end).code, "NoCredentials", "an unreachable IMDS ends the chain")
end)

T.test("instance metadata credentials refresh before they expire", function()
  local expires = credentials.format_time(clock + 3600)
  local server = fakeserver { routes = {
    ["PUT /latest/api/token"] = { body = "T" },
    ["/latest/meta-data/iam/security-credentials/"] = { body = "r" },
    ["/latest/meta-data/iam/security-credentials/r"] = {
      { body = cjson.encode { AccessKeyId = "ASIAONE", SecretAccessKey = "1", Token = "1", Expiration = expires } },
      { body = cjson.encode { AccessKeyId = "ASIATWO", SecretAccessKey = "2", Token = "2", Expiration = expires } },
    },
  } }
  local start = clock
  local ok, err = pcall(function()
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url }
    local p = credentials.chain {}
    T.eq(p:get().access_key, "ASIAONE")
    clock = start + 3600 - 5 * 60
    T.eq(p:get().access_key, "ASIATWO")
  end)
  clock = start
  server.stop()
  if not ok then error(err, 0) end
end)

config.set_env(nil)
os.execute("rm -rf " .. tmpdir)
T.done()
