-- credentials.metadata: container credentials (ECS/EKS) and EC2 instance metadata (IMDSv2),
-- fetched over luaws.http with botocore's timeouts, attempts and host restrictions.
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials.provider"
local cjson = require "cjson.safe"

local M = {}

--- Where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points (tests replace it with a local server).
M.container_base = "http://169.254.170.2"
M.CONTAINER_TIMEOUT = 2
M.CONTAINER_ATTEMPTS = 3
M.IMDS_BASE = "http://169.254.169.254"
M.IMDS_BASE_IPV6 = "http://[fd00:ec2::254]"
M.IMDS_TOKEN_TTL = "21600"

-- Hosts AWS_CONTAINER_CREDENTIALS_FULL_URI may name besides loopback addresses (botocore's list).
local ALLOWED_CONTAINER_HOSTS = { ["169.254.170.2"] = true, ["169.254.170.23"] = true,
  ["fd00:ec2::23"] = true, localhost = true }

local function raise(fields)
  credentials.raise(fields)
end

local function url_host(url)
  local scheme, rest = url:match("^(https?)://(.*)$")
  if not scheme then return nil end
  local host = rest:match("^%[([^%]]+)%]") or rest:match("^([^/:?#]+)")
  return host and host:lower()
end

local function is_loopback(host)
  return host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

--- metadata.check_container_url(url) -> url, or raises InvalidConfiguration unless its host is a
--- loopback address or one of 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost.
function M.check_container_url(url)
  local host = url_host(url)
  if not host or not (is_loopback(host) or ALLOWED_CONTAINER_HOSTS[host]) then
    raise { code = "InvalidConfiguration", exit = 2, message = string.format(
      "AWS_CONTAINER_CREDENTIALS_FULL_URI host %q is not allowed: use a loopback address or one of "
      .. "169.254.170.2, 169.254.170.23, fd00:ec2::23", tostring(host or url)) }
  end
  return url
end

local function container_token()
  local path = config.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
  local token
  if path then
    local f = io.open(path, "r")
    if not f then
      raise { code = "CredentialRetrievalError", message = string.format(
        "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s", path) }
    end
    token = f:read("a"):gsub("%s+$", "")
    f:close()
  else
    token = config.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
  end
  if token and token:find("[\r\n]") then
    raise { code = "InvalidConfiguration", message = "the container authorization token contains a line break" }
  end
  return token
end

local function parse_json_credentials(body, source, require_token)
  local parsed = cjson.decode(body or "")
  if type(parsed) ~= "table" or type(parsed.AccessKeyId) ~= "string"
      or type(parsed.SecretAccessKey) ~= "string" or (require_token and type(parsed.Token) ~= "string") then
    return nil
  end
  return credentials.new { access_key = parsed.AccessKeyId, secret_key = parsed.SecretAccessKey,
    session_token = type(parsed.Token) == "string" and parsed.Token or nil,
    expiration = parsed.Expiration, source = source,
    account_id = type(parsed.AccountId) == "string" and parsed.AccountId or nil }
end

--- metadata.container() -> provider for AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (against
--- 169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (loopback or allowed hosts), sending
--- AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) as Authorization; nil when neither is set. Fetches
--- now (up to 3 attempts, 2 s each) and raises CredentialRetrievalError when that fails.
function M.container()
  local relative = config.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
  local full = config.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
  if not relative and not full then return nil end
  local url = relative and (M.container_base .. relative) or M.check_container_url(full)
  local function fetch()
    local headers = { Accept = "application/json" }
    headers.Authorization = container_token()
    local why
    for attempt = 1, M.CONTAINER_ATTEMPTS do
      if attempt > 1 then credentials.sleep(1) end
      local res, err = credentials.http_request { method = "GET", url = url, headers = headers,
        timeout = M.CONTAINER_TIMEOUT, connect_timeout = M.CONTAINER_TIMEOUT }
      if not res then
        why = tostring(err and (err.message or err) or "transport error")
      elseif res.status ~= 200 then
        why = "HTTP " .. tostring(res.status)
        if res.status >= 400 and res.status < 500 then break end -- a client error will not change
      else
        local creds = parse_json_credentials(res.body, "container", false)
        if creds then return creds end
        why = "the answer is not credentials JSON"
      end
    end
    raise { code = "CredentialRetrievalError", message = string.format(
      "container credentials from %s failed: %s", url, why) }
  end
  local first = fetch()
  if not first.expiration then return credentials.static(first) end
  return credentials.refreshable { initial = first, fetch = fetch, source = "container" }
end

-- One IMDS request with botocore's attempts; returns the response or nil, reason.
local function imds_request(opts, method, path, headers, retry_on)
  local url = opts.base:gsub("/+$", "") .. "/" .. path
  local why
  for _ = 1, opts.attempts do
    local res, err = credentials.http_request { method = method, url = url, headers = headers,
      timeout = opts.timeout, connect_timeout = opts.timeout }
    if not res then
      why = tostring(err and (err.message or err) or "transport error")
    elseif retry_on and retry_on(res) then
      why = "HTTP " .. tostring(res.status)
    else
      return res
    end
  end
  return nil, why
end

local function bad_answer(res)
  return res.status ~= 200 or res.body == nil or res.body == ""
end

-- Fetches instance-role credentials: PUT a session token (IMDSv2), GET the role name, GET its
-- credentials. Returns credentials, or nil and why; raises only for configuration errors.
local function fetch_instance(opts)
  local token
  local res = imds_request(opts, "PUT", "latest/api/token",
    { ["x-aws-ec2-metadata-token-ttl-seconds"] = M.IMDS_TOKEN_TTL })
  if res and res.status == 200 and res.body and res.body ~= "" then
    token = res.body
  elseif res and res.status == 400 then
    return nil, "the metadata service rejected the token request (HTTP 400)"
  end
  if not token and opts.v1_disabled then
    raise { code = "CredentialRetrievalError", message =
      "Unable to retrieve an IMDSv2 token and IMDSv1 is disabled (ec2_metadata_v1_disabled)" }
  end
  local headers = token and { ["x-aws-ec2-metadata-token"] = token } or {}
  local role_path = "latest/meta-data/iam/security-credentials/"
  local role, why = imds_request(opts, "GET", role_path, headers, bad_answer)
  if not role then return nil, why end
  local role_name = role.body:match("[^\r\n]+"):gsub("^%s+", ""):gsub("%s+$", "")
  local creds_res
  creds_res, why = imds_request(opts, "GET", role_path .. role_name, headers, function(r)
    return bad_answer(r) or cjson.decode(r.body) == nil
  end)
  if not creds_res then return nil, why end
  local creds = parse_json_credentials(creds_res.body, "imds:" .. role_name, true)
  if not creds or not creds.expiration then
    return nil, "the metadata service answered without complete credentials"
  end
  return creds
end

--- metadata.instance(settings) -> provider for the EC2 instance role via IMDSv2 (falling back to
--- IMDSv1 when the token request is refused, unless ec2_metadata_v1_disabled), or nil when
--- AWS_EC2_METADATA_DISABLED=true or no credentials come back. The endpoint is
--- AWS_EC2_METADATA_SERVICE_ENDPOINT / ec2_metadata_service_endpoint (or the IPv6 one for
--- endpoint mode IPv6); timeout and attempts default to 1 s and 1 like botocore.
function M.instance(settings)
  settings = settings or {}
  local function setting(env_name, key)
    local value = config.getenv(env_name)
    if value == nil then value = settings[key] end
    return value
  end
  if config.truthy(config.getenv("AWS_EC2_METADATA_DISABLED")) then return nil end
  local base = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint")
  if not base then
    local mode = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ec2_metadata_service_endpoint_mode")
    base = (mode and mode:lower() == "ipv6") and M.IMDS_BASE_IPV6 or M.IMDS_BASE
  end
  if not base:match("^https?://[^/]+") then
    raise { code = "InvalidConfiguration", exit = 2, message = string.format(
      "EC2 metadata endpoint %q is not an http(s) URL", base) }
  end
  local opts = {
    base = base,
    timeout = tonumber(setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout")) or 1,
    attempts = math.tointeger(tonumber(setting("AWS_METADATA_SERVICE_NUM_ATTEMPTS",
      "metadata_service_num_attempts"))) or 1,
    v1_disabled = config.truthy(setting("AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled")),
  }
  local first = fetch_instance(opts)
  if not first then return nil end
  return credentials.refreshable { initial = first, source = first.source, fetch = function()
    local creds, why = fetch_instance(opts)
    if not creds then
      raise { code = "CredentialRetrievalError", message = "EC2 instance metadata credentials: " .. tostring(why) }
    end
    return creds
  end }
end

return M
