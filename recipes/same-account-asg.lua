-- same-account-asg: lets an Auto Scaling group launch volumes encrypted with its own account's KMS key.
local crossaccount = require "luaws.domain.crossaccount"
local keypolicy = require "luaws.domain.keypolicy"
local launchers = require "luaws.domain.launchers"

return {
  description = [[
Lets an Auto Scaling group launch an AMI encrypted with a customer managed key of its own account.

Auto Scaling launches as its service-linked role (AWSServiceRoleForAutoScaling, or the group's
custom-suffix role), not as you. A key policy that only names the account root delegates to IAM,
and a service-linked role's IAM policies cannot be changed, so launches fail with
"Client.InternalError: Client error on launch". AWS's fix ("Required AWS KMS key policy for use
with encrypted volumes") is two key policy statements naming the role itself:

  * use of the key (kms:Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey);
  * kms:CreateGrant when kms:GrantIsForAWSResource is true ("attachment of persistent
    resources": EBS creates the grant for the volume).

luaws adds them under its own Sids (one pair per role), keeps every other statement exactly, backs
the old policy up, writes, reads back and verifies. The role is looked up in IAM (created first
when missing, since a key policy may only name principals that exist). Without --apply it only
reads and prints the plan; a rerun after success has nothing to do; --undo removes exactly the
statements luaws added.]],
  categories = { "mutating", "kms", "autoscaling" },
  args = {
    { name = "asg-name", type = "string",
      help = "the group: its launch template/configuration gives the AMI, its ServiceLinkedRoleARN the role" },
    { name = "image-id", type = "ami_id", help = "the AMI (when not giving --asg-name)" },
    { name = "key-id", type = "kms_key", help = "the KMS key (ID, alias or ARN), when already known" },
    { name = "role-suffix", type = "string",
      help = "custom suffix of the service-linked role (AWSServiceRoleForAutoScaling_SUFFIX)" },
    { name = "undo", type = "boolean", help = "remove the statements luaws added" },
  },
  examples = {
    "--asg-name web --profile workload",
    "--asg-name web --profile workload --apply",
    "--image-id ami-0123456789abcdef0 --role-suffix batch --apply",
    "--asg-name web --undo --apply",
  },
  run = function(ctx)
    local a = ctx.args
    if not (a.asg_name or a.image_id or a.key_id) then
      error(crossaccount.usage("give --asg-name, --image-id or --key-id (what the group launches)"), 0)
    end
    local side = crossaccount.side(ctx, nil, "group owner")
    ctx.log("account " .. side.account)

    local what = { key_id = a.key_id, image_ids = {}, key_ids = {} }
    local group
    if a.asg_name then
      local launch
      group, launch = crossaccount.group_launch(ctx, side, a.asg_name)
      what.image_ids[1] = launch.image_id
      what.key_ids, what.key_ids_source = launch.key_ids, launch.source
    end
    if a.image_id and a.image_id ~= what.image_ids[1] then what.image_ids[#what.image_ids + 1] = a.image_id end
    local keys = crossaccount.find_keys(ctx, side, what)

    -- The group's own role wins: a group may name a custom-suffix role.
    local role
    local group_role = group and group.ServiceLinkedRoleARN
    if group_role and not a.role_suffix then
      local found = launchers.find_launcher_role(side.iam, "autoscaling", launchers.role_suffix(group_role))
      role = found and { arn = found.Arn, name = found.RoleName, exists = true }
    end
    if not role then
      local suffix = a.role_suffix or (group_role and launchers.role_suffix(group_role))
      if a.undo then
        local found = launchers.find_launcher_role(side.iam, "autoscaling", suffix)
        role = { arn = found and found.Arn
                   or launchers.role_arn(side.account, side.partition, "autoscaling", suffix) }
      else
        role = crossaccount.ensure_role(ctx, side, "autoscaling", suffix)
      end
    end

    for _, key in ipairs(keys) do
      crossaccount.plan_policy(ctx, side, key, {
        statements = function() return keypolicy.role_statements(role.arn) end,
        needs = function(doc) return keypolicy.role_policy_needs(doc, role.arn) end,
        detail = function(missing)
          return string.format("let %s use the key and attach encrypted volumes (missing: %s)", role.arn,
                               table.concat(missing, ", "))
        end,
        undo = a.undo, undo_detail = "remove luaws's statements for " .. role.arn,
      })
    end

    local results = {}
    for _, key in ipairs(keys) do
      results[#results + 1] = { arn = key.arn, backup = key.backup, missing = key.policy_missing,
                                reasons = key.reasons }
    end
    ctx.result({ account = side.account, role_arn = role.arn, role_created = role.created or false,
                 keys = results, undo = a.undo or false, group = a.asg_name }, { text = false })
  end,
}
