-- credentials.sso: IAM Identity Center (SSO) profiles in the chain, as botocore's SSOProvider reads
-- them: `sso_session` + `[sso-session NAME]`, or the legacy sso_start_url/sso_region in the
-- profile, with sso_account_id and sso_role_name. Role credentials come from the portal's
-- GetRoleCredentials, are cached in the process and in ~/.aws/cli/cache (as the AWS CLI does),
-- and are fetched once however many tasks ask at the same time.
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials.provider"
local sso_token = require "luaws.sdk.credentials.sso_token"

local M = {}

-- Role credentials refresh when less than this is left (botocore's CachedCredentialFetcher
-- expiry window for SSO is 15 minutes; role sessions last an hour or more).
M.EXPIRY_WINDOW = 15 * 60

local function raise(fields)
  credentials.raise(fields)
end

local function where(settings, key)
  return config.origin(settings, key) or select(1, config.paths())
end

--- sso.is_sso_profile(settings) -> whether the profile asks for SSO role credentials (it has
--- sso_account_id or sso_role_name: botocore's test).
function M.is_sso_profile(settings)
  return settings.sso_account_id ~= nil or settings.sso_role_name ~= nil
end

--- sso.session_config(session_name, settings, profile) -> {session_name=, sso_start_url=,
--- sso_region=, scopes= (default sso:account:access), registration_scopes= (as configured, or
--- nil), settings=} for [sso-session session_name]. Raises InvalidConfiguration
--- (exit 2) when the section is missing or lacks sso_start_url / sso_region.
function M.session_config(session_name, settings, profile)
  local files = config.files()
  local session = files.config.sso_sessions[session_name]
  if not session then
    local user = profile and string.format("profile '%s' names sso_session '%s', but", profile, session_name)
      or string.format("--sso-session %s:", session_name)
    raise { code = "InvalidConfiguration", exit = 2, profile = profile, message = string.format(
      "%s %s has no [sso-session %s] section", user, files.config.path, session_name) }
  end
  for _, key in ipairs { "sso_start_url", "sso_region" } do
    if type(session[key]) ~= "string" or session[key] == "" then
      raise { code = "InvalidConfiguration", exit = 2, profile = profile, message = string.format(
        "[sso-session %s] in %s has no %s", session_name, files.config.path, key) }
    end
  end
  local scopes = {}
  for scope in tostring(session.sso_registration_scopes or ""):gmatch("[^,%s]+") do scopes[#scopes + 1] = scope end
  local configured = #scopes > 0 and scopes or nil
  if #scopes == 0 then scopes = { "sso:account:access" } end
  return { session_name = session_name, sso_start_url = session.sso_start_url,
    sso_region = session.sso_region, scopes = scopes, registration_scopes = configured,
    settings = settings or {} }
end

--- sso.profile_config(name, settings) -> {profile=, session_name=<nil for legacy>, sso_start_url=,
--- sso_region=, sso_account_id=, sso_role_name=, scopes=, settings=}. Raises InvalidConfiguration
--- (exit 2) naming the profile and file for a missing setting, a missing sso-session section, or
--- a start URL / region that differs between the profile and its sso-session (botocore's rules).
function M.profile_config(name, settings, need_role)
  local cfg
  if settings.sso_session then
    cfg = M.session_config(settings.sso_session, settings, name)
    for _, key in ipairs { "sso_start_url", "sso_region" } do
      if settings[key] and settings[key] ~= cfg[key] then
        raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
          "profile '%s' (%s) has %s %s, but its sso-session '%s' says %s", name, where(settings, key),
          key, settings[key], settings.sso_session, cfg[key]) }
      end
    end
  else
    cfg = { sso_start_url = settings.sso_start_url, sso_region = settings.sso_region,
      scopes = { "sso:account:access" }, settings = settings }
  end
  cfg.profile = name
  cfg.sso_account_id, cfg.sso_role_name = settings.sso_account_id, settings.sso_role_name
  local missing = {}
  local required = { "sso_start_url", "sso_region" }
  if need_role ~= false then required[#required + 1] = "sso_account_id"; required[#required + 1] = "sso_role_name" end
  for _, key in ipairs(required) do
    if type(cfg[key]) ~= "string" or cfg[key] == "" then missing[#missing + 1] = key end
  end
  if #missing > 0 then
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "profile '%s' (%s) uses IAM Identity Center (SSO) but has no %s", name,
      where(settings, settings.sso_session and "sso_session" or (settings.sso_start_url and "sso_start_url")
        or (settings.sso_account_id and "sso_account_id" or "sso_role_name")), table.concat(missing, " or ")) }
  end
  if need_role ~= false and not cfg.sso_account_id:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "sso_account_id %q in profile '%s' (%s) is not a 12-digit AWS account id", cfg.sso_account_id,
      name, where(settings, "sso_account_id")) }
  end
  return cfg
end

-- Role credentials --------------------------------------------------------------------------

-- key -> credentials object, and key -> {waiters} while a fetch is in flight.
local memory, in_flight = {}, {}

--- sso.clear_cache(): forgets the role credentials held in this process.
function M.clear_cache()
  memory, in_flight = {}, {}
end

--- sso.role_cache_path(cfg) -> the AWS CLI's cache file for cfg's role credentials:
--- ~/.aws/cli/cache/<sha1 of {"accountId","roleName","sessionName" or "startUrl"} as compact
--- sorted JSON>.json (botocore SSOCredentialFetcher._create_cache_key).
function M.role_cache_path(cfg)
  local cjson = require "cjson"
  local parts = { '"accountId":' .. cjson.encode(cfg.sso_account_id), '"roleName":' .. cjson.encode(cfg.sso_role_name) }
  if cfg.session_name then
    parts[#parts + 1] = '"sessionName":' .. cjson.encode(cfg.session_name)
  else
    parts[#parts + 1] = '"startUrl":' .. cjson.encode(cfg.sso_start_url)
  end
  local key = "{" .. table.concat(parts, ","):gsub("\\/", "/") .. "}"
  return config.expand_path("~/.aws/cli/cache") .. "/" .. sso_token.sha1_hex(key) .. ".json"
end

local function fresh(creds)
  return creds and creds.expiration and creds.expiration - credentials.now() > M.EXPIRY_WINDOW
end

local function from_disk(cfg, source)
  local ok, cached = pcall(sso_token.read_json, M.role_cache_path(cfg))
  local c = ok and type(cached) == "table" and cached.ProviderType == "sso" and cached.Credentials
  if type(c) ~= "table" then return nil end
  local made, creds = pcall(credentials.new, { access_key = c.AccessKeyId, secret_key = c.SecretAccessKey,
    session_token = c.SessionToken, expiration = c.Expiration, source = source, account_id = cfg.sso_account_id })
  return made and fresh(creds) and creds or nil
end

local function to_disk(cfg, creds)
  pcall(sso_token.write_json, M.role_cache_path(cfg), { ProviderType = "sso", Credentials = {
    AccessKeyId = creds.access_key, SecretAccessKey = creds.secret_key, SessionToken = creds.session_token,
    Expiration = credentials.format_time(creds.expiration), AccountId = cfg.sso_account_id } })
end

local function fetch_role_credentials(cfg, source)
  local token = sso_token.load(cfg)
  local ok, answer = pcall(require("luaws.sdk.credentials.sso_wire").get_role_credentials, cfg, token)
  if not ok then
    local e = answer
    if type(e) == "table" and e.code == "UnauthorizedException" then
      raise { code = "SsoLoginRequired", exit = 2, profile = cfg.profile, message = string.format(
        "the IAM Identity Center (SSO) session for profile '%s' has expired or was signed out: run `%s`",
        cfg.profile, sso_token.login_hint(cfg)) }
    elseif type(e) == "table" and e.code == "ForbiddenException" then
      raise { code = "SsoRoleForbidden", exit = 1, profile = cfg.profile, message = string.format(
        "profile '%s': IAM Identity Center does not let you use role %s in account %s "
        .. "(ForbiddenException: %s); check sso_role_name and sso_account_id (%s)", cfg.profile,
        cfg.sso_role_name, cfg.sso_account_id, tostring(e.message), where(cfg.settings, "sso_role_name")) }
    elseif type(e) == "table" and e.code == "SsoUnreachable" then
      e.message = string.format("profile '%s': %s", cfg.profile, e.message)
      e.exit = e.exit or 1
    end
    error(e, 0)
  end
  local expiration = tonumber(answer.expiration)
  local creds = credentials.new { access_key = answer.accessKeyId, secret_key = answer.secretAccessKey,
    session_token = answer.sessionToken, expiration = expiration and expiration / 1000,
    source = source, account_id = cfg.sso_account_id }
  to_disk(cfg, creds)
  return creds
end

--- sso.role_credentials(cfg) -> credentials object for cfg's account and role: from this
--- process's cache, else ~/.aws/cli/cache, else GetRoleCredentials with the cached (refreshed)
--- token. Tasks asking at the same time share one fetch (and its error).
function M.role_credentials(cfg)
  local source = "sso:" .. cfg.profile
  local key = M.role_cache_path(cfg)
  local creds = memory[key]
  if fresh(creds) then return creds end
  local flight = in_flight[key]
  if flight then
    while not flight.done do credentials.sleep(0.01) end
    if not flight.ok then error(flight.value, 0) end
    return flight.value
  end
  flight = { done = false }
  in_flight[key] = flight
  local ok, value = pcall(function()
    return from_disk(cfg, source) or fetch_role_credentials(cfg, source)
  end)
  flight.ok, flight.value, flight.done = ok, value, true
  in_flight[key] = nil
  if not ok then error(value, 0) end
  memory[key] = value
  return value
end

--- sso.provider(name, settings) -> refreshable provider of profile name's SSO role credentials.
--- The configuration is checked now (InvalidConfiguration naming profile and file); the token
--- and the portal are used on first get().
function M.provider(name, settings)
  local cfg = M.profile_config(name, settings)
  return credentials.refreshable { source = "sso:" .. name, advisory = M.EXPIRY_WINDOW,
    mandatory = credentials.ASSUMED_ROLE_MANDATORY, fetch = function() return M.role_credentials(cfg) end }
end

--- sso.remove_role_caches() -> number of ~/.aws/cli/cache files holding SSO role credentials
--- removed (what `aws sso logout` sweeps), and clears this process's cache.
function M.remove_role_caches()
  M.clear_cache()
  local fs = require "luaws.fs"
  local dir = config.expand_path("~/.aws/cli/cache")
  local removed = 0
  for _, name in ipairs(fs.list(dir) or {}) do
    if name:match("%.json$") then
      local ok, cached = pcall(sso_token.read_json, dir .. "/" .. name)
      if ok and type(cached) == "table" and cached.ProviderType == "sso" and os.remove(dir .. "/" .. name) then
        removed = removed + 1
      end
    end
  end
  return removed
end

return M
