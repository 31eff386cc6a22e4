-- config_test: shared config/credentials files, profile selection and env-over-profile settings.
local T = require "testing"
local config = require "luaws.sdk.config"

local tmpdir, write = T.tempdir()

-- Every case starts from an environment of its own: only the variables it names exist.
local function env(vars)
  local e = { HOME = tmpdir .. "/home" }
  for k, v in pairs(vars or {}) do e[k] = v end
  config.set_env(e)
end

local CONFIG = [[
# a comment
; another comment
[default]
region = us-west-2
output = json

[profile dev]
Region = eu-west-1
max_attempts = 7
retry_mode = adaptive
services = dev-services
endpoint_url = http://profile.example:1
s3 =
  max_concurrent_requests = 20
  addressing_style = path

[profile "with space"]
region = ap-south-1

[services dev-services]
kms =
  endpoint_url = http://kms-from-services.example:2
auto_scaling =
  endpoint_url = http://asg.example:3

[sso-session corp]
sso_region = us-east-1
]]

local CREDENTIALS = [[
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[dev]
AWS_ACCESS_KEY_ID = AKIADEV
aws_secret_access_key = dev-secret
region = us-east-2
]]

local config_path = write("config", CONFIG)
local credentials_path = write("credentials", CREDENTIALS)
local files_env = { AWS_CONFIG_FILE = config_path, AWS_SHARED_CREDENTIALS_FILE = credentials_path }

T.test("profile_name: option, AWS_PROFILE, AWS_DEFAULT_PROFILE, default", function()
  env {}
  T.eq(config.profile_name({}), "default")
  env { AWS_DEFAULT_PROFILE = "b" }
  T.eq(config.profile_name({}), "b")
  env { AWS_DEFAULT_PROFILE = "b", AWS_PROFILE = "a" }
  T.eq(config.profile_name({}), "a")
  T.eq(config.profile_name({ profile = "x" }), "x")
  env { AWS_PROFILE = "" }
  T.eq(config.profile_name(), "default", "an empty variable counts as unset")
end)

T.test("files parses sections, nested values, kinds of section", function()
  env(files_env)
  local files = config.files()
  T.eq(files.config.path, config_path)
  T.eq(files.config.profiles.default.region, "us-west-2")
  T.eq(files.config.profiles.dev.region, "eu-west-1", "keys are case-insensitive")
  T.same(files.config.profiles.dev.s3, { max_concurrent_requests = "20", addressing_style = "path" })
  T.eq(files.config.profiles["with space"].region, "ap-south-1")
  T.eq(files.config.services["dev-services"].kms.endpoint_url, "http://kms-from-services.example:2")
  T.eq(files.config.sso_sessions.corp.sso_region, "us-east-1")
  T.eq(files.credentials.profiles.dev.aws_access_key_id, "AKIADEV")
  T.ok(files.credentials.exists)
end)

T.test("profile merges both files, the credentials file wins, origins are kept", function()
  env(files_env)
  local dev = config.profile("dev")
  T.eq(dev.region, "us-east-2", "credentials file wins for a key in both")
  T.eq(dev.max_attempts, "7")
  T.eq(dev.aws_secret_access_key, "dev-secret")
  T.eq(config.origin(dev, "region"), credentials_path)
  T.eq(config.origin(dev, "max_attempts"), config_path)
  T.eq(config.profile().aws_access_key_id, "AKIADEFAULT")
end)

T.test("a missing profile is ProfileNotFound naming both files; a missing default is empty", function()
  env(files_env)
  local e = T.raises(function() config.profile("nope") end)
  T.eq(e.code, "ProfileNotFound")
  T.eq(e.exit, 2)
  T.eq(e.message, "profile 'nope' not found in " .. config_path .. " or " .. credentials_path)
  T.match(tostring(e), "^ProfileNotFound: profile 'nope'")
  env { AWS_CONFIG_FILE = tmpdir .. "/none", AWS_SHARED_CREDENTIALS_FILE = tmpdir .. "/none2" }
  T.same(config.profile("default"), {})
end)

T.test("[profile default] wins over [default]", function()
  env { AWS_CONFIG_FILE = write("config-default", "[profile default]\nregion = a-1\n[default]\nregion = b-2\n") }
  T.eq(config.profile("default").region, "a-1")
  env { AWS_CONFIG_FILE = write("config-default2", "[default]\nregion = b-2\n[profile default]\nregion = a-1\n") }
  T.eq(config.profile("default").region, "a-1")
end)

T.test("bare sections in the config file are not profiles; in the credentials file they are", function()
  env { AWS_CONFIG_FILE = write("config-bare", "[ops]\nregion = us-east-1\n"),
    AWS_SHARED_CREDENTIALS_FILE = write("cred-profile", "[profile ops]\naws_access_key_id = X\n") }
  T.eq(config.has_profile("ops"), false)
  T.eq(config.has_profile("profile ops"), true)
end)

T.test("~ in file paths expands to HOME", function()
  assert(os.execute("mkdir -p " .. tmpdir .. "/home/.aws"))
  write("home/.aws/config", "[profile home]\nregion = sa-east-1\n")
  env {}
  T.eq(config.paths(), tmpdir .. "/home/.aws/config")
  T.eq(config.profile("home").region, "sa-east-1")
  env { AWS_CONFIG_FILE = "~/.aws/config" }
  T.eq(config.profile("home").region, "sa-east-1")
end)

T.test("broken files are ConfigParseError naming the file and line, never the line's text", function()
  local cases = {
    { "aws_secret_access_key = SECRETVALUE\n[default]\n", 1, "before any %[section%]" },
    { "[default]\naws_secret_access_key SECRETVALUE\n", 2, "expected 'key = value'" },
    { "[a]\nx = 1\n[a]\ny = 2\n", 3, "duplicate section" },
    { "[a]\nx = 1\nx = 2\n", 3, "duplicate key" },
    { "[a]\nsvc =\n  SECRETVALUE\n", 2, "nested" },
    { "[default]\nregion = us-east-1\n[profile dev\nregion = x\n", 3,
      "section header %[profile dev is missing its closing '%]' %(write %[profile NAME%]%)" },
    { "[SECRETVALUE=\n", 1, "section header is missing its closing '%]'" },
    { "profile dev]\nregion = x\n", 1, "section header profile dev%] is missing its opening '%['" },
  }
  for i, case in ipairs(cases) do
    local path = write("broken" .. i, case[1])
    env { AWS_SHARED_CREDENTIALS_FILE = path }
    local e = T.raises(function() config.files() end)
    T.eq(e.code, "ConfigParseError")
    T.eq(e.exit, 2)
    T.match(e.message, "^" .. path:gsub("%p", "%%%0") .. ":" .. case[2] .. ": ", "case " .. i)
    T.match(e.message, case[3], "case " .. i)
    T.ok(not e.message:find("SECRETVALUE"), "case " .. i .. " echoes the line")
  end
end)

T.test("files are parsed again when the path or the content changes", function()
  local path = write("changing", "[profile c]\nregion = us-east-1\n")
  env { AWS_CONFIG_FILE = path }
  T.eq(config.profile("c").region, "us-east-1")
  write("changing", "[profile c]\nregion = eu-north-1\n")
  T.eq(config.profile("c").region, "eu-north-1")
  env { AWS_CONFIG_FILE = write("other", "[profile c]\nregion = me-south-1\n") }
  T.eq(config.profile("c").region, "me-south-1")
  local first = config.files().config
  T.ok(config.files().config == first, "an unchanged file is served from the cache")
end)

T.test("service_setting reads the profile's services section", function()
  env(files_env)
  local dev = config.profile("dev")
  T.eq(config.service_setting(dev, "KMS", "endpoint_url"), "http://kms-from-services.example:2")
  T.eq(config.service_setting(dev, "Auto Scaling", "endpoint_url"), "http://asg.example:3")
  T.eq(config.service_setting(dev, "EC2", "endpoint_url"), nil)
  T.eq(config.service_setting(config.profile("default"), "KMS", "endpoint_url"), nil)
  T.eq(config.service_env_suffix("Auto Scaling"), "AUTO_SCALING")
  T.eq(config.service_key("Elastic Beanstalk"), "elastic_beanstalk")
end)

T.test("resolve: region from option, AWS_REGION, AWS_DEFAULT_REGION, then profile", function()
  local base = { AWS_CONFIG_FILE = config_path, AWS_SHARED_CREDENTIALS_FILE = credentials_path }
  env(base)
  T.eq(config.resolve({}).region, "us-west-2")
  T.eq(config.resolve({ profile = "dev" }).region, "us-east-2")
  base.AWS_DEFAULT_REGION = "ca-central-1"
  env(base)
  T.eq(config.resolve({ profile = "dev" }).region, "ca-central-1")
  base.AWS_REGION = "eu-central-1"
  env(base)
  T.eq(config.resolve({ profile = "dev" }).region, "eu-central-1")
  T.eq(config.resolve({ profile = "dev", region = "af-south-1" }).region, "af-south-1")
  env { AWS_CONFIG_FILE = tmpdir .. "/none" }
  T.eq(config.resolve({}).region, nil)
end)

T.test("resolve: retry settings from env over profile, with defaults", function()
  env(files_env)
  local r = config.resolve({ profile = "dev" })
  T.eq(r.max_attempts, 7)
  T.eq(r.retry_mode, "adaptive")
  T.eq(r.profile, "dev")
  T.eq(r.profile_explicit, true)
  local d = config.resolve({})
  T.eq(d.max_attempts, 3)
  T.eq(d.retry_mode, "standard")
  T.eq(d.profile_explicit, false)
  env { AWS_CONFIG_FILE = config_path, AWS_MAX_ATTEMPTS = "2", AWS_RETRY_MODE = "legacy" }
  r = config.resolve({ profile = "dev" })
  T.eq(r.max_attempts, 2)
  T.eq(r.retry_mode, "legacy")
  T.eq(config.resolve({ profile = "dev", max_attempts = 1 }).max_attempts, 1)
  env { AWS_CONFIG_FILE = config_path, AWS_RETRY_MODE = "legacy" }
  T.eq(config.resolve({}).max_attempts, 5, "legacy mode defaults to 5 attempts")
end)

T.test("resolve: bad values are exit-2 errors", function()
  env { AWS_MAX_ATTEMPTS = "zero" }
  local e = T.raises(function() config.resolve({}) end)
  T.eq(e.code, "InvalidConfiguration")
  T.eq(e.exit, 2)
  T.match(e.message, "AWS_MAX_ATTEMPTS")
  env { AWS_RETRY_MODE = "sometimes" }
  T.eq(T.raises(function() config.resolve({}) end).code, "InvalidConfiguration")
  for _, bad in ipairs { "US-EAST-1", "us_east_1", "-us-east-1", "us-east-1-", "1234", "us east 1",
    string.rep("a", 64), "" } do
    env { AWS_REGION = bad ~= "" and bad or nil }
    if bad ~= "" then
      local err = T.raises(function() config.resolve({}) end, bad)
      T.eq(err.code, "InvalidRegion", bad)
      T.eq(err.exit, 2)
    end
    T.eq(T.raises(function() config.resolve({ region = bad }) end).code, "InvalidRegion", bad)
  end
  T.eq(config.check_region("us-gov-west-1"), "us-gov-west-1")
end)

T.test("resolve: the global endpoint URL and the ignore switch", function()
  env(files_env)
  T.eq(config.resolve({ profile = "dev" }).endpoint_url, "http://profile.example:1")
  env { AWS_CONFIG_FILE = config_path, AWS_ENDPOINT_URL = "http://env.example:9" }
  T.eq(config.resolve({ profile = "dev" }).endpoint_url, "http://env.example:9")
  env { AWS_CONFIG_FILE = config_path, AWS_ENDPOINT_URL = "http://env.example:9",
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" }
  local r = config.resolve({ profile = "dev" })
  T.eq(r.endpoint_url, nil)
  T.eq(r.ignore_configured_endpoint_urls, true)
end)

T.test("set_env(nil) goes back to the process environment", function()
  config.set_env(nil)
  T.eq(config.getenv("HOME"), os.getenv("HOME"))
end)

os.execute("rm -rf " .. tmpdir)
T.done()
