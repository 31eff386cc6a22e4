-- endpoints.resolver: a client's endpoint resolution: the rule-set parameters from configuration
-- (built-ins), from the operation (static, member and operation context parameters) and from the
-- client (clientContextParams), evaluated by the service's compiled rule set, as botocore's
-- EndpointRulesetResolver does. Services without a rule set use luaws.sdk.endpoints.resolve.

local M = {}

-- luaws.sdk.endpoints requires nothing of this module; required lazily all the same so that
-- loading the engine never loads configuration it does not use.
local function config() return require "luaws.sdk.config" end
local function endpoints() return require "luaws.sdk.endpoints" end

local function raise(fields)
  error(config().error(fields), 0)
end

--- resolver.CACHE_SIZE: endpoints kept per client before the cache starts over.
M.CACHE_SIZE = 100

-- Compiled rule sets, one per service name, built on first use.
local compiled = {}

--- resolver.compiled(name, ruleset) -> the compiled evaluate(params) for a service's rule set
--- (compiled once per name; ruleset may be a function returning the table).
function M.compiled(name, ruleset)
  local hit = compiled[name]
  if hit then return hit end
  if type(ruleset) == "function" then ruleset = ruleset() end
  if not ruleset then return nil end
  hit = require("luaws.sdk.endpoints.rules").compile(ruleset)
  compiled[name] = hit
  return hit
end

--- resolver.forget(name): drops a compiled rule set (tests that swap rule sets).
function M.forget(name)
  if name then compiled[name] = nil else compiled = {} end
end

-- The `s3` nested section of the profile (botocore's s3 config): {key -> string} or {}.
local function s3_section(settings)
  local s3 = settings and settings.s3
  return type(s3) == "table" and s3 or {}
end

local function bool_setting(value)
  if value == nil then return nil end
  return config().truthy(value)
end

-- The env-over-profile value of a setting.
local function setting(settings, env_name, key, nested)
  local value = env_name and config().getenv(env_name)
  if value ~= nil then return value end
  if nested then
    value = nested[key]
    if value ~= nil and value ~= "" then return value end
  end
  value = settings[key]
  if value == "" then return nil end
  return value
end

--- resolver.builtins{service=, region=, settings=, endpoint_url=<configured URL or nil>,
--- use_fips_endpoint=, use_dualstack_endpoint=, account_id=} -> {["AWS::Region"]=, ...}: the
--- rule-set built-ins as botocore computes them from configuration (args.py).
function M.builtins(args)
  local settings = args.settings or {}
  local s3 = s3_section(settings)
  local region = args.region
  local given = args.endpoint_url
  local fips = args.use_fips_endpoint
  if fips == nil then fips = config().truthy(setting(settings, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint")) end
  local dualstack = args.use_dualstack_endpoint
  if dualstack == nil and (args.service == "s3" or args.service == "s3-control") then
    dualstack = bool_setting(s3.use_dualstack_endpoint)
  end
  if dualstack == nil then
    dualstack = config().truthy(setting(settings, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"))
  end
  local accelerate = config().truthy(s3.use_accelerate_endpoint)
  local style = s3.addressing_style
  local force_path
  if accelerate then
    force_path = false
  elseif given then
    force_path = style ~= "virtual"
  else
    force_path = style == "path"
  end
  local s3_regional = setting(settings, "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "s3_us_east_1_regional_endpoint", { s3_us_east_1_regional_endpoint = s3.us_east_1_regional_endpoint })
  local sts_regional = setting(settings, "AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints") or "regional"
  local use_arn_region = setting(settings, "AWS_S3_USE_ARN_REGION", "s3_use_arn_region",
    { s3_use_arn_region = s3.use_arn_region })
  local disable_mrap = setting(settings, "AWS_S3_DISABLE_MULTIREGION_ACCESS_POINTS",
    "s3_disable_multiregion_access_points",
    { s3_disable_multiregion_access_points = s3.s3_disable_multiregion_access_points })
  local express = setting(settings, "AWS_S3_DISABLE_EXPRESS_SESSION_AUTH", "s3_disable_express_session_auth")
  return {
    ["AWS::Region"] = region,
    ["AWS::UseFIPS"] = given == nil and fips or false,
    ["AWS::UseDualStack"] = given == nil and dualstack or false,
    ["AWS::STS::UseGlobalEndpoint"] = sts_regional == "legacy"
      and endpoints().LEGACY_GLOBAL_STS_REGIONS[region] == true,
    ["AWS::S3::UseGlobalEndpoint"] = (region == nil or region == "us-east-1")
      and (s3_regional or "legacy") == "legacy",
    ["AWS::S3::Accelerate"] = accelerate,
    ["AWS::S3::ForcePathStyle"] = force_path,
    ["AWS::S3::UseArnRegion"] = use_arn_region == nil or config().truthy(use_arn_region),
    ["AWS::S3Control::UseArnRegion"] = use_arn_region ~= nil and config().truthy(use_arn_region),
    ["AWS::S3::DisableMultiRegionAccessPoints"] = config().truthy(disable_mrap),
    ["AWS::S3::DisableS3ExpressSessionAuth"] = bool_setting(express),
    ["SDK::Endpoint"] = given,
    ["AWS::Auth::AccountId"] = args.account_id
      or setting(settings, "AWS_ACCOUNT_ID", "aws_account_id"),
    ["AWS::Auth::AccountIdEndpointMode"] = setting(settings, "AWS_ACCOUNT_ID_ENDPOINT_MODE",
      "account_id_endpoint_mode") or "preferred",
  }
end

-- A small JMESPath subset for operationContextParams: a.b, a[*].b, a[*].[b, c][], keys(a).
local function search(path, data)
  local fn_arg = path:match("^keys%((.*)%)$")
  if fn_arg then
    local v = search(fn_arg, data)
    if type(v) ~= "table" then return nil end
    local out = {}
    for k in pairs(v) do out[#out + 1] = k end
    table.sort(out)
    return out
  end
  local head, rest = path:match("^([%w_]+)%[%*%]%.?(.*)$")
  if head then
    local list = type(data) == "table" and data[head]
    if type(list) ~= "table" then return nil end
    local flatten = rest:sub(-2) == "[]"
    if flatten then rest = rest:sub(1, -3) end
    local multi = rest:match("^%[(.*)%]$")
    local out = {}
    for _, item in ipairs(list) do
      if multi then
        local row = {}
        for sub in multi:gmatch("[^,]+") do
          row[#row + 1] = search((sub:gsub("^%s+", ""):gsub("%s+$", "")), item)
        end
        if flatten then
          for _, v in pairs(row) do out[#out + 1] = v end
        else
          out[#out + 1] = row
        end
      else
        local v = rest == "" and item or search(rest, item)
        if v ~= nil then out[#out + 1] = v end
      end
    end
    return out
  end
  local value = data
  for key in path:gmatch("[^.]+") do
    if type(value) ~= "table" then return nil end
    value = value[key]
  end
  return value
end
M.search = search

-- An operation field the model's op table may not copy: the raw generated operation's.
local function op_field(op, key)
  local v = op[key]
  if v ~= nil then return v end
  local svc = op.service
  local raw = type(svc) == "table" and rawget(svc, "_data") and svc:raw_operation(op.name)
  return raw and raw[key]
end

-- Per operation: {static={Name=value}, members={Name=member}, paths={Name=jmespath}} or false.
local op_params_cache = setmetatable({}, { __mode = "k" })

local function op_params(op)
  local hit = op_params_cache[op]
  if hit ~= nil then return hit end
  local static, members, paths, any = {}, {}, {}, false
  for name, v in pairs(op_field(op, "static_context_params") or {}) do
    if type(v) == "table" then v = v.value end
    static[name], any = v, true
  end
  for name, v in pairs(op_field(op, "context_params") or {}) do members[name], any = v, true end
  local input = op.input
  if type(input) == "table" and input.members then
    for _, ref in ipairs(input.members) do
      local cp = rawget(ref, "contextParam")
      if type(cp) == "table" and cp.name then members[cp.name], any = ref.name, true end
    end
  end
  for name, v in pairs(op_field(op, "operation_context_params") or {}) do
    if type(v) == "table" then v = v.path end
    paths[name], any = v, true
  end
  hit = any and { static = static, members = members, paths = paths } or false
  op_params_cache[op] = hit
  return hit
end

-- A lowerCamel/UpperCamel parameter name in snake case (botocore's xform_name).
local function snake(name)
  return (name:gsub("(%l)(%u)", "%1_%2"):gsub("(%u)(%u%l)", "%1_%2"):lower())
end

local Resolver = {}
Resolver.__index = Resolver

--- resolver.new{service=<model>, name=<service name>, region=, settings=<profile table>,
--- endpoint_url=<explicit option>, use_fips_endpoint=, use_dualstack_endpoint=,
--- client_context={Name or snake_name = value}, rules=<ruleset table or function, default
--- service:rules()>} -> a resolver; nothing is compiled until the first resolve.
function M.new(args)
  local svc = args.service
  local self = setmetatable({ service = svc, name = args.name or svc.name, region = args.region,
    settings = args.settings or {}, client_context = args.client_context or {},
    explicit_url = args.endpoint_url, fips = args.use_fips_endpoint,
    dualstack = args.use_dualstack_endpoint, cache = {}, cached = 0 }, Resolver)
  local ruleset = args.rules
  if ruleset == nil and type(svc.rules) == "function" then
    ruleset = function() return svc:rules() end
  end
  self.ruleset = ruleset
  local configured, source = endpoints().configured_url({ endpoint_url = args.endpoint_url,
    service_id = svc.service_id }, self.settings)
  if configured then
    configured = endpoints().check_url(configured, source)
  end
  self.configured_url, self.source = configured, source
  self.builtins = M.builtins { service = self.name, region = args.region, settings = self.settings,
    endpoint_url = configured, use_fips_endpoint = args.use_fips_endpoint,
    use_dualstack_endpoint = args.use_dualstack_endpoint, account_id = args.account_id }
  return self
end

-- The legacy resolution (no rule set): today's partition-based endpoints.resolve.
local function legacy(self)
  local svc = self.service
  return endpoints().resolve {
    service_id = svc.service_id, endpoint_prefix = svc.endpoint_prefix,
    signing_name = svc.signing_name, region = self.region, endpoint_url = self.explicit_url,
    -- one endpoint per partition (IAM); STS's globalEndpoint is legacy: it is regional now
    profile = self.settings, global = svc.partition_endpoints and true,
    use_fips_endpoint = self.fips, use_dualstack_endpoint = self.dualstack,
  }
end

-- The service's customization table (luaws.sdk.customizations; never nil), looked up once.
function Resolver:customization()
  local custom = self.custom
  if not custom then
    custom = require("luaws.sdk.customizations").for_service(self.name)
    self.custom = custom
  end
  return custom
end

-- The built-ins for one call: the client's, or a copy a service customization adjusted for
-- this operation and input (S3: path style for GetBucketLocation, never for ARN buckets).
function Resolver:builtins_for(op, call_params)
  local adjust = self:customization().endpoint_builtins
  if adjust and op then
    return adjust(self.builtins, op, call_params or {}) or self.builtins
  end
  return self.builtins
end

-- Parameter values by rule-set parameter name: context first, then client context, then
-- built-ins (botocore's _get_provider_params order).
local function provider_params(self, spec_list, builtins, o, call_params)
  local out, parts = {}, {}
  for _, spec in ipairs(spec_list) do
    local name, v = spec.name, nil
    if o then
      v = o.static[name]
      if v == nil and o.members[name] and call_params then v = call_params[o.members[name]] end
      if v == nil and o.paths[name] and call_params then v = search(o.paths[name], call_params) end
      if v ~= nil then parts[#parts + 1] = name .. "=" .. tostring(v) end
    end
    if v == nil and spec.client_context then
      v = self.client_context[name]
      if v == nil then v = self.client_context[snake(name)] end
    end
    if v == nil and spec.builtin then v = builtins[spec.builtin] end
    out[name] = v
  end
  return out, table.concat(parts, "\0")
end

-- The authSchemes entry to sign with, as botocore without awscrt picks it: the first SigV4 one
-- (plain or S3 Express), else the first of any kind (sigv4a: SigV4a is not implemented).
local function auth_scheme(result)
  local schemes = result.properties and result.properties.authSchemes
  if type(schemes) ~= "table" then return nil end
  for _, s in ipairs(schemes) do
    if s.name == "sigv4" or s.name == "sigv4-s3express" then return s end
  end
  return schemes[1]
end

-- The rule set's parameter list (name, builtIn, whether a client context parameter), cached.
local spec_cache = setmetatable({}, { __mode = "k" })
local function spec_list(svc, ruleset)
  local hit = spec_cache[ruleset]
  if hit then return hit end
  local client_ctx = {}
  local meta = svc.metadata or {}
  for name in pairs(meta.clientContextParams or svc.client_context_params or {}) do client_ctx[name] = true end
  hit = {}
  for name, spec in pairs(ruleset.parameters or {}) do
    hit[#hit + 1] = { name = name, builtin = spec.builtIn, client_context = client_ctx[name] }
  end
  table.sort(hit, function(a, b) return a.name < b.name end)
  spec_cache[ruleset] = hit
  return hit
end

--- resolver:resolve(op, params) -> {url=, headers={name=value}, signing_region=, signing_name=,
--- auth_scheme=<the chosen authSchemes entry or nil>, properties=, source=} for one call of op
--- (an operation of the model, or nil for the operation-independent endpoint) with its input
--- params. Results are cached per client and per value of the operation's context parameters.
--- Raises NoRegion when there is no region to sign with, EndpointResolutionError from rules.
-- The rule set (loaded on first use), or false for a service without one.
function Resolver:rule_set()
  local ruleset = self.ruleset
  if type(ruleset) == "function" then
    ruleset = ruleset() or false
    self.ruleset = ruleset
  end
  return ruleset or false
end

-- Operations as adjusted for rule-set endpoints, per customization function and operation.
local adjusted = setmetatable({}, { __mode = "k" })

--- resolver:operation(op) -> the operation the protocol should build the request from: with a
--- rule set, the service customization's endpoint_operation(op) copy when it returns one (S3:
--- no "/{Bucket}" in the request URI, the endpoint holds the bucket; S3 Control: no
--- "{AccountId}." host prefix), else op itself.
function Resolver:operation(op)
  if not op or not self:rule_set() then return op end
  local adjust = self:customization().endpoint_operation
  if not adjust then return op end
  local per = adjusted[adjust]
  if not per then
    per = setmetatable({}, { __mode = "k" })
    adjusted[adjust] = per
  end
  local hit = per[op]
  if hit == nil then
    local o = op_params(op)
    hit = adjust(op, o and o.static or {}) or op
    per[op] = hit
  end
  return hit
end

function Resolver:resolve(op, call_params)
  local ruleset = self:rule_set()
  if not ruleset then
    local hit = self.cache[""]
    if not hit then
      hit = legacy(self)
      self.cache[""] = hit
    end
    return hit
  end
  local builtins = self:builtins_for(op, call_params)
  local specs = spec_list(self.service, ruleset)
  local params, key = provider_params(self, specs, builtins, op and op_params(op), call_params)
  if builtins ~= self.builtins then
    for name, v in pairs(builtins) do
      if v ~= self.builtins[name] then key = key .. "\1" .. name .. "=" .. tostring(v) end
    end
  end
  local hit = self.cache[key]
  if hit then return hit end
  local evaluate = M.compiled(self.name, ruleset)
  local ok, result = pcall(evaluate, params)
  if not ok then
    if type(result) == "table" and params.Region == nil and self.region == nil then
      raise { code = "NoRegion", exit = 2, service = self.service.service_id, message = string.format(
        "You must specify a region for %s: use --region, set AWS_REGION or AWS_DEFAULT_REGION, or "
        .. "add region to the profile", tostring(self.name)) }
    end
    if type(result) == "table" then
      result.service = result.service or self.service.service_id
      result.operation = result.operation or (op and op.name)
      result.exit = result.exit or 2
    end
    error(result, 0)
  end
  local scheme = auth_scheme(result)
  local signing_region = scheme and scheme.signingRegion
  if signing_region == nil and scheme and type(scheme.signingRegionSet) == "table"
      and #scheme.signingRegionSet > 0 then
    signing_region = table.concat(scheme.signingRegionSet, ",")
  end
  if signing_region == nil then
    -- As botocore's ClientEndpointBridge: a configured URL signs for the client's region; else
    -- a service with one endpoint per partition signs for that endpoint's region.
    if not self.configured_url then signing_region = self:global_region() end
    signing_region = signing_region or self.region or self:global_region()
  end
  if signing_region == nil then
    raise { code = "NoRegion", exit = 2, service = self.service.service_id, message = string.format(
      "You must specify a region to sign requests for %s (endpoint %s): use --region, AWS_REGION "
      .. "or the profile's region", tostring(self.name), tostring(result.url)) }
  end
  local headers
  for name, values in pairs(result.headers or {}) do
    headers = headers or {}
    headers[name] = values[1]
  end
  hit = { url = result.url, headers = headers, properties = result.properties,
    signing_region = signing_region,
    signing_name = scheme and scheme.signingName or self.service.signing_name,
    auth_scheme = scheme, source = self.source or "rules" }
  -- At most CACHE_SIZE results (botocore keeps 100): an S3 client's keys are context parameters,
  -- so a loop over many objects must not grow the cache without end.
  if self.cached >= M.CACHE_SIZE then
    self.cache, self.cached = {}, 0
  end
  self.cache[key] = hit
  self.cached = self.cached + 1
  return hit
end

-- The signing region of a service with one endpoint per partition (IAM, Health, ...) in the
-- client's region's partition (botocore's credentialScope from endpoints.json), or nil.
function Resolver:global_region()
  local p = endpoints().partition(self.region)
  local g = p and p.global_services and p.global_services[self.service.endpoint_prefix]
  return g and g.region or nil
end

return M
