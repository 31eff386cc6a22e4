-- credentials.sts: profile role_arn chains (AssumeRole, with source_profile or credential_source,
-- external_id, MFA) and web identity (AssumeRoleWithWebIdentity), as botocore resolves them.
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials.provider"

local M = {}

-- Assumed-role credentials shared by every chain in this process, keyed by everything that
-- changes the answer, so two clients on one profile assume the role once (botocore's cache).
local role_cache = {}

--- sts.clear_cache(): forgets the shared assumed-role credentials.
function M.clear_cache()
  role_cache = {}
end

local function raise(fields)
  credentials.raise(fields)
end

local function where(settings, key)
  return config.origin(settings, key) or "the config file"
end

--- sts.prompt(message) -> the line typed on the controlling terminal (MFA token codes). Raises
--- NoTerminal when there is none, as a script run from cron or CI has.
function M.prompt(message)
  if credentials.hooks.prompt then return credentials.hooks.prompt(message) end
  local tty = io.open("/dev/tty", "r")
  local out = tty and io.open("/dev/tty", "w")
  if not tty or not out then
    if tty then tty:close() end
    raise { code = "NoTerminal", exit = 2, message = message:gsub(":%s*$", "")
      .. ": no terminal to ask on (run interactively, or use a profile without mfa_serial)" }
  end
  out:write(message)
  out:flush()
  local line = tty:read("l")
  tty:close()
  out:close()
  return line and (line:gsub("^%s+", ""):gsub("%s+$", "")) or ""
end

-- Region and endpoint options for the STS client: the user's region (STS is regional) or
-- us-east-1, and the top profile so its endpoint settings apply as they do in botocore.
local function client_opts(ctx, creds_provider)
  return { credentials = creds_provider, region = ctx.region or "us-east-1", profile = ctx.top_profile }
end

local function to_credentials(result, source)
  local c = type(result) == "table" and result.Credentials
  if type(c) ~= "table" or not c.AccessKeyId or not c.SecretAccessKey then
    raise { code = "CredentialRetrievalError", message = source .. ": STS answered without credentials" }
  end
  return credentials.new { access_key = c.AccessKeyId, secret_key = c.SecretAccessKey,
    session_token = c.SessionToken, expiration = c.Expiration, source = source }
end

-- The provider a `credential_source` names: Environment, Ec2InstanceMetadata or EcsContainer.
local function named_source(name, settings, source_name)
  local metadata = require "luaws.sdk.credentials.metadata"
  local provider
  if source_name == "Environment" then
    provider = credentials.from_env()
  elseif source_name == "Ec2InstanceMetadata" then
    provider = metadata.instance(settings)
  elseif source_name == "EcsContainer" then
    provider = metadata.container()
  else
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "credential_source %q in profile '%s' (%s) is not valid: use Environment, Ec2InstanceMetadata "
      .. "or EcsContainer", tostring(source_name), name, where(settings, "credential_source")) }
  end
  if not provider then
    raise { code = "NoCredentials", exit = 2, profile = name, message = string.format(
      "no credentials found in credential_source %s referenced in profile '%s' (%s)",
      source_name, name, where(settings, "credential_source")) }
  end
  return provider
end

-- The provider for source_profile `source` of profile `name`, following botocore: a source
-- with static keys (or without role_arn) uses its own keys / web identity / process; otherwise
-- it assumes its own role. ctx.visited detects loops.
local function source_profile_provider(name, settings, source, ctx)
  if not config.has_profile(source) then
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "source_profile '%s' referenced in profile '%s' (%s) does not exist", source, name,
      where(settings, "source_profile")) }
  end
  local source_settings = config.profile(source)
  for _, seen in ipairs(ctx.visited) do
    if seen == source and not (source == name and credentials.has_static_keys(source_settings)) then
      local path = table.concat(ctx.visited, " -> ") .. " -> " .. source
      raise { code = "InfiniteLoop", exit = 2, profile = name, message = string.format(
        "source_profile chain loops: %s (%s)", path, where(settings, "source_profile")) }
    end
  end
  if source == name then -- a profile may take its own static keys to assume its role
    return credentials.profile_keys(source, source_settings)
  end
  ctx.visited[#ctx.visited + 1] = source
  local provider
  if credentials.has_static_keys(source_settings) or not source_settings.role_arn
      or source_settings.web_identity_token_file then
    provider = credentials.profile_provider(source, source_settings, ctx, false)
  else
    provider = M.assume_role(source, source_settings, ctx)
  end
  if not provider then
    raise { code = "InvalidConfiguration", exit = 2, profile = source, message = string.format(
      "source_profile '%s' (used by profile '%s') has no credentials: give it "
      .. "aws_access_key_id/aws_secret_access_key, role_arn, web_identity_token_file or "
      .. "credential_process", source, name) }
  end
  return provider
end

--- sts.assume_role(name, settings, ctx) -> provider that assumes settings.role_arn with the
--- credentials of source_profile or credential_source (exactly one of them), passing
--- external_id, role_session_name, duration_seconds and mfa_serial (prompting for the code).
--- Configuration errors name the profile and file and are raised now; STS is called lazily.
function M.assume_role(name, settings, ctx)
  local role_arn = settings.role_arn
  local source_profile, credential_source = settings.source_profile, settings.credential_source
  if source_profile and credential_source then
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "profile '%s' (%s) has both source_profile and credential_source: keep one",
      name, where(settings, "role_arn")) }
  elseif not source_profile and not credential_source then
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "profile '%s' (%s) has role_arn but neither source_profile nor credential_source",
      name, where(settings, "role_arn")) }
  end
  local duration
  if settings.duration_seconds then
    duration = math.tointeger(tonumber(settings.duration_seconds))
    if not duration or duration < 1 then
      raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
        "duration_seconds %q in profile '%s' (%s) must be a whole number of seconds",
        tostring(settings.duration_seconds), name, where(settings, "duration_seconds")) }
    end
  end
  local source = credential_source and named_source(name, settings, credential_source)
      or source_profile_provider(name, settings, source_profile, ctx)

  local session_name = settings.role_session_name
  local params = { RoleArn = role_arn, ExternalId = settings.external_id,
    DurationSeconds = duration, SerialNumber = settings.mfa_serial }
  local label = "assume-role:" .. role_arn

  local function fetch()
    local source_creds = source:get()
    local key = table.concat({ role_arn, session_name or "", params.ExternalId or "",
      params.SerialNumber or "", tostring(duration or ""), source_creds.access_key }, "\0")
    local cached = role_cache[key]
    if cached and cached.expiration
        and cached.expiration - credentials.now() > credentials.ASSUMED_ROLE_ADVISORY then
      return cached
    end
    local call = {}
    for k, v in pairs(params) do call[k] = v end
    call.RoleSessionName = session_name or ("luaws-session-" .. math.floor(credentials.now()))
    if params.SerialNumber then
      call.TokenCode = M.prompt(string.format("Enter MFA code for %s: ", params.SerialNumber))
    end
    local creds = to_credentials(credentials.sts_call("AssumeRole", call, client_opts(ctx, source)), label)
    role_cache[key] = creds
    return creds
  end
  return credentials.refreshable { fetch = fetch, source = label,
    advisory = credentials.ASSUMED_ROLE_ADVISORY, mandatory = credentials.ASSUMED_ROLE_MANDATORY }
end

--- sts.web_identity(name, settings, ctx, use_env) -> provider for AssumeRoleWithWebIdentity
--- (unsigned) from AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN / AWS_ROLE_SESSION_NAME (when
--- use_env) or the profile's web_identity_token_file / role_arn / role_session_name; nil when
--- neither names a token file. The token file is read at every refresh (it rotates).
function M.web_identity(name, settings, ctx, use_env)
  local function get(env_name, key)
    local value = use_env and config.getenv(env_name)
    if value then return value, env_name end
    return settings[key], where(settings, key)
  end
  local token_file, token_from = get("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file")
  if not token_file or token_file == "" then return nil end
  local role_arn = get("AWS_ROLE_ARN", "role_arn")
  if not role_arn or role_arn == "" then
    raise { code = "InvalidConfiguration", exit = 2, profile = name, message = string.format(
      "web identity token file set (%s) but no role ARN: set role_arn in profile '%s' or AWS_ROLE_ARN",
      token_from, name) }
  end
  local session_name = get("AWS_ROLE_SESSION_NAME", "role_session_name")
  local label = "web-identity:" .. role_arn
  local path = config.expand_path(token_file)
  local function fetch()
    local f = io.open(path, "r")
    local token = f and f:read("a")
    if f then f:close() end
    if not token or token == "" then
      raise { code = "CredentialRetrievalError", message = string.format(
        "cannot read the web identity token file %s (from %s)", path, token_from) }
    end
    local result = credentials.sts_call("AssumeRoleWithWebIdentity", {
      RoleArn = role_arn, WebIdentityToken = token:gsub("%s+$", ""),
      RoleSessionName = session_name or ("luaws-session-" .. math.floor(credentials.now())),
    }, client_opts(ctx, false))
    return to_credentials(result, label)
  end
  return credentials.refreshable { fetch = fetch, source = label,
    advisory = credentials.ASSUMED_ROLE_ADVISORY, mandatory = credentials.ASSUMED_ROLE_MANDATORY }
end

return M
