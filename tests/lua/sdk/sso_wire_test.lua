-- sso_wire_test: the IAM Identity Center wire calls: endpoints (default, per-service and global
-- overrides), the bearer header, AWS error shapes, retries of GETs only, and a debug log
-- without tokens.
local T = require "testing"
local cjson = require "cjson"
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials"
local wire = require "luaws.sdk.credentials.sso_wire"

local env = {}
config.set_env(env)
credentials.hooks.sleep = function() end
local sent, answers = {}, {}
credentials.hooks.http_request = function(req)
  sent[#sent + 1] = req
  local a = table.remove(answers, 1)
  if a == "down" then return nil, { code = "ConnectionRefused", message = "connection refused" } end
  return { status = a.status or 200, headers = a.headers or {}, body = cjson.encode(a.body or {}) }
end
local cfg = { sso_region = "eu-west-1", sso_account_id = "444444444444", sso_role_name = "Admin", settings = {} }

T.case("endpoints: portal.sso/oidc in the SSO region, AWS_ENDPOINT_URL_SSO(_OIDC) and AWS_ENDPOINT_URL win", function()
  T.eq(wire.endpoint("portal", "eu-west-1", {}), "https://portal.sso.eu-west-1.amazonaws.com")
  T.eq(wire.endpoint("oidc", "eu-west-1", {}), "https://oidc.eu-west-1.amazonaws.com")
  env.AWS_ENDPOINT_URL = "http://127.0.0.1:1"
  env.AWS_ENDPOINT_URL_SSO_OIDC = "http://127.0.0.1:2"
  T.eq(wire.endpoint("portal", "eu-west-1", {}), "http://127.0.0.1:1")
  T.eq(wire.endpoint("oidc", "eu-west-1", {}), "http://127.0.0.1:2")
  env.AWS_ENDPOINT_URL, env.AWS_ENDPOINT_URL_SSO_OIDC = nil, nil
end)

T.case("GetRoleCredentials: GET with the bearer header and the query the portal expects", function()
  sent = {}
  answers = { { body = { roleCredentials = { accessKeyId = "ASIA", expiration = 1 } } } }
  local creds = wire.get_role_credentials(cfg, "the-token")
  T.eq(creds.accessKeyId, "ASIA")
  T.eq(sent[1].method, "GET")
  T.eq(sent[1].url, "https://portal.sso.eu-west-1.amazonaws.com/federation/credentials"
    .. "?role_name=Admin&account_id=444444444444")
  T.same(sent[1].headers[2], { "x-amz-sso_bearer_token", "the-token" })
end)

T.case("errors: x-amzn-ErrorType is the code, message from the body (portal and OAuth shapes)", function()
  answers = { { status = 403, headers = { ["x-amzn-errortype"] = "ForbiddenException:http://internal" },
    body = { message = "No access" } } }
  local e = T.raises(function() wire.get_role_credentials(cfg, "t") end)
  T.eq(e.code, "ForbiddenException")
  T.eq(e.message, "No access")
  T.eq(e.status, 403)
  answers = { { status = 400, body = { error = "authorization_pending", error_description = "pending" } } }
  e = T.raises(function() wire.oidc(cfg, "CreateToken", { grantType = "x" }) end)
  T.eq(e.code, "AuthorizationPendingException") -- the OAuth name mapped when the header is missing
  T.eq(e.oauth_error, "authorization_pending")
end)

T.case("GETs are retried on no answer, throttling and 5xx (3 attempts); POSTs are not", function()
  sent = {}
  answers = { "down", { status = 503 }, { body = { roleCredentials = { accessKeyId = "ok" } } } }
  T.eq(wire.get_role_credentials(cfg, "t").accessKeyId, "ok")
  T.eq(#sent, 3)
  sent = {}
  answers = { "down", "down", "down" }
  local e = T.raises(function() wire.get_role_credentials(cfg, "t") end)
  T.eq(#sent, 3)
  T.eq(e.code, "SsoUnreachable")
  T.match(e.message, "cannot reach the IAM Identity Center portal at https://portal%.sso%.eu%-west%-1%.amazonaws%.com")
  sent = {}
  answers = { { status = 500 } }
  T.raises(function() wire.oidc(cfg, "CreateToken", { refreshToken = "r" }) end)
  T.eq(#sent, 1)
end)

T.case("--debug logs the calls without the bearer token or the tokens in bodies", function()
  local log = require "luaws.core.log"
  local lines = {}
  local sink = { write = function(_, ...) for _, s in ipairs { ... } do lines[#lines + 1] = s end end }
  local previous = log.set_sink(sink)
  local was = log.enabled()
  log.enable(true)
  answers = { { body = { accessToken = "secret-access-token-1", refreshToken = "secret-refresh-token-1",
    expiresIn = 60 } } }
  wire.oidc(cfg, "CreateToken", { clientSecret = "secret-client-secret", refreshToken = "secret-refresh-token-0",
    grantType = "refresh_token" })
  answers = { { body = { roleCredentials = { secretAccessKey = "secret-key-123", sessionToken = "session-tok-1" } } } }
  wire.get_role_credentials(cfg, "bearer-token-xyz")
  log.enable(was)
  log.set_sink(previous)
  local text = table.concat(lines)
  T.match(text, "CreateToken")
  T.match(text, "GetRoleCredentials")
  for _, secret in ipairs { "secret-access-token-1", "secret-refresh-token-1", "secret-client-secret",
      "secret-refresh-token-0", "secret-key-123", "session-tok-1", "bearer-token-xyz" } do
    T.ok(not text:find(secret, 1, true), secret .. " leaked into the debug log")
  end
end)

config.set_env(nil)
T.done()
