-- cross-account-ami-asg: lets an Auto Scaling group launch an AMI encrypted with another account's KMS key.
local arn = require "luaws.core.arn"
local crossaccount = require "luaws.domain.crossaccount"
local keypolicy = require "luaws.domain.keypolicy"
local kms_grants = require "luaws.domain.grants"
local launch_sources = require "luaws.domain.launch_sources"
local launchers = require "luaws.domain.launchers"

local function describe_list(list) return table.concat(list, ", ") end

-- Runs independent reads at once (the scheduler overlaps their requests) and returns each
-- function's first result; the first error, if any, is raised after all have finished.
local function together(...)
  local results, errors = aws.parallel { ... }
  for i = 1, select("#", ...) do
    if errors[i] ~= nil then error(errors[i], 0) end
  end
  return table.unpack(results, 1, select("#", ...))
end

-- The group's latest activities, newest first, and one line about the newest.
local function report_activities(ctx, dst, group_name)
  local activities = dst.autoscaling:DescribeScalingActivities {
    AutoScalingGroupName = group_name, MaxRecords = 3 }.Activities or {}
  local out = {}
  for _, a in ipairs(activities) do
    out[#out + 1] = { status = a.StatusCode, message = a.StatusMessage, start = a.StartTime }
  end
  local latest = activities[1]
  if latest and #launch_sources.failed_launches({ latest }) > 0 then
    ctx.log(string.format("group %s: latest launch failed: %s", group_name, latest.StatusMessage or "?"))
  elseif latest then
    ctx.log(string.format("group %s: latest activity %s: %s", group_name, latest.StatusCode or "?",
                          latest.Description or ""))
  end
  return out
end

local function wait_for_launch(ctx, dst, group_name, seconds)
  local deadline = aws.now() + seconds
  repeat
    local activities = dst.autoscaling:DescribeScalingActivities {
      AutoScalingGroupName = group_name, MaxRecords = 1 }.Activities or {}
    local latest = activities[1]
    if latest and latest.StatusCode == "Successful" then
      ctx.log("group " .. group_name .. " launched an instance: " .. (latest.Description or ""))
      return true
    end
    aws.sleep(math.min(5, math.max(0.2, deadline - aws.now())))
  until aws.now() >= deadline
  ctx.fail(string.format("group %s did not launch successfully within %d seconds", group_name, seconds))
end

return {
  description = [[
Lets an Auto Scaling group launch an AMI whose snapshots are encrypted with another account's KMS key.

An AMI encrypted with account A's customer managed key launches by hand in account B, but B's Auto
Scaling group fails ("Client.InternalError: Client error on launch"): Auto Scaling launches as B's
service-linked role, which neither A's key policy nor B's IAM policies reach. The fix has two halves:

  1. In A (--source-profile, the key owner): the key policy lets B's account use the key and create
     grants on it, without the kms:GrantIsForAWSResource condition the console adds. luaws adds two
     statements with stable Sids, keeps every other statement exactly, backs the old policy up before
     writing, and reads it back to verify (merging again if someone else wrote meanwhile).
  2. From B (--target-profile, the group owner): the Auto Scaling service-linked role exists (created
     when missing), and a named, idempotent KMS grant on A's key lets that role use it.

Without --apply it only reads and prints the plan. A second run after success has nothing to do.
--undo removes exactly what luaws added: its two statements and its grant.]],
  categories = { "mutating", "cross-account", "kms", "autoscaling" },
  args = {
    { name = "source-profile", type = "profile", required = true,
      help = "profile of account A, which owns the AMI and the KMS key" },
    { name = "target-profile", type = "profile", required = true,
      help = "profile of account B, which owns the Auto Scaling group" },
    { name = "image-id", type = "ami_id", help = "the shared AMI (or give --asg-name or --key-id)" },
    { name = "key-id", type = "kms_key", arn_only = true, help = "the KMS key ARN, when already known" },
    { name = "asg-name", type = "string",
      help = "the group in B: its launch template/configuration gives the AMI, its role the grantee" },
    { name = "role-suffix", type = "string",
      help = "custom suffix of the service-linked role (AWSServiceRoleForAutoScaling_SUFFIX)" },
    { name = "service-linked-role-arn", type = "arn", service = "iam", help = "the grantee role's ARN, explicitly" },
    { name = "operations", type = "list", default = "docs",
      help = "grant operations: 'docs' (AWS's eight), 'blog' (the blog's five) or a comma-separated list" },
    { name = "retiring-principal", type = "arn", service = "iam",
      help = "a principal allowed to retire the grant (verified from B with ListRetirableGrants)" },
    { name = "undo", type = "boolean", help = "remove the statements and grant luaws added" },
    { name = "wait", type = "boolean", help = "with --asg-name and --apply: wait for a successful launch" },
    { name = "wait-seconds", type = "integer", default = "300", help = "how long --wait waits" },
  },
  examples = {
    "--source-profile owner --target-profile workload --image-id ami-0123456789abcdef0",
    "--source-profile owner --target-profile workload --asg-name web --apply --wait",
    "--source-profile owner --target-profile workload --asg-name web --undo --apply",
  },
  run = function(ctx)
    local a = ctx.args
    if not (a.image_id or a.key_id or a.asg_name) then
      error(crossaccount.usage("give --image-id, --key-id or --asg-name (what the group launches)"), 0)
    end
    local operations, why = kms_grants.parse_operations(a.operations)
    if not operations then error(crossaccount.usage("--operations: " .. why), 0) end

    local src, dst = together(function() return crossaccount.side(ctx, a.source_profile, "source") end,
                              function() return crossaccount.side(ctx, a.target_profile, "target") end)
    if src.account == dst.account then
      ctx.fail(string.format("--source-profile and --target-profile are both account %s; this recipe is for " ..
                             "two accounts (same-account-asg handles one)", src.account))
    end
    ctx.log(string.format("source (key owner) account %s, target (group owner) account %s", src.account, dst.account))

    local group, launch = nil, { key_ids = {} }
    if a.asg_name then group, launch = crossaccount.group_launch(ctx, dst, a.asg_name) end
    -- Both the group's AMI and an explicit --image-id are checked when they differ.
    local image_ids = { launch.image_id }
    if a.image_id and a.image_id ~= launch.image_id then image_ids[#image_ids + 1] = a.image_id end
    -- Keys the launch template names in B's own account are B's to use already.
    local foreign_keys = {}
    for _, key_id in ipairs(launch.key_ids) do
      if arn.account_of(key_id) ~= dst.account then foreign_keys[#foreign_keys + 1] = key_id end
    end

    local role_arn = a.service_linked_role_arn
      or (group and group.ServiceLinkedRoleARN)
      or launchers.role_arn(dst.account, dst.partition, "autoscaling", a.role_suffix)
    if arn.account_of(role_arn) ~= dst.account then
      ctx.fail(string.format("the grantee role %s is not in the target account %s", role_arn, dst.account))
    end

    local keys = together(
      function()
        return crossaccount.find_keys(ctx, src, { key_id = a.key_id, image_ids = image_ids,
                                                  key_ids = foreign_keys, key_ids_source = launch.source })
      end,
      function()
        if not a.undo then crossaccount.ensure_role(ctx, dst, "autoscaling", launchers.role_suffix(role_arn)) end
      end)
    local role = { arn = role_arn }
    for _, key in ipairs(keys) do
      local policy_step = {
        statements = keypolicy.statements(dst.account, dst.partition), undo = a.undo,
        needs = function(doc) return (keypolicy.policy_needs(doc, dst.account)) end,
        detail = function(missing)
          return string.format("let account %s use the key and create grants on it (missing: %s)",
                               dst.account, describe_list(missing))
        end,
        undo_detail = string.format("remove luaws's statements for account %s", dst.account),
        note = function(doc)
          local _, trap = keypolicy.policy_needs(doc, dst.account)
          key.console_trap = trap
          if #trap > 0 and not a.undo then
            ctx.log(string.format("note: key policy statement %s gives account %s kms:CreateGrant only when " ..
              "kms:GrantIsForAWSResource is true (the console's default). Auto Scaling's fix needs a direct " ..
              "CreateGrant from %s, so luaws adds an unconditional statement and leaves that one as it is.",
              describe_list(trap), dst.account, dst.account))
          end
        end,
      }
      local grant_step = { owner = src, grantor = dst, key = key, role = role, operations = operations,
                           retiring_principal = a.retiring_principal, undo = a.undo }
      -- Undo takes the grant away before the statements that allowed it.
      if a.undo then
        crossaccount.plan_grant(ctx, grant_step)
        crossaccount.plan_policy(ctx, src, key, policy_step)
      else
        grant_step.grants = together(function() return crossaccount.list_grants(src.kms, key.arn) end,
                                     function() crossaccount.plan_policy(ctx, src, key, policy_step) end)
        crossaccount.plan_grant(ctx, grant_step)
      end
    end

    local activities
    if a.asg_name then
      if a.wait and ctx.apply and not a.undo then wait_for_launch(ctx, dst, a.asg_name, a.wait_seconds) end
      activities = report_activities(ctx, dst, a.asg_name)
    end

    local key_results = {}
    for _, key in ipairs(keys) do
      key_results[#key_results + 1] = { arn = key.arn, grant_id = key.grant_id, backup = key.backup,
                                        console_trap = key.console_trap, reasons = key.reasons }
    end
    ctx.result({
      source_account = src.account, target_account = dst.account, image_ids = image_ids,
      role_arn = role_arn, operations = operations, keys = key_results, undo = a.undo or false,
      activities = activities,
    }, { text = false })
  end,
}
