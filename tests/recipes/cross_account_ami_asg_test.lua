-- cross_account_ami_asg_test: the flagship on the local cloud: plan, apply, the group launches, a rerun is a no-op.
local testkit = require "luaws.testkit"

local cloud = testkit.cloud { seed = { role_suffix = "web" } }
local seed = cloud.summary
local ARGS = { ["source-profile"] = "source", ["target-profile"] = "target", ["asg-name"] = seed.group_name }

local function actions(report)
  local list = {}
  for _, step in ipairs(report.plan) do list[#list + 1] = step.action end
  return list
end

local function grants_to_role()
  local found = {}
  local page = cloud:client("kms", "source"):ListGrants { KeyId = seed.key_arn }
  for _, grant in ipairs(page.Grants or {}) do
    if grant.GranteePrincipal == seed.service_linked_role_arn then found[#found + 1] = grant end
  end
  return found
end

local function latest_activity()
  local page = cloud:client("autoscaling", "target"):DescribeScalingActivities {
    AutoScalingGroupName = seed.group_name }
  return (page.Activities or {})[1] or {}
end

testkit.case("the seeded group fails to launch", function()
  testkit.eq(latest_activity().StatusCode, "Failed")
  testkit.match(seed.service_linked_role_arn, "AWSServiceRoleForAutoScaling_web$")
end)

testkit.case("the plan names the key policy change and the grant, and changes nothing", function()
  local before = cloud:client("kms", "source"):GetKeyPolicy { KeyId = seed.key_arn, PolicyName = "default" }.Policy
  local report = cloud:run("cross-account-ami-asg", ARGS)
  testkit.eq(report.status, "planned", report.error and report.error.message)
  testkit.eq(report.exit, 0)
  testkit.same(actions(report), { "kms:PutKeyPolicy", "kms:CreateGrant" })
  testkit.match(report.text, "Plan: 2 changes")
  testkit.eq(report.result.role_arn, seed.service_linked_role_arn)
  local after = cloud:client("kms", "source"):GetKeyPolicy { KeyId = seed.key_arn, PolicyName = "default" }.Policy
  testkit.eq(after, before, "the key policy is untouched")
  testkit.eq(#grants_to_role(), 0)
end)

testkit.case("--apply adds the statements and one grant to the group's role", function()
  local report = cloud:run("cross-account-ami-asg", ARGS, { apply = true })
  testkit.eq(report.status, "applied", report.error and report.error.message)
  for _, step in ipairs(report.plan) do testkit.eq(step.status, "done", step.action) end
  local grants = grants_to_role()
  testkit.eq(#grants, 1)
  testkit.eq(report.result.keys[1].grant_id, grants[1].GrantId)
  local doc = cloud:client("kms", "source"):GetKeyPolicy { KeyId = seed.key_arn, PolicyName = "default" }.Policy
  testkit.match(doc, "arn:aws:iam::" .. cloud.target_account .. ":root")
  local backup = assert(io.open(testkit.ok(report.result.keys[1].backup, "the old key policy is saved first")))
  testkit.match(backup:read("a"), "Enable IAM User Permissions")
  backup:close()
end)

testkit.case("the group launches after the fix", function()
  cloud:reconcile(seed.group_name)
  testkit.eq(latest_activity().StatusCode, "Successful")
end)

testkit.case("a rerun has nothing to do and makes no second grant", function()
  local report = cloud:run("cross-account-ami-asg", ARGS, { apply = true, output = "json" })
  testkit.eq(report.status, "nothing-to-do", report.error and report.error.message)
  testkit.same(report.plan, {})
  testkit.match(report.json, '"status":"nothing%-to%-do"')
  testkit.eq(#grants_to_role(), 1)
end)

testkit.done()
