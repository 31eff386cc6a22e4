-- credentials.sso_token: the AWS CLI's SSO token cache (~/.aws/sso/cache/<sha1>.json), shared both
-- ways with the CLI and botocore, and the access-token refresh (SSO OIDC CreateToken with the
-- refresh token) botocore's SSOTokenProvider does: 15-minute window, one attempt a minute,
-- atomic 0600 writes under a lock file so concurrent luaws processes lose no rotated token.
local cjson_base = require "cjson"
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials.provider"

local M = {}

M.REFRESH_WINDOW = 15 * 60   -- botocore SSOTokenProvider._REFRESH_WINDOW
M.ATTEMPT_INTERVAL = 60      -- botocore DeferredRefreshableToken._attempt_timeout
M.LOCK_STALE = 60            -- a lock file older than this was left by a dead process
M.LOCK_WAIT = 30             -- how long to wait for another process's refresh

-- JSON as Python's json writes it: "https://...", not cjson's "https:\/\/..." (cjson escapes
-- every "/", so each "\/" in its output is an escaped slash, whatever precedes it).
local function encode_json(value)
  return (cjson_base.encode(value):gsub("\\/", "/"))
end
local cjson_safe = require "cjson.safe"

local function raise(fields)
  credentials.raise(fields)
end

--- sso_token.parse_time(v) -> epoch seconds of a cache timestamp, or nil: ISO 8601 as botocore
--- writes it ("2024-05-01T12:00:00Z", "+00:00"), and the "2024-05-01T12:00:00UTC" older AWS CLI
--- versions wrote.
function M.parse_time(v)
  if type(v) == "string" then v = v:gsub("%s*UTC$", "Z") end
  return credentials.parse_time(v)
end

--- sso_token.sha1_hex(text) -> 40 hex digits: how the AWS CLI names its cache files.
function M.sha1_hex(text)
  local crypto = require "luaws.crypto"
  return crypto.hex(crypto.sha1(text))
end

--- sso_token.cache_dir() -> the folder of the SSO token cache (~/.aws/sso/cache).
function M.cache_dir()
  return config.expand_path("~/.aws/sso/cache")
end

--- sso_token.cache_key(cfg) -> sha1 hex of the session name (sso_session profiles) or of the start
--- URL (legacy profiles): the cache file's name without ".json", as botocore's SSOTokenLoader.
function M.cache_key(cfg)
  return M.sha1_hex(cfg.session_name or cfg.sso_start_url)
end

--- sso_token.path(cfg) -> the cache file of cfg's token.
function M.path(cfg)
  return M.cache_dir() .. "/" .. M.cache_key(cfg) .. ".json"
end

--- sso_token.login_hint(cfg) -> "luaws sso login --profile NAME" (or --sso-session NAME).
function M.login_hint(cfg)
  if cfg.profile then return "luaws sso login --profile " .. cfg.profile end
  return "luaws sso login --sso-session " .. tostring(cfg.session_name)
end

local function who(cfg)
  if cfg.profile then return string.format("profile '%s'", cfg.profile) end
  return string.format("sso-session '%s'", tostring(cfg.session_name))
end

--- sso_token.read_json(path) -> the decoded object, or nil when the file does not exist. Raises
--- SsoCacheError (exit 2) naming the file when it cannot be read or is not a JSON object.
function M.read_json(path)
  local f, open_err, errno = io.open(path, "r")
  if not f and errno == 2 then return nil end
  local text, read_err
  if f then
    text, read_err = f:read("a")
    f:close()
  end
  if text == nil then
    raise { code = "SsoCacheError", exit = 2, path = path, message = string.format(
      "cannot read the SSO cache file %s: %s", path, (tostring(read_err or open_err):gsub("^.-: ", ""))) }
  end
  local decoded = cjson_safe.decode(text)
  if type(decoded) ~= "table" then
    raise { code = "SsoCacheError", exit = 2, path = path, message = string.format(
      "the SSO cache file %s is not valid JSON (delete it, or sign in again)", path) }
  end
  return decoded
end

--- sso_token.read(cfg) -> the cached token table ({accessToken=, expiresAt=, refreshToken=,
--- clientId=, clientSecret=, registrationExpiresAt=, region=, startUrl=}) or nil when there is
--- none. Raises SsoCacheError naming the file when it is unreadable, corrupt or lacks
--- accessToken/expiresAt.
function M.read(cfg)
  local path = M.path(cfg)
  local token = M.read_json(path)
  if token == nil then return nil end
  if type(token.accessToken) ~= "string" or not M.parse_time(token.expiresAt) then
    raise { code = "SsoCacheError", exit = 2, path = path, message = string.format(
      "the SSO cache file %s has no valid accessToken and expiresAt: run `%s`", path, M.login_hint(cfg)) }
  end
  return token
end

--- sso_token.write_json(path, value): writes value as JSON to path atomically (a 0600 temporary
--- file beside it, renamed over it), creating the folder (0700) when missing.
function M.write_json(path, value)
  local fs = require "luaws.fs"
  local dir = path:match("^(.*)/[^/]+$")
  local ok, err = fs.mkdir_private(dir)
  if not ok then
    raise { code = "SsoCacheError", exit = 2, path = path, message = "cannot create " .. tostring(err) }
  end
  local temp = string.format("%s.%s.tmp", path, require("luaws.crypto").hex(require("luaws.crypto").random_bytes(6)))
  ok, err = fs.write_private(temp, encode_json(value))
  if ok then ok, err = os.rename(temp, path) end
  if not ok then
    os.remove(temp)
    raise { code = "SsoCacheError", exit = 2, path = path, message = string.format(
      "cannot write the SSO cache file %s: %s", path, (tostring(err):gsub("^.-: ", ""))) }
  end
end

--- sso_token.write(cfg, token): stores token in cfg's cache file (atomically, 0600).
function M.write(cfg, token)
  M.write_json(M.path(cfg), token)
end

--- sso_token.with_lock(path, fn) -> fn()'s results, run while holding path .. ".lock" (created
--- exclusively; waits, yielding inside a task, while another process or task holds it; a lock
--- older than LOCK_STALE seconds is taken over). Raises SsoCacheError after LOCK_WAIT seconds.
function M.with_lock(path, fn)
  local fs = require "luaws.fs"
  local lock = path .. ".lock"
  local waited = 0
  fs.mkdir_private(path:match("^(.*)/[^/]+$"))
  while true do
    local ok, err, errno = fs.write_private(lock, tostring(os.time()))
    if ok then break end
    if errno ~= fs.EEXIST then
      raise { code = "SsoCacheError", exit = 2, path = lock, message = "cannot create the lock file " .. tostring(err) }
    end
    local st = fs.stat(lock)
    if st and os.time() - st.mtime > M.LOCK_STALE then
      os.remove(lock)
    elseif waited >= M.LOCK_WAIT then
      raise { code = "SsoCacheError", exit = 2, path = lock, message = string.format(
        "another process has held %s for %.0f s; delete it if no luaws or aws process is running", lock, waited) }
    else
      credentials.sleep(0.05)
      waited = waited + 0.05
    end
  end
  local results = table.pack(pcall(fn))
  os.remove(lock)
  if not results[1] then error(results[2], 0) end
  return table.unpack(results, 2, results.n)
end

-- When this process last tried to refresh each cache file (one attempt a minute, as botocore).
local last_attempt = {}

--- sso_token.forget(): forgets refresh attempts (tests).
function M.forget()
  last_attempt = {}
end

--- sso_token.refresh(cfg, token) -> the refreshed token table (written to the cache) or nil when
--- it cannot be refreshed (no refresh token, expired registration, OIDC said no): botocore's
--- _refresh_access_token. Network failures are nil too: the caller decides whether the old
--- token still serves.
function M.refresh(cfg, token)
  for _, key in ipairs { "refreshToken", "clientId", "clientSecret", "registrationExpiresAt" } do
    if type(token[key]) ~= "string" then return nil end
  end
  local registration_expires = M.parse_time(token.registrationExpiresAt)
  if not registration_expires or registration_expires - credentials.now() <= 0 then return nil end
  local ok, answer = pcall(require("luaws.sdk.credentials.sso_wire").oidc, cfg, "CreateToken", {
    grantType = "refresh_token", clientId = token.clientId, clientSecret = token.clientSecret,
    refreshToken = token.refreshToken })
  if not ok or type(answer.accessToken) ~= "string" then return nil end
  local fresh = {
    startUrl = cfg.sso_start_url, region = cfg.sso_region, accessToken = answer.accessToken,
    expiresAt = credentials.format_time(credentials.now() + (tonumber(answer.expiresIn) or 0)),
    clientId = token.clientId, clientSecret = token.clientSecret,
    registrationExpiresAt = token.registrationExpiresAt,
    refreshToken = type(answer.refreshToken) == "string" and answer.refreshToken or token.refreshToken,
  }
  M.write(cfg, fresh)
  return fresh
end

--- sso_token.load(cfg) -> access token string, expiration (epoch seconds). Reads the cache file
--- (raising SsoCacheError for a bad one); for sso_session profiles refreshes a token within
--- REFRESH_WINDOW of expiry (at most once a minute, under the file's lock, re-reading first in
--- case another process refreshed it). Raises SsoLoginRequired (exit 2, "run `luaws sso login
--- --profile X`") when there is no token or it has expired.
function M.load(cfg)
  local function login_required(why)
    raise { code = "SsoLoginRequired", exit = 2, profile = cfg.profile, message = string.format(
      "%s for %s: run `%s`", why, who(cfg), M.login_hint(cfg)) }
  end
  local token = M.read(cfg)
  if not token then login_required("no IAM Identity Center (SSO) session") end
  local expires = M.parse_time(token.expiresAt)
  local now = credentials.now()
  local path = M.path(cfg)
  local may_try = (last_attempt[path] or -math.huge) + M.ATTEMPT_INTERVAL <= now
  if cfg.session_name and expires - now < M.REFRESH_WINDOW and (may_try or expires - now <= 0) then
    -- Without a new attempt allowed, an expired token still waits for a refresh in progress
    -- (another task or process holding the lock) and takes what it wrote.
    if may_try then last_attempt[path] = now end
    local seen = token.accessToken
    local ok, refreshed = pcall(M.with_lock, path, function()
      local current = M.read(cfg) or token -- another process may have refreshed meanwhile
      local left = M.parse_time(current.expiresAt) - credentials.now()
      if not may_try or (current.accessToken ~= seen and left >= M.REFRESH_WINDOW) then
        return current
      end
      return M.refresh(cfg, current) or current
    end)
    -- A cache that cannot be locked or written (read-only home) still serves a valid token.
    if not ok and (type(refreshed) ~= "table" or refreshed.code ~= "SsoCacheError" or expires - now <= 0) then
      error(refreshed, 0)
    end
    if ok then token = refreshed end
    expires = M.parse_time(token.expiresAt)
  end
  if expires - credentials.now() <= 0 then
    login_required("the IAM Identity Center (SSO) session has expired")
  end
  return token.accessToken, expires
end

return M
