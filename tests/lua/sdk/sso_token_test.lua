-- sso_token_test: the SSO token cache (names, format, atomic 0600 writes, errors naming the file)
-- and the refresh policy (15-minute window, one attempt a minute, lock, legacy never refreshed),
-- on a fake clock with SSO OIDC replaced by a recording fake. The end-to-end flows and botocore's
-- view of the same files are in tests/py/sso_test.py.
local T = require "testing"
local cjson = require "cjson"
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials"
local sso = require "luaws.sdk.credentials.sso"
local sso_token = require "luaws.sdk.credentials.sso_token"

local home = T.tempdir()
local config_path = home .. "/config"
local f = assert(io.open(config_path, "w"))
f:write([[
[profile dev]
sso_session = corp
sso_account_id = 444444444444
sso_role_name = Admin

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 555555555555
sso_role_name = Admin

[profile mismatch]
sso_session = corp
sso_region = us-east-2
sso_account_id = 444444444444
sso_role_name = Admin
]])
f:close()
config.set_env { HOME = home, AWS_CONFIG_FILE = config_path, AWS_ENDPOINT_URL_SSO_OIDC = "http://oidc.test" }

local clock = 1700000000
credentials.hooks.now = function() return clock end
credentials.hooks.sleep = function() end
local calls = {}
local answer -- what the fake OIDC answers: a table (200) or {status=, errortype=}
credentials.hooks.http_request = function(req)
  calls[#calls + 1] = { url = req.url, body = req.body and cjson.decode(req.body) }
  if answer.status then
    return { status = answer.status, headers = { ["x-amzn-errortype"] = answer.errortype },
      body = cjson.encode { error = "invalid_grant", error_description = "nope" } }
  end
  return { status = 200, headers = {}, body = cjson.encode(answer) }
end

local function iso(t) return credentials.format_time(t) end

local dev = sso.profile_config("dev", config.profile("dev"))
local legacy = sso.profile_config("legacy", config.profile("legacy"))

local function cached(cfg, fields)
  local token = { startUrl = cfg.sso_start_url, region = cfg.sso_region, accessToken = "old-access",
    expiresAt = iso(clock + 3600), refreshToken = "old-refresh", clientId = "cid", clientSecret = "csecret",
    registrationExpiresAt = iso(clock + 86400 * 30) }
  for k, v in pairs(fields or {}) do token[k] = v ~= false and v or nil end
  sso_token.write(cfg, token)
  return token
end

T.case("cache file names: sha1 of the session name, or of the start URL for legacy profiles", function()
  -- the digests are Python's hashlib.sha1(...).hexdigest()
  T.eq(sso_token.path(dev), home .. "/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json")
  T.eq(sso_token.cache_key(legacy), "79e435d7a515078e81c9dffc35f38d5687ebd3a7")
  T.eq(sso_token.sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
end)

T.case("profile config: session values, and botocore's consistency rule", function()
  T.eq(dev.sso_region, "eu-west-1")
  T.eq(dev.session_name, "corp")
  T.same(dev.scopes, { "sso:account:access" })
  local e = T.raises(function() sso.profile_config("mismatch", config.profile("mismatch")) end)
  T.eq(e.code, "InvalidConfiguration")
  T.match(e.message, "sso_region us%-east%-2, but its sso%-session 'corp' says eu%-west%-1")
end)

T.case("writes are 0600 JSON with unescaped URLs; no temporary files stay", function()
  cached(dev)
  local st = require("luaws.fs").stat(sso_token.path(dev))
  T.eq(st.mode, tonumber("600", 8))
  local text = assert(io.open(sso_token.path(dev))):read("a")
  T.ok(text:find("https://corp.awsapps.com/start", 1, true), text)
  T.same(require("luaws.fs").list(home .. "/.aws/sso/cache"), { sso_token.cache_key(dev) .. ".json" })
end)

T.case("a token with more than 15 minutes left is used as it is", function()
  calls = {}
  cached(dev)
  T.eq(sso_token.load(dev), "old-access")
  T.eq(#calls, 0)
end)

T.case("within 15 minutes: CreateToken refresh grant, cache rewritten with the rotated tokens", function()
  calls = {}
  sso_token.forget()
  cached(dev, { expiresAt = iso(clock + 600) })
  answer = { accessToken = "new-access", expiresIn = 3600, refreshToken = "new-refresh", tokenType = "Bearer" }
  local token, expires = sso_token.load(dev)
  T.eq(token, "new-access")
  T.eq(expires, clock + 3600)
  T.eq(#calls, 1)
  T.eq(calls[1].url, "http://oidc.test/token")
  T.same(calls[1].body, { grantType = "refresh_token", clientId = "cid", clientSecret = "csecret",
    refreshToken = "old-refresh" })
  local saved = sso_token.read(dev)
  T.eq(saved.refreshToken, "new-refresh")
  T.eq(saved.registrationExpiresAt, iso(clock + 86400 * 30))
  T.eq(saved.expiresAt, iso(clock + 3600))
  T.ok(not io.open(sso_token.path(dev) .. ".lock"), "lock file left behind")
end)

T.case("a failed refresh keeps a still-valid token and is not retried within a minute", function()
  calls = {}
  sso_token.forget()
  cached(dev, { expiresAt = iso(clock + 600) })
  answer = { status = 400, errortype = "InvalidGrantException" }
  T.eq(sso_token.load(dev), "old-access")
  T.eq(sso_token.load(dev), "old-access")
  T.eq(#calls, 1)
  clock = clock + 61
  T.eq(sso_token.load(dev), "old-access")
  T.eq(#calls, 2)
end)

T.case("expired without a usable refresh: SsoLoginRequired naming the login command", function()
  sso_token.forget()
  cached(dev, { expiresAt = iso(clock - 1), refreshToken = false })
  local e = T.raises(function() sso_token.load(dev) end)
  T.eq(e.code, "SsoLoginRequired")
  T.eq(e.exit, 2)
  T.match(e.message, "run `luaws sso login %-%-profile dev`")
end)

T.case("expiresAt as older AWS CLI versions wrote it (...UTC) and with an offset", function()
  T.eq(sso_token.parse_time("2023-11-14T22:13:20UTC"), 1700000000)
  T.eq(sso_token.parse_time("2023-11-14T22:13:20+00:00"), 1700000000)
  T.eq(sso_token.parse_time("2023-11-14T22:13:20Z"), 1700000000)
  sso_token.forget()
  cached(legacy, { expiresAt = "2099-01-01T00:00:00UTC" })
  T.eq(sso_token.load(legacy), "old-access")
end)

T.case("legacy tokens are never refreshed (botocore only refreshes sso-session tokens)", function()
  calls = {}
  sso_token.forget()
  cached(legacy, { expiresAt = iso(clock + 60) })
  T.eq(sso_token.load(legacy), "old-access")
  T.eq(#calls, 0)
end)

T.case("a lock held by a live process is waited for; a stale one is taken over", function()
  sso_token.forget()
  local lock = sso_token.path(dev) .. ".lock"
  assert(require("luaws.fs").write_private(lock, "x"))
  local saved_wait = sso_token.LOCK_WAIT
  sso_token.LOCK_WAIT = 0.2
  local e = T.raises(function() sso_token.with_lock(sso_token.path(dev), function() end) end)
  T.eq(e.code, "SsoCacheError")
  T.match(e.message, "delete it if no luaws or aws process is running")
  sso_token.LOCK_WAIT = saved_wait
  local saved_stale = sso_token.LOCK_STALE
  sso_token.LOCK_STALE = -1
  T.eq(sso_token.with_lock(sso_token.path(dev), function() return "ran" end), "ran")
  sso_token.LOCK_STALE = saved_stale
  T.ok(not io.open(lock), "lock file left behind")
end)

T.case("a cache folder that cannot be locked still serves a valid token; an expired one names the lock", function()
  sso_token.forget()
  cached(dev, { expiresAt = iso(clock + 600) })
  local lock = sso_token.path(dev) .. ".lock"
  assert(os.execute("mkdir '" .. lock .. "/'")) -- a folder where the lock file goes: creating it fails
  local saved_wait = sso_token.LOCK_WAIT
  sso_token.LOCK_WAIT = 0
  T.eq(sso_token.load(dev), "old-access")
  sso_token.forget()
  cached(dev, { expiresAt = iso(clock - 1) })
  local e = T.raises(function() sso_token.load(dev) end)
  T.eq(e.code, "SsoCacheError")
  T.ok(e.message:find(lock, 1, true), e.message)
  sso_token.LOCK_WAIT = saved_wait
  os.execute("rmdir '" .. lock .. "'")
end)

T.case("corrupt and incomplete cache files: SsoCacheError naming the file", function()
  local path = sso_token.path(dev)
  local out = assert(io.open(path, "w"))
  out:write("{\"accessToken\": ")
  out:close()
  local e = T.raises(function() sso_token.load(dev) end)
  T.eq(e.code, "SsoCacheError")
  T.ok(e.message:find(path, 1, true), e.message)
  out = assert(io.open(path, "w"))
  out:write("{\"startUrl\": \"x\"}")
  out:close()
  e = T.raises(function() sso_token.load(dev) end)
  T.match(e.message, "has no valid accessToken and expiresAt")
end)

T.case("role credentials cache path: botocore's compact sorted JSON key", function()
  -- sha1 of {"accountId":"444444444444","roleName":"Admin","sessionName":"corp"}
  T.eq(sso.role_cache_path(dev), home .. "/.aws/cli/cache/8756d296cec83af0410bc562f23c59b98438617e.json")
end)

config.set_env(nil)
os.execute("rm -rf '" .. home .. "'")
T.done()
