-- client: AWS service clients: build, sign, send, parse, retry (standard mode), log; paginate, wait.
local operations = require "luaws.sdk.operations"
local retry = require "luaws.sdk.retry"
local bodies = require "luaws.sdk.body"
local uri = require "luaws.core.uri"

local M = {}

local Client = {}
-- Registered like a lauxlib metatable so any module can recognise a client by identity.
local registry = debug.getregistry()
local Client_mt = registry["luaws.Client"] or {}
registry["luaws.Client"] = Client_mt
Client_mt.__name = "luaws.Client"

-- Hooks the tests replace (a fake clock or a zero sleep); everything else uses luaws.http.
M.hooks = { sleep = nil, random = nil }

local function http() return require "luaws.http" end

local function now()
  local h = http()
  return h.now and h.now() or os.time()
end

local function new_error(fields) return require("luaws.core.errors").new(fields) end

local function usage_error(code, message, fields)
  local e = fields or {}
  e.code, e.message, e.retryable = code, message, false
  return new_error(e)
end

local function shallow_copy(t)
  local out = {}
  for k, v in pairs(t or {}) do out[k] = v end
  return out
end

-- Names of the input members the model marks as idempotency tokens (botocore fills them with a
-- UUID when the caller does not, once per call, so every retry repeats the same token).
local function idempotency_members(op)
  local declared = op.idempotency_tokens
  if type(declared) == "string" then return { declared } end
  return type(declared) == "table" and declared or {}
end

local function encode_query(query)
  if query == nil then return "" end
  if type(query) == "string" then return query end
  if query[1] ~= nil then return uri.query_string(query) end
  local parts = {}
  for k, v in pairs(query) do parts[#parts + 1] = uri.encode(k) .. "=" .. uri.encode(v) end
  table.sort(parts)
  return table.concat(parts, "&")
end

-- hostPrefix endpoint traits ("data-", "{AccountId}.") go in front of the host, as botocore
-- does, except for hosts a prefix cannot apply to (an IP address, localhost) and when
-- AWS_DISABLE_HOST_PREFIX_INJECTION=true.
local function with_host_prefix(base, prefix)
  if not prefix or prefix == "" then return base end
  local disabled = os.getenv("AWS_DISABLE_HOST_PREFIX_INJECTION")
  if disabled and disabled:lower() == "true" then return base end
  local scheme, host, rest = base:match("^(%a[%w+.-]*://)([^/:]+)(.*)$")
  if not scheme or host:match("^[%d.]+$") or host:find("^%[") or host == "localhost" then return base end
  return scheme .. prefix .. host .. rest
end

local function join_url(base, path, query, host_prefix)
  base = with_host_prefix(base:gsub("/+$", ""), host_prefix)
  path = path or "/"
  if path == "" then
    -- an S3 bucket operation whose endpoint holds the bucket: the endpoint's own path, else "/"
    -- (botocore's _urljoin)
    if not base:match("^%a[%w+.-]*://[^/]*/") then path = "/" end
  elseif path:sub(1, 1) ~= "/" then
    path = "/" .. path
  end
  local qs = encode_query(query)
  return base .. path .. (qs ~= "" and ("?" .. qs) or "")
end

-- Protocol builders may give headers as a name -> value map or a list of pairs; the signer
-- takes a list. Map entries are sorted so requests are reproducible.
local function header_list(headers)
  local list = {}
  if type(headers) ~= "table" then return list end
  if headers[1] ~= nil then
    for _, h in ipairs(headers) do list[#list + 1] = { h[1], h[2] } end
  else
    for name, value in pairs(headers) do list[#list + 1] = { name, tostring(value) } end
    table.sort(list, function(a, b) return a[1] < b[1] end)
  end
  return list
end

--- Creates a client: name is a service name known to luaws.sdk.model ("kms", "ec2", ...);
--- opts = {profile=, region=, endpoint_url=, credentials=<provider|table|false>,
--- max_attempts=, retry_mode=, timeout= (seconds per attempt), use_fips_endpoint=,
--- use_dualstack_endpoint=, client_context_params={Name or snake_name = value} (the rule set's
--- clientContextParams, e.g. {ForcePathStyle=true} for S3)}. Region, max_attempts and the
--- endpoint follow luaws.sdk.config and luaws.sdk.endpoints (options, then environment, then profile).
--- Returns a "luaws.Client" whose operations are methods named as in AWS: client:ListKeys{...}.
function M.new(name, opts)
  if type(name) ~= "string" then
    error(usage_error("InvalidParameter", "aws.client needs a service name, e.g. aws.client(\"kms\")",
      { exit = 2 }), 2)
  end
  opts = opts or {}
  local defaults = require "luaws.sdk.defaults"
  if next(defaults) then
    local merged = shallow_copy(opts)
    for _, key in ipairs { "profile", "region", "endpoint_url" } do
      if merged[key] == nil then merged[key] = defaults[key] end
    end
    opts = merged
  end
  local service = require("luaws.sdk.model").load(name)
  local config = require("luaws.sdk.config").resolve(opts)
  -- The service's endpoint rule set (svc:rules()) decides each call's URL and signing scope;
  -- a configured endpoint URL is checked here; endpoints are resolved per call (client.endpoint,
  -- the operation-independent one, and client.region on first use).
  local endpoints = require("luaws.sdk.endpoints.resolver").new {
    service = service, name = name, region = config.region, settings = config.settings,
    endpoint_url = opts.endpoint_url, use_fips_endpoint = opts.use_fips_endpoint,
    use_dualstack_endpoint = opts.use_dualstack_endpoint, client_context = opts.client_context_params,
  }
  local credentials = false
  if opts.credentials ~= false then
    -- A profile the caller names outranks environment keys, as with the CLI's --profile.
    credentials = require("luaws.sdk.credentials").chain { profile = opts.profile, region = config.region,
      credentials = opts.credentials, profile_explicit = opts.profile ~= nil }
  end
  local self = {
    service_name = name,
    service = service,
    _endpoints = endpoints,
    _config_region = config.region or false,
    max_attempts = config.max_attempts or retry.DEFAULT_MAX_ATTEMPTS,
    timeout = opts.timeout or false,
    ca_bundle = config.ca_bundle or false,
    quota = retry.new_quota(),
    _credentials = credentials,
    _operations = {},
  }
  return setmetatable(self, Client_mt)
end

-- Fields computed on first use: resolving an endpoint may load and compile the service's rule
-- set, which a client that is never called should not pay for.
local LAZY = {
  endpoint = function(self) return self._endpoints:resolve(nil, nil) end,  -- {url=, signing_region=, ...}
  region = function(self) return self.endpoint.signing_region or self._config_region end,
}

-- operation function -> {service name, operation name}, for help(s3.PutObject).
local OPERATION_NAMES = setmetatable({}, { __mode = "k" })

--- client.operation_of(fn) -> service name, operation name when fn is an operation function taken
--- from a client (s3.PutObject); nil otherwise.
function M.operation_of(fn)
  local names = OPERATION_NAMES[fn]
  if names then return names[1], names[2] end
  return nil
end

-- Looks up a method, a lazy field, else an operation (the model raises UnknownOperation with
-- suggestions). Every other field of a client is non-nil (false when unset), so only methods,
-- lazy fields and operations get here.
function Client_mt.__index(self, key)
  local method = Client[key]
  if method then return method end
  if type(key) ~= "string" then return nil end
  local lazy = LAZY[key]
  if lazy then
    local value = lazy(self)
    rawset(self, key, value)
    return value
  end
  local cached = rawget(self, "_operations")[key]
  if cached then return cached end
  local op = self.service:operation(key)
  local op_name = op.name or key
  local function operation(client, params, call_opts)
    if getmetatable(client) ~= Client_mt then
      error(usage_error("InvalidParameter", string.format(
        "call operations with a colon: %s:%s{...}", self.service_name, op_name)), 2)
    end
    return client:call(op_name, params, call_opts)
  end
  self._operations[key] = operation
  OPERATION_NAMES[operation] = { self.service_name, op_name }
  return operation
end

function Client_mt.__tostring(self)
  local ok, endpoint = pcall(function() return self.endpoint end)
  return string.format("luaws.Client(%s, %s, %s)", self.service_name,
    tostring(ok and endpoint.signing_region or self._config_region), tostring(ok and endpoint.url))
end

-- The REPL's tab completion asks this for the names after `client:`: the service's operations
-- and the client's own methods.
function Client_mt.__complete(self)
  local names = self.service:operation_names()
  for name in pairs(Client) do
    if type(name) == "string" and not name:find("^_") then names[#names + 1] = name end
  end
  return names
end

-- Decodes an HTTP error response into {code=, message=, request_id=}, tolerating bodies the
-- protocol cannot read (an HTML page from a proxy, say).
local function decode_error(protocol, service, op, res, ctx, hooks)
  local ok, decoded = pcall(protocol.parse_error, service, op, res)
  if not (ok and type(decoded) == "table" and decoded.code) then
    decoded = { code = "HTTP" .. tostring(res.status),
      message = string.format("HTTP %d with an unreadable error body", res.status) }
  end
  if hooks.error then hooks.error(ctx, res, decoded) end
  return decoded
end

local function request_id_of(res)
  local h = res and res.headers or {}
  return h["x-amzn-requestid"] or h["x-amz-request-id"] or h["x-amzn-request-id"]
end

local function add_metadata(result, res, attempt, backoff)
  local meta = result.ResponseMetadata
  if type(meta) ~= "table" then
    meta = {}
    result.ResponseMetadata = meta
  end
  meta.RequestId = meta.RequestId or request_id_of(res)
  meta.HTTPStatusCode = res.status
  meta.RetryAttempts = attempt - 1
  meta.TotalBackoff = backoff
end

local function sleep(seconds)
  if seconds <= 0 then return end
  local hook = M.hooks.sleep
  if hook then return hook(seconds) end
  http().sleep(seconds)
end

local function secrets_of(creds)
  if not creds then return nil end
  return { creds.secret_key, creds.session_token }
end

-- The sigv4.sign options of one attempt. The endpoint's auth scheme with disableDoubleEncoding
-- (S3) signs the path as sent (S3SigV4Auth). A file body (luaws.FileBody) is hashed once, in C.
local function sign_options(ctx, hooks, request, headers, creds)
  local self, body = ctx.client, request.body
  local scheme = request.endpoint.auth_scheme
  local as_sent = scheme ~= nil and scheme.disableDoubleEncoding == true
  local opts = {
    method = request.method, url = request.url, headers = headers,
    body = type(body) == "string" and body or "",
    region = request.endpoint.signing_region or self.region,
    service = request.endpoint.signing_name or self.service.signing_name,
    access_key = creds.access_key, secret_key = creds.secret_key,
    session_token = creds.session_token,
    double_encode = not as_sent, normalize_path = not as_sent,
  }
  if hooks.sign_options then hooks.sign_options(ctx, request, opts) end
  opts.payload_hash = opts.payload_hash or bodies.payload_hash(body)
  return opts
end

-- One signed attempt. Returns res (any HTTP status) or nil, transport error.
local function send_attempt(ctx, hooks, request, attempt, max_attempts, creds, log)
  local self, op_name = ctx.client, ctx.op_name
  local headers = header_list(request.headers)
  headers[#headers + 1] = { "amz-sdk-request", string.format("attempt=%d; max=%d", attempt, max_attempts) }
  local url, to_send = request.url, headers
  if creds then
    local signed = require("luaws.sigv4").sign(sign_options(ctx, hooks, request, headers, creds))
    url, to_send = signed.url or request.url, signed.headers
  end
  local logged_body = request.body ~= nil and type(request.body) ~= "string" and tostring(request.body)
    or request.body
  local info = { service = self.service_name, operation = op_name, method = request.method,
    url = url, headers = to_send, body = logged_body, attempt = attempt }
  if log then log.request(info, secrets_of(creds)) end
  local started = now()
  local res, err = http().request { method = request.method, url = url, headers = to_send,
    body = request.body, timeout = self.timeout or nil, ca_bundle = request.ca_bundle,
    stream = (not ctx.sink and request.stream) or nil, sink = ctx.sink }
  if request.stream and res and (res.status < 200 or res.status >= 300) then
    local ok, body = pcall(require("luaws.sdk.protocol.eventstream").read_all, res.body)
    if not ok then return nil, body end  -- the connection failed while reading the error
    res.body = body
  end
  if log then
    log.response({ service = self.service_name, operation = op_name, method = request.method,
      url = url, attempt = attempt, elapsed = now() - started, status = res and res.status,
      headers = res and res.headers, body = res and type(res.body) == "string" and res.body or nil,
      error = err }, secrets_of(creds))
  end
  if res and hooks.response then hooks.response(ctx, res) end
  return res, err
end

-- The debug log, or nil. The switch is the host's flag, so a call without --debug never loads
-- luaws.core.log.
local function debug_log()
  if not require("luaws.host").debug() then return nil end
  return require "luaws.core.log"
end

-- Whether op's output has an event-stream member, which is read while it arrives when the
-- protocol module says it can parse such a reply (protocol.event_streams = true; see
-- sdk/protocol/eventstream.lua). The refs carry the trait, so nothing is loaded or decoded.
local function has_event_stream(op)
  local out = op.output
  if not out or out.type ~= "structure" then return false end
  for _, m in ipairs(out.members) do
    if m.eventstream then return true end
  end
  return false
end

-- A call's ctx.region is the client's, read on first use: it may cost an endpoint resolution of
-- its own (client.region), which most calls never need (their endpoint is the operation's).
local CALL_CONTEXT_MT = {
  __index = function(ctx, key)
    if key ~= "region" then return nil end
    local region = ctx.client.region
    rawset(ctx, "region", region)
    return region
  end,
}

--- Calls an operation by its AWS name with AWS parameter names; returns the decoded result
--- with ResponseMetadata {RequestId, HTTPStatusCode, RetryAttempts, TotalBackoff (s)}.
--- Raises an error table {code, message, status, service, operation, request_id, retryable,
--- attempts, backoff[, ambiguous][, retry_quota_exceeded]}. call_opts = {max_attempts=, and for
--- operations whose result is a body (GetObject): sink= (a path: a 2xx body is written there and
--- the body member is that file opened for reading) or stream=true (the body member is a reader,
--- read(n)/chunks()/close(), fed while the body arrives)}; see luaws.sdk.body. A body parameter
--- may be a luaws.FileBody (aws.file_body(path[, offset[, length]])): streamed from the file,
--- hashed in C. Service quirks come from luaws.sdk.customizations.
function Client:call(op_name, params, call_opts)
  call_opts = call_opts or {}
  if params ~= nil and type(params) ~= "table" then
    error(usage_error("InvalidParameter", string.format("%s:%s expects a table of parameters, got %s",
      self.service_name, op_name, type(params))), 2)
  end
  local service = self.service
  local op = service:operation(op_name)
  op_name = op.name or op_name
  params = shallow_copy(params)
  -- The protocol fills idempotency tokens once per call (build runs once), so every retry
  -- repeats the same token and AWS applies the call at most once.
  local has_token = #idempotency_members(op) > 0
  local protocol = require("luaws.sdk.protocol").for_service(service)
  local hooks = require("luaws.sdk.customizations").for_service(self.service_name)
  local ctx = setmetatable({ client = self, service = service, service_name = self.service_name, op = op,
    op_name = op_name, params = params, call_opts = call_opts }, CALL_CONTEXT_MT)
  ctx.sink, ctx.stream_body = bodies.sink_path(ctx), bodies.stream_wanted(ctx)
  if hooks.prepare then
    hooks.prepare(ctx)
    params = ctx.params
  end
  local endpoint = self._endpoints:resolve(op, params)
  local built = protocol.build(service, self._endpoints:operation(op), params)
  local request = { method = built.method or "POST", headers = header_list(built.headers),
    body = built.body, url = join_url(endpoint.url, built.path, built.query, built.host_prefix),
    endpoint = endpoint, checksum_algorithm = built.checksum_algorithm, ca_bundle = self.ca_bundle or nil,
    -- an event-stream output is read while it arrives (sdk/protocol/eventstream.lua)
    stream = built.stream or ctx.stream_body or (protocol.event_streams and has_event_stream(op)) or nil }
  for name, value in pairs(endpoint.headers or {}) do request.headers[#request.headers + 1] = { name, value } end
  request.body = bodies.sendable(request.body)
  bodies.add_checksum(request, built.checksum_algorithm)
  if hooks.request then hooks.request(ctx, request) end
  local max_attempts = call_opts.max_attempts or self.max_attempts
  local state = { max_attempts = max_attempts, quota = self.quota,
    random = M.hooks.random or math.random,
    safe_to_repeat = operations.safe_to_repeat { service = self.service_name,
      operation = op_name, params = params, has_idempotency_token = has_token } }
  local signed = op.auth ~= "none"  -- e.g. AssumeRoleWithWebIdentity: the token is the proof
  local log = debug_log()
  local backoff, last_cost = 0, nil
  local attempt = 0
  while true do
    attempt = attempt + 1
    local creds = signed and self._credentials and self._credentials:get()
    local res, terr = send_attempt(ctx, hooks, request, attempt, max_attempts, creds, log)
    local failure
    if res and res.status >= 200 and res.status < 300 then
      local reader = ctx.stream_body and bodies.take_stream(res)
      local ok, result = pcall(protocol.parse, service, op, res)
      if not ok then  -- a 2xx the protocol cannot read (an HTML page from a proxy, say)
        local fields = { code = "ResponseParseError", status = res.status, service = self.service_name,
          operation = op_name, request_id = request_id_of(res), attempts = attempt, backoff = backoff }
        if type(result) ~= "table" then fields.message, result = tostring(result), fields end
        error(require("luaws.core.errors").wrap(result, fields), 2)
      end
      result = result or {}
      bodies.attach_sink(op, result, res, reader)
      if hooks.result then hooks.result(ctx, result, res) end
      retry.on_success(self.quota, last_cost)
      add_metadata(result, res, attempt, backoff)
      return result
    elseif res then
      local decoded = decode_error(protocol, service, op, res, ctx, hooks)
      failure = { code = decoded.code, message = decoded.message, status = res.status,
        request_id = decoded.request_id or request_id_of(res), fields = decoded.fields }
      state.retry_after_ms = res.headers and res.headers["x-amz-retry-after"]
    else
      terr = terr or {}
      failure = { code = terr.code or "TransportError", message = terr.message or "transport failure",
        transport = true, sent = terr.sent }
      state.retry_after_ms = nil
    end
    state.attempt = attempt
    local decision = retry.decide(state, failure)
    if not decision.retry then
      local message = failure.message or ""
      if decision.ambiguous then
        message = message .. " (not retried: " .. decision.reason .. ")"
      end
      error(new_error { code = failure.code, message = message, status = failure.status,
        service = self.service_name, operation = op_name, request_id = failure.request_id,
        retryable = retry.is_retryable(failure) and not decision.ambiguous,
        attempts = attempt, backoff = backoff, ambiguous = decision.ambiguous or nil,
        fields = failure.fields,
        retry_quota_exceeded = decision.retry_quota_exceeded or nil }, 2)
    end
    last_cost = decision.cost
    if log then
      log.note(string.format("%s %s: %s, retry %d of %d in %.3f s", self.service_name, op_name,
        tostring(failure.code), attempt, max_attempts - 1, decision.delay), secrets_of(creds))
    end
    sleep(decision.delay)
    backoff = backoff + decision.delay
  end
end

--- client:is_read_only(operation) -> whether the operation (any spelling the model accepts) only
--- reads; luaws.sdk.operations decides.
function Client:is_read_only(op_name)
  local ok, op = pcall(self.service.operation, self.service, op_name)
  return operations.is_read_only(self.service_name, ok and op.name or op_name)
end

--- Iterates an operation's pages following its botocore paginator (tokens, more_results,
--- result keys are JMESPath; see luaws.sdk.paginate). opts = {items=true} iterates the items
--- under the result key(s) instead; opts.page_size sets the paginator's limit key,
--- opts.max_items / opts.max_pages stop early. Raises OperationNotPageable for operations
--- without a paginator, PaginationError when a token repeats.
function Client:paginate(op_name, params, opts)
  return require("luaws.sdk.paginate").paginate(self, op_name, params, opts)
end

--- client:paginate_all(op_name, params, opts) -> one result with every page's result keys
--- joined (botocore's build_full_result).
function Client:paginate_all(op_name, params, opts)
  return require("luaws.sdk.paginate").full_result(self, op_name, params, opts)
end

--- client:wait(name, params, opts) -> last response, attempts. Runs the service's waiter
--- (botocore's "TableExists" or boto3's "table_exists", or a waiters-2 definition table of
--- one's own) until success; opts = {delay=,
--- max_attempts=} override the definition. Raises WaiterFailure, WaiterTimeout, UnknownWaiter
--- (see luaws.sdk.waiters).
function Client:wait(name, params, opts)
  return require("luaws.sdk.waiters").wait(self, name, params, opts)
end

--- client:waiter(name) -> canonical name, definition ({operation=, delay=, maxAttempts=,
--- acceptors=}) of a waiter; raises UnknownWaiter naming the closest ones.
function Client:waiter(name)
  return require("luaws.sdk.waiters").get(self.service, name)
end

--- client:waiter_names() -> the sorted names of the service's waiters.
function Client:waiter_names()
  return require("luaws.sdk.waiters").names(self.service)
end

M.Client = Client
M.metatable = Client_mt
require("luaws.sdk.credentials.provider").client_factory = M.new
return M
