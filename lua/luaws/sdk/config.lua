-- config: the shared AWS config and credentials files, profiles, and env-over-profile settings.
-- Behaves like botocore's configloader/configprovider: `[profile x]` and `[default]` in the
-- config file, bare `[x]` in the credentials file (whose keys win), nested `services` sections.
local M = {}

local injected_env -- a table replacing the process environment (tests), or nil

--- config.set_env(tbl): makes every luaws module read the environment from tbl (a name -> value
--- map) instead of the process; config.set_env(nil) goes back to the real environment. Clears
--- the parsed-files cache.
function M.set_env(tbl)
  injected_env = tbl
  M.reload()
end

--- config.getenv(name) -> string or nil (empty values count as unset, as in the SDKs).
function M.getenv(name)
  local value
  if injected_env then value = injected_env[name] else value = os.getenv(name) end
  if value == "" then return nil end
  return value
end

--- config.error(fields) -> a luaws error table (errors.new shape) with a one-line __tostring.
function M.error(fields)
  return require("luaws.core.errors").new(fields)
end

local function raise(fields)
  error(M.error(fields), 0)
end

--- config.expand_path(path) -> path with a leading "~" replaced by $HOME.
function M.expand_path(path)
  if path:sub(1, 1) == "~" then
    local home = M.getenv("HOME") or os.getenv("HOME") or ""
    return home .. path:sub(2)
  end
  return path
end

--- config.paths() -> config_path, credentials_path (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE
--- or the defaults under ~/.aws, expanded).
function M.paths()
  return M.expand_path(M.getenv("AWS_CONFIG_FILE") or "~/.aws/config"),
      M.expand_path(M.getenv("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A value written as "key =" followed by indented "sub = value" lines is a nested table, as
-- botocore's _parse_nested does for `s3 =` and the `services` sections.
local function parse_nested(value, path, lineno)
  local nested = {}
  for line in value:gmatch("[^\n]+") do
    line = trim(line)
    if line ~= "" then
      local key, sub = line:match("^([^=]-)%s*=%s*(.*)$")
      if not key then
        raise { code = "ConfigParseError", exit = 2, message = string.format(
          "%s:%d: expected 'key = value' lines under a nested setting", path, lineno) }
      end
      nested[trim(key):lower()] = sub
    end
  end
  return nested
end

--- config.parse_ini(text, path) -> {section_name -> {key -> string or nested table}}.
--- Raises ConfigParseError naming path and line for text configparser would reject: keys
--- outside a section, lines without '=' or ':', duplicate sections or keys. Messages never
--- quote the offending line: in a credentials file it may hold a secret.
function M.parse_ini(text, path)
  local sections = {}
  local section, section_name
  local last_key, last_key_line
  local lineno = 0
  local function fail(fmt, ...)
    raise { code = "ConfigParseError", exit = 2,
      message = string.format("%s:%d: " .. fmt, path, lineno, ...) }
  end
  -- Called when a key's value is complete: "key =" plus indented lines becomes a table.
  local function finish_key()
    if last_key and section[last_key]:sub(1, 1) == "\n" then
      section[last_key] = parse_nested(section[last_key], path, last_key_line)
    end
    last_key = nil
  end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    local stripped = trim(line)
    if stripped == "" or stripped:match("^[#;]") then
      goto continue
    end
    if line:match("^%s") and last_key then
      -- configparser continuation line: part of the previous key's value
      section[last_key] = section[last_key] .. "\n" .. stripped
      goto continue
    end
    finish_key()
    do
      -- A header missing a bracket would otherwise read as a bad setting line.
      if stripped:match("^%[") and not stripped:match("%]$") then
        -- Quoted only when it reads as a header (a name), never arbitrary text.
        local shown = stripped:match("^%[[%w%s%-_.@]*$")
        fail("section header %sis missing its closing ']' (write [profile NAME])", shown and (shown .. " ") or "")
      elseif stripped:match("^profile%s+[^=:]*%]$") then
        fail("section header %s is missing its opening '[' (write [profile NAME])",
             stripped:match("^[%w%s%-_.@%]]*$") or "")
      end
      local header = stripped:match("^%[(.*)%]$")
      if header then
        section_name = trim(header):gsub("%s+", " ")
        if sections[section_name] then fail("duplicate section [%s]", section_name) end
        section = {}
        sections[section_name] = section
        goto continue
      end
      if not section then fail("a setting before any [section] header") end
      local key, value = stripped:match("^([^=:]-)%s*[=:]%s*(.*)$")
      if not key or key == "" then fail("expected 'key = value'") end
      key = key:lower()
      if section[key] ~= nil then fail("duplicate key %q in [%s]", key, section_name) end
      section[key] = value
      last_key, last_key_line = key, lineno
    end
    ::continue::
  end
  finish_key()
  return sections
end

-- Section names like `profile x`, `profile "x y"`, `services dev`: the kind and the name.
local function split_section(name)
  local kind, rest = name:match("^(%S+)%s+(.+)$")
  if not kind then return name, nil end
  rest = rest:match('^"(.*)"$') or rest:match("^'(.*)'$") or rest
  return kind, rest
end

local ENOENT = 2

-- A missing file is an empty one (as in botocore); one that exists but cannot be read (no
-- permission, a directory) is an error, not silently skipped settings or credentials.
local function read_file(path)
  local f, open_err, errno = io.open(path, "r")
  if not f and errno == ENOENT then return nil end
  local text, read_err
  if f then
    text, read_err = f:read("a")
    f:close()
  end
  if text == nil then
    raise { code = "ConfigReadError", exit = 2, message = string.format("cannot read %s: %s", path,
      (tostring(read_err or open_err):gsub("^.-: ", ""))) }
  end
  return text
end

-- Parsed files, keyed by path and content so an edited or different file is parsed again.
local cache = {}

local function load(path, parse)
  local text = read_file(path)
  local hit = cache[path]
  if hit and hit.text == text then return hit.parsed end
  local parsed = parse(text and M.parse_ini(text, path) or {}, text ~= nil)
  parsed.path = path
  parsed.exists = text ~= nil
  cache[path] = { text = text, parsed = parsed }
  return parsed
end

local function parse_config_file(sections)
  local parsed = { profiles = {}, services = {}, sso_sessions = {}, other = {} }
  for name, values in pairs(sections) do
    local kind, rest = split_section(name)
    if name == "default" then
      -- `[profile default]` wins over `[default]` when both are present, as in CLI v2
      parsed.profiles.default = parsed.profiles.default or values
    elseif kind == "profile" and rest then
      parsed.profiles[rest] = values
    elseif kind == "services" and rest then
      parsed.services[rest] = values
    elseif kind == "sso-session" and rest then
      parsed.sso_sessions[rest] = values
    else
      parsed.other[name] = values
    end
  end
  return parsed
end

local function parse_credentials_file(sections)
  return { profiles = sections }
end

-- Warns once per file when a file holding secrets can be read by other users (like ssh does for
-- private keys): the keys in it are as good as published on a shared machine.
local warned = {}
local function warn_if_readable_by_others(path)
  if warned[path] then return end
  warned[path] = true
  local st = require("luaws.fs").stat(path)
  if st and st.mode & tonumber("044", 8) ~= 0 then
    io.stderr:write(string.format("luaws: warning: %s is readable by other users (mode %03o); run: chmod 600 %s\n",
                                  path, st.mode & tonumber("777", 8), path))
  end
end

--- config.files() -> {config = {profiles=, services=, sso_sessions=, other=, path=, exists=},
---                    credentials = {profiles=, path=, exists=}}; cached per path and content.
function M.files()
  local config_path, credentials_path = M.paths()
  local files = {
    config = load(config_path, parse_config_file),
    credentials = load(credentials_path, parse_credentials_file),
  }
  if files.credentials.exists then warn_if_readable_by_others(credentials_path) end
  return files
end

--- config.reload(): forgets every parsed file.
function M.reload()
  cache = {}
end

--- config.profile_name(opts) -> opts.profile, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else
--- "default".
function M.profile_name(opts)
  return (opts and opts.profile) or M.getenv("AWS_PROFILE") or M.getenv("AWS_DEFAULT_PROFILE")
      or "default"
end

-- Which file each setting of a merged profile came from: settings table -> {key -> path}.
local origins = setmetatable({}, { __mode = "k" })

--- config.origin(settings, key) -> the file a profile setting was read from (for error messages).
function M.origin(settings, key)
  local o = origins[settings]
  return o and o[key]
end

--- config.profile(name) -> merged settings of profile name (default: config.profile_name()):
--- the config file's section, overlaid by the credentials file's. A missing "default" profile is
--- an empty table (like botocore); any other missing profile raises ProfileNotFound (exit 2).
function M.profile(name)
  name = name or M.profile_name()
  local files = M.files()
  local from_config = files.config.profiles[name]
  local from_credentials = files.credentials.profiles[name]
  if not from_config and not from_credentials and name ~= "default" then
    raise { code = "ProfileNotFound", exit = 2, profile = name, message = string.format(
      "profile '%s' not found in %s or %s", name, files.config.path, files.credentials.path) }
  end
  local settings, where = {}, {}
  for key, value in pairs(from_config or {}) do
    settings[key], where[key] = value, files.config.path
  end
  for key, value in pairs(from_credentials or {}) do
    settings[key], where[key] = value, files.credentials.path
  end
  origins[settings] = where
  return settings
end

--- config.has_profile(name) -> whether either file defines the profile.
function M.has_profile(name)
  local files = M.files()
  return files.config.profiles[name] ~= nil or files.credentials.profiles[name] ~= nil
end

--- config.service_key(service_id) -> "kms", "elastic_beanstalk": the name used for a service in
--- `services` sections (lower case, spaces as underscores).
function M.service_key(service_id)
  return (tostring(service_id):lower():gsub("[%s%-]+", "_"))
end

--- config.service_env_suffix(service_id) -> "KMS", "ELASTIC_BEANSTALK" (for AWS_ENDPOINT_URL_<X>).
function M.service_env_suffix(service_id)
  return (tostring(service_id):upper():gsub("[%s%-]+", "_"))
end

--- config.service_setting(profile_settings, service_id, key) -> the value of key for the service
--- in the `[services NAME]` section the profile names with `services = NAME`, or nil.
function M.service_setting(profile_settings, service_id, key)
  local section_name = profile_settings and profile_settings.services
  if type(section_name) ~= "string" then return nil end
  local section = M.files().config.services[section_name]
  local service = section and section[M.service_key(service_id)]
  if type(service) ~= "table" then return nil end
  return service[key]
end

--- config.truthy(value) -> true for "true"/"1"/"yes"/"on" (any case) or true, false otherwise.
function M.truthy(value)
  if value == true then return true end
  if type(value) ~= "string" then return false end
  value = value:lower()
  return value == "true" or value == "1" or value == "yes" or value == "on"
end

-- %q, kept on one line: a value continued over several lines must not break the error message.
local function quote(value)
  return (string.format("%q", tostring(value)):gsub("\\\n", "\\n"))
end

--- config.check_region(region) -> region, or raises InvalidRegion (exit 2) for names that are
--- not a DNS label: lower-case letters, digits and '-', not all digits, no leading/trailing '-'.
function M.check_region(region)
  if type(region) ~= "string" or #region == 0 or #region > 63 or not region:match("^[a-z0-9-]+$")
      or region:match("^%-") or region:match("%-$") or region:match("^%d+$") then
    raise { code = "InvalidRegion", exit = 2, region = region, message = string.format(
      "invalid region name %s: expected a name like us-east-1", quote(region)) }
  end
  return region
end

local RETRY_MODES = { legacy = 5, standard = 3, adaptive = 3 } -- mode -> default max_attempts

-- A setting from (in order) the explicit option, the environment, the profile; with its origin.
local function pick(opts_value, env_name, settings, key)
  if opts_value ~= nil then return opts_value, "option" end
  local env_value = env_name and M.getenv(env_name)
  if env_value ~= nil then return env_value, env_name end
  local value = settings[key]
  if value ~= nil and value ~= "" then return value, M.origin(settings, key) or "profile" end
  return nil
end

--- config.resolve(opts) -> {profile=, profile_explicit=, settings=<profile table>, region=,
--- max_attempts=, retry_mode=, endpoint_url=<global configured URL or nil>,
--- ignore_configured_endpoint_urls=, sts_regional_endpoints=, use_fips_endpoint=,
--- use_dualstack_endpoint=, ca_bundle=, metadata_service_timeout=,
--- metadata_service_num_attempts=}. Explicit opts beat environment variables, which beat the
--- profile. Raises ProfileNotFound, InvalidRegion or InvalidConfiguration (exit 2).
function M.resolve(opts)
  opts = opts or {}
  local name = M.profile_name(opts)
  local settings = M.profile(name)
  local r = { profile = name, profile_explicit = opts.profile ~= nil, settings = settings }

  local region = opts.region or M.getenv("AWS_REGION") or M.getenv("AWS_DEFAULT_REGION")
  if region == nil then region = pick(nil, nil, settings, "region") end
  if region ~= nil then r.region = M.check_region(region) end

  local mode, mode_from = pick(opts.retry_mode, "AWS_RETRY_MODE", settings, "retry_mode")
  mode = mode or "standard"
  if not RETRY_MODES[mode] then
    raise { code = "InvalidConfiguration", exit = 2, message = string.format(
      "retry_mode %s (from %s) must be legacy, standard or adaptive", quote(mode), mode_from) }
  end
  r.retry_mode = mode

  local attempts, attempts_from = pick(opts.max_attempts, "AWS_MAX_ATTEMPTS", settings, "max_attempts")
  if attempts ~= nil then
    local n = math.tointeger(tonumber(attempts))
    if not n or n < 1 then
      raise { code = "InvalidConfiguration", exit = 2, message = string.format(
        "max_attempts %s (from %s) must be a whole number >= 1", quote(attempts), attempts_from) }
    end
    r.max_attempts = n
  else
    r.max_attempts = RETRY_MODES[mode]
  end

  r.ignore_configured_endpoint_urls = M.truthy(
    pick(nil, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", settings, "ignore_configured_endpoint_urls"))
  if not r.ignore_configured_endpoint_urls then
    r.endpoint_url = pick(nil, "AWS_ENDPOINT_URL", settings, "endpoint_url")
  end
  r.sts_regional_endpoints = pick(nil, "AWS_STS_REGIONAL_ENDPOINTS", settings,
    "sts_regional_endpoints") or "regional"
  r.use_fips_endpoint = M.truthy(pick(opts.use_fips_endpoint, "AWS_USE_FIPS_ENDPOINT", settings,
    "use_fips_endpoint"))
  r.use_dualstack_endpoint = M.truthy(pick(opts.use_dualstack_endpoint, "AWS_USE_DUALSTACK_ENDPOINT",
    settings, "use_dualstack_endpoint"))
  r.ca_bundle = pick(opts.ca_bundle, "AWS_CA_BUNDLE", settings, "ca_bundle")
  r.metadata_service_timeout = tonumber(pick(nil, "AWS_METADATA_SERVICE_TIMEOUT", settings,
    "metadata_service_timeout")) or 1
  r.metadata_service_num_attempts = math.tointeger(tonumber(pick(nil,
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS", settings, "metadata_service_num_attempts"))) or 1
  return r
end

return M
