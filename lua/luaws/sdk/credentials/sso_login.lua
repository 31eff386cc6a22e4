-- credentials.sso_login: `luaws sso login` and `luaws sso logout`, as the AWS CLI v2 does them:
-- a client registration cached per session, the authorization-code flow with PKCE and a
-- one-shot 127.0.0.1 listener (or the device-code flow), the token written to the CLI's cache.
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials.provider"
local sso = require "luaws.sdk.credentials.sso"
local sso_token = require "luaws.sdk.credentials.sso_token"
local uri = require "luaws.core.uri"
local wire = require "luaws.sdk.credentials.sso_wire"

local M = {}

M.DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
M.LOGIN_TIMEOUT = 600 -- seconds to wait for the browser when the service does not say

M.USAGE = [[
usage: luaws sso login [--profile NAME | --sso-session NAME] [--use-device-code] [--no-browser]
                       [--timeout SECONDS]
       luaws sso logout

login signs in to IAM Identity Center for the profile's sso-session (or the legacy
sso_start_url) and stores the token where the AWS CLI keeps it (~/.aws/sso/cache), so luaws and
`aws` share it. By default a browser opens the sign-in page (the URL is printed too) and luaws
listens on 127.0.0.1 for the redirect; --use-device-code prints a URL and a code to enter on any
device instead. logout signs out and deletes the cached tokens and SSO role credentials.]]

--- sso_login.output: where login and logout talk to the user (io.stderr unless a test sets
--- another handle with write and flush).
M.output = nil

local function say(text)
  local out = M.output or io.stderr
  out:write(text, "\n")
  out:flush()
end

local function usage(message)
  error(config.error { code = "Usage", exit = 2, message = message }, 0)
end

local function raise(fields)
  credentials.raise(fields)
end

-- Python's json.dumps(obj, sort_keys=True) for flat objects of strings and string lists: the
-- text the AWS CLI hashes for its registration cache file names.
local function sorted_json(obj)
  local cjson = require "cjson"
  local function str(s) return (cjson.encode(s):gsub("\\/", "/")) end
  local keys = {}
  for k in pairs(obj) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = obj[k]
    if type(v) == "table" then
      local items = {}
      for i, item in ipairs(v) do items[i] = str(item) end
      v = "[" .. table.concat(items, ", ") .. "]"
    else
      v = str(v)
    end
    parts[#parts + 1] = str(k) .. ": " .. v
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end
M.sorted_json = sorted_json

local function base64url(raw)
  return (require("luaws.crypto").base64_encode(raw):gsub("%+", "-"):gsub("/", "_"):gsub("=+$", ""))
end

-- Client registration ------------------------------------------------------------------------

--- sso_login.registration_path(cfg, pkce) -> the cache file of cfg's client registration
--- (sha1 of the sorted JSON {region, scopes (when configured), session_name, startUrl,
--- tool="botocore"}, as the AWS CLI names it; the PKCE registration adds its grant types).
function M.registration_path(cfg, pkce)
  local args = { tool = "botocore", startUrl = cfg.sso_start_url, region = cfg.sso_region,
    scopes = cfg.registration_scopes }
  if cfg.session_name then args.session_name = cfg.session_name end
  if pkce then args.grantTypes = { "authorization_code", "refresh_token" } end
  return sso_token.cache_dir() .. "/" .. sso_token.sha1_hex(sorted_json(args)) .. ".json"
end

-- A registration from the cache while it has more than a minute left, else a new one (cached).
local function register(cfg, pkce)
  local path = M.registration_path(cfg, pkce)
  local ok, cached = pcall(sso_token.read_json, path)
  if ok and type(cached) == "table" and type(cached.clientId) == "string" and type(cached.clientSecret) == "string"
      and (sso_token.parse_time(cached.expiresAt) or 0) - credentials.now() > 60 then
    return cached
  end
  local body = { clientName = "luaws-" .. math.floor(credentials.now()), clientType = "public", scopes = cfg.scopes }
  if pkce then
    body.grantTypes = { "authorization_code", "refresh_token" }
    body.redirectUris = { "http://127.0.0.1/oauth/callback" }
    body.issuerUrl = cfg.sso_start_url
  elseif cfg.session_name then
    body.grantTypes = { M.DEVICE_GRANT, "refresh_token" }
  end
  local answer = wire.oidc(cfg, "RegisterClient", body)
  local registration = { clientId = answer.clientId, clientSecret = answer.clientSecret,
    expiresAt = credentials.format_time(tonumber(answer.clientSecretExpiresAt) or (credentials.now() + 86400)),
    scopes = cfg.scopes }
  sso_token.write_json(path, registration)
  return registration
end

-- Browser --------------------------------------------------------------------------------------

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function command_exists(name)
  return os.execute("command -v " .. name .. " >/dev/null 2>&1") == true
end

local function is_macos()
  local f = io.open("/System/Library/CoreServices/SystemVersion.plist", "r")
  if f then f:close() end
  return f ~= nil
end

--- sso_login.open_browser(url) -> whether a browser was started: $BROWSER when set, `open` on
--- macOS, xdg-open when a display is there; never on a headless machine.
function M.open_browser(url)
  local browser = config.getenv("BROWSER")
  local cmd
  if browser then
    cmd = browser
  elseif is_macos() and command_exists("open") then
    cmd = "open"
  elseif (config.getenv("DISPLAY") or config.getenv("WAYLAND_DISPLAY")) and command_exists("xdg-open") then
    cmd = "xdg-open"
  end
  if not cmd then return false end
  return os.execute(cmd .. " " .. shell_quote(url) .. " >/dev/null 2>&1 &") == true
end

-- Flows ----------------------------------------------------------------------------------------

local function url_decode(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_query(target)
  local out = {}
  local query = target:match("%?(.*)$") or ""
  for pair in query:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    out[url_decode(k)] = url_decode(v)
  end
  return out
end

local PAGE = "<!doctype html><title>luaws</title><p>%s</p>"

local function pkce_flow(cfg, registration, opts)
  local http = require "luaws.http"
  local listener, err = http.listen()
  if not listener then raise { code = "SsoLoginFailed", exit = 1, message = tostring(err) } end
  local crypto = require "luaws.crypto"
  local verifier = base64url(crypto.random_bytes(48))
  local state = crypto.uuid4()
  local redirect = string.format("http://127.0.0.1:%d/oauth/callback", listener:port())
  local query = {
    { "response_type", "code" }, { "client_id", registration.clientId }, { "redirect_uri", redirect },
    { "state", state }, { "code_challenge_method", "S256" }, { "scopes", table.concat(cfg.scopes, " ") },
    { "code_challenge", base64url(crypto.sha256(verifier)) } }
  local url = wire.endpoint("oidc", cfg.sso_region, cfg.settings) .. "/authorize?" .. uri.query_string(query)
  local opened = not opts.no_browser and M.open_browser(url)
  say((opened and "Your browser has been opened to sign in. If it did not open, visit:\n\n"
    or "Open this URL in a browser to sign in:\n\n") .. url .. "\n")
  local deadline = credentials.now() + (opts.timeout or M.LOGIN_TIMEOUT)
  while true do
    local left = deadline - credentials.now()
    local request, why = listener:accept(math.max(left, 0))
    if not request then
      listener:close()
      if why == "timeout" then
        raise { code = "SsoLoginTimeout", exit = 1, message = string.format(
          "no sign-in came back from the browser within %g s; run the login again "
          .. "(or use --use-device-code on a machine without a browser)", opts.timeout or M.LOGIN_TIMEOUT) }
      end
      raise { code = "SsoLoginFailed", exit = 1, message = tostring(why) }
    end
    local params = parse_query(request.target or "")
    if (request.target or ""):match("^/oauth/callback") and params.state == state then
      if params.error then
        listener:reply(400, PAGE:format("Sign-in was not completed. You can close this window."))
        listener:close()
        raise { code = "SsoLoginFailed", exit = 1, message = string.format(
          "IAM Identity Center refused the sign-in: %s", params.error_description or params.error) }
      end
      listener:reply(200, PAGE:format("luaws is signed in. You can close this window."))
      listener:close()
      return wire.oidc(cfg, "CreateToken", { clientId = registration.clientId,
        clientSecret = registration.clientSecret, grantType = "authorization_code", code = params.code,
        redirectUri = redirect, codeVerifier = verifier })
    end
    listener:reply(400, PAGE:format("Not a sign-in answer for this luaws login."))
  end
end

local function device_flow(cfg, registration, opts)
  local auth = wire.oidc(cfg, "StartDeviceAuthorization", { clientId = registration.clientId,
    clientSecret = registration.clientSecret, startUrl = cfg.sso_start_url })
  local url = auth.verificationUriComplete or auth.verificationUri
  if not opts.no_browser then M.open_browser(url) end
  say(string.format("To sign in, open %s\nand enter the code: %s\n(the page may have it filled in already)",
    tostring(url), tostring(auth.userCode)))
  local interval = math.max(tonumber(auth.interval) or 5, 0.1)
  local expires_in = tonumber(auth.expiresIn) or M.LOGIN_TIMEOUT
  local deadline = credentials.now() + math.min(expires_in, opts.timeout or expires_in)
  while true do
    credentials.sleep(interval)
    local ok, answer = pcall(wire.oidc, cfg, "CreateToken", { clientId = registration.clientId,
      clientSecret = registration.clientSecret, grantType = M.DEVICE_GRANT, deviceCode = auth.deviceCode })
    if ok then return answer end
    local code = type(answer) == "table" and answer.code
    if code == "SlowDownException" then
      interval = interval + 5
    elseif code == "ExpiredTokenException" then
      raise { code = "SsoLoginTimeout", exit = 1, message = string.format(
        "the sign-in code %s expired before it was approved; run the login again", tostring(auth.userCode)) }
    elseif code ~= "AuthorizationPendingException" then
      error(answer, 0)
    end
    if credentials.now() + interval > deadline then
      raise { code = "SsoLoginTimeout", exit = 1, message = string.format(
        "the sign-in code %s was not approved within %g s; run the login again",
        tostring(auth.userCode), math.min(expires_in, opts.timeout or expires_in)) }
    end
  end
end

--- sso_login.config_for(opts) -> the sign-in configuration for opts.sso_session (a section name)
--- or opts.profile (its sso_session, or its legacy sso_start_url/sso_region; for a role_arn
--- profile, those of the SSO profile its source_profile chain ends at). Raises
--- InvalidConfiguration (exit 2) when neither leads to an IAM Identity Center sign-in.
function M.config_for(opts)
  if opts.sso_session then return sso.session_config(opts.sso_session, {}) end
  local name = config.profile_name(opts)
  local settings = config.profile(name)
  -- a role_arn profile signs in through the SSO profile at the end of its source_profile chain
  local seen = { [name] = true }
  while not settings.sso_session and not settings.sso_start_url and type(settings.source_profile) == "string"
      and not seen[settings.source_profile] and config.has_profile(settings.source_profile) do
    name = settings.source_profile
    seen[name] = true
    settings = config.profile(name)
  end
  if not settings.sso_session and not settings.sso_start_url then
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "profile '%s' has neither sso_session nor sso_start_url: nothing to sign in to (%s)", name,
      (config.paths())) }
  end
  return sso.profile_config(name, settings, false)
end

--- sso_login.login(opts) -> the stored token's expiry (epoch seconds). opts = {profile=,
--- sso_session=, use_device_code=, no_browser=, timeout=}. Legacy profiles use the device flow
--- and store no refresh token (as the AWS CLI).
function M.login(opts)
  local cfg = M.config_for(opts)
  local pkce = not opts.use_device_code and cfg.session_name ~= nil
  local registration = register(cfg, pkce)
  local answer = (pkce and pkce_flow or device_flow)(cfg, registration, opts)
  if type(answer.accessToken) ~= "string" then
    raise { code = "SsoLoginFailed", exit = 1, message = "IAM Identity Center answered without an access token" }
  end
  local expires = credentials.now() + (tonumber(answer.expiresIn) or 3600)
  local token = { startUrl = cfg.sso_start_url, region = cfg.sso_region, accessToken = answer.accessToken,
    expiresAt = credentials.format_time(expires) }
  if cfg.session_name then
    token.clientId, token.clientSecret = registration.clientId, registration.clientSecret
    token.registrationExpiresAt = registration.expiresAt
    token.refreshToken = type(answer.refreshToken) == "string" and answer.refreshToken or nil
  end
  sso_token.write(cfg, token)
  sso.clear_cache()
  return expires, cfg
end

--- sso_login.logout() -> tokens removed, role credential files removed. Signs every cached token
--- out of the portal (errors ignored: an expired session is signed out already), deletes the
--- token files (registrations stay, as with the CLI) and the cached SSO role credentials.
function M.logout()
  local fs = require "luaws.fs"
  local dir = sso_token.cache_dir()
  local removed = 0
  for _, name in ipairs(fs.list(dir) or {}) do
    local path = dir .. "/" .. name
    if name:match("%.json$") then
      local ok, token = pcall(sso_token.read_json, path)
      if ok and type(token) == "table" and type(token.accessToken) == "string" then
        if type(token.region) == "string"
            and (sso_token.parse_time(token.expiresAt) or 0) > credentials.now() then
          pcall(wire.logout, { sso_region = token.region, settings = {} }, token.accessToken)
        end
        if os.remove(path) then removed = removed + 1 end
      elseif not ok then
        say("luaws: warning: " .. tostring(token.message or token))
      end
    end
  end
  return removed, sso.remove_role_caches()
end

--- sso_login.command(tokens, globals) -> exit code for `luaws sso login|logout ...` (tokens after
--- "sso"; globals.profile from --profile).
function M.command(tokens, globals)
  local sub = tokens[1]
  if globals.help or sub == nil or sub == "help" then say(M.USAGE) return sub == nil and 2 or 0 end
  local opts = { profile = globals.profile }
  local i = 2
  while i <= #tokens do
    local token = tokens[i]
    local name, inline = token:match("^%-%-([^=]+)=(.*)$")
    name = name or token:match("^%-%-(.+)$")
    local function value()
      if inline then return inline end
      i = i + 1
      if not tokens[i] or tokens[i]:find("^%-%-") then usage("--" .. name .. " needs a value") end
      return tokens[i]
    end
    if sub == "login" and name == "sso-session" then
      opts.sso_session = value()
    elseif sub == "login" and name == "use-device-code" then
      opts.use_device_code = true
    elseif sub == "login" and name == "no-browser" then
      opts.no_browser = true
    elseif sub == "login" and name == "timeout" then
      opts.timeout = tonumber(value())
      if not opts.timeout or opts.timeout <= 0 then usage("--timeout needs a number of seconds") end
    else
      usage(string.format("unexpected argument '%s' for `luaws sso %s`", token, sub))
    end
    i = i + 1
  end
  if sub == "login" then
    if opts.profile and opts.sso_session then usage("give --profile or --sso-session, not both") end
    local expires, cfg = M.login(opts)
    say(string.format("Signed in to %s (%s); the session lasts until %s.", cfg.sso_start_url,
      cfg.session_name and ("sso-session " .. cfg.session_name) or ("profile " .. cfg.profile),
      credentials.format_time(expires)))
    return 0
  elseif sub == "logout" then
    local tokens_removed, roles_removed = M.logout()
    say(string.format("Signed out: removed %d cached token%s and %d cached role credential%s.",
      tokens_removed, tokens_removed == 1 and "" or "s", roles_removed, roles_removed == 1 and "" or "s"))
    return 0
  end
  usage(string.format("unknown sso command '%s': use login or logout", tostring(sub)))
end

return M
