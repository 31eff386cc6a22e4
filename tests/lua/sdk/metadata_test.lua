-- metadata_test: container credentials and EC2 instance metadata (IMDSv2/v1) from local fake servers.
local T = require "testing"
local fx = require "credfix"
local credentials = fx.credentials
local metadata = fx.metadata
local cjson = fx.cjson
local write = fx.write
local fakeserver = fx.fakeserver
local env = fx.env
local chain = fx.chain

T.test("AWS_CONTAINER_CREDENTIALS_FULL_URI is limited to loopback and the ECS/EKS hosts", function()
  env { AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://evil.example.com/creds" }
  local e = T.raises(function() chain() end)
  T.eq(e.code, "InvalidConfiguration")
  T.match(e.message, "evil%.example%.com")
  T.eq(metadata.check_container_url("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x")
  T.eq(metadata.check_container_url("http://[::1]:9/x"), "http://[::1]:9/x")
  T.eq(metadata.check_container_url("http://169.254.170.23/v1/credentials"), "http://169.254.170.23/v1/credentials")
  T.eq(T.raises(function() metadata.check_container_url("http://10.0.0.1/") end).code, "InvalidConfiguration")
end)

local CONTAINER_CREDS = cjson.encode { AccessKeyId = "ASIACONTAINER", SecretAccessKey = "container-secret",
  Token = "container-token", Expiration = "2030-01-01T00:00:00Z" }

T.test("container credentials: relative and full URI, token from env and from file", function()
  local server = fakeserver { routes = {
    ["/v2/credentials/abc"] = { body = CONTAINER_CREDS },
    ["/full"] = { body = CONTAINER_CREDS },
    ["/denied"] = { status = 401, body = "{\"message\": \"bad token\"}" },
  } }
  local ok, err = pcall(function()
    metadata.container_base = server.url
    env { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/abc" }
    local c = chain()
    T.eq(c.access_key, "ASIACONTAINER")
    T.eq(c.session_token, "container-token")
    T.eq(c.source, "container")
    T.eq(c.expiration, 1893456000)
    env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/full",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer env-token" }
    T.eq(chain().access_key, "ASIACONTAINER")
    env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/full",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "ignored",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = write("container-token", "file-token\n") }
    T.eq(chain().access_key, "ASIACONTAINER")
    local log = server.log()
    T.eq(#log, 3)
    T.eq(log[1].path, "/v2/credentials/abc")
    T.eq(log[1].headers.authorization, nil)
    T.eq(log[2].headers.authorization, "Bearer env-token")
    T.eq(log[3].headers.authorization, "file-token", "the token file wins over the variable")
    env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/denied" }
    local e = T.raises(function() chain() end)
    T.eq(e.code, "CredentialRetrievalError")
    T.match(e.message, "HTTP 401")
    T.eq(#server.log(), 4, "a 4xx answer is not retried")
  end)
  metadata.container_base = "http://169.254.170.2"
  server.stop()
  if not ok then error(err, 0) end
end)

local IMDS_CREDS = cjson.encode { Code = "Success", AccessKeyId = "ASIAIMDS", SecretAccessKey = "imds-secret",
  Token = "imds-token", Expiration = "2030-01-01T00:00:00Z" }

T.test("instance metadata: IMDSv2 token, role name, credentials", function()
  local server = fakeserver { routes = {
    ["PUT /latest/api/token"] = { body = "IMDS-SESSION-TOKEN" },
    ["/latest/meta-data/iam/security-credentials/"] = { body = "web-role\n" },
    ["/latest/meta-data/iam/security-credentials/web-role"] = { body = IMDS_CREDS },
  } }
  local ok, err = pcall(function()
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url }
    local c = chain()
    T.eq(c.access_key, "ASIAIMDS")
    T.eq(c.session_token, "imds-token")
    T.eq(c.source, "imds:web-role")
    local log = server.log()
    T.eq(#log, 3)
    T.eq(log[1].method, "PUT")
    T.eq(log[1].headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600")
    T.eq(log[2].headers["x-aws-ec2-metadata-token"], "IMDS-SESSION-TOKEN")
    T.eq(log[3].path, "/latest/meta-data/iam/security-credentials/web-role")
    T.eq(log[3].headers["x-aws-ec2-metadata-token"], "IMDS-SESSION-TOKEN")
  end)
  server.stop()
  if not ok then error(err, 0) end
end)

T.test("instance metadata: IMDSv1 fallback, v1 disabled, metadata disabled, nothing listening", function()
  local server = fakeserver { routes = {
    ["PUT /latest/api/token"] = { status = 405 },
    ["/latest/meta-data/iam/security-credentials/"] = { body = "old-role" },
    ["/latest/meta-data/iam/security-credentials/old-role"] = { body = IMDS_CREDS },
  } }
  local ok, err = pcall(function()
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url .. "/" }
    T.eq(chain().source, "imds:old-role")
    local log = server.log()
    T.eq(#log, 3)
    T.eq(log[2].headers["x-aws-ec2-metadata-token"], nil, "IMDSv1: no token header")
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url,
      AWS_EC2_METADATA_V1_DISABLED = "true" }
    T.match(T.raises(function() chain() end).message, "IMDSv1 is disabled")
    env { AWS_EC2_METADATA_DISABLED = "true", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url }
    T.eq(T.raises(function() chain() end).code, "NoCredentials")
    T.eq(#server.log(), 4, "disabled means not asked")
  end)
  local closed_url = server.url
  server.stop()
  if not ok then error(err, 0) end
  env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = closed_url }
  T.eq(T.raises(function() chain() end).code, "NoCredentials", "an unreachable IMDS ends the chain")
end)

T.test("instance metadata credentials refresh before they expire", function()
  local expires = credentials.format_time(fx.clock + 3600)
  local server = fakeserver { routes = {
    ["PUT /latest/api/token"] = { body = "T" },
    ["/latest/meta-data/iam/security-credentials/"] = { body = "r" },
    ["/latest/meta-data/iam/security-credentials/r"] = {
      { body = cjson.encode { AccessKeyId = "ASIAONE", SecretAccessKey = "1", Token = "1", Expiration = expires } },
      { body = cjson.encode { AccessKeyId = "ASIATWO", SecretAccessKey = "2", Token = "2", Expiration = expires } },
    },
  } }
  local start = fx.clock
  local ok, err = pcall(function()
    env { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url }
    local p = credentials.chain {}
    T.eq(p:get().access_key, "ASIAONE")
    fx.clock = start + 3600 - 5 * 60
    T.eq(p:get().access_key, "ASIATWO")
  end)
  fx.clock = start
  server.stop()
  if not ok then error(err, 0) end
end)

fx.finish()
T.done()
