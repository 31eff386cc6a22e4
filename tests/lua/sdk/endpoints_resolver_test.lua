-- endpoints_resolver_test: a client's endpoint per call: built-ins from the environment and the
-- profile, configured endpoint URLs, context parameters from the operation input, S3's
-- customization, signing scope from authSchemes, caching, and the client using all of it.
local T = require "testing"
local config = require "luaws.sdk.config"
local resolver = require "luaws.sdk.endpoints.resolver"
local fakeserver = require "fakeserver"

local tmpdir, write = T.tempdir()

-- Installs an environment (and a config file with profile lines) for the next resolver.
local function env(vars, profile)
  local path = tmpdir .. "/config"
  write("config", "[default]\n" .. (profile or ""))
  local e = { HOME = tmpdir, AWS_CONFIG_FILE = path, AWS_SHARED_CREDENTIALS_FILE = tmpdir .. "/none" }
  for k, v in pairs(vars or {}) do e[k] = v end
  config.set_env(e)
end

local function fn(name, ...) return { fn = name, argv = { ... } } end
local function ref(name) return { ref = name } end

-- A small service whose endpoint depends on a context parameter (like S3's Bucket).
local SHOP_RULES = {
  parameters = {
    Region = { type = "string", builtIn = "AWS::Region" },
    UseFIPS = { type = "boolean", builtIn = "AWS::UseFIPS", required = true, default = false },
    Endpoint = { type = "string", builtIn = "SDK::Endpoint" },
    Store = { type = "string" },
    Mode = { type = "string" },
    Tables = { type = "stringArray" },
  },
  rules = {
    { type = "endpoint", conditions = { fn("isSet", ref("Endpoint")) }, endpoint = { url = ref("Endpoint") } },
    { type = "endpoint", conditions = { fn("isSet", ref("Store")), fn("isSet", ref("Mode")) },
      endpoint = { url = "https://{Store}.{Mode}.shop.{Region}.example",
        properties = { authSchemes = { { name = "sigv4", signingName = "shopping", signingRegion = "eu-central-1" } } },
        headers = { ["x-store"] = { "{Store}" } } } },
    { type = "endpoint", conditions = { fn("isSet", ref("Store")) },
      endpoint = { url = "https://{Store}.shop.{Region}.example" } },
    { type = "endpoint", conditions = { fn("isSet", ref("Tables")),
        { fn = "getAttr", argv = { ref("Tables"), "[1]" }, assign = "Second" } },
      endpoint = { url = "https://{Second}.tables.{Region}.example" } },
    { type = "endpoint", conditions = { fn("isSet", ref("Region")) },
      endpoint = { url = "https://shop.{Region}.example" } },
    { type = "error", conditions = {}, error = "Invalid Configuration: Missing Region" },
  },
}

local function shop_service()
  return { name = "shop", service_id = "Shop", endpoint_prefix = "shop", signing_name = "shop",
    rules = function() return SHOP_RULES end }
end

local OPS = {
  Buy = { name = "Buy", input = { members = { { name = "StoreName", contextParam = { name = "Store" } },
    { name = "Item" } } } },
  Admin = { name = "Admin", static_context_params = { Mode = { value = "admin" } },
    input = { members = { { name = "StoreName", contextParam = { name = "Store" } } } } },
  Batch = { name = "Batch", operation_context_params = { Tables = { path = "Items[*].Table" } } },
}

local function new(args)
  resolver.forget("shop")
  local cfg = config.resolve {}
  args = args or {}
  return resolver.new { service = args.service or shop_service(), name = args.name or "shop",
    region = cfg.region, settings = cfg.settings, endpoint_url = args.endpoint_url }
end

T.test("the operation-independent endpoint, and signing scope defaulting to the region", function()
  env { AWS_REGION = "eu-west-1" }
  local ep = new():resolve(nil, nil)
  T.eq(ep.url, "https://shop.eu-west-1.example")
  T.eq(ep.signing_region, "eu-west-1")
  T.eq(ep.signing_name, "shop")
  T.eq(ep.headers, nil)
end)

T.test("context parameters come from input members; cached per value", function()
  env { AWS_REGION = "eu-west-1" }
  local r = new()
  local a = r:resolve(OPS.Buy, { StoreName = "north", Item = "x" })
  T.eq(a.url, "https://north.shop.eu-west-1.example")
  T.eq(r:resolve(OPS.Buy, { StoreName = "north", Item = "y" }), a)  -- same table: the cache
  T.eq(r:resolve(OPS.Buy, { StoreName = "south" }).url, "https://south.shop.eu-west-1.example")
  T.eq(r:resolve(OPS.Buy, {}).url, "https://shop.eu-west-1.example")
  for i = 1, 3 * resolver.CACHE_SIZE do r:resolve(OPS.Buy, { StoreName = "s" .. i }) end
  T.ok(r.cached <= resolver.CACHE_SIZE, "the cache stays bounded")
  T.eq(r:resolve(OPS.Buy, { StoreName = "s7" }).url, "https://s7.shop.eu-west-1.example")
end)

T.test("static context parameters; authSchemes set signing name and region; headers", function()
  env { AWS_REGION = "eu-west-1" }
  local ep = new():resolve(OPS.Admin, { StoreName = "north" })
  T.eq(ep.url, "https://north.admin.shop.eu-west-1.example")
  T.eq(ep.signing_name, "shopping")
  T.eq(ep.signing_region, "eu-central-1")
  T.same(ep.headers, { ["x-store"] = "north" })
end)

T.test("operation context parameters (a JMESPath projection)", function()
  env { AWS_REGION = "eu-west-1" }
  local ep = new():resolve(OPS.Batch, { Items = { { Table = "t1" }, { Table = "t2" } } })
  T.eq(ep.url, "https://t2.tables.eu-west-1.example")
  T.same(resolver.search("keys(RequestItems)", { RequestItems = { b = 1, a = 2 } }), { "a", "b" })
  T.same(resolver.search("TransactItems[*].[Put.T, Get.T][]",
    { TransactItems = { { Put = { T = "p" } }, { Get = { T = "g" } } } }), { "p", "g" })
  T.eq(resolver.search("A.B", { A = { B = "x" } }), "x")
end)

T.test("endpoint URL precedence: option, AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, profile", function()
  env({ AWS_REGION = "eu-west-1", AWS_ENDPOINT_URL_SHOP = "http://svc-env", AWS_ENDPOINT_URL = "http://all-env" },
    "endpoint_url = http://profile\n")
  T.eq(new({ endpoint_url = "http://option" }):resolve(nil, nil).url, "http://option")
  T.eq(new():resolve(nil, nil).url, "http://svc-env")
  env({ AWS_REGION = "eu-west-1", AWS_ENDPOINT_URL = "http://all-env" }, "endpoint_url = http://profile\n")
  T.eq(new():resolve(nil, nil).url, "http://all-env")
  env({ AWS_REGION = "eu-west-1" }, "endpoint_url = http://profile\n")
  local ep = new():resolve(nil, nil)
  T.eq(ep.url, "http://profile")
  T.eq(ep.signing_region, "eu-west-1")
  env({ AWS_REGION = "eu-west-1", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" }, "endpoint_url = http://profile\n")
  T.eq(new():resolve(nil, nil).url, "https://shop.eu-west-1.example")
  env { AWS_REGION = "eu-west-1", AWS_ENDPOINT_URL = "ftp://nope" }
  T.eq(T.raises(function() new() end).code, "InvalidEndpoint")
end)

T.test("no region: NoRegion, as before rule sets", function()
  env {}
  local e = T.raises(function() new():resolve(nil, nil) end)
  T.eq(e.code, "NoRegion")
end)

T.test("a client resolves its endpoint on first use; no region is NoRegion then", function()
  env {}
  local kms = aws.client("kms", { credentials = false })
  T.eq(rawget(kms, "endpoint"), nil)
  local e = T.raises(function() return kms.endpoint end)
  T.eq(e.code, "NoRegion")
  T.match(tostring(kms), "luaws.Client%(kms")
  env { AWS_REGION = "eu-west-1" }
  kms = aws.client("kms", { credentials = false })
  T.eq(kms.endpoint.url, "https://kms.eu-west-1.amazonaws.com")
  T.eq(rawget(kms, "endpoint"), kms.endpoint)
  T.eq(kms.region, "eu-west-1")
  T.eq(aws.client("iam", { credentials = false }).region, "us-east-1")   -- IAM signs for us-east-1
  env { AWS_REGION = "eu-west-1", AWS_ENDPOINT_URL = "ftp://bad" }
  T.eq(T.raises(function() aws.client("kms", { credentials = false }) end).code, "InvalidEndpoint")
end)

T.test("built-ins from the environment and the profile (botocore's args.py)", function()
  env({ AWS_REGION = "us-west-2", AWS_USE_FIPS_ENDPOINT = "true" }, "use_dualstack_endpoint = true\n")
  local b = resolver.builtins { service = "kms", region = "us-west-2", settings = config.profile() }
  T.eq(b["AWS::Region"], "us-west-2")
  T.eq(b["AWS::UseFIPS"], true)
  T.eq(b["AWS::UseDualStack"], true)
  T.eq(b["AWS::S3::ForcePathStyle"], false)
  T.eq(b["AWS::STS::UseGlobalEndpoint"], false)
  T.eq(b["AWS::S3::UseArnRegion"], true)
  T.eq(b["AWS::Auth::AccountIdEndpointMode"], "preferred")
  -- a configured URL turns FIPS and dual-stack off and S3 to path style unless asked otherwise
  b = resolver.builtins { service = "s3", region = "us-west-2", settings = config.profile(),
    endpoint_url = "http://127.0.0.1:1" }
  T.eq(b["AWS::UseFIPS"], false)
  T.eq(b["AWS::UseDualStack"], false)
  T.eq(b["AWS::S3::ForcePathStyle"], true)
  T.eq(b["SDK::Endpoint"], "http://127.0.0.1:1")
  env({ AWS_REGION = "us-east-1", AWS_STS_REGIONAL_ENDPOINTS = "legacy" },
    "s3 =\n  addressing_style = path\n  use_arn_region = false\n")
  b = resolver.builtins { service = "s3", region = "us-east-1", settings = config.profile() }
  T.eq(b["AWS::S3::ForcePathStyle"], true)
  T.eq(b["AWS::S3::UseArnRegion"], false)
  T.eq(b["AWS::S3::UseGlobalEndpoint"], true)
  T.eq(b["AWS::STS::UseGlobalEndpoint"], true)
end)

local botocore = require("rulesets").botocore("sts", "s3")
if botocore then
  local function service(name, extra)
    local svc = { name = name, service_id = name:upper(), endpoint_prefix = name, signing_name = name,
      rules = function() return botocore[name] end }
    for k, v in pairs(extra or {}) do svc[k] = v end
    return svc
  end

  T.test("STS goes regional by default and FIPS resolves sts-fips.<region>", function()
    resolver.forget("sts")
    env { AWS_REGION = "us-west-2" }
    T.eq(new({ service = service("sts"), name = "sts" }):resolve(nil, nil).url, "https://sts.us-west-2.amazonaws.com")
    env { AWS_REGION = "us-west-2", AWS_USE_FIPS_ENDPOINT = "true" }
    local ep = new({ service = service("sts"), name = "sts" }):resolve(nil, nil)
    T.eq(ep.url, "https://sts-fips.us-west-2.amazonaws.com")
    T.eq(ep.signing_region, "us-west-2")
    env { AWS_REGION = "us-west-2", AWS_STS_REGIONAL_ENDPOINTS = "legacy" }
    ep = new({ service = service("sts"), name = "sts" }):resolve(nil, nil)
    T.eq(ep.url, "https://sts.amazonaws.com")
    T.eq(ep.signing_region, "us-east-1")
  end)

  local BUCKET_OP = { name = "GetObject", input = { members = {
    { name = "Bucket", contextParam = { name = "Bucket" } }, { name = "Key", contextParam = { name = "Key" } } } } }
  local LOCATION_OP = { name = "GetBucketLocation", input = { members = {
    { name = "Bucket", contextParam = { name = "Bucket" } } } } }

  T.test("S3: virtual host for DNS-compatible buckets, path style for the others", function()
    env { AWS_REGION = "eu-west-1" }
    local r = new { service = service("s3"), name = "s3" }
    T.eq(r:resolve(BUCKET_OP, { Bucket = "mybucket", Key = "k" }).url, "https://mybucket.s3.eu-west-1.amazonaws.com")
    T.eq(r:resolve(BUCKET_OP, { Bucket = "my.bucket", Key = "k" }).url, "https://s3.eu-west-1.amazonaws.com/my.bucket")
    T.eq(r:resolve(BUCKET_OP, { Bucket = "MyBucket", Key = "k" }).url, "https://s3.eu-west-1.amazonaws.com/MyBucket")
    -- GetBucketLocation always goes path style (botocore's customization)
    T.eq(r:resolve(LOCATION_OP, { Bucket = "mybucket" }).url, "https://s3.eu-west-1.amazonaws.com/mybucket")
    T.eq(r:resolve(BUCKET_OP, { Bucket = "mybucket", Key = "k" }).signing_name, "s3")
  end)

  T.test("S3: addressing_style = path in the profile's s3 section; custom endpoints", function()
    env({ AWS_REGION = "eu-west-1" }, "s3 =\n  addressing_style = path\n")
    local r = new { service = service("s3"), name = "s3" }
    T.eq(r:resolve(BUCKET_OP, { Bucket = "mybucket", Key = "k" }).url, "https://s3.eu-west-1.amazonaws.com/mybucket")
    env { AWS_REGION = "eu-west-1", AWS_ENDPOINT_URL = "http://127.0.0.1:4566" }
    r = new { service = service("s3"), name = "s3" }
    local ep = r:resolve(BUCKET_OP, { Bucket = "mybucket", Key = "k" })
    T.eq(ep.url, "http://127.0.0.1:4566/mybucket")
    T.eq(ep.signing_region, "eu-west-1")
    env({ AWS_REGION = "us-east-1", AWS_ENDPOINT_URL = "http://localhost:4566" },
      "s3 =\n  addressing_style = virtual\n")
    r = new { service = service("s3"), name = "s3" }
    T.eq(r:resolve(BUCKET_OP, { Bucket = "mybucket", Key = "k" }).url, "http://mybucket.localhost:4566")
  end)

  T.test("S3: access point ARNs, and refusals become error tables", function()
    env { AWS_REGION = "us-west-2" }
    local r = new { service = service("s3"), name = "s3" }
    local ep = r:resolve(BUCKET_OP, { Bucket = "arn:aws:s3:us-east-1:123456789012:accesspoint/myap", Key = "k" })
    T.eq(ep.url, "https://myap-123456789012.s3-accesspoint.us-east-1.amazonaws.com")
    T.eq(ep.signing_region, "us-east-1")
    local e = T.raises(function() r:resolve(BUCKET_OP, { Bucket = "arn:aws:sqs:us-west-2:1:q", Key = "k" }) end)
    T.eq(e.code, "EndpointResolutionError")
    T.eq(e.operation, "GetObject")
    T.match(e.message, "Invalid ARN")
  end)

  T.test("with a rule set, S3 request URIs lose their bucket and S3 Control its account prefix", function()
    env { AWS_REGION = "eu-west-1" }
    local r = new { service = service("s3"), name = "s3" }
    local get = { name = "GetObject", http = { method = "GET", path = "/{Bucket}/{Key+}?x-id=GetObject" } }
    local adjusted = r:operation(get)
    T.eq(adjusted.http.path, "/{Key+}?x-id=GetObject")
    T.eq(adjusted.http.method, "GET")
    T.eq(get.http.path, "/{Bucket}/{Key+}?x-id=GetObject")   -- the model's own op is untouched
    T.eq(r:operation(get), adjusted)                          -- adjusted once
    T.eq(r:operation({ name = "CreateBucket", http = { path = "/{Bucket}" } }).http.path, "")
    T.eq(r:operation({ name = "ListObjects", http = { path = "/{Bucket}?list-type=2" } }).http.path, "?list-type=2")
    local list = { name = "ListBuckets", http = { path = "/" } }
    T.eq(r:operation(list), list)
    local ctl = new { service = service("s3control", { rules = function() return SHOP_RULES end }), name = "s3control" }
    local op = { name = "GetPublicAccessBlock", host_prefix = "{AccountId}.",
      static_context_params = { RequiresAccountId = { value = true } } }
    T.eq(ctl:operation(op).host_prefix, nil)
    local other = { name = "ListRegionalBuckets", host_prefix = "{AccountId}." }
    T.eq(ctl:operation(other), other)
    -- without a rule set nothing changes
    local legacy = new { service = { name = "s3", service_id = "S3", endpoint_prefix = "s3", signing_name = "s3" },
      name = "s3" }
    T.eq(legacy:operation(get), get)
  end)

  T.test("a client signs with the endpoint's scope and sends to its URL", function()
    local server = fakeserver.start {}
    server.script { default = { status = 200, headers = { ["Content-Type"] = "text/xml" },
      body = "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>1</Account>"
        .. "</GetCallerIdentityResult></GetCallerIdentityResponse>" } }
    local model = require("luaws.sdk.model").load("sts")
    local saved = model.rules
    model.rules = function() return botocore.sts end
    resolver.forget("sts")
    env { AWS_REGION = "us-west-2", AWS_ENDPOINT_URL_STS = server.url }
    local ok, err = pcall(function()
      local sts = aws.client("sts", { credentials = { access_key = "AKID", secret_key = "secret" } })
      T.eq(sts.endpoint.url, server.url)
      T.eq(sts:GetCallerIdentity {}.Account, "1")
      local seen = server.log()
      T.match(seen[#seen].headers.authorization, "/us%-west%-2/sts/aws4_request")
      env { AWS_REGION = "us-west-2", AWS_USE_FIPS_ENDPOINT = "true" }
      T.eq(aws.client("sts", { credentials = false }).endpoint.url, "https://sts-fips.us-west-2.amazonaws.com")
    end)
    model.rules = saved
    server.stop()
    if not ok then error(err, 0) end
  end)
end

T.done()
