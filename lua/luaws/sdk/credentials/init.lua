-- credentials: finds AWS credentials in the AWS CLI's order and keeps temporary ones fresh.
-- Sources live in luaws/sdk/credentials/*.lua on top of credentials.provider (the credential
-- object, refresh policy, simple sources); this file holds the chain. Every field of the provider
-- module reads through here too (credentials.new, credentials.refreshable, credentials.hooks, ...);
-- assign to fields of credentials.provider itself.
local config = require "luaws.sdk.config"
local base = require "luaws.sdk.credentials.provider"

local M = setmetatable({}, { __index = base })
local Provider = base.Provider

--- credentials.profile_provider(name, settings, ctx, top) -> provider for one profile, or nil if
--- the profile holds no credential configuration. Order (botocore's): role_arn, web identity,
--- IAM Identity Center (sso_account_id / sso_role_name), static keys, credential_process.
--- top: the profile the user chose (where a role_arn comes first and, unless a profile was named
--- explicitly, AWS_WEB_IDENTITY_TOKEN_FILE counts); otherwise a source_profile, where static
--- keys beat role_arn (botocore's rules).
--- ctx = {top_profile=, region=, explicit=, visited={...}}.
function M.profile_provider(name, settings, ctx, top)
  local sts = require "luaws.sdk.credentials.sts"
  if top and settings.role_arn and not settings.web_identity_token_file then
    return sts.assume_role(name, settings, ctx)
  end
  local web = sts.web_identity(name, settings, ctx, top and not ctx.explicit)
  if web then return web end
  local sso = require "luaws.sdk.credentials.sso"
  if sso.is_sso_profile(settings) then return sso.provider(name, settings) end
  local keys = M.profile_keys(name, settings)
  if keys then return keys end
  if settings.credential_process then
    return require("luaws.sdk.credentials.process").provider(name, settings)
  end
  if settings.sso_session or settings.sso_start_url then
    -- an SSO sign-in without a role to use: say what is missing rather than "no credentials"
    sso.profile_config(name, settings)
  end
  return nil
end

local function no_credentials(profile)
  local config_path, credentials_path = config.paths()
  M.raise { code = "NoCredentials", exit = 2, message = string.format(
    "Unable to locate credentials. Configure with keys in %s (profile '%s') or %s, set "
    .. "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or set AWS_PROFILE to a profile that has them",
    credentials_path, profile, config_path) }
end

--- credentials.chain{profile=, region=, credentials=, profile_explicit=} -> provider that, on
--- first get(), finds credentials in the AWS CLI's order: the credentials option; environment
--- keys (skipped when a profile was named explicitly); the profile (role_arn chains, web
--- identity, static keys, credential_process); container credentials; EC2 instance metadata.
--- A profile counts as explicit when opts.profile is given and differs from what AWS_PROFILE /
--- AWS_DEFAULT_PROFILE / "default" would choose, unless profile_explicit says otherwise.
function M.chain(opts)
  opts = opts or {}
  local function resolve()
    if opts.credentials ~= nil then
      if M.is_provider(opts.credentials) then return opts.credentials end
      return M.static(opts.credentials)
    end
    local explicit = opts.profile_explicit
    if explicit == nil then
      explicit = opts.profile ~= nil and opts.profile ~= config.profile_name({})
    end
    if not explicit then
      local env = M.from_env()
      if env then return env end
    end
    local name = config.profile_name(opts)
    local settings = config.profile(name)
    local region = opts.region or config.getenv("AWS_REGION") or config.getenv("AWS_DEFAULT_REGION")
        or settings.region
    local ctx = { top_profile = name, region = region, explicit = explicit, visited = { name } }
    local provider = M.profile_provider(name, settings, ctx, true)
    if provider then return provider end
    local metadata = require "luaws.sdk.credentials.metadata"
    provider = metadata.container()
    if provider then return provider end
    provider = metadata.instance(settings)
    if provider then return provider end
    no_credentials(name)
  end
  return setmetatable({ resolve = resolve, source = "chain" }, Provider)
end

--- credentials.clear_cache(): forgets assumed-role and SSO role credentials shared between chains.
function M.clear_cache()
  require("luaws.sdk.credentials.sts").clear_cache()
  require("luaws.sdk.credentials.sso").clear_cache()
end

base.profile_provider = M.profile_provider

return M
