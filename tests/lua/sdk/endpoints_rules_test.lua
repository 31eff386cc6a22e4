-- endpoints_rules_test: compiling and evaluating endpoint rule sets: parameters, conditions,
-- assignments, trees, error rules, templates, properties and headers.
local T = require "testing"
local rules = require "luaws.sdk.endpoints.rules"

local function fn(name, ...) return { fn = name, argv = { ... } } end
local function ref(name) return { ref = name } end

-- A rule set in the shape of the generated ones: custom endpoint first, then FIPS, then default.
local RULESET = {
  version = "1.0",
  parameters = {
    Region = { type = "String", builtIn = "AWS::Region" },
    UseFIPS = { type = "Boolean", builtIn = "AWS::UseFIPS", required = true, default = false },
    Endpoint = { type = "String", builtIn = "SDK::Endpoint" },
    Label = { type = "string" },
  },
  rules = {
    { type = "tree", conditions = { fn("isSet", ref("Endpoint")) }, rules = {
      { type = "error", conditions = { fn("booleanEquals", ref("UseFIPS"), true) },
        error = "Invalid Configuration: FIPS and custom endpoint are not supported" },
      { type = "endpoint", conditions = {}, endpoint = { url = ref("Endpoint") } },
    } },
    { type = "tree", conditions = { fn("isSet", ref("Region")) }, rules = {
      { type = "tree", conditions = { { fn = "aws.partition", argv = { ref("Region") }, assign = "P" } }, rules = {
        { type = "tree", conditions = { fn("booleanEquals", ref("UseFIPS"), true) }, rules = {
          { type = "endpoint",
            conditions = { fn("booleanEquals", true, fn("getAttr", ref("P"), "supportsFIPS")) },
            endpoint = { url = "https://svc-fips.{Region}.{P#dnsSuffix}",
              properties = { authSchemes = { { name = "sigv4", signingRegion = "{Region}" } } },
              headers = { ["x-fips"] = { "yes", "{P#name}" } } } },
          { type = "error", conditions = {}, error = "FIPS is not supported in {P#name}" },
        } },
        { type = "endpoint", conditions = { fn("isSet", ref("Label")),
            { fn = "substring", argv = { ref("Label"), 0, 3, false }, assign = "Short" } },
          endpoint = { url = "https://{Short}.svc.{Region}.{P#dnsSuffix}" } },
        { type = "endpoint", conditions = {},
          endpoint = { url = "https://svc.{Region}.{P#dnsSuffix}/{{literal}}" } },
      } },
    } },
    { type = "error", conditions = {}, error = "Invalid Configuration: Missing Region" },
  },
}

local evaluate = rules.compile(RULESET)

T.test("the default branch: partition lookup, templates with '#', literal braces", function()
  local r = evaluate { Region = "cn-north-1" }
  T.eq(r.url, "https://svc.cn-north-1.amazonaws.com.cn/{literal}")
  T.same(r.properties, {})
  T.same(r.headers, {})
end)

T.test("defaults apply (UseFIPS=false) and a required parameter cannot be missing", function()
  T.eq(evaluate({ Region = "us-east-1" }).url, "https://svc.us-east-1.amazonaws.com/{literal}")
  local strict = rules.compile { parameters = { X = { type = "string", required = true } }, rules = {} }
  local e = T.raises(function() strict {} end)
  T.eq(e.code, "EndpointResolutionError")
  T.match(e.message, "required parameter X")
end)

T.test("parameters of the wrong type are refused", function()
  local e = T.raises(function() evaluate { Region = "us-east-1", UseFIPS = "true" } end)
  T.match(e.message, "UseFIPS")
end)

T.test("properties and headers are templates too; FIPS branch", function()
  local r = evaluate { Region = "us-west-2", UseFIPS = true }
  T.eq(r.url, "https://svc-fips.us-west-2.amazonaws.com")
  T.same(r.properties, { authSchemes = { { name = "sigv4", signingRegion = "us-west-2" } } })
  T.same(r.headers, { ["x-fips"] = { "yes", "aws" } })
end)

T.test("error rules raise their (templated) message", function()
  local e = T.raises(function() evaluate { Endpoint = "https://x", UseFIPS = true } end)
  T.eq(e.code, "EndpointResolutionError")
  T.eq(e.message, "Invalid Configuration: FIPS and custom endpoint are not supported")
  T.eq(T.raises(function() evaluate {} end).message, "Invalid Configuration: Missing Region")
end)

T.test("a custom endpoint wins; assignments feed later conditions and templates", function()
  T.eq(evaluate({ Endpoint = "http://127.0.0.1:4566", Region = "us-east-1" }).url, "http://127.0.0.1:4566")
  T.eq(evaluate({ Region = "eu-west-1", Label = "abcdef" }).url, "https://abc.svc.eu-west-1.amazonaws.com")
  -- substring gives nil for a short label: the condition fails and the next rule answers
  T.eq(evaluate({ Region = "eu-west-1", Label = "ab" }).url, "https://svc.eu-west-1.amazonaws.com/{literal}")
end)

T.test("a tree whose children all fail falls through to the next rule", function()
  local ev = rules.compile { parameters = { A = { type = "boolean" } }, rules = {
    { type = "tree", conditions = {}, rules = {
      { type = "endpoint", conditions = { fn("booleanEquals", ref("A"), true) }, endpoint = { url = "https://a" } },
    } },
    { type = "endpoint", conditions = {}, endpoint = { url = "https://b" } },
  } }
  T.eq(ev({ A = true }).url, "https://a")
  T.eq(ev({ A = false }).url, "https://b")
end)

T.test("no matching rule is an error listing the parameters", function()
  local ev = rules.compile { parameters = { Region = { type = "string" } }, rules = {
    { type = "endpoint", conditions = { fn("isSet", ref("Nope")) }, endpoint = { url = "https://a" } } } }
  local e = T.raises(function() ev { Region = "us-east-1" } end)
  T.match(e.message, "No endpoint found for parameters")
  T.match(e.message, "Region: us%-east%-1")
end)

T.test("rules are checked when first reached; unknown functions and rule types are reported then", function()
  local ev = rules.compile { parameters = { A = { type = "boolean" } }, rules = {
    { type = "endpoint", conditions = { fn("booleanEquals", ref("A"), true) }, endpoint = { url = "https://a" } },
    { type = "endpoint", conditions = { fn("nope", 1) }, endpoint = { url = "x" } } } }
  T.eq(ev({ A = true }).url, "https://a")   -- the broken rule is never reached
  T.match(T.raises(function() ev { A = false } end).message, "unknown endpoint rule function nope")
  T.match(T.raises(function() rules.compile { rules = { { type = "weird", conditions = {} } } } {} end).message,
    "unknown endpoint rule type")
end)

local botocore = require("rulesets").botocore("sts", "s3")
if botocore then
  T.test("botocore's STS rule set: regional by default, FIPS, global when asked", function()
    local sts = rules.compile(botocore.sts)
    local base = { UseFIPS = false, UseDualStack = false, UseGlobalEndpoint = false }
    local function url(extra)
      local p = {}
      for k, v in pairs(base) do p[k] = v end
      for k, v in pairs(extra) do p[k] = v end
      return sts(p).url
    end
    T.eq(url { Region = "us-west-2" }, "https://sts.us-west-2.amazonaws.com")
    T.eq(url { Region = "us-west-2", UseFIPS = true }, "https://sts-fips.us-west-2.amazonaws.com")
    T.eq(url { Region = "us-east-1", UseFIPS = true }, "https://sts-fips.us-east-1.amazonaws.com")
    T.eq(url { Region = "us-west-2", UseGlobalEndpoint = true }, "https://sts.amazonaws.com")
    T.eq(url { Region = "cn-north-1" }, "https://sts.cn-north-1.amazonaws.com.cn")
    T.eq(url { Region = "us-gov-west-1", UseFIPS = true }, "https://sts.us-gov-west-1.amazonaws.com")
    T.eq(url { Region = "ap-south-2", UseFIPS = true, UseDualStack = true }, "https://sts-fips.ap-south-2.api.aws")
    T.eq(url { Region = "us-iso-west-1", UseFIPS = true }, "https://sts-fips.us-iso-west-1.c2s.ic.gov")
    T.match(T.raises(function() url { Region = "us-west-2", UseFIPS = true, Endpoint = "https://x" } end).message,
      "FIPS and custom endpoint are not supported")
    local global = sts { Region = "aws-global", UseFIPS = false, UseDualStack = false, UseGlobalEndpoint = false }
    T.eq(global.url, "https://sts.amazonaws.com")
    T.eq(global.properties.authSchemes[1].signingRegion, "us-east-1")
  end)

  T.test("botocore's S3 rule set: virtual host, path style, dotted buckets, access point ARNs", function()
    local s3 = rules.compile(botocore.s3)
    local function url(extra)
      local p = { Region = "us-west-2", UseFIPS = false, UseDualStack = false, ForcePathStyle = false,
        Accelerate = false, UseArnRegion = true, UseGlobalEndpoint = false,
        DisableMultiRegionAccessPoints = false }
      for k, v in pairs(extra) do p[k] = v end
      return s3(p).url
    end
    T.eq(url { Bucket = "mybucket" }, "https://mybucket.s3.us-west-2.amazonaws.com")
    T.eq(url { Bucket = "mybucket", ForcePathStyle = true }, "https://s3.us-west-2.amazonaws.com/mybucket")
    T.eq(url { Bucket = "my.bucket" }, "https://s3.us-west-2.amazonaws.com/my.bucket")
    T.eq(url { Bucket = "mybucket", Endpoint = "http://127.0.0.1:4566", ForcePathStyle = true },
      "http://127.0.0.1:4566/mybucket")
    T.eq(url { Bucket = "arn:aws:s3:us-west-2:123456789012:accesspoint/myap" },
      "https://myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com")
    T.eq(url { Bucket = "mybucket", Region = "us-east-1", UseGlobalEndpoint = true },
      "https://mybucket.s3.amazonaws.com")
  end)
end

T.done()
