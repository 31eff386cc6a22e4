-- cross-account-ami-asg: lets an Auto Scaling group launch an AMI encrypted with another account's KMS key.
local arn = require "luaws.arn"
local policy = require "luaws.policy"
local kmsaccess = require "luaws.kmsaccess"

local function describe_list(list) return table.concat(list, ", ") end

-- The "source" side owns the key and the AMI; the "target" side owns the group and its role.
local function identify(ctx, profile, label)
  local ok, identity = pcall(function() return ctx.client("sts", { profile = profile }):GetCallerIdentity {} end)
  if not ok then
    local e = identity
    if type(e) == "table" and e.code then
      e.message = string.format("%s (--%s-profile %s): %s", label, label, profile, e.message or tostring(e))
    end
    error(e, 0)
  end
  return identity.Account, (arn.parse(identity.Arn) or {}).partition or "aws"
end

local function not_found(e, codes)
  if type(e) ~= "table" then return false end
  for _, c in ipairs(codes) do if e.code == c then return true end end
  return false
end

-- Resolves every KMS key (as a key ARN in the source account) the launch needs.
local function find_keys(ctx, src, dst, launch, source_account)
  local found, order = {}, {}
  local function add(key_id, why)
    local ok, described = pcall(function() return src.kms:DescribeKey { KeyId = key_id }.KeyMetadata end)
    if not ok then
      if not_found(described, { "NotFoundException", "AccessDeniedException" }) then
        ctx.fail(string.format("KMS key %s (%s) is not visible from the source account %s: %s",
                               key_id, why, source_account, described.message or tostring(described)))
      end
      error(described, 0)
    end
    if described.KeyManager == "AWS" then
      ctx.fail(string.format("%s is encrypted with the AWS managed key %s, which cannot be shared with " ..
                             "another account; copy the snapshots with a customer managed key first",
                             why, described.Arn))
    end
    local key_account = arn.account_of(described.Arn)
    if key_account ~= source_account then
      ctx.fail(string.format("KMS key %s (%s) belongs to account %s, but --source-profile is account %s",
                             described.Arn, why, tostring(key_account), source_account))
    end
    if not found[described.Arn] then
      found[described.Arn] = { arn = described.Arn, state = described.KeyState, reasons = {} }
      order[#order + 1] = described.Arn
    end
    table.insert(found[described.Arn].reasons, why)
  end

  if ctx.args.key_id then add(ctx.args.key_id, "--key-id") end
  for _, image_id in ipairs(launch.image_ids) do
    local ok, image = pcall(kmsaccess.describe_image, src.ec2, image_id)
    if not ok then
      if not_found(image, { "InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable" }) then
        ctx.fail(string.format("AMI %s not found in the source account %s: %s", image_id,
                               source_account, image.message or tostring(image)))
      end
      error(image, 0)
    end
    if not image then
      ctx.fail(string.format("AMI %s not found in the source account %s (is --source-profile the account " ..
                             "that owns the AMI?)", image_id, source_account))
    end
    if image.OwnerId and image.OwnerId ~= source_account then
      ctx.fail(string.format("AMI %s is owned by account %s, but --source-profile is account %s",
                             image_id, image.OwnerId, source_account))
    end
    local keys = kmsaccess.image_keys(src.ec2, image)
    for _, k in ipairs(keys) do
      add(k.key, string.format("AMI %s snapshot %s", image_id, describe_list(k.snapshots)))
    end
  end
  for _, key_id in ipairs(launch.key_ids or {}) do
    if arn.account_of(key_id) ~= dst.account then add(key_id, launch.source) end
  end
  local keys = {}
  for _, a in ipairs(order) do keys[#keys + 1] = found[a] end
  if #keys == 0 then
    ctx.fail("found no customer managed KMS key to share: the AMI's snapshots are not encrypted " ..
             "with a key of the source account (nothing to fix here)")
  end
  return keys
end

local function plan_key_policy(ctx, src, target_account, partition, key, undo)
  local text = src.kms:GetKeyPolicy { KeyId = key.arn, PolicyName = "default" }.Policy
  local doc = policy.decode(text)
  local ours = kmsaccess.statements(target_account, partition)
  local use_sid, grant_sid = kmsaccess.statement_sids(target_account)
  local missing, trap = kmsaccess.policy_needs(doc, target_account)
  key.policy_missing, key.console_trap = missing, trap
  local transform, new_doc
  if undo then
    transform = function(d) return (policy.remove(d, { use_sid, grant_sid })) end
    new_doc = transform(doc)
    if #policy.statements(new_doc) == #policy.statements(doc) then return end
  else
    if #missing == 0 then return end
    transform = function(d) return (policy.merge(d, ours)) end
    new_doc = transform(doc)
    if #trap > 0 then
      ctx.log(string.format("note: key policy statement %s gives account %s kms:CreateGrant only when " ..
        "kms:GrantIsForAWSResource is true (the console's default). Auto Scaling's fix needs a direct " ..
        "CreateGrant from %s, so luaws adds an unconditional statement and leaves that one as it is.",
        describe_list(trap), target_account, target_account))
    end
  end
  local diff = policy.diff(doc, new_doc)
  ctx.plan:add {
    action = "kms:PutKeyPolicy", target = key.arn,
    detail = undo and string.format("remove luaws's statements for account %s", target_account)
      or string.format("let account %s use the key and create grants on it (missing: %s)",
                       target_account, describe_list(missing)),
    diff = diff.text,
    apply = function()
      local written = kmsaccess.write_policy {
        kms = src.kms, key = key.arn, owner = src.account, transform = transform,
        expect = function(d)
          if undo then return policy.find(d, use_sid) == nil and policy.find(d, grant_sid) == nil end
          return kmsaccess.includes_all(d, ours)
        end,
        backup = function(current)
          local path = ctx.backup("keypolicy-" .. key.arn:match("key/(.+)$") .. ".json", current)
          ctx.log("backed up the key policy of " .. key.arn .. " to " .. path)
          return path
        end,
        sleep = aws.sleep, settle = tonumber(os.getenv("LUAWS_POLICY_SETTLE") or "0.3"),
      }
      key.backup = written.backup
      ctx.log(string.format("key policy of %s written and verified%s", key.arn,
                            written.rounds > 1 and (" after " .. written.rounds .. " rounds") or ""))
    end,
  }
end

local function ensure_role(ctx, dst, role_arn)
  local name = kmsaccess.role_name(role_arn)
  local ok, e = pcall(function() return dst.iam:GetRole { RoleName = name } end)
  if ok then return true end
  if not not_found(e, { "NoSuchEntity" }) then error(e, 0) end
  local suffix = kmsaccess.role_suffix(role_arn)
  ctx.plan:add {
    action = "iam:CreateServiceLinkedRole", target = role_arn,
    detail = "the Auto Scaling service-linked role does not exist yet in account " .. dst.account,
    apply = function()
      dst.iam:CreateServiceLinkedRole { AWSServiceName = "autoscaling.amazonaws.com", CustomSuffix = suffix }
    end,
  }
  return false
end

-- Reads the new grant back: from the key owner with ListGrants, and, when the retiring principal
-- is in the group's account, from that account with ListRetirableGrants (which needs no key policy
-- permission in the key owner's account).
local function verify_grant(src, dst, key, role_arn, operations, grant_id, retiring_principal)
  local listed = {}
  for page in src.kms:paginate("ListGrants", { KeyId = key.arn, GrantId = grant_id }) do
    for _, g in ipairs(page.Grants or {}) do listed[#listed + 1] = g end
  end
  if not kmsaccess.find_grant(listed, role_arn, operations) then return false end
  if retiring_principal and arn.account_of(retiring_principal) == dst.account then
    local retirable = {}
    for page in dst.kms:paginate("ListRetirableGrants", { RetiringPrincipal = retiring_principal }) do
      for _, g in ipairs(page.Grants or {}) do
        if g.GrantId == grant_id then retirable[#retirable + 1] = g end
      end
    end
    if #retirable == 0 then return false end
  end
  return true
end

local function plan_grant(ctx, src, dst, key, role_arn, operations, undo)
  local grants = {}
  for page in src.kms:paginate("ListGrants", { KeyId = key.arn }) do
    for _, g in ipairs(page.Grants or {}) do grants[#grants + 1] = g end
  end
  local name = kmsaccess.grant_name(role_arn)
  if undo then
    for _, g in ipairs(kmsaccess.grants_by_name(grants, name, role_arn)) do
      ctx.plan:add {
        action = "kms:RevokeGrant", target = key.arn,
        detail = string.format("grant %s (%s) to %s", g.GrantId, name, role_arn),
        apply = function() src.kms:RevokeGrant { KeyId = key.arn, GrantId = g.GrantId } end,
      }
    end
    return
  end
  local existing = kmsaccess.find_grant(grants, role_arn, operations)
  if existing then
    key.grant_id = existing.GrantId
    return
  end
  ctx.plan:add {
    action = "kms:CreateGrant", target = key.arn,
    detail = string.format("from account %s: grant %s to %s for %s", dst.account, name, role_arn,
                           describe_list(operations)),
    apply = function()
      local created = dst.kms:CreateGrant { KeyId = key.arn, GranteePrincipal = role_arn,
                                            Operations = operations, Name = name,
                                            RetiringPrincipal = ctx.args.retiring_principal }
      key.grant_id = created.GrantId
      if not verify_grant(src, dst, key, role_arn, operations, created.GrantId, ctx.args.retiring_principal) then
        ctx.fail(string.format("grant %s on %s was created but cannot be seen by its key owner or retiring principal",
                               created.GrantId, key.arn))
      end
      ctx.log(string.format("grant %s on %s created and verified", created.GrantId, key.arn))
    end,
  }
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
  if latest and #kmsaccess.failed_launches({ latest }) > 0 then
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
      error({ code = "MissingArgument", exit = 2,
              message = "give --image-id, --key-id or --asg-name (what the group launches)" }, 0)
    end
    local operations, why = kmsaccess.parse_operations(a.operations)
    if not operations then error({ code = "InvalidArgument", exit = 2, message = "--operations: " .. why }, 0) end

    local src, dst = {}, {}
    src.account, src.partition = identify(ctx, a.source_profile, "source")
    dst.account, dst.partition = identify(ctx, a.target_profile, "target")
    if src.account == dst.account then
      ctx.fail(string.format("--source-profile and --target-profile are both account %s; this recipe is for " ..
                             "two accounts", src.account))
    end
    for _, side in ipairs { { src, a.source_profile }, { dst, a.target_profile } } do
      local t, profile = side[1], side[2]
      for _, service in ipairs { "kms", "ec2", "iam", "autoscaling" } do
        t[service] = ctx.client(service, { profile = profile })
      end
    end
    ctx.log(string.format("source (key owner) account %s, target (group owner) account %s", src.account, dst.account))

    local launch = { key_ids = {} }
    local group
    if a.asg_name then
      local ok, g, l = pcall(kmsaccess.group_launch, dst.autoscaling, dst.ec2, a.asg_name)
      if not ok then
        if type(g) == "table" and g.code == "GroupNotFound" then
          ctx.fail(string.format("Auto Scaling group '%s' not found in account %s", a.asg_name, dst.account))
        end
        error(g, 0)
      end
      group, launch = g, l
      ctx.log(string.format("group %s launches %s from %s", a.asg_name, tostring(l.image_id), l.source or "?"))
    end
    -- Both the group's AMI and an explicit --image-id are checked when they differ.
    launch.image_ids = { launch.image_id }
    if a.image_id and a.image_id ~= launch.image_id then launch.image_ids[#launch.image_ids + 1] = a.image_id end

    local role_arn = a.service_linked_role_arn
      or (group and group.ServiceLinkedRoleARN)
      or kmsaccess.role_arn(dst.account, dst.partition, "autoscaling", a.role_suffix)
    if arn.account_of(role_arn) ~= dst.account then
      ctx.fail(string.format("the grantee role %s is not in the target account %s", role_arn, dst.account))
    end

    local keys = find_keys(ctx, src, dst, launch, src.account)
    for _, key in ipairs(keys) do
      if key.state ~= "Enabled" then
        ctx.fail(string.format("KMS key %s is %s; enable it before anything can launch with it",
                               key.arn, tostring(key.state)))
      end
      ctx.log(string.format("key %s (%s)", key.arn, describe_list(key.reasons)))
    end

    if not a.undo then ensure_role(ctx, dst, role_arn) end
    for _, key in ipairs(keys) do
      if a.undo then
        plan_grant(ctx, src, dst, key, role_arn, operations, true)
        plan_key_policy(ctx, src, dst.account, dst.partition, key, true)
      else
        plan_key_policy(ctx, src, dst.account, dst.partition, key, false)
        plan_grant(ctx, src, dst, key, role_arn, operations, false)
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
    ctx.result {
      source_account = src.account, target_account = dst.account, image_ids = launch.image_ids,
      role_arn = role_arn, operations = operations, keys = key_results, undo = a.undo or false,
      activities = activities,
    }
  end,
}
