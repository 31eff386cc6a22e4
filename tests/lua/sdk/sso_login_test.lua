-- sso_login_test: `luaws sso login/logout` on a fake clock against a scripted SSO OIDC: what it
-- signs in to, the device flow's polling (authorization_pending, slow_down, expiry), the cached
-- client registration, the token it stores, logout's sweep, and usage errors. The PKCE flow with
-- a real browser redirect and the emulator is in tests/py/sso_test.py.
local T = require "testing"
local cjson = require "cjson"
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials"
local sso_login = require "luaws.sdk.credentials.sso_login"
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
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 555555555555
sso_role_name = Admin

[profile chained]
role_arn = arn:aws:iam::666666666666:role/Deployer
source_profile = dev

[profile plain]
region = us-east-1
]])
f:close()
config.set_env { HOME = home, AWS_CONFIG_FILE = config_path }

local clock = 1700000000
local slept = {}
credentials.hooks.now = function() return clock end
credentials.hooks.sleep = function(s) slept[#slept + 1] = s clock = clock + s end
local calls, script = {}, {}
credentials.hooks.http_request = function(req)
  local path = req.url:match("^https?://[^/]+(/[^?]*)")
  calls[#calls + 1] = { path = path, body = req.body and cjson.decode(req.body), url = req.url }
  local answer = table.remove(script[path] or {}, 1) or { status = 500 }
  if answer.error then
    return { status = 400, headers = {}, body = cjson.encode { error = answer.error, error_description = "x" } }
  end
  return { status = answer.status or 200, headers = {}, body = cjson.encode(answer.body or {}) }
end
local function paths()
  local out = {}
  for i, c in ipairs(calls) do out[i] = c.path end
  return out
end

-- Runs fn with login's messages captured; returns them.
local function quiet(fn)
  local lines = {}
  sso_login.output = { write = function(_, ...) for _, s in ipairs { ... } do lines[#lines + 1] = s end end,
    flush = function() end }
  local ok, err = pcall(fn)
  sso_login.output = nil
  if not ok then error(err, 0) end
  return table.concat(lines)
end

local REGISTRATION = { clientId = "cid", clientSecret = "csecret", clientSecretExpiresAt = 1700000000 + 86400 * 90 }
local DEVICE = { deviceCode = "dev-code-123456", userCode = "ABCD-EFGH", verificationUri = "https://device.sso/",
  verificationUriComplete = "https://device.sso/?user_code=ABCD-EFGH", expiresIn = 600, interval = 1 }

T.case("what login signs in to: a session, a profile's session, a legacy profile, a role chain's source", function()
  T.eq(sso_login.config_for { sso_session = "corp" }.session_name, "corp")
  local dev = sso_login.config_for { profile = "dev" }
  T.eq(dev.session_name, "corp")
  T.eq(dev.profile, "dev")
  local legacy = sso_login.config_for { profile = "legacy" }
  T.eq(legacy.session_name, nil)
  T.eq(legacy.sso_start_url, "https://legacy.awsapps.com/start")
  T.eq(sso_login.config_for { profile = "chained" }.profile, "dev")
  local e = T.raises(function() sso_login.config_for { profile = "plain" } end)
  T.eq(e.code, "InvalidConfiguration")
  T.match(e.message, "neither sso_session nor sso_start_url")
end)

T.case("registration cache names: sha1 of Python's json.dumps(sort_keys=True) of the CLI's key", function()
  T.eq(sso_login.sorted_json { b = "x", a = { "1", "2" } }, '{"a": ["1", "2"], "b": "x"}')
  local dev = sso_login.config_for { profile = "dev" }
  T.eq(sso_login.registration_path(dev), home .. "/.aws/sso/cache/787ef34d0a944c01385765faa28b5e67d1c08f33.json")
  local legacy = sso_login.config_for { profile = "legacy" }
  T.eq(sso_login.registration_path(legacy), home .. "/.aws/sso/cache/20de173f9932b55d18263a4ff4d7654e508a3124.json")
  T.ok(sso_login.registration_path(dev, true) ~= sso_login.registration_path(dev), "PKCE has its own registration")
end)

T.case("device flow: pending, slow_down adds 5 s, then the token is stored as the CLI stores it", function()
  calls, slept = {}, {}
  script = { ["/client/register"] = { { body = REGISTRATION } }, ["/device_authorization"] = { { body = DEVICE } },
    ["/token"] = { { error = "authorization_pending" }, { error = "slow_down" },
      { body = { accessToken = "at-1", refreshToken = "rt-1", expiresIn = 3600, tokenType = "Bearer" } } } }
  local printed = quiet(function()
    T.eq(sso_login.command({ "login", "--use-device-code", "--no-browser" }, { profile = "dev" }), 0)
  end)
  T.match(printed, "https://device%.sso/%?user_code=ABCD%-EFGH")
  T.match(printed, "enter the code: ABCD%-EFGH")
  T.ok(not printed:find("at-1", 1, true) and not printed:find("rt-1", 1, true), "a token was printed")
  T.same(paths(), { "/client/register", "/device_authorization", "/token", "/token", "/token" })
  T.same(slept, { 1, 1, 6 })
  T.same(calls[1].body.grantTypes, { sso_login.DEVICE_GRANT, "refresh_token" })
  T.eq(calls[3].body.deviceCode, "dev-code-123456")
  local token = sso_token.read(sso_login.config_for { profile = "dev" })
  T.same(token, { startUrl = "https://corp.awsapps.com/start", region = "eu-west-1", accessToken = "at-1",
    refreshToken = "rt-1", expiresAt = credentials.format_time(clock + 3600), clientId = "cid",
    clientSecret = "csecret", registrationExpiresAt = credentials.format_time(1700000000 + 86400 * 90) })
end)

T.case("the registration is reused while it lasts; a legacy login stores no refresh token", function()
  calls = {}
  script = { ["/device_authorization"] = { { body = DEVICE } },
    ["/token"] = { { body = { accessToken = "at-2", refreshToken = "rt-2", expiresIn = 3600 } } } }
  quiet(function() sso_login.login { profile = "dev", use_device_code = true, no_browser = true } end)
  T.same(paths(), { "/device_authorization", "/token" })
  calls = {}
  script = { ["/client/register"] = { { body = REGISTRATION } }, ["/device_authorization"] = { { body = DEVICE } },
    ["/token"] = { { body = { accessToken = "at-3", refreshToken = "rt-3", expiresIn = 3600 } } } }
  quiet(function() sso_login.login { profile = "legacy", no_browser = true } end) -- legacy: device flow
  T.same(paths(), { "/client/register", "/device_authorization", "/token" })
  local token = sso_token.read(sso_login.config_for { profile = "legacy" })
  T.eq(token.accessToken, "at-3")
  T.eq(token.refreshToken, nil)
  T.eq(token.clientSecret, nil)
end)

T.case("a code that expires, or is not approved in time, fails clearly (SsoLoginTimeout, exit 1)", function()
  script = { ["/device_authorization"] = { { body = DEVICE } }, ["/token"] = { { error = "expired_token" } } }
  local e
  local device = { profile = "dev", use_device_code = true, no_browser = true }
  quiet(function() e = T.raises(function() sso_login.login(device) end) end)
  T.eq(e.code, "SsoLoginTimeout")
  T.eq(e.exit, 1)
  T.match(e.message, "ABCD%-EFGH expired before it was approved")
  script = { ["/device_authorization"] = { { body = DEVICE } },
    ["/token"] = { { error = "authorization_pending" }, { error = "authorization_pending" } } }
  device.timeout = 2
  quiet(function() e = T.raises(function() sso_login.login(device) end) end)
  T.match(e.message, "was not approved within 2 s")
end)

T.case("logout: signs live tokens out, deletes tokens and SSO role credentials, keeps the rest", function()
  local fs = require "luaws.fs"
  sso_token.write_json(home .. "/.aws/sso/cache/expired.json", { accessToken = "old", region = "us-east-1",
    expiresAt = credentials.format_time(clock - 10) })
  sso_token.write_json(home .. "/.aws/cli/cache/role.json", { ProviderType = "sso", Credentials = {} })
  sso_token.write_json(home .. "/.aws/cli/cache/assumed.json", { Credentials = {} })
  calls = {}
  script = { ["/logout"] = { { body = {} }, { body = {} }, { body = {} } } }
  local printed = quiet(function() T.eq(sso_login.command({ "logout" }, {}), 0) end)
  T.match(printed, "removed 3 cached tokens and 1 cached role credential")
  T.same(paths(), { "/logout", "/logout" }) -- the two live tokens (dev and legacy), not the expired one
  local left = fs.list(home .. "/.aws/sso/cache")
  T.eq(#left, 2) -- the client registrations (corp's and legacy's) stay, as with the CLI
  for _, name in ipairs(left) do
    T.ok(sso_token.read_json(home .. "/.aws/sso/cache/" .. name).accessToken == nil, name .. " holds a token")
  end
  T.same(fs.list(home .. "/.aws/cli/cache"), { "assumed.json" })
end)

T.case("usage errors are exit 2", function()
  for _, case in ipairs {
    { { "frob" }, {}, "unknown sso command 'frob'" },
    { { "login", "--sso-session", "corp" }, { profile = "dev" }, "not both" },
    { { "login", "--bogus" }, {}, "unexpected argument '%-%-bogus'" },
    { { "login", "--timeout", "soon" }, {}, "%-%-timeout needs a number" },
    { { "logout", "--use-device-code" }, {}, "unexpected argument" },
  } do
    local e = T.raises(function() sso_login.command(case[1], case[2]) end)
    T.eq(e.exit, 2)
    T.match(e.message, case[3])
  end
end)

config.set_env(nil)
os.execute("rm -rf '" .. home .. "'")
T.done()
