-- operations_test: the one read-only/idempotency classifier, with per-service customizations.
local T = require "testing"
local operations = require "luaws.sdk.operations"
local customizations = require "luaws.sdk.customizations"

T.test("reads by name: the verb must end at a word boundary", function()
  for _, op in ipairs { "DescribeImages", "GetKeyPolicy", "ListGrants", "ListRetirableGrants", "HeadObject",
                        "SimulatePrincipalPolicy", "BatchGetItem", "GetCallerIdentity", "Get2" } do
    T.ok(operations.is_read_only("any", op), op)
  end
  for _, op in ipairs { "CreateGrant", "PutKeyPolicy", "RetireGrant", "RunInstances", "RequestSpotInstances",
                        "SignUp", "Getaway", "ListenUp", "Describe", "Headline", "ScheduleKeyDeletion" } do
    T.ok(not operations.is_read_only("any", op), op)
  end
end)

T.test("service customizations add reads that are not named so", function()
  T.ok(operations.is_read_only("kms", "Decrypt"))
  T.ok(operations.is_read_only("kms", "GenerateDataKeyWithoutPlaintext"))
  T.ok(operations.is_read_only("sts", "AssumeRole"))
  T.ok(not operations.is_read_only("ec2", "Decrypt"))  -- only where the service says so
end)

T.test("ambiguous failures repeat only calls that are safe to repeat", function()
  T.ok(operations.safe_to_repeat { service = "kms", operation = "ListGrants" })
  T.ok(operations.safe_to_repeat { service = "kms", operation = "PutKeyPolicy" })
  T.ok(operations.safe_to_repeat { service = "kms", operation = "CreateGrant", params = { Name = "n" } })
  T.ok(not operations.safe_to_repeat { service = "kms", operation = "CreateGrant", params = {} })
  T.ok(not operations.safe_to_repeat { service = "kms", operation = "CreateKey" })
  T.ok(operations.safe_to_repeat { service = "iam", operation = "PutRolePolicy" })
  T.ok(not operations.safe_to_repeat { service = "iam", operation = "CreateRole" })
  T.ok(operations.safe_to_repeat { service = "ec2", operation = "RunInstances", has_idempotency_token = true })
end)

T.test("customizations: a service without a module gets an empty, read-only table", function()
  local none = customizations.for_service("no-such-service")
  T.eq(next(none), nil)
  T.ok(not pcall(function() none.x = 1 end))
  T.eq(customizations.for_service("init"), none)
  T.ok(customizations.for_service("kms").idempotent_writes.PutKeyPolicy)
end)

T.done()
