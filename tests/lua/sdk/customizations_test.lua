-- customizations_test: every per-service customization module loads and holds only known fields.
local T = require "testing"
local customizations = require "luaws.sdk.customizations"
local fs = require "luaws.fs"

local KNOWN = { read_only = "table", idempotent_writes = "table", endpoint_builtins = "function",
  endpoint_operation = "function",
  -- the client's hooks (see lua/luaws/sdk/customizations/init.lua)
  prepare = "function", request = "function", sign_options = "function", response = "function",
  error = "function", result = "function" }

T.test("each module under sdk/customizations is a table of known fields", function()
  local dir = package.searchpath("luaws.sdk.customizations", package.path):gsub("/init%.lua$", "")
  local checked = 0
  for _, name in ipairs(fs.list(dir)) do
    local service = name:match("^(.-)%.lua$")
    if service and service ~= "init" then
      local c = customizations.for_service(service)
      T.eq(type(c), "table", service)
      for field, value in pairs(c) do
        T.ok(KNOWN[field], service .. ": unknown field " .. tostring(field))
        T.eq(type(value), KNOWN[field] or "?", service .. "." .. tostring(field))
      end
      checked = checked + 1
    end
  end
  T.ok(checked >= 3, "checked " .. checked)
end)

T.test("idempotent writes are true or a function of the parameters", function()
  for _, service in ipairs { "kms", "iam" } do
    for op, rule in pairs(customizations.for_service(service).idempotent_writes) do
      T.ok(rule == true or type(rule) == "function", service .. ":" .. op)
    end
  end
end)

T.test("S3: per-call path style built-ins and request URIs without the bucket", function()
  local s3 = customizations.for_service("s3")
  local builtins = { ["AWS::S3::ForcePathStyle"] = false, ["AWS::Region"] = "eu-west-1" }
  local location = s3.endpoint_builtins(builtins, { name = "GetBucketLocation" }, { Bucket = "b" })
  T.eq(location["AWS::S3::ForcePathStyle"], true)
  T.eq(location["AWS::Region"], "eu-west-1")
  T.eq(builtins["AWS::S3::ForcePathStyle"], false)   -- a copy, never the client's table
  T.eq(s3.endpoint_builtins(builtins, { name = "GetObject" }, { Bucket = "b" }), builtins)
  local forced = { ["AWS::S3::ForcePathStyle"] = true }
  T.eq(s3.endpoint_builtins(forced, { name = "GetObject" },
    { Bucket = "arn:aws:s3:us-west-2:123456789012:accesspoint/ap" })["AWS::S3::ForcePathStyle"], false)
  T.eq(s3.endpoint_operation({ http = { path = "/{Bucket}/{Key+}" } }, {}).http.path, "/{Key+}")
  T.eq(s3.endpoint_operation({ http = { path = "/" } }, {}), nil)
end)

T.test("S3 Control: no {AccountId}. host prefix where the rule set puts the account in the host", function()
  local ctl = customizations.for_service("s3control")
  T.eq(ctl.endpoint_operation({ host_prefix = "{AccountId}." }, { RequiresAccountId = true }).host_prefix, nil)
  T.eq(ctl.endpoint_operation({ host_prefix = "{AccountId}." }, {}), nil)
end)

T.done()
