-- acme-ami-asg: ACME's golden-AMI fix: images account -> one workload account, stricter than the flagship.
local arn = require "luaws.core.arn"
local crossaccount = require "luaws.domain.crossaccount"
local kmsaccess = require "luaws.domain.kmsaccess"

-- Fixed accounts: a typo in a profile can never point the fix at the wrong account.
local IMAGES_ACCOUNT = "111111111111"
local WORKLOADS = { ["222222222222"] = "payments-prod" }
-- Our security team may retire every grant this recipe makes.
local RETIRING_ROLE = "arn:aws:iam::111111111111:role/security-kms-admin"
local OPERATIONS = { "Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "CreateGrant" }

-- Stricter than the flagship: grants only for the workload's Auto Scaling roles, only EBS's operations.
local function statements(account)
  return {
    { Sid = "AcmeUse" .. account, Effect = "Allow", Principal = { AWS = arn.root(account) }, Resource = "*",
      Action = { "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey" } },
    { Sid = "AcmeGrantToAutoScaling" .. account, Effect = "Allow", Principal = { AWS = arn.root(account) },
      Resource = "*", Action = "kms:CreateGrant",
      Condition = {
        StringLike = { ["kms:GranteePrincipal"] = "arn:aws:iam::" .. account ..
          ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling*" },
        ["ForAllValues:StringEquals"] = { ["kms:GrantOperations"] = OPERATIONS },
      } },
  }
end

return {
  description = [[
ACME: lets a workload account's Auto Scaling groups launch the golden AMI of the images account.

Fixed accounts, grants retirable by security-kms-admin, and a key policy that allows CreateGrant
only for the workload's Auto Scaling roles with EBS's five operations.]],
  categories = { "mutating", "cross-account", "kms" },
  args = {
    { name = "images-profile", type = "profile", required = true, help = "profile of the images account" },
    { name = "workload-profile", type = "profile", required = true, help = "profile of the workload account" },
    { name = "image-id", type = "ami_id", required = true, help = "the golden AMI" },
  },
  run = function(ctx)
    local a = ctx.args
    local images = crossaccount.side(ctx, a.images_profile, "images", { "kms", "ec2" })
    local workload = crossaccount.side(ctx, a.workload_profile, "workload", { "kms", "iam" })
    if images.account ~= IMAGES_ACCOUNT then ctx.fail("--images-profile is not the images account") end
    if not WORKLOADS[workload.account] then ctx.fail("account " .. workload.account .. " is not an ACME workload") end

    local keys = crossaccount.find_keys(ctx, images, { image_ids = { a.image_id } })
    local role = crossaccount.ensure_role(ctx, workload, "autoscaling")
    local ours = statements(workload.account)
    for _, key in ipairs(keys) do
      crossaccount.plan_policy(ctx, images, key, {
        statements = ours,
        -- Conditional statements never count in policy.allows: compare ours exactly instead.
        needs = function(doc) return kmsaccess.includes_all(doc, ours) and {} or { "ACME statements" } end,
        detail = function() return "ACME statements for " .. WORKLOADS[workload.account] end,
      })
      -- The grant with a retiring principal: the one thing the shared plan_grant does not do.
      if not kmsaccess.find_grant(crossaccount.list_grants(images.kms, key.arn), role.arn, OPERATIONS) then
        ctx.plan:add {
          action = "kms:CreateGrant", target = key.arn, detail = "grant to " .. role.arn,
          apply = function()
            workload.kms:CreateGrant { KeyId = key.arn, GranteePrincipal = role.arn, Operations = OPERATIONS,
                                       Name = kmsaccess.grant_name(role.arn), RetiringPrincipal = RETIRING_ROLE }
          end,
        }
      end
    end
    return { workload = WORKLOADS[workload.account], role = role.arn }
  end,
}
