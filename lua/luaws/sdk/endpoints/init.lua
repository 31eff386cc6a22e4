-- endpoints: which URL a service call goes to and which region signs it, in the SDKs' order:
-- explicit option, AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's services section,
-- the profile's endpoint_url, then the partition's computed endpoint.
local config = require "luaws.sdk.config"
local partitions = require "luaws.sdk.endpoints.partitions"

local M = {}

local function raise(fields)
  error(config.error(fields), 0)
end

-- Regions for which sts_regional_endpoints=legacy still means the global sts.amazonaws.com
-- (botocore's LEGACY_GLOBAL_STS_REGIONS).
local LEGACY_GLOBAL_STS_REGIONS = {}
for _, region in ipairs { "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
  "aws-global", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
  "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2" } do
  LEGACY_GLOBAL_STS_REGIONS[region] = true
end
M.LEGACY_GLOBAL_STS_REGIONS = LEGACY_GLOBAL_STS_REGIONS

local by_id = {}
for _, p in ipairs(partitions) do by_id[p.id] = p end

--- endpoints.partition(region) -> the partition table for region: one that lists it, else the
--- first whose region patterns match, else "aws" (as the SDKs do for unknown names).
function M.partition(region)
  if region then
    for _, p in ipairs(partitions) do
      for _, known in ipairs(p.regions) do
        if known == region then return p end
      end
    end
    for _, p in ipairs(partitions) do
      for _, pattern in ipairs(p.region_patterns) do
        if region:match(pattern) then return p end
      end
    end
  end
  return by_id.aws
end

--- endpoints.partition_by_id(id) -> partition table or nil ("aws", "aws-cn", "aws-us-gov", ...).
function M.partition_by_id(id)
  return by_id[id]
end

--- endpoints.check_url(url, source) -> url, or raises InvalidEndpoint (exit 2) naming source.
local function check_url(url, source)
  if type(url) ~= "string" or not url:match("^https?://[^/?#]+") then
    raise { code = "InvalidEndpoint", exit = 2, message = string.format(
      "endpoint URL %q (from %s) must start with http:// or https:// and name a host",
      tostring(url), source) }
  end
  return url
end

--- endpoints.configured_url({endpoint_url=, service_id=}, settings) -> the configured (not
--- computed) endpoint URL and where it came from, or nil: the option, AWS_ENDPOINT_URL_<SERVICE>,
--- AWS_ENDPOINT_URL, the profile's services section, the profile's endpoint_url.
local function configured_url(args, settings)
  if args.endpoint_url ~= nil then return args.endpoint_url, "the endpoint_url option" end
  local ignore = config.getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
  if ignore == nil then ignore = settings.ignore_configured_endpoint_urls end
  if config.truthy(ignore) then return nil end
  if args.service_id then
    local env_name = "AWS_ENDPOINT_URL_" .. config.service_env_suffix(args.service_id)
    local url = config.getenv(env_name)
    if url then return url, env_name end
  end
  local url = config.getenv("AWS_ENDPOINT_URL")
  if url then return url, "AWS_ENDPOINT_URL" end
  if args.service_id then
    url = config.service_setting(settings, args.service_id, "endpoint_url")
    if url and url ~= "" then
      return url, string.format("the services section %q of the profile", settings.services)
    end
  end
  url = settings.endpoint_url
  if url and url ~= "" then return url, "the profile's endpoint_url" end
  return nil
end

M.check_url = check_url
M.configured_url = configured_url

local function setting(settings, env_name, key)
  local value = config.getenv(env_name)
  if value == nil then value = settings[key] end
  return value
end

--- endpoints.resolve{service_id=, endpoint_prefix=, signing_name=, region=, endpoint_url=,
--- profile=<settings table or profile name>, global=<true for a service with one endpoint per
--- partition>, use_fips_endpoint=, use_dualstack_endpoint=}
--- -> {url=, signing_region=, signing_name=, partition=, source=}.
--- A configured endpoint URL keeps the configured region for signing. Raises NoRegion when a
--- regional service has no region, InvalidRegion / InvalidEndpoint (exit 2) for bad values.
function M.resolve(args)
  local prefix = args.endpoint_prefix or (args.service_id and config.service_key(args.service_id))
  local signing_name = args.signing_name or prefix
  local settings = args.profile
  if type(settings) ~= "table" then settings = config.profile(settings) end
  local region = args.region
  if region ~= nil then config.check_region(region) end
  local partition = M.partition(region)
  local global = partition.global_services[prefix]
  if global == nil and args.global then
    global = { hostname = prefix .. "." .. partition.dns_suffix, region = partition.implicit_global_region }
  end

  local url, source = configured_url(args, settings)
  if url then
    check_url(url, source)
    local signing_region = region or (global and global.region)
    if not signing_region then
      raise { code = "NoRegion", exit = 2, service = args.service_id, message = string.format(
        "You must specify a region to sign requests for %s (endpoint %s): use --region, AWS_REGION "
        .. "or the profile's region", tostring(args.service_id or prefix), url) }
    end
    return { url = url:gsub("/+$", ""), signing_region = signing_region, signing_name = signing_name,
      partition = partition.id, source = source }
  end

  local fips = args.use_fips_endpoint
  if fips == nil then fips = config.truthy(setting(settings, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint")) end
  local dualstack = args.use_dualstack_endpoint
  if dualstack == nil then
    dualstack = config.truthy(setting(settings, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"))
  end

  if global then
    local hostname = global.hostname
    if fips or dualstack then
      hostname = (fips and not dualstack and global.fips) or (dualstack and not fips and global.dualstack)
      if not hostname then
        raise { code = "InvalidConfiguration", exit = 2, message = string.format(
          "%s has no %s endpoint in partition %s", tostring(args.service_id or prefix),
          fips and (dualstack and "FIPS dual-stack" or "FIPS") or "dual-stack", partition.id) }
      end
    end
    return { url = "https://" .. hostname, signing_region = global.region, signing_name = signing_name,
      partition = partition.id, source = "global" }
  end

  if not region then
    raise { code = "NoRegion", exit = 2, service = args.service_id, message = string.format(
      "You must specify a region for %s: use --region, set AWS_REGION or AWS_DEFAULT_REGION, or "
      .. "add region to the profile", tostring(args.service_id or prefix)) }
  end
  if prefix == "sts" and not fips and not dualstack and LEGACY_GLOBAL_STS_REGIONS[region]
      and setting(settings, "AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints") == "legacy" then
    return { url = "https://sts.amazonaws.com", signing_region = "us-east-1",
      signing_name = signing_name, partition = "aws", source = "legacy-global" }
  end
  local host_prefix = fips and (prefix .. "-fips") or prefix
  local suffix = dualstack and partition.dualstack_dns_suffix or partition.dns_suffix
  return { url = string.format("https://%s.%s.%s", host_prefix, region, suffix),
    signing_region = region, signing_name = signing_name, partition = partition.id,
    source = "computed" }
end

return M
