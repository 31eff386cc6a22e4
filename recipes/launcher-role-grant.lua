-- launcher-role-grant: the cross-account KMS fix for any launcher's service-linked role (fleets, spot, ASG).
local crossaccount = require "luaws.domain.crossaccount"
local keypolicy = require "luaws.domain.keypolicy"
local kms_grants = require "luaws.domain.grants"
local launchers = require "luaws.domain.launchers"

local LAUNCHER_NAMES = { "autoscaling", "ec2-fleet", "spot-fleet", "spot" }

-- Whether grants luaws made for other roles of the target account remain on the key (then undo
-- must keep the account's key policy statements, which those grants still need).
local function other_luaws_grants(grants, account, role_arn)
  local others = {}
  for _, g in ipairs(grants) do
    local grantee = g.GranteePrincipal or ""
    if grantee ~= role_arn and grantee:find(":" .. account .. ":", 1, true)
       and type(g.Name) == "string" and g.Name:find("^luaws%-") then
      others[#others + 1] = grantee
    end
  end
  return others
end

return {
  description = [[
Lets a launcher's service-linked role in one account use a KMS key of another account.

The Auto Scaling trap hits every launcher that starts instances as its own service-linked role:
EC2 Fleet (AWSServiceRoleForEC2Fleet), Spot Fleet (AWSServiceRoleForEC2SpotFleet), Spot
(AWSServiceRoleForEC2Spot) and Auto Scaling (AWSServiceRoleForAutoScaling). Choose it with
--launcher. The fix is the same as cross-account-ami-asg's:

  1. In the key owner's account (--source-profile): the key policy lets the target account use the
     key and create grants on it (no kms:GrantIsForAWSResource condition); backup, merge by Sid,
     read back and verify.
  2. From the target account (--target-profile): a named, idempotent grant to the launcher's role.

The role is looked up in the target account (iam GetRole, then ListRoles under
/aws-service-role/<service>/), never assumed, and created with iam CreateServiceLinkedRole when
missing. Without --apply it only reads and prints the plan; a rerun after success has nothing to
do. --undo revokes this role's grant, and removes the account's key policy statements only when
no other luaws grant to that account (another launcher's) still needs them.]],
  categories = { "mutating", "cross-account", "kms" },
  args = {
    { name = "source-profile", type = "profile", required = true,
      help = "profile of the account owning the KMS key" },
    { name = "target-profile", type = "profile", required = true, help = "profile of the account that launches" },
    { name = "launcher", type = "enum", values = LAUNCHER_NAMES, default = "autoscaling",
      help = "whose service-linked role gets the grant" },
    { name = "image-id", type = "ami_id", help = "the AMI the launcher starts (its snapshots give the keys)" },
    { name = "key-id", type = "kms_key", arn_only = true, help = "the KMS key ARN, when already known" },
    { name = "role-suffix", type = "string",
      help = "custom suffix of the role (Auto Scaling only: AWSServiceRoleForAutoScaling_SUFFIX)" },
    { name = "operations", type = "list", default = "docs",
      help = "grant operations: 'docs' (AWS's eight), 'blog' (the blog's five) or a comma-separated list" },
    { name = "undo", type = "boolean", help = "revoke the grant (and the statements no other grant needs)" },
  },
  examples = {
    "--source-profile owner --target-profile workload --launcher ec2-fleet --image-id ami-0123456789abcdef0",
    "--source-profile owner --target-profile workload --launcher spot --image-id ami-0123456789abcdef0 --apply",
    "--source-profile owner --target-profile workload --launcher spot-fleet --key-id KEY_ARN --undo --apply",
  },
  run = function(ctx)
    local a = ctx.args
    if not (a.image_id or a.key_id) then
      error(crossaccount.usage("give --image-id or --key-id (what the launcher starts)"), 0)
    end
    if a.role_suffix and a.launcher ~= "autoscaling" then
      error(crossaccount.usage("--role-suffix: only Auto Scaling's service-linked role takes a custom suffix"), 0)
    end
    local operations, why = kms_grants.parse_operations(a.operations)
    if not operations then error(crossaccount.usage("--operations: " .. why), 0) end

    local src = crossaccount.side(ctx, a.source_profile, "source", { "kms", "ec2" })
    local dst = crossaccount.side(ctx, a.target_profile, "target", { "kms", "iam" })
    if src.account == dst.account then
      ctx.fail(string.format("--source-profile and --target-profile are both account %s; for a key of the " ..
                             "launcher's own account use same-account-asg", src.account))
    end
    ctx.log(string.format("key owner %s, launcher (%s) account %s", src.account, a.launcher, dst.account))
    local keys = crossaccount.find_keys(ctx, src, { key_id = a.key_id, image_ids = { a.image_id } })

    local role
    if a.undo then
      local found = launchers.find_launcher_role(dst.iam, a.launcher, a.role_suffix)
      role = found and { arn = found.Arn, name = found.RoleName, exists = true }
      if not role then ctx.log("no " .. launchers.launcher_role_name(a.launcher, a.role_suffix) .. " in account " ..
                               dst.account .. ": no grant of it to revoke") end
    else
      role = crossaccount.ensure_role(ctx, dst, a.launcher, a.role_suffix)
      ctx.log((role.exists and "found " or "will create ") .. role.arn)
    end

    local use_sid, grant_sid = keypolicy.statement_sids(dst.account)
    for _, key in ipairs(keys) do
      local grants = crossaccount.list_grants(src.kms, key.arn)
      local policy_spec = {
        statements = keypolicy.statements(dst.account, dst.partition),
        needs = function(doc) return (keypolicy.policy_needs(doc, dst.account)) end,
        note = function(doc)
          local _, trap = keypolicy.policy_needs(doc, dst.account)
          if #trap > 0 and not a.undo then
            ctx.log(string.format("note: statement %s gives account %s kms:CreateGrant only for AWS resources " ..
              "(the console's default); a direct grant needs an unconditional one, which luaws adds",
              table.concat(trap, ", "), dst.account))
          end
        end,
        detail = function(missing)
          return string.format("let account %s use the key and create grants on it (missing: %s)", dst.account,
                               table.concat(missing, ", "))
        end,
        undo = a.undo, undo_detail = string.format("remove luaws's statements for account %s", dst.account),
        removable = function()
          local others = other_luaws_grants(grants, dst.account, role and role.arn)
          if #others > 0 then
            return false, string.format("keeping %s and %s on %s: luaws grants to %s still need them", use_sid,
                                        grant_sid, key.arn, table.concat(others, ", "))
          end
          return true
        end,
      }
      if a.undo then
        if role then crossaccount.plan_grant(ctx, { owner = src, grantor = dst, key = key, role = role,
                                                    operations = operations, undo = true, grants = grants }) end
        crossaccount.plan_policy(ctx, src, key, policy_spec)
      else
        crossaccount.plan_policy(ctx, src, key, policy_spec)
        crossaccount.plan_grant(ctx, { owner = src, grantor = dst, key = key, role = role, operations = operations,
                                       grants = grants })
      end
    end

    local results = {}
    for _, key in ipairs(keys) do
      results[#results + 1] = { arn = key.arn, grant_id = key.grant_id, backup = key.backup, reasons = key.reasons }
    end
    ctx.result({ source_account = src.account, target_account = dst.account, launcher = a.launcher,
                 role_arn = role and role.arn, role_created = role and role.created or false,
                 operations = operations, keys = results, undo = a.undo or false }, { text = false })
  end,
}
