-- credentials.sso_wire: the unsigned rest-json calls to IAM Identity Center (SSO portal, SSO OIDC).
-- The one place luaws talks to them: endpoints as botocore resolves them (AWS_ENDPOINT_URL_SSO /
-- _SSO_OIDC, AWS_ENDPOINT_URL, services sections, else https://portal.sso.REGION.amazonaws.com
-- and https://oidc.REGION...). Once the generic rest-json client is on main, these calls are
-- aws.client("sso" / "sso-oidc", {region = sso_region, credentials = false}) operations (checked
-- against the local cloud's emulator: same codes, same bodies); this module is the seam to swap.
local cjson = require "cjson.safe"
local credentials = require "luaws.sdk.credentials.provider"
local uri = require "luaws.core.uri"

local M = {}

M.MAX_ATTEMPTS = 3

-- service -> {service_id, endpoint prefix, what the error messages call it}
local SERVICES = {
  portal = { id = "SSO", prefix = "portal.sso", name = "the IAM Identity Center portal" },
  oidc = { id = "SSO OIDC", prefix = "oidc", name = "IAM Identity Center sign-in (SSO OIDC)" },
}

--- sso_wire.endpoint(service, region, settings) -> base URL for service "portal" or "oidc" in
--- region, with settings the profile's (for its endpoint_url / services section).
function M.endpoint(service, region, settings)
  local s = SERVICES[service]
  local resolved = require("luaws.sdk.endpoints").resolve {
    service_id = s.id, endpoint_prefix = s.prefix, region = region, profile = settings or {} }
  return resolved.url
end


local function log_enabled()
  if not require("luaws.host").debug() then return nil end  -- as the client: log loads only with --debug
  return require "luaws.core.log"
end

-- The secret values in a request or response, for the debug log to scrub wherever they appear.
local function secret_values(t, out)
  out = out or {}
  if type(t) ~= "table" then return out end
  for k, v in pairs(t) do
    if type(v) == "string" and #v >= 8 and type(k) == "string"
        and (k:find("[Tt]oken") or k:find("[Ss]ecret") or k:find("[Cc]ode") or k:find("[Vv]erifier")) then
      out[#out + 1] = v
    elseif type(v) == "table" then
      secret_values(v, out)
    end
  end
  return out
end

-- SSO OIDC's OAuth "error" values and the modeled exceptions AWS names in x-amzn-ErrorType.
local OAUTH_ERRORS = { authorization_pending = "AuthorizationPendingException",
  slow_down = "SlowDownException", expired_token = "ExpiredTokenException",
  invalid_grant = "InvalidGrantException", invalid_client = "InvalidClientException",
  access_denied = "AccessDeniedException", unsupported_grant_type = "UnsupportedGrantTypeException",
  invalid_request = "InvalidRequestException", invalid_scope = "InvalidScopeException",
  unauthorized_client = "UnauthorizedClientException" }

--- sso_wire.call{service=, region=, settings=, operation=, method=, path=, query={...},
--- body=<table, sent as JSON>, token=<bearer token>, timeout=} -> decoded JSON answer (a table).
--- Raises a luaws error {code=, message=, status=, service=, operation=, request_id=}: the AWS
--- error code (x-amzn-ErrorType, or the OAuth "error" field), or SsoUnreachable when no answer came.
function M.call(req)
  local s = SERVICES[req.service]
  local url = M.endpoint(req.service, req.region, req.settings) .. req.path
  if req.query then url = url .. "?" .. uri.query_string(req.query) end
  local headers = { { "Accept", "application/json" } }
  local body
  if req.body then
    body = cjson.encode(req.body)
    headers[#headers + 1] = { "Content-Type", "application/json" }
  end
  if req.token then headers[#headers + 1] = { "x-amz-sso_bearer_token", req.token } end
  local method = req.method or (body and "POST" or "GET")
  local log = log_enabled()
  local secrets = secret_values(req.body)
  if req.token then secrets[#secrets + 1] = req.token end
  if log then
    log.request({ service = s.id, operation = req.operation, method = method, url = url,
      headers = headers, body = body }, secrets)
  end
  -- GETs (GetRoleCredentials) are retried like botocore's standard mode retries them: on no
  -- answer, throttling or a server error, 3 attempts in all. POSTs are not: a CreateToken retried
  -- after a lost answer would spend a rotated refresh token.
  local res, err
  for attempt = 1, method == "GET" and M.MAX_ATTEMPTS or 1 do
    res, err = credentials.http_request { method = method, url = url, headers = headers,
      body = body, timeout = req.timeout or 30, connect_timeout = 10 }
    if res and res.status < 500 and res.status ~= 429 then break end
    if attempt < M.MAX_ATTEMPTS and method == "GET" then credentials.sleep(0.2 * 2 ^ (attempt - 1) * math.random()) end
  end
  if log then
    local answer = res and cjson.decode(res.body or "")
    for _, v in ipairs(secret_values(answer)) do secrets[#secrets + 1] = v end
    log.response({ service = s.id, operation = req.operation, method = method, url = url,
      status = res and res.status, error = err, body = res and res.body, elapsed = res and res.elapsed },
      secrets)
  end
  if not res then
    credentials.raise { code = "SsoUnreachable", service = s.id, operation = req.operation,
      retryable = true, message = string.format("cannot reach %s at %s: %s", s.name,
        url:match("^(https?://[^/?]+)"), tostring(err and (err.message or err.code) or "no answer")) }
  end
  local decoded = cjson.decode(res.body ~= "" and res.body or "{}")
  local request_id = res.headers and (res.headers["x-amzn-requestid"] or res.headers["x-amz-request-id"])
  if res.status >= 300 then
    local etype = res.headers and res.headers["x-amzn-errortype"] or ""
    local code = etype:match("^([^:]+)")
    if (not code or code == "") and type(decoded) == "table" then
      code = decoded.__type or decoded.code or OAUTH_ERRORS[decoded.error] or decoded.error
    end
    local message = type(decoded) == "table" and (decoded.error_description or decoded.message
      or decoded.Message or decoded.error) or nil
    credentials.raise { code = tostring(code or ("HTTP" .. res.status)), status = res.status,
      service = s.id, operation = req.operation, request_id = request_id,
      oauth_error = type(decoded) == "table" and decoded.error or nil,
      message = type(message) == "string" and message or ("HTTP " .. res.status) }
  end
  if type(decoded) ~= "table" then
    credentials.raise { code = "InvalidResponse", status = res.status, service = s.id,
      operation = req.operation, request_id = request_id,
      message = s.name .. " answered with a body that is not JSON" }
  end
  return decoded
end

--- sso_wire.get_role_credentials(cfg, token) -> {accessKeyId=, secretAccessKey=, sessionToken=,
--- expiration=<epoch ms>}; cfg = {sso_region=, sso_account_id=, sso_role_name=, settings=}.
function M.get_role_credentials(cfg, token)
  local answer = M.call { service = "portal", operation = "GetRoleCredentials", region = cfg.sso_region,
    settings = cfg.settings, path = "/federation/credentials", token = token,
    query = { { "role_name", cfg.sso_role_name }, { "account_id", cfg.sso_account_id } } }
  return answer.roleCredentials or {}
end

--- sso_wire.logout(cfg, token): the portal's Logout (ends the session server-side).
function M.logout(cfg, token)
  return M.call { service = "portal", operation = "Logout", region = cfg.sso_region,
    settings = cfg.settings, method = "POST", path = "/logout", token = token }
end

--- sso_wire.oidc(cfg, operation, body) -> decoded answer of SSO OIDC RegisterClient
--- ("/client/register"), StartDeviceAuthorization ("/device_authorization") or CreateToken ("/token").
local OIDC_PATHS = { RegisterClient = "/client/register",
  StartDeviceAuthorization = "/device_authorization", CreateToken = "/token" }
function M.oidc(cfg, operation, body)
  return M.call { service = "oidc", operation = operation, region = cfg.sso_region,
    settings = cfg.settings, method = "POST", path = OIDC_PATHS[operation], body = body }
end

return M
