-- credentials_test: the chain: its order (options, environment, profile, container, instance), laziness, errors.
local T = require "testing"
local fx = require "credfix"
local credentials = fx.credentials
local write = fx.write
local env = fx.env
local chain = fx.chain
local CREDENTIALS_FILE = fx.CREDENTIALS_FILE

T.test("environment keys, with a session token; one key alone is an error", function()
  env { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "env-secret", AWS_SESSION_TOKEN = "env-token" }
  local c = chain()
  T.eq(c.access_key, "AKIAENV")
  T.eq(c.secret_key, "env-secret")
  T.eq(c.session_token, "env-token")
  T.eq(c.source, "env")
  env { AWS_ACCESS_KEY_ID = "AKIAENV" }
  local e = T.raises(function() chain() end)
  T.eq(e.code, "PartialCredentials")
  T.match(e.message, "AWS_SECRET_ACCESS_KEY is not")
end)


T.test("environment beats AWS_PROFILE, but an explicitly named profile beats the environment", function()
  env { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "env-secret",
    AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_PROFILE = "a" }
  T.eq(chain().access_key, "AKIAENV")
  T.eq(chain { profile = "a" }.access_key, "AKIAENV",
    "a profile equal to AWS_PROFILE is what a client passes after resolving; env still wins")
  T.eq(chain { profile = "default" }.access_key, "AKIADEFAULT")
  T.eq(chain { profile = "a", profile_explicit = true }.access_key, "AKIAA")
  env { AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_PROFILE = "a" }
  local c = chain()
  T.eq(c.access_key, "AKIAA")
  T.eq(c.session_token, "a-token")
  T.eq(c.source, "profile:a")
end)

T.test("shared files: default, keys in the config file, partial keys, missing profile", function()
  local config_path = write("config-keys", "[profile cfg]\naws_access_key_id = AKIACFG\n"
    .. "aws_secret_access_key = cfg-secret\n")
  env { AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_CONFIG_FILE = config_path }
  T.eq(chain().access_key, "AKIADEFAULT")
  T.eq(chain { profile = "cfg" }.access_key, "AKIACFG")
  local e = T.raises(function() chain { profile = "half" } end)
  T.eq(e.code, "PartialCredentials")
  T.eq(e.message, "profile 'half' in " .. CREDENTIALS_FILE .. " has aws_access_key_id but no aws_secret_access_key")
  e = T.raises(function() chain { profile = "ghost" } end)
  T.eq(e.code, "ProfileNotFound")
  T.match(e.message, "ghost")
  T.match(e.message, config_path:gsub("%p", "%%%0"))
  env { AWS_SHARED_CREDENTIALS_FILE = CREDENTIALS_FILE, AWS_PROFILE = "ghost" }
  T.eq(T.raises(function() chain() end).code, "ProfileNotFound")
end)

T.test("no credentials anywhere is NoCredentials", function()
  env {}
  local e = T.raises(function() chain() end)
  T.eq(e.code, "NoCredentials")
  T.match(e.message, "^Unable to locate credentials%. Configure with")
  T.match(e.message, "AWS_PROFILE")
  T.match(tostring(e), "^NoCredentials: Unable to locate credentials")
end)

T.test("the chain resolves lazily and once", function()
  env {}
  local p = credentials.chain {}
  env { AWS_ACCESS_KEY_ID = "AKIALATE", AWS_SECRET_ACCESS_KEY = "late" }
  T.eq(p:get().access_key, "AKIALATE")
  env { AWS_ACCESS_KEY_ID = "AKIALATER", AWS_SECRET_ACCESS_KEY = "later" }
  T.eq(p:get().access_key, "AKIALATE")
end)

fx.finish()
T.done()
