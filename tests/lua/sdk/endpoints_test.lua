-- endpoints_test: partitions, global vs regional endpoints, and the endpoint URL precedence.
local T = require "testing"
local config = require "luaws.sdk.config"
local endpoints = require "luaws.sdk.endpoints"
local partitions = require "luaws.sdk.endpoints.partitions"

local tmpdir, write = T.tempdir()

local function env(vars)
  local e = { HOME = tmpdir, AWS_CONFIG_FILE = tmpdir .. "/no-config",
    AWS_SHARED_CREDENTIALS_FILE = tmpdir .. "/no-credentials" }
  for k, v in pairs(vars or {}) do e[k] = v end
  config.set_env(e)
end

local SERVICES = {
  kms = { service_id = "KMS", endpoint_prefix = "kms", signing_name = "kms" },
  sts = { service_id = "STS", endpoint_prefix = "sts", signing_name = "sts" },
  iam = { service_id = "IAM", endpoint_prefix = "iam", signing_name = "iam" },
  organizations = { service_id = "Organizations", endpoint_prefix = "organizations", signing_name = "organizations" },
  ec2 = { service_id = "EC2", endpoint_prefix = "ec2", signing_name = "ec2" },
  autoscaling = { service_id = "Auto Scaling", endpoint_prefix = "autoscaling", signing_name = "autoscaling" },
  route53 = { service_id = "Route 53", endpoint_prefix = "route53", signing_name = "route53" },
}

local function resolve(service, fields)
  local args = {}
  for k, v in pairs(SERVICES[service]) do args[k] = v end
  for k, v in pairs(fields or {}) do args[k] = v end
  return endpoints.resolve(args)
end

T.test("regional services: {prefix}.{region}.{dnsSuffix} in each partition", function()
  env {}
  local r = resolve("kms", { region = "us-east-1" })
  T.same(r, { url = "https://kms.us-east-1.amazonaws.com", signing_region = "us-east-1",
    signing_name = "kms", partition = "aws", source = "computed" })
  T.eq(resolve("kms", { region = "cn-north-1" }).url, "https://kms.cn-north-1.amazonaws.com.cn")
  T.eq(resolve("ec2", { region = "us-gov-west-1" }).url, "https://ec2.us-gov-west-1.amazonaws.com")
  T.eq(resolve("ec2", { region = "us-gov-west-1" }).partition, "aws-us-gov")
  T.eq(resolve("autoscaling", { region = "eu-west-1" }).url, "https://autoscaling.eu-west-1.amazonaws.com")
  T.eq(resolve("kms", { region = "us-iso-east-1" }).url, "https://kms.us-iso-east-1.c2s.ic.gov")
  T.eq(resolve("kms", { region = "ap-newplace-9" }).url, "https://kms.ap-newplace-9.amazonaws.com",
    "a region matching the aws pattern but not listed yet")
  T.eq(resolve("kms", { region = "local" }).partition, "aws", "unknown shapes fall back to aws")
end)

T.test("global services: IAM, Organizations, Route 53 in aws, aws-cn, aws-us-gov", function()
  env {}
  T.same(resolve("iam", { region = "eu-west-1" }), { url = "https://iam.amazonaws.com",
    signing_region = "us-east-1", signing_name = "iam", partition = "aws", source = "global" })
  local cn = resolve("iam", { region = "cn-northwest-1" })
  T.eq(cn.url, "https://iam.cn-north-1.amazonaws.com.cn")
  T.eq(cn.signing_region, "cn-north-1")
  local gov = resolve("iam", { region = "us-gov-east-1" })
  T.eq(gov.url, "https://iam.us-gov.amazonaws.com")
  T.eq(gov.signing_region, "us-gov-west-1")
  local orgs = resolve("organizations", { region = "ap-southeast-2" })
  T.eq(orgs.url, "https://organizations.us-east-1.amazonaws.com")
  T.eq(orgs.signing_region, "us-east-1")
  T.eq(resolve("route53", { region = "us-west-2" }).url, "https://route53.amazonaws.com")
end)

T.test("a global service needs no region; a regional one raises NoRegion", function()
  env {}
  local r = resolve("iam", {})
  T.eq(r.url, "https://iam.amazonaws.com")
  T.eq(r.signing_region, "us-east-1")
  local e = T.raises(function() resolve("kms", {}) end)
  T.eq(e.code, "NoRegion")
  T.match(e.message, "AWS_REGION")
  T.eq(e.exit, 2)
  local hinted = endpoints.resolve { service_id = "New Global", endpoint_prefix = "newglobal", global = true }
  T.eq(hinted.url, "https://newglobal.amazonaws.com")
  T.eq(hinted.signing_region, "us-east-1")
end)

T.test("STS is regional (CLI v2); sts_regional_endpoints=legacy uses the global host", function()
  env {}
  T.eq(resolve("sts", { region = "us-east-1" }).url, "https://sts.us-east-1.amazonaws.com")
  T.eq(resolve("sts", { region = "eu-west-1" }).url, "https://sts.eu-west-1.amazonaws.com")
  env { AWS_STS_REGIONAL_ENDPOINTS = "legacy" }
  local legacy = resolve("sts", { region = "eu-west-1" })
  T.eq(legacy.url, "https://sts.amazonaws.com")
  T.eq(legacy.signing_region, "us-east-1")
  T.eq(resolve("sts", { region = "ap-east-1" }).url, "https://sts.ap-east-1.amazonaws.com",
    "regions newer than the legacy list stay regional")
end)

T.test("FIPS and dual-stack variants", function()
  env { AWS_USE_FIPS_ENDPOINT = "true" }
  T.eq(resolve("kms", { region = "us-east-1" }).url, "https://kms-fips.us-east-1.amazonaws.com")
  T.eq(resolve("iam", { region = "us-east-1" }).url, "https://iam-fips.amazonaws.com")
  env { AWS_USE_DUALSTACK_ENDPOINT = "true" }
  T.eq(resolve("ec2", { region = "eu-west-1" }).url, "https://ec2.eu-west-1.api.aws")
  T.eq(T.raises(function() resolve("organizations", { region = "us-east-1" }) end).code,
    "InvalidConfiguration")
end)

T.test("bad region names are InvalidRegion (exit 2)", function()
  env {}
  for _, bad in ipairs { "US-EAST-1", "us_east_1", "us-east-1.", "-x", "12", "eu west 1" } do
    local e = T.raises(function() resolve("kms", { region = bad }) end, bad)
    T.eq(e.code, "InvalidRegion", bad)
    T.eq(e.exit, 2)
  end
end)

T.test("endpoint URL precedence, top to bottom", function()
  local config_path = write("config", [[
[profile p]
region = eu-west-1
endpoint_url = http://profile.local:1
services = mine

[services mine]
kms =
  endpoint_url = http://services.local:2
auto_scaling =
  endpoint_url = http://asg.local:3
]])
  local vars = { AWS_CONFIG_FILE = config_path, AWS_ENDPOINT_URL = "http://global-env.local:4",
    AWS_ENDPOINT_URL_KMS = "http://kms-env.local:5" }
  env(vars)
  local function url(extra)
    local args = { profile = "p", region = "eu-west-1" }
    for k, v in pairs(extra or {}) do args[k] = v end
    return resolve("kms", args).url
  end
  T.eq(url { endpoint_url = "http://explicit.local:6" }, "http://explicit.local:6")
  T.eq(url(), "http://kms-env.local:5")
  vars.AWS_ENDPOINT_URL_KMS = nil
  env(vars)
  T.eq(url(), "http://global-env.local:4")
  vars.AWS_ENDPOINT_URL = nil
  env(vars)
  T.eq(url(), "http://services.local:2")
  T.eq(resolve("autoscaling", { profile = "p", region = "eu-west-1" }).url, "http://asg.local:3",
    "service ids with spaces use underscores in services sections")
  T.eq(resolve("ec2", { profile = "p", region = "eu-west-1" }).url, "http://profile.local:1")
  T.eq(resolve("ec2", { profile = config.profile("p"), region = "eu-west-1" }).url,
    "http://profile.local:1", "profile given as a settings table")
  env { AWS_CONFIG_FILE = config_path, AWS_ENDPOINT_URL_AUTO_SCALING = "http://asg-env.local:7" }
  T.eq(resolve("autoscaling", { profile = "p", region = "eu-west-1" }).url, "http://asg-env.local:7")
end)

T.test("ignoring configured endpoint URLs keeps only the explicit option", function()
  local config_path = write("config-ignore", "[profile p]\nendpoint_url = http://profile.local:1\n"
    .. "[profile q]\nendpoint_url = http://profile.local:1\nignore_configured_endpoint_urls = true\n")
  env { AWS_CONFIG_FILE = config_path, AWS_ENDPOINT_URL = "http://env.local:2",
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" }
  T.eq(resolve("kms", { profile = "p", region = "us-east-1" }).url, "https://kms.us-east-1.amazonaws.com")
  T.eq(resolve("kms", { profile = "p", region = "us-east-1", endpoint_url = "http://x.local:3" }).url,
    "http://x.local:3")
  env { AWS_CONFIG_FILE = config_path }
  T.eq(resolve("kms", { profile = "q", region = "us-east-1" }).url, "https://kms.us-east-1.amazonaws.com")
  T.eq(resolve("kms", { profile = "p", region = "us-east-1" }).url, "http://profile.local:1")
end)

T.test("a configured endpoint keeps the configured region for signing", function()
  env { AWS_ENDPOINT_URL = "http://127.0.0.1:5000/" }
  local r = resolve("kms", { region = "eu-central-1" })
  T.eq(r.url, "http://127.0.0.1:5000", "trailing slash dropped")
  T.eq(r.signing_region, "eu-central-1")
  T.eq(r.source, "AWS_ENDPOINT_URL")
  T.eq(resolve("iam", { region = "eu-central-1" }).signing_region, "eu-central-1")
  T.eq(resolve("iam", {}).signing_region, "us-east-1", "global service, no region: its home region")
  T.eq(T.raises(function() resolve("kms", {}) end).code, "NoRegion")
  env { AWS_ENDPOINT_URL = "localhost:5000" }
  local e = T.raises(function() resolve("kms", { region = "us-east-1" }) end)
  T.eq(e.code, "InvalidEndpoint")
  T.match(e.message, "AWS_ENDPOINT_URL")
end)

-- botocore is on this machine kind; when it is, the generated data and the endpoints must agree.
local cases = {}
for service in pairs(SERVICES) do
  for _, region in ipairs { "us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "cn-northwest-1",
    "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1" } do
    cases[#cases + 1] = service .. " " .. region
  end
end
table.sort(cases)
local quoted = {}
for i, c in ipairs(cases) do quoted[i] = "'" .. c .. "'" end
local helper = (os.getenv("LUAWS_SOURCE_DIR") or ".") .. "/tests/lib/botocore_endpoints.py"
local pipe = io.popen("python3 " .. helper .. " " .. table.concat(quoted, " ") .. " 2>/dev/null")
local helper_output = pipe:read("a")
pipe:close()
local botocore_view = require("cjson.safe").decode(helper_output)

T.test("partition data matches botocore's partitions.json", function()
  if not botocore_view then
    -- the generated table is committed for machines without botocore; check its shape instead
    T.ok(#partitions >= 3)
    return
  end
  local ours = {}
  for _, p in ipairs(partitions) do ours[p.id] = p end
  for _, p in ipairs(botocore_view.partitions) do
    local mine = ours[p.id]
    T.ok(mine, "partition " .. p.id .. " missing: run tools/gen_partitions.py")
    T.eq(mine.region_regex, p.regionRegex, p.id)
    T.eq(mine.dns_suffix, p.dnsSuffix, p.id)
    T.eq(mine.dualstack_dns_suffix, p.dualStackDnsSuffix, p.id)
    T.eq(mine.implicit_global_region, p.implicitGlobalRegion, p.id)
  end
end)

T.test("endpoints match botocore clients for every service and partition", function()
  env {}
  if not botocore_view then
    T.eq(resolve("iam", { region = "cn-north-1" }).url, "https://iam.cn-north-1.amazonaws.com.cn")
    return
  end
  local checked = 0
  for _, case in ipairs(cases) do
    local service, region = case:match("^(%S+) (%S+)$")
    local expected = botocore_view.endpoints[case]
    local got = resolve(service, { region = region })
    T.eq(got.url, expected.url, case)
    T.eq(got.signing_region, expected.signing_region, case)
    checked = checked + 1
  end
  T.eq(checked, #cases)
end)

os.execute("rm -rf " .. tmpdir)
T.done()
