-- credentials.provider: credential objects (whose secrets never print), refreshing providers, the
-- refresh windows, the simple sources (environment, profile keys) and the hooks tests replace.
local config = require "luaws.sdk.config"

local M = {}

-- botocore's refresh windows: inside the advisory window a refresh is tried and a failure keeps
-- the old credentials; inside the mandatory window the refresh must succeed.
M.ADVISORY_REFRESH = 15 * 60
M.MANDATORY_REFRESH = 10 * 60
-- Assumed roles may last only 15 minutes (DurationSeconds=900), so the generic windows would
-- refresh them on every call; they refresh when less than 5 minutes are left.
M.ASSUMED_ROLE_ADVISORY = 5 * 60
M.ASSUMED_ROLE_MANDATORY = 2 * 60

--- Replaceable in tests: now() -> epoch seconds; http_request(req) -> res | nil, err (as
--- luaws.http.request); sts(operation, params, client_opts) -> result; prompt(message) ->
--- string (MFA codes); sleep(seconds).
M.hooks = {}

function M.now()
  return (M.hooks.now or os.time)()
end

function M.http_request(req)
  if M.hooks.http_request then return M.hooks.http_request(req) end
  local http = require "luaws.http"
  if not http.request then
    return nil, config.error { code = "HttpUnavailable", message = "luaws.http.request is not available" }
  end
  return http.request(req)
end

function M.sleep(seconds)
  if M.hooks.sleep then return M.hooks.sleep(seconds) end
  local http = require "luaws.http"
  if http.sleep then return http.sleep(seconds) end
  os.execute("sleep " .. tonumber(seconds))
end

--- credentials.client_factory(name, opts) -> a client. luaws.sdk.client registers its constructor
--- here when it loads (the chain needs STS clients; requiring the client would be a cycle).
M.client_factory = nil

--- credentials.sts_call(operation, params, client_opts) -> the decoded STS result. The one place
--- that talks to STS (AssumeRole, AssumeRoleWithWebIdentity); client_opts.credentials is a
--- provider, or false for the unsigned AssumeRoleWithWebIdentity.
function M.sts_call(operation, params, client_opts)
  if M.hooks.sts then return M.hooks.sts(operation, params, client_opts) end
  if not M.client_factory then error("luaws.sdk.credentials: no client factory registered", 2) end
  local sts = M.client_factory("sts", client_opts)
  return sts[operation](sts, params)
end

function M.raise(fields)
  error(config.error(fields), 0)
end

-- Time ------------------------------------------------------------------------------------

local function days_from_civil(y, m, d)
  y = y - (m <= 2 and 1 or 0)
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- credentials.parse_time(v) -> epoch seconds for an ISO 8601 timestamp ("2024-05-01T12:00:00Z",
--- fractions and +hh:mm offsets allowed) or a number (already epoch seconds); nil if unparsable.
function M.parse_time(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  rest = rest:gsub("^%.%d+", "")
  local offset = 0
  if rest ~= "" and rest ~= "Z" and rest ~= "z" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
      + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s) - offset
end

--- credentials.format_time(epoch) -> "2024-05-01T12:00:00Z".
function M.format_time(epoch)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(epoch))
end

-- Credential objects ----------------------------------------------------------------------

-- Secrets live outside the object, so pairs(), cjson and pretty printers never see them;
-- creds.secret_key and creds.session_token still read them through __index.
local secrets = setmetatable({}, { __mode = "k" })

local function mask(access_key)
  if type(access_key) ~= "string" or #access_key < 8 then return "****" end
  return string.rep("*", #access_key - 4) .. access_key:sub(-4)
end

local Credentials = { __name = "luaws.Credentials" }
Credentials.__index = function(creds, key)
  local s = secrets[creds]
  return s and s[key]
end
Credentials.__tostring = function(creds)
  return string.format("Credentials(access_key=%s, secret_key=<redacted>, session_token=%s, source=%s%s)",
    mask(creds.access_key), creds.session_token and "<redacted>" or "nil", tostring(creds.source),
    creds.expiration and (", expires=" .. M.format_time(creds.expiration)) or "")
end
Credentials.__newindex = function(creds, key, value)
  if key == "secret_key" or key == "session_token" then
    secrets[creds][key] = value
  else
    rawset(creds, key, value)
  end
end

--- credentials.new{access_key=, secret_key=, session_token=, expiration=, source=, account_id=}
--- -> a credentials object: fields read as usual, but it prints, encodes and iterates without its
--- secret key and session token. Raises PartialCredentials when a key is missing.
function M.new(fields)
  if type(fields.access_key) ~= "string" or fields.access_key == ""
      or type(fields.secret_key) ~= "string" or fields.secret_key == "" then
    M.raise { code = "PartialCredentials", message = string.format(
      "credentials from %s need both an access key id and a secret access key",
      tostring(fields.source or "the caller")) }
  end
  local creds = setmetatable({}, Credentials)
  secrets[creds] = { secret_key = fields.secret_key,
    session_token = fields.session_token ~= "" and fields.session_token or nil }
  rawset(creds, "access_key", fields.access_key)
  rawset(creds, "expiration", M.parse_time(fields.expiration))
  rawset(creds, "source", fields.source)
  rawset(creds, "account_id", fields.account_id)
  return creds
end

--- credentials.is_credentials(v) -> whether v came from credentials.new.
function M.is_credentials(v)
  return getmetatable(v) == Credentials
end

-- Providers -------------------------------------------------------------------------------

local Provider = { __name = "luaws.CredentialProvider" }
Provider.__index = Provider
Provider.__tostring = function(p)
  return "CredentialProvider(" .. tostring(p.source or "chain") .. ")"
end

--- provider:get() -> credentials object; fetches on first use and refreshes before expiry.
function Provider:get()
  if self.resolve then -- a chain: find the provider once, then delegate to it
    if not self.resolved then self.resolved = self.resolve() end
    return self.resolved:get()
  end
  local creds = self.current
  local now = M.now()
  if creds and (not creds.expiration or creds.expiration - now > self.advisory) then
    return creds
  end
  if creds and creds.expiration - now > self.mandatory then
    -- advisory window: try once (not while another coroutine is at it), keep the old on failure
    if not self.refreshing then
      self.refreshing = true
      local ok, fresh = pcall(self.fetch)
      self.refreshing = false
      if ok and fresh then self.current = fresh end
    end
    return self.current
  end
  -- first use or mandatory window: the refresh must succeed (a concurrent duplicate is harmless)
  self.refreshing = true
  local ok, fresh = pcall(self.fetch)
  self.refreshing = false
  if not ok then error(fresh, 0) end
  self.current = fresh
  return fresh
end

--- provider:invalidate(): forgets cached credentials so the next get() fetches again.
function Provider:invalidate()
  self.current = nil
  self.resolved = nil
end

--- credentials.refreshable{fetch=fn -> credentials object, initial=<credentials or nil>,
--- source=, advisory=seconds, mandatory=seconds} -> provider that calls fetch on first use (unless
--- initial is given) and again when the expiration comes within the refresh windows.
function M.refreshable(spec)
  return setmetatable({ fetch = spec.fetch, current = spec.initial, source = spec.source,
    advisory = spec.advisory or M.ADVISORY_REFRESH, mandatory = spec.mandatory or M.MANDATORY_REFRESH,
    refreshing = false }, Provider)
end

--- credentials.static{access_key=, secret_key=, session_token=} -> provider that always returns
--- these keys (source "static" unless given).
function M.static(fields)
  local creds = M.is_credentials(fields) and fields or M.new {
    access_key = fields.access_key, secret_key = fields.secret_key,
    session_token = fields.session_token, expiration = fields.expiration,
    source = fields.source or "static" }
  return setmetatable({ current = creds, source = creds.source, advisory = 0, mandatory = 0,
    fetch = function() return creds end }, Provider)
end

--- credentials.is_provider(v) -> whether v has a get method (ours or the caller's).
function M.is_provider(v)
  return type(v) == "table" and type(v.get) == "function"
end

--- credentials.from_env(ignore_missing) -> provider from AWS_ACCESS_KEY_ID /
--- AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or nil when neither key is set. One key without
--- the other raises PartialCredentials.
function M.from_env()
  local access_key = config.getenv("AWS_ACCESS_KEY_ID")
  local secret_key = config.getenv("AWS_SECRET_ACCESS_KEY")
  if not access_key and not secret_key then return nil end
  if not access_key or not secret_key then
    M.raise { code = "PartialCredentials", message = string.format(
      "%s is set in the environment but %s is not", access_key and "AWS_ACCESS_KEY_ID" or
      "AWS_SECRET_ACCESS_KEY", access_key and "AWS_SECRET_ACCESS_KEY" or "AWS_ACCESS_KEY_ID") }
  end
  local function read()
    return M.new { access_key = config.getenv("AWS_ACCESS_KEY_ID"),
      secret_key = config.getenv("AWS_SECRET_ACCESS_KEY"),
      session_token = config.getenv("AWS_SESSION_TOKEN") or config.getenv("AWS_SECURITY_TOKEN"),
      expiration = config.getenv("AWS_CREDENTIAL_EXPIRATION"), source = "env" }
  end
  local creds = read()
  if creds.expiration then -- botocore re-reads the environment when these expire
    return M.refreshable { initial = creds, fetch = read, source = "env" }
  end
  return M.static(creds)
end

local function has_static_keys(settings)
  return settings.aws_access_key_id ~= nil or settings.aws_secret_access_key ~= nil
end
M.has_static_keys = has_static_keys

--- credentials.profile_keys(name, settings) -> static provider from the profile's
--- aws_access_key_id / aws_secret_access_key / aws_session_token, or nil when it has none.
--- Raises PartialCredentials naming the file and profile when only one key is there.
function M.profile_keys(name, settings)
  if not has_static_keys(settings) then return nil end
  local access_key, secret_key = settings.aws_access_key_id, settings.aws_secret_access_key
  if type(access_key) ~= "string" or access_key == "" or type(secret_key) ~= "string" or secret_key == "" then
    local present = (access_key and access_key ~= "") and "aws_access_key_id" or "aws_secret_access_key"
    local missing = present == "aws_access_key_id" and "aws_secret_access_key" or "aws_access_key_id"
    M.raise { code = "PartialCredentials", exit = 2, profile = name, message = string.format(
      "profile '%s' in %s has %s but no %s", name, config.origin(settings, present) or "?",
      present, missing) }
  end
  return M.static(M.new { access_key = access_key, secret_key = secret_key,
    session_token = settings.aws_session_token, source = "profile:" .. name })
end

M.Provider = Provider

--- credentials.profile_provider(name, settings, ctx, top): the chain's per-profile resolver,
--- registered here by luaws.sdk.credentials so a role chain (credentials.sts) can resolve its
--- source_profile without requiring the chain.
M.profile_provider = nil

return M
