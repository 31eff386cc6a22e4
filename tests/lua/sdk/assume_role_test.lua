-- assume_role_test: a profile role chain against the local cloud with signature checking on:
-- profile b assumes a role in account 111111111111 with profile a's user keys, c hops on from b
-- into 222222222222, and a wrong secret is rejected by the server and raised cleanly.
local T = require "testing"
local localcloud = require "localcloud"
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials"
local cjson = require "cjson"
local aws = require "luaws"

local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."
local BOOTSTRAP_REQUESTS = 9 -- tests/lib/bootstrap_accounts.py makes exactly this many

local tmpdir, write = T.tempdir()

local server = localcloud.start { auth = BOOTSTRAP_REQUESTS }
local ok, err = pcall(function()
  local pipe = assert(io.popen("python3 " .. source_dir .. "/tests/lib/bootstrap_accounts.py " .. server.url))
  local user = cjson.decode(pipe:read("a"))
  pipe:close()

  write("config", string.format([[
[profile a]
region = us-east-1
endpoint_url = %s

[profile b]
role_arn = arn:aws:iam::111111111111:role/X
source_profile = a
role_session_name = chain-test
region = us-east-1
endpoint_url = %s

[profile c]
role_arn = arn:aws:iam::222222222222:role/Y
source_profile = b
region = us-east-1
endpoint_url = %s

[profile wrong]
region = us-east-1
endpoint_url = %s

[profile b-from-wrong]
role_arn = arn:aws:iam::111111111111:role/X
source_profile = wrong
region = us-east-1
endpoint_url = %s
]], server.url, server.url, server.url, server.url, server.url))
  write("credentials", string.format([[
[a]
aws_access_key_id = %s
aws_secret_access_key = %s

[wrong]
aws_access_key_id = %s
aws_secret_access_key = not-the-secret-WRONGSECRET
]], user.access_key, user.secret_key, user.access_key))
  config.set_env { HOME = tmpdir, AWS_CONFIG_FILE = tmpdir .. "/config",
    AWS_SHARED_CREDENTIALS_FILE = tmpdir .. "/credentials", AWS_EC2_METADATA_DISABLED = "true" }
  credentials.clear_cache()

  local function identity(profile)
    return aws.client("sts", { profile = profile, max_attempts = 1 }):GetCallerIdentity {}
  end

  T.test("profile a is the IAM user in account 123456789012", function()
    local who = identity("a")
    T.eq(who.Account, "123456789012")
    T.eq(who.Arn, "arn:aws:iam::123456789012:user/chain-user")
  end)

  T.test("profile b assumes role X and acts in account 111111111111", function()
    local who = identity("b")
    T.eq(who.Account, "111111111111")
    T.eq(who.Arn, "arn:aws:sts::111111111111:assumed-role/X/chain-test")
    local role = aws.client("iam", { profile = "b", max_attempts = 1 }):GetRole { RoleName = "X" }
    T.eq(role.Role.Arn, "arn:aws:iam::111111111111:role/X", "IAM calls land in the role's account")
  end)

  T.test("the chain's credentials are temporary, redacted, and reused", function()
    local provider = credentials.chain { profile = "b", profile_explicit = true }
    local creds = provider:get()
    T.match(creds.access_key, "^ASIA")
    T.ok(creds.session_token, "a session token")
    T.ok(creds.expiration and creds.expiration > os.time(), "an expiration in the future")
    T.eq(creds.source, "assume-role:arn:aws:iam::111111111111:role/X")
    T.ok(not tostring(creds):find(creds.secret_key, 1, true))
    T.ok(provider:get() == creds)
  end)

  T.test("profile c hops from b's role into account 222222222222", function()
    local who = identity("c")
    T.eq(who.Account, "222222222222")
    T.match(who.Arn, "^arn:aws:sts::222222222222:assumed%-role/Y/luaws%-session%-%d+$")
  end)

  T.test("a wrong secret is SignatureDoesNotMatch, raised cleanly without the secret", function()
    local e = T.raises(function() identity("wrong") end)
    T.eq(type(e), "table")
    T.eq(e.code, "SignatureDoesNotMatch")
    T.eq(e.status, 403)
    T.ok(not tostring(e):find("WRONGSECRET"), tostring(e))
    T.ok(not tostring(e):find("\n"), "one line")
    e = T.raises(function() identity("b-from-wrong") end)
    T.eq(e.code, "SignatureDoesNotMatch", "the AssumeRole call itself is rejected")
    T.eq(e.operation, "AssumeRole")
    T.ok(not tostring(e):find("WRONGSECRET"), tostring(e))
  end)
end)
server.stop()

-- AssumeRoleWithWebIdentity is unsigned, which moto answers only with signature checking off.
T.test("web identity: an unsigned AssumeRoleWithWebIdentity through the real client", function()
  local open_server = localcloud.start()
  local done, failure = pcall(function()
    config.set_env { HOME = tmpdir, AWS_CONFIG_FILE = tmpdir .. "/none", AWS_SHARED_CREDENTIALS_FILE =
      tmpdir .. "/none", AWS_EC2_METADATA_DISABLED = "true", AWS_REGION = "us-east-1",
      AWS_ENDPOINT_URL = open_server.url, AWS_ROLE_ARN = "arn:aws:iam::111111111111:role/Web",
      AWS_WEB_IDENTITY_TOKEN_FILE = write("token", "header.payload.signature"),
      AWS_ROLE_SESSION_NAME = "web-session" }
    local creds = credentials.chain {}:get()
    T.match(creds.access_key, "^ASIA")
    T.eq(creds.source, "web-identity:arn:aws:iam::111111111111:role/Web")
    local who = aws.client("sts", { credentials = creds, max_attempts = 1 }):GetCallerIdentity {}
    T.eq(who.Arn, "arn:aws:sts::111111111111:assumed-role/Web/web-session")
  end)
  open_server.stop()
  if not done then error(failure, 0) end
end)
config.set_env(nil)
os.execute("rm -rf " .. tmpdir)
if not ok then
  T.test("set up the local cloud and the profiles", function() error(err, 0) end)
end
T.done()
