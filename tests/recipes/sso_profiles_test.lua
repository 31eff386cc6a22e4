-- sso_profiles_test: recipes on IAM Identity Center profiles: testkit.cloud{sso = true} signs the
-- local cloud's SSO emulator in, and "source"/"target" get their accounts through it.
local testkit = require "luaws.testkit"

local cloud = testkit.cloud { sso = true, seed = { role_suffix = "web" } }
local seed = cloud.summary

testkit.case("each SSO profile acts as its own account (the credentials file is empty)", function()
  local source = cloud:run("whoami", {}, { profile = "source" })
  testkit.eq(source.status, "ok", source.error and source.error.message)
  testkit.eq(source.result.account, cloud.source_account)
  local target = cloud:run("whoami", {}, { profile = "target" })
  testkit.eq(target.result.account, cloud.target_account)
  local f = assert(io.open(cloud.credentials_file))
  testkit.eq(f:read("a"), "")
  f:close()
end)

testkit.case("the flagship plans and applies with SSO profiles on both sides", function()
  local args = { ["source-profile"] = "source", ["target-profile"] = "target", ["asg-name"] = seed.group_name }
  local plan = cloud:run("cross-account-ami-asg", args)
  testkit.eq(plan.status, "planned", plan.error and plan.error.message)
  local applied = cloud:run("cross-account-ami-asg", args, { apply = true })
  testkit.eq(applied.status, "applied", applied.error and applied.error.message)
  testkit.eq(applied.exit, 0)
end)
