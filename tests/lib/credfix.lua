-- credfix: the shared fixture of the credential tests: a fake clock and STS, a private temp folder,
-- scripted local servers and per-case environments. Nothing reaches a real metadata address.
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials"
local metadata = require "luaws.sdk.credentials.metadata"
local cjson = require "cjson"

local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."
local tmpdir = os.tmpname()
os.remove(tmpdir)
assert(os.execute("mkdir -p " .. tmpdir))

local function write(name, text, mode)
  local path = tmpdir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  if mode then os.execute("chmod " .. mode .. " " .. path) end
  return path
end

-- The fake clock every refresh decision reads, and the calls the fake STS records.
local fx = { clock = 1700000000, sts_calls = {} }
credentials.hooks.now = function() return fx.clock end

-- Guard: nothing here may reach the real instance metadata or container hosts.
local real_http
local function http_request(req)
  assert(not req.url:find("169.254.169.254", 1, true) and not req.url:find("169.254.170.2", 1, true),
    "a test contacted a real metadata address: " .. req.url)
  return real_http(req)
end
credentials.hooks.http_request = http_request
credentials.hooks.sleep = function() end

real_http = assert(require("luaws.http").request, "luaws.http.request is missing")

-- A scripted local HTTP server (tests/lib/fakeserver.py).
local function fakeserver(script)
  local path = write("fake-" .. math.random(1e9) .. ".json", cjson.encode(script))
  local pipe = assert(io.popen("python3 " .. source_dir .. "/tests/lib/fakeserver.py " .. path, "r"))
  local port = (pipe:read("l") or ""):match("FAKESERVER READY (%d+)")
  assert(port, "fakeserver did not start")
  local s = { url = "http://127.0.0.1:" .. port }
  function s.log()
    return cjson.decode(real_http { method = "GET", url = s.url .. "/_log", timeout = 5 }.body)
  end
  function s.stop()
    real_http { method = "POST", url = s.url .. "/_shutdown", timeout = 5 }
    pipe:close()
  end
  return s
end

-- Every case gets its own environment: only the variables it names exist, and IMDS is off
-- unless the case points it at a fake server.
local function env(vars)
  local e = { HOME = tmpdir, AWS_CONFIG_FILE = tmpdir .. "/no-config",
    AWS_SHARED_CREDENTIALS_FILE = tmpdir .. "/no-credentials", AWS_EC2_METADATA_DISABLED = "true" }
  for k, v in pairs(vars or {}) do e[k] = v end
  config.set_env(e)
  credentials.clear_cache()
end

-- Fake STS: records each call (with the access key of the credentials that would sign it) and
-- answers with numbered temporary credentials valid for an hour.
local function fake_sts(operation, params, opts)
  local signer = opts.credentials and opts.credentials:get()
  local n = #fx.sts_calls + 1
  fx.sts_calls[n] = { operation = operation, params = params, opts = opts,
    signed_by = signer and signer.access_key or false }
  return { Credentials = { AccessKeyId = "ASIA" .. n, SecretAccessKey = "sts-secret-" .. n,
    SessionToken = "sts-token-" .. n, Expiration = credentials.format_time(fx.clock + 3600) } }
end
credentials.hooks.sts = fake_sts
local function reset_sts() fx.sts_calls = {} end

local function chain(opts) return credentials.chain(opts or {}):get() end


-- A shared credentials file several profiles of the chain and role tests read.
local CREDENTIALS_FILE = write("credentials", [[
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[a]
aws_access_key_id = AKIAA
aws_secret_access_key = a-secret
aws_session_token = a-token

[half]
aws_access_key_id = AKIAHALF
]])
fx.CREDENTIALS_FILE = CREDENTIALS_FILE

fx.config, fx.credentials, fx.metadata, fx.cjson = config, credentials, metadata, cjson
fx.source_dir, fx.tmpdir, fx.write, fx.fakeserver, fx.env = source_dir, tmpdir, write, fakeserver, env
fx.reset_sts, fx.chain, fx.real_http = reset_sts, chain, real_http

--- fx.finish(): puts the environment back and removes the temp folder.
function fx.finish()
  config.set_env(nil)
  os.execute("rm -rf " .. tmpdir)
end

return fx
