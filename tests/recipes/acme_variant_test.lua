-- acme_variant_test: the docs walk-through's team variant (acme-ami-asg.lua beside this file) on the local cloud.
local testkit = require "luaws.testkit"

local cloud = testkit.cloud {}
local seed = cloud.summary
local RECIPE = "acme-ami-asg.lua" -- a copy of the walk-through's recipe in docs/recipes.md, found next to this file
local ARGS = { ["images-profile"] = "source", ["workload-profile"] = "target", ["image-id"] = seed.image_id }
local RETIRING_ROLE = "arn:aws:iam::111111111111:role/security-kms-admin"

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

local function role_grants()
  local found = {}
  for _, grant in ipairs(cloud:client("kms", "source"):ListGrants { KeyId = seed.key_arn }.Grants or {}) do
    if grant.GranteePrincipal:find("AWSServiceRoleForAutoScaling", 1, true) then found[#found + 1] = grant end
  end
  return found
end

testkit.case("the copy is the walk-through's recipe, word for word", function()
  local source_dir = os.getenv("LUAWS_SOURCE_DIR") or require("luaws.host").data_dir
  local docs = read(source_dir .. "/docs/recipes.md")
  testkit.ok(docs, "docs/recipes.md in " .. source_dir)
  local block = docs:match("```lua\n(%-%- acme%-ami%-asg:.-)```")
  testkit.ok(block, "the walk-through's acme-ami-asg code block")
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  testkit.eq(read(here .. "/" .. RECIPE), block, "copy the block from docs/recipes.md into tests/recipes/" .. RECIPE)
end)

testkit.case("the plan shows the stricter statements and the grant, and changes nothing", function()
  local report = cloud:run(RECIPE, ARGS)
  testkit.eq(report.status, "planned", report.error and report.error.message)
  testkit.eq(#report.plan, 2)
  testkit.eq(report.plan[1].action, "kms:PutKeyPolicy")
  testkit.match(report.plan[1].diff, "kms:GranteePrincipal")
  testkit.match(report.plan[1].diff, "kms:GrantOperations")
  testkit.eq(report.plan[2].action, "kms:CreateGrant")
  testkit.eq(#role_grants(), 0)
end)

testkit.case("fixed accounts: swapped profiles are refused before anything is read", function()
  local report = cloud:run(RECIPE, { ["images-profile"] = "target", ["workload-profile"] = "source",
                                     ["image-id"] = seed.image_id })
  testkit.eq(report.exit, 1)
  testkit.match(report.error.message, "not the images account")
  testkit.same(report.plan, {})
end)

testkit.case("--apply fails while the retiring principal does not exist", function()
  local report = cloud:run(RECIPE, ARGS, { apply = true })
  testkit.eq(report.exit, 1)
  testkit.match(report.error.message, "security%-kms%-admin")
  testkit.eq(#role_grants(), 0)
end)

-- As the walk-through says: the security team's role must exist before a grant can name it.
cloud:client("iam", "source"):CreateRole {
  RoleName = "security-kms-admin",
  AssumeRolePolicyDocument = [[{"Version":"2012-10-17","Statement":[{"Effect":"Allow",]]
    .. [["Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}]],
}

testkit.case("--apply makes a grant the security team can retire, and the group launches", function()
  local report = cloud:run(RECIPE, ARGS, { apply = true })
  testkit.eq(report.status, "applied", report.error and report.error.message)
  testkit.eq(report.result.workload, "payments-prod")
  local grants = role_grants()
  testkit.eq(#grants, 1)
  testkit.eq(grants[1].RetiringPrincipal, RETIRING_ROLE)
  testkit.same(grants[1].Operations, { "Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
                                       "ReEncryptTo", "CreateGrant" })
  cloud:reconcile(seed.group_name)
  local activities = cloud:client("autoscaling", "target"):DescribeScalingActivities {
    AutoScalingGroupName = seed.group_name }.Activities
  testkit.eq(activities[1].StatusCode, "Successful")
end)

testkit.case("a rerun has nothing to do", function()
  local report = cloud:run(RECIPE, ARGS, { apply = true })
  testkit.eq(report.status, "nothing-to-do", report.error and report.error.message)
  testkit.match(report.text, "Nothing to do")
  testkit.eq(#role_grants(), 1)
end)

testkit.done()
