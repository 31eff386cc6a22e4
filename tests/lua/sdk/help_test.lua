-- help_test: luaws.sdk.help renders services and operations from the models, finds the operation
-- behind a client's method, and is never loaded by a call.
local T = require "testing"

T.test("a call loads neither the help module nor any docs", function()
  local kms = aws.client("kms", { region = "us-east-1", credentials = false,
                                  endpoint_url = "http://127.0.0.1:9", max_attempts = 1 })
  pcall(kms.ListKeys, kms, {})
  T.eq(package.loaded["luaws.sdk.help"], nil)
  T.eq(package.loaded["luaws.repl"], nil)
  for name in pairs(package.loaded) do T.ok(not name:find("docs"), name .. " loaded by a call") end
  local siblings = rawget(kms.service, "_siblings")
  T.ok(siblings == nil or siblings.docs == nil, "the service's docs were read")
end)

local help = require "luaws.sdk.help"

T.test("an operation: parameters with * for required, types, nesting, the call", function()
  local text = help.operation("kms", "CreateGrant")
  T.match(text, "^kms CreateGrant")
  T.match(text, "\n  KeyId%*%s+string")
  T.match(text, "\n  Operations%*%s+list of string")
  T.match(text, "\n  Name%s+string")
  T.ok(not text:find("\n  Name%*"), "Name is optional")
  -- A structure member lists its own members one level in.
  T.match(text, "\n  Constraints%s+structure GrantConstraints[^\n]*\n"
    .. "    EncryptionContextSubset%s+map of string to string")
  T.match(text, "\nReturns:\n  GrantToken%s+string")
  T.match(text, '\nCall: aws.client%("kms"%):CreateGrant{ KeyId = ... }')
end)

T.test("a service: operations, paginators, waiters", function()
  local text = help.service("kms")
  T.match(text, "^kms: AWS Key Management Service %(API %d+%-%d+%-%d+, protocol json%)")
  T.match(text, "\n  CreateGrant")
  T.match(text, "\nPaginators %(client:paginate%(op, params%)%): [^\n]*ListKeys")
end)

T.test("unknown names raise with close names; text() takes every spelling", function()
  local ok, e = pcall(help.operation, "kms", "CreateGrnt")
  T.ok(not ok)
  T.match(tostring(e.message or e), "CreateGrant")
  ok, e = pcall(help.service, "kmss")
  T.ok(not ok)
  T.eq(e.code, "UnknownService")
  local want = help.operation("kms", "CreateGrant")
  T.eq(help.text("kms CreateGrant"), want)
  T.eq(help.text("kms.CreateGrant"), want)
  T.eq(help.text("kms", "CreateGrant"), want)
  local kms = aws.client("kms", { region = "us-east-1", credentials = false })
  T.eq(help.text(kms.CreateGrant), want)
  T.eq(help.text(kms, "CreateGrant"), want)
  T.eq(help.text(kms), help.service("kms"))
  local none, why = help.text(print)
  T.eq(none, nil)
  T.match(why, "not an operation")
end)

T.test("parameter names for completion, services, the data version", function()
  local names = help.parameter_names("kms", "CreateGrant")
  T.eq(names[1], "Constraints")
  T.same(help.parameter_names("kms", "NoSuchOp"), {})
  local services = help.services()
  T.ok(#services >= 6, "services: " .. #services)
  T.match(help.data_version(), "^%d+%.%d+%.%d+$")
end)

T.done()
