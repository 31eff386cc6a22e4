-- kmsaccess: what a launcher's service-linked role needs on a KMS key, and safe ways to give it.
--
-- Shared by the cross-account recipes and the doctor: find the keys behind an AMI or an Auto
-- Scaling group, build the key-policy statements and grants that let a launcher's role use a key,
-- and write a key policy without ever losing a statement (backup, merge, write, read back, verify).
local arn = require "luaws.arn"
local policy = require "luaws.policy"

local M = {}

-- The operations AWS's documentation grants to the Auto Scaling role for a cross-account key.
M.DOC_OPERATIONS = { "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                     "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant" }
-- The five operations of the original blog post.
M.BLOG_OPERATIONS = { "Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
                      "CreateGrant" }
M.OPERATION_PRESETS = { docs = M.DOC_OPERATIONS, blog = M.BLOG_OPERATIONS }

-- Every operation a grant may carry (KMS CreateGrant's GrantOperation enum, minus the asymmetric
-- and HMAC ones a launcher never needs).
local GRANT_OPERATIONS = {
  Decrypt = true, Encrypt = true, GenerateDataKey = true, GenerateDataKeyWithoutPlaintext = true,
  ReEncryptFrom = true, ReEncryptTo = true, CreateGrant = true, RetireGrant = true,
  DescribeKey = true, GenerateDataKeyPair = true, GenerateDataKeyPairWithoutPlaintext = true,
  Sign = true, Verify = true, GetPublicKey = true, GenerateMac = true, VerifyMac = true,
}

-- What the key owner's policy must give the other account's root: the use actions and CreateGrant
-- (unconditionally: the console's kms:GrantIsForAWSResource condition blocks a direct CreateGrant).
M.USE_ACTIONS = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey" }
M.REQUIRED_ACTIONS = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                       "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
                       "kms:CreateGrant" }

M.LAUNCHERS = {
  autoscaling = { service = "autoscaling.amazonaws.com", role = "AWSServiceRoleForAutoScaling" },
  ["ec2-fleet"] = { service = "ec2fleet.amazonaws.com", role = "AWSServiceRoleForEC2Fleet" },
  ["spot-fleet"] = { service = "spotfleet.amazonaws.com", role = "AWSServiceRoleForEC2SpotFleet" },
  spot = { service = "spot.amazonaws.com", role = "AWSServiceRoleForEC2Spot" },
}

--- kmsaccess.parse_operations(list) -> operations (a list), or nil and a message. Accepts the
--- presets "docs" and "blog" or grant operation names, with or without the "kms:" prefix.
function M.parse_operations(list)
  if #list == 1 and M.OPERATION_PRESETS[list[1]] then return M.OPERATION_PRESETS[list[1]] end
  local out, seen = {}, {}
  for _, op in ipairs(list) do
    local name = op:gsub("^kms:", "")
    if not GRANT_OPERATIONS[name] then
      return nil, string.format("'%s' is not a KMS grant operation (or the presets 'docs' and 'blog')", op)
    end
    if not seen[name] then out[#out + 1], seen[name] = name, true end
  end
  if #out == 0 then return nil, "no operations given" end
  return out
end

--- kmsaccess.role_arn(account, partition, launcher, suffix) -> the service-linked role's ARN.
function M.role_arn(account, partition, launcher, suffix)
  local l = assert(M.LAUNCHERS[launcher or "autoscaling"], "unknown launcher")
  local name = l.role .. ((suffix and suffix ~= "") and ("_" .. suffix) or "")
  return string.format("arn:%s:iam::%s:role/aws-service-role/%s/%s", partition or "aws", account, l.service, name)
end

--- kmsaccess.role_name(role_arn) -> the role's name (the last path segment).
function M.role_name(role_arn)
  return role_arn:match("([^/]+)$")
end

--- kmsaccess.role_suffix(role_arn) -> the custom suffix of a service-linked role name, or nil.
function M.role_suffix(role_arn)
  return M.role_name(role_arn):match("^AWSServiceRoleFor[%w]+_(.+)$")
end

--- kmsaccess.statement_sids(account) -> use_sid, grant_sid: the stable Sids luaws owns for one
--- other account, so reruns replace rather than add and undo removes exactly these.
function M.statement_sids(account)
  return "LuawsCrossAccountUse" .. account, "LuawsCrossAccountCreateGrant" .. account
end

--- kmsaccess.statements(account, partition) -> the two key-policy statements for another account.
function M.statements(account, partition)
  local use_sid, grant_sid = M.statement_sids(account)
  local root = arn.root(account, partition)
  return {
    { Sid = use_sid, Effect = "Allow", Principal = { AWS = root }, Action = M.USE_ACTIONS, Resource = "*" },
    { Sid = grant_sid, Effect = "Allow", Principal = { AWS = root }, Action = "kms:CreateGrant", Resource = "*" },
  }
end

--- kmsaccess.grant_name(role_arn) -> a deterministic grant Name, so CreateGrant is idempotent.
function M.grant_name(role_arn)
  return ("luaws-" .. M.role_name(role_arn)):gsub("[^%w:/_%-]", "-"):sub(1, 256)
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

--- kmsaccess.find_grant(grants, role_arn, operations) -> the first grant to role_arn that carries
--- every operation and no constraints, or nil.
function M.find_grant(grants, role_arn, operations)
  for _, g in ipairs(grants or {}) do
    if g.GranteePrincipal == role_arn and g.Constraints == nil then
      local has = set_of(g.Operations)
      local complete = true
      for _, op in ipairs(operations) do
        if not has[op] then complete = false break end
      end
      if complete then return g end
    end
  end
  return nil
end

--- kmsaccess.grants_by_name(grants, name, role_arn) -> the grants luaws made for role_arn.
function M.grants_by_name(grants, name, role_arn)
  local out = {}
  for _, g in ipairs(grants or {}) do
    if g.Name == name and g.GranteePrincipal == role_arn then out[#out + 1] = g end
  end
  return out
end

--- kmsaccess.policy_needs(doc, account) -> missing_actions, console_trap_sids: what the key policy
--- lacks for another account's root, and the console-style statements that look like they grant
--- CreateGrant but only for AWS resources.
function M.policy_needs(doc, account)
  local _, missing = policy.allows(doc, arn.root(account), M.REQUIRED_ACTIONS)
  local trap = {}
  for _, found in ipairs(policy.grant_for_aws_resource_only(doc, arn.root(account))) do
    trap[#trap + 1] = found.sid or ("statement #" .. found.index)
  end
  return missing, trap
end

local function kms_key_arn_or_id(v)
  return type(v) == "string" and v ~= "" and v or nil
end

--- kmsaccess.describe_image(ec2, image_id) -> the image as its owner's account sees it, or nil.
function M.describe_image(ec2, image_id)
  local images = ec2:DescribeImages { ImageIds = { image_id } }.Images or {}
  return images[1]
end

--- kmsaccess.image_keys(ec2, image) -> keys: the KMS keys of the image's EBS snapshots, read with a
--- client of the account that owns the snapshots (only it sees their KmsKeyId). keys is a list of
--- {key=<id or ARN as EC2 reports it>, snapshots={...}}, in first-seen order.
function M.image_keys(ec2, image)
  local snapshot_ids, by_snapshot = {}, {}
  for _, mapping in ipairs(image.BlockDeviceMappings or {}) do
    local ebs = mapping.Ebs
    if ebs and ebs.SnapshotId then
      snapshot_ids[#snapshot_ids + 1] = ebs.SnapshotId
      by_snapshot[ebs.SnapshotId] = kms_key_arn_or_id(ebs.KmsKeyId)
    end
  end
  if #snapshot_ids > 0 then
    for _, snap in ipairs(ec2:DescribeSnapshots { SnapshotIds = snapshot_ids }.Snapshots or {}) do
      if snap.Encrypted and snap.KmsKeyId then by_snapshot[snap.SnapshotId] = snap.KmsKeyId end
    end
  end
  local keys, index = {}, {}
  for _, id in ipairs(snapshot_ids) do
    local key = by_snapshot[id]
    if key then
      if not index[key] then
        index[key] = { key = key, snapshots = {} }
        keys[#keys + 1] = index[key]
      end
      table.insert(index[key].snapshots, id)
    end
  end
  return keys
end

--- kmsaccess.group_launch(autoscaling, ec2, group_name) -> group, launch: the group and what it
--- launches: {image_id=, key_ids={KmsKeyId in its block device mappings}, source="launch template
--- lt-... version N" | "launch configuration NAME"}. Raises a plain error table when the group is
--- missing.
function M.group_launch(autoscaling, ec2, group_name)
  local groups = autoscaling:DescribeAutoScalingGroups { AutoScalingGroupNames = { group_name } }.AutoScalingGroups
  local group = groups and groups[1]
  if not group then
    error({ code = "GroupNotFound", message = "Auto Scaling group '" .. group_name .. "' not found", exit = 1 }, 0)
  end
  local launch = { key_ids = {} }
  local spec = group.LaunchTemplate
  if not spec and group.MixedInstancesPolicy then
    spec = group.MixedInstancesPolicy.LaunchTemplate and
           group.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
  end
  local mappings
  if spec then
    local version = spec.Version or "$Default"
    local request = { Versions = { version } }
    if spec.LaunchTemplateId then request.LaunchTemplateId = spec.LaunchTemplateId
    else request.LaunchTemplateName = spec.LaunchTemplateName end
    local versions = ec2:DescribeLaunchTemplateVersions(request).LaunchTemplateVersions or {}
    local data = versions[1] and versions[1].LaunchTemplateData or {}
    launch.image_id = data.ImageId
    mappings = data.BlockDeviceMappings
    launch.source = string.format("launch template %s version %s",
                                  spec.LaunchTemplateId or spec.LaunchTemplateName,
                                  versions[1] and tostring(versions[1].VersionNumber) or version)
  elseif group.LaunchConfigurationName then
    local configs = autoscaling:DescribeLaunchConfigurations {
      LaunchConfigurationNames = { group.LaunchConfigurationName } }.LaunchConfigurations or {}
    launch.image_id = configs[1] and configs[1].ImageId
    mappings = configs[1] and configs[1].BlockDeviceMappings
    launch.source = "launch configuration " .. group.LaunchConfigurationName
  end
  for _, mapping in ipairs(mappings or {}) do
    local key = mapping.Ebs and kms_key_arn_or_id(mapping.Ebs.KmsKeyId)
    if key then launch.key_ids[#launch.key_ids + 1] = key end
  end
  return group, launch
end

--- kmsaccess.failed_launches(activities) -> the activities whose failure is the KMS trap.
local TRAP_PATTERNS = { "Client%.InternalError", "InvalidKMSKey", "inaccessible AWS KMS key", "KMS" }
function M.failed_launches(activities)
  local out = {}
  for _, a in ipairs(activities or {}) do
    if a.StatusCode == "Failed" then
      local text = (a.StatusMessage or "") .. " " .. (a.Description or "")
      for _, p in ipairs(TRAP_PATTERNS) do
        if text:find(p) then out[#out + 1] = a break end
      end
    end
  end
  return out
end

local function includes_all(doc, statements)
  for _, s in ipairs(statements) do
    local found = policy.find(doc, s.Sid)
    if not found or policy.json_encode(found) ~= policy.json_encode(policy.normalize(s)) then return false end
  end
  return true
end

-- Statements of `before` that a write must keep: all of them but those `transform` replaces or drops.
local function kept_statements(before, after)
  local keep = {}
  for _, s in ipairs(policy.statements(before)) do
    if s.Sid == nil or policy.find(after, s.Sid) then keep[#keep + 1] = s end
  end
  return keep
end

local function survives(doc, statements)
  local present = {}
  for _, s in ipairs(policy.statements(doc)) do present[policy.json_encode(s)] = true end
  for _, s in ipairs(statements) do
    if s.Sid == nil and not present[policy.json_encode(s)] then return false end
    if s.Sid ~= nil and not policy.find(doc, s.Sid) then return false end
  end
  return true
end

--- kmsaccess.write_policy{kms=, key=, transform=fn(doc) -> new_doc, expect=fn(doc) -> bool,
---   backup=fn(text) -> path, owner=<account>, sleep=fn(s), settle=seconds, rounds=n}
--- -> {backup=path, rounds=n, policy=text}. PutKeyPolicy replaces the whole document and has no
--- conditional write, so: read the live policy, save it (backup) before anything is written, apply
--- `transform` to it, refuse oversize or owner-lockout results, write (never bypassing the lockout
--- safety check), read back and check `expect` and that every statement we did not mean to touch
--- survived; after `settle` seconds read again, because a concurrent writer that read before our
--- write may have replaced the policy since. Whenever the live policy is not what we expect, merge
--- again from it and write again, up to `rounds` times.
function M.write_policy(o)
  local function read()
    return o.kms:GetKeyPolicy { KeyId = o.key, PolicyName = "default" }.Policy
  end
  local text = read()
  local first_backup
  for round = 1, o.rounds or 5 do
    local before = policy.decode(text)
    local backup = o.backup(text)
    first_backup = first_backup or backup
    local after = o.transform(before)
    local size_ok, size_err = policy.check_size(after)
    if not size_ok then error({ code = "PolicyTooLarge", message = size_err, exit = 1 }, 0) end
    local admin_ok, admin_err = policy.check_owner_admin(before, after, o.owner)
    if not admin_ok then error({ code = "OwnerLockout", message = admin_err, exit = 1 }, 0) end
    local keep = kept_statements(before, after)
    o.kms:PutKeyPolicy { KeyId = o.key, PolicyName = "default", Policy = policy.encode(after) }
    local live = read()
    if o.settle and o.settle > 0 and o.expect(policy.decode(live)) then
      o.sleep(o.settle)
      live = read()
    end
    local doc = policy.decode(live)
    if o.expect(doc) and survives(doc, keep) then
      return { backup = first_backup, rounds = round, policy = live }
    end
    text = live
  end
  error({ code = "PolicyNotSettled", exit = 1, message = string.format(
    "key policy of %s kept changing under concurrent writers; gave up after %d rounds (backup: %s)",
    o.key, o.rounds or 5, tostring(first_backup)) }, 0)
end

M.includes_all = includes_all

return M
