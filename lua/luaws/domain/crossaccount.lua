-- crossaccount: the plan steps behind the KMS-access recipes (sides, keys, key policy, role, grant).
--
-- The flagship (cross-account-ami-asg) and its variants (same-account-asg, launcher-role-grant,
-- org-grant-rollout) all plan their changes through these steps, so a fix to one reaches all.
local arn = require "luaws.core.arn"
local errors = require "luaws.core.errors"
local keypolicy = require "luaws.domain.keypolicy"
local kms_grants = require "luaws.domain.grants"
local launch_sources = require "luaws.domain.launch_sources"
local launchers = require "luaws.domain.launchers"
local policy = require "luaws.domain.policy"

local M = {}

local function usage(message)
  return { code = "InvalidArgument", message = message, exit = 2 }
end
M.usage = usage

--- crossaccount.side(ctx, profile, label[, services]) -> {account=, partition=, profile=, label=,
--- kms=, ec2=, iam=, autoscaling=, ...}: who a profile is (sts GetCallerIdentity) and its guarded
--- clients. profile nil means the global --profile. An error names the label and profile.
function M.side(ctx, profile, label, services)
  local ok, identity = pcall(function() return ctx.client("sts", { profile = profile }):GetCallerIdentity {} end)
  if not ok then
    local e = identity
    if type(e) == "table" and e.code then
      e.message = string.format("%s account (profile %s): %s", label, tostring(profile or ctx.profile or "default"),
                                e.message or tostring(e))
    end
    error(e, 0)
  end
  local side = { account = identity.Account, partition = (arn.parse(identity.Arn) or {}).partition or "aws",
                 profile = profile, label = label }
  for _, service in ipairs(services or { "kms", "ec2", "iam", "autoscaling" }) do
    side[service] = ctx.client(service, { profile = profile })
  end
  return side
end

--- crossaccount.group_launch(ctx, side, group_name) -> group, launch (launch_sources.group_launch), or
--- ctx.fail naming the group and account when it does not exist.
function M.group_launch(ctx, side, group_name)
  local ok, group, launch = pcall(launch_sources.group_launch, side.autoscaling, side.ec2, group_name)
  if not ok then
    if errors.is(group, "GroupNotFound") then
      ctx.fail(string.format("Auto Scaling group '%s' not found in account %s", group_name, side.account))
    end
    error(group, 0)
  end
  ctx.log(string.format("group %s launches %s from %s", group_name, tostring(launch.image_id), launch.source or "?"))
  return group, launch
end

--- crossaccount.find_keys(ctx, owner, what) -> list of {arn=, state=, reasons={...}}: every
--- customer managed key (in the owner's account) behind what = {key_id=, image_ids={...},
--- key_ids={...}, key_ids_source=}. Fails (ctx.fail) on AWS managed keys, keys of another account,
--- AMIs the owner cannot see, or when nothing is encrypted with a customer managed key.
function M.find_keys(ctx, owner, what)
  local found, order = {}, {}
  local function add(key_id, why)
    local ok, described = pcall(function() return owner.kms:DescribeKey { KeyId = key_id }.KeyMetadata end)
    if not ok then
      if errors.is(described, "NotFoundException", "AccessDeniedException") then
        ctx.fail(string.format("KMS key %s (%s) is not visible from account %s: %s", key_id, why, owner.account,
                               described.message or tostring(described)))
      end
      error(described, 0)
    end
    if described.KeyManager == "AWS" then
      ctx.fail(string.format("%s is encrypted with the AWS managed key %s, whose policy cannot be changed; " ..
                             "copy the snapshots with a customer managed key first", why, described.Arn))
    end
    if arn.account_of(described.Arn) ~= owner.account then
      ctx.fail(string.format("KMS key %s (%s) belongs to account %s, not to the %s account %s", described.Arn, why,
                             tostring(arn.account_of(described.Arn)), owner.label, owner.account))
    end
    if not found[described.Arn] then
      found[described.Arn] = { arn = described.Arn, key_id = described.KeyId, state = described.KeyState, reasons = {} }
      order[#order + 1] = described.Arn
    end
    table.insert(found[described.Arn].reasons, why)
  end

  if what.key_id then add(what.key_id, "--key-id") end
  for _, image_id in ipairs(what.image_ids or {}) do
    local ok, image = pcall(launch_sources.describe_image, owner.ec2, image_id)
    if not ok then
      if errors.is(image, "InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable") then
        ctx.fail(string.format("AMI %s not found in account %s: %s", image_id, owner.account,
                               image.message or tostring(image)))
      end
      error(image, 0)
    end
    if not image then ctx.fail(string.format("AMI %s not found in account %s", image_id, owner.account)) end
    if image.OwnerId and image.OwnerId ~= owner.account then
      ctx.fail(string.format("AMI %s is owned by account %s, not by the %s account %s (only the owner sees " ..
                             "its snapshots' keys)", image_id, image.OwnerId, owner.label, owner.account))
    end
    for _, k in ipairs(launch_sources.image_keys(owner.ec2, image)) do
      add(k.key, string.format("AMI %s snapshot %s", image_id, table.concat(k.snapshots, ", ")))
    end
  end
  for _, key_id in ipairs(what.key_ids or {}) do add(key_id, what.key_ids_source or "launch template") end
  local keys = {}
  for _, a in ipairs(order) do keys[#keys + 1] = found[a] end
  if #keys == 0 then
    ctx.fail("found no customer managed KMS key behind the launch: nothing is encrypted with one (nothing to fix)")
  end
  for _, key in ipairs(keys) do
    if key.state ~= "Enabled" then
      ctx.fail(string.format("KMS key %s is %s; enable it before anything can launch with it", key.arn,
                             tostring(key.state)))
    end
    ctx.log(string.format("key %s (%s)", key.arn, table.concat(key.reasons, "; ")))
  end
  return keys
end

local function settle_seconds() return tonumber(os.getenv("LUAWS_POLICY_SETTLE") or "0.3") end

--- crossaccount.plan_policy(ctx, owner, key, spec) -> the planned step (or nil when nothing to do).
--- spec = {statements=<list or fn() -> list> (ours, by Sid), needs=fn(doc) -> missing list,
--- detail=fn(missing) -> string, undo=bool, removable=fn(doc) -> bool|nil, why (undo keeps ours
--- when false), undo_detail=string, note=fn(doc) (a log line before planning)}. Writes through
--- keypolicy.write_policy: backup first, merge by Sid, read back, verify, retry on races.
function M.plan_policy(ctx, owner, key, spec)
  local function ours()
    return type(spec.statements) == "function" and spec.statements() or spec.statements
  end
  local sids = {}
  for _, s in ipairs(ours()) do sids[#sids + 1] = s.Sid end
  local text = owner.kms:GetKeyPolicy { KeyId = key.arn, PolicyName = "default" }.Policy
  local doc = policy.decode(text)
  if spec.note then spec.note(doc) end
  local transform, detail
  if spec.undo then
    if spec.removable then
      local removable, why = spec.removable(doc)
      if not removable then
        if why then ctx.log(why) end
        return nil
      end
    end
    transform = function(d) return (policy.remove(d, sids)) end
    if #policy.statements(transform(doc)) == #policy.statements(doc) then return nil end
    detail = spec.undo_detail or "remove luaws's statements"
  else
    local missing = spec.needs(doc)
    key.policy_missing = missing
    if #missing == 0 then return nil end
    transform = function(d) return (policy.merge(d, ours())) end
    detail = spec.detail(missing)
  end
  local diff = policy.diff(doc, transform(doc))
  return ctx.plan:add {
    action = "kms:PutKeyPolicy", target = key.arn, detail = detail, diff = diff.text,
    apply = function()
      local written = keypolicy.write_policy {
        kms = owner.kms, key = key.arn, owner = owner.account, transform = transform,
        expect = function(d)
          if spec.undo then
            for _, sid in ipairs(sids) do if policy.find(d, sid) then return false end end
            return true
          end
          return keypolicy.includes_all(d, ours())
        end,
        backup = function(current)
          key.original_policy = key.original_policy or current
          local path = ctx.backup("keypolicy-" .. (key.arn:match("key/(.+)$") or "key") .. ".json", current)
          ctx.log("backed up the key policy of " .. key.arn .. " to " .. path)
          return path
        end,
        sleep = require("luaws.http").sleep, now = require("luaws.http").now, settle = settle_seconds(),
      }
      key.backup, key.written_policy = written.backup, written.policy
      ctx.log(string.format("key policy of %s written and verified%s", key.arn,
                            written.rounds > 1 and (" after " .. written.rounds .. " rounds") or ""))
    end,
  }
end

--- crossaccount.plan_restore_policy(ctx, owner, key, spec) -> the planned step, or nil when there is
--- nothing to undo. spec = {original=<policy text before luaws wrote>, written=<text luaws left>,
--- sids={luaws's Sids}}. When the live policy is still exactly what luaws wrote, the original text
--- goes back byte for byte (backed up first, read back and compared); when somebody changed it
--- since, only luaws's statements are removed (their change is kept) and the log says so.
function M.plan_restore_policy(ctx, owner, key, spec)
  local live = owner.kms:GetKeyPolicy { KeyId = key.arn, PolicyName = "default" }.Policy
  if live == spec.original then return nil end
  local ours_present = false
  for _, sid in ipairs(spec.sids) do
    if policy.find(policy.decode(live), sid) then ours_present = true end
  end
  if not ours_present then return nil end
  if live ~= spec.written then
    ctx.log(string.format("the key policy of %s changed after luaws wrote it: removing luaws's statements %s " ..
                          "and keeping the rest", key.arn, table.concat(spec.sids, ", ")))
    local statements = {}
    for i, sid in ipairs(spec.sids) do statements[i] = { Sid = sid } end
    return M.plan_policy(ctx, owner, key, { statements = statements, undo = true,
      undo_detail = "remove luaws's statements " .. table.concat(spec.sids, ", ") })
  end
  local diff = policy.diff(policy.decode(live), policy.decode(spec.original))
  return ctx.plan:add {
    action = "kms:PutKeyPolicy", target = key.arn, diff = diff.text,
    detail = "restore the key policy luaws found, byte for byte",
    apply = function()
      local path = ctx.backup("keypolicy-" .. (key.arn:match("key/(.+)$") or "key") .. ".json", live)
      ctx.log("backed up the key policy of " .. key.arn .. " to " .. path)
      local ok, why = policy.check_owner_admin(policy.decode(live), policy.decode(spec.original), owner.account)
      if not ok then error(errors.new { code = "OwnerLockout", message = why, exit = 1 }, 0) end
      owner.kms:PutKeyPolicy { KeyId = key.arn, PolicyName = "default", Policy = spec.original }
      local back = owner.kms:GetKeyPolicy { KeyId = key.arn, PolicyName = "default" }.Policy
      if back ~= spec.original then
        error(errors.new { code = "PolicyNotRestored", exit = 1, message = string.format(
          "the key policy of %s read back differs from the one restored (backup: %s)", key.arn, path) }, 0)
      end
      ctx.log("key policy of " .. key.arn .. " restored and verified byte for byte")
    end,
  }
end

--- crossaccount.ensure_role(ctx, side, launcher, suffix) -> role {arn=, name=, exists=, created=}.
--- Looks the launcher's service-linked role up in IAM (launchers.find_launcher_role); when it is
--- missing, plans iam:CreateServiceLinkedRole and, when applied, takes the ARN IAM answers.
function M.ensure_role(ctx, side, launcher, suffix)
  local found = launchers.find_launcher_role(side.iam, launcher, suffix)
  if found then return { arn = found.Arn, name = found.RoleName, exists = true } end
  local service = launchers.LAUNCHERS[launcher].service
  local role = { arn = launchers.role_arn(side.account, side.partition, launcher, suffix),
                 name = launchers.launcher_role_name(launcher, suffix), exists = false }
  ctx.plan:add {
    action = "iam:CreateServiceLinkedRole", target = role.arn,
    detail = string.format("the %s service-linked role does not exist yet in account %s", service, side.account),
    apply = function()
      local created = side.iam:CreateServiceLinkedRole {
        AWSServiceName = service, CustomSuffix = (suffix and suffix ~= "") and suffix or nil }
      if created and created.Role and created.Role.Arn then
        role.arn, role.name = created.Role.Arn, created.Role.RoleName
      end
      role.exists, role.created = true, true
      ctx.log("created " .. role.arn)
    end,
  }
  return role
end

--- crossaccount.list_grants(kms, key_arn) -> every grant on the key (the key owner's view).
function M.list_grants(kms, key_arn)
  local grants = {}
  for page in kms:paginate("ListGrants", { KeyId = key_arn }) do
    for _, g in ipairs(page.Grants or {}) do grants[#grants + 1] = g end
  end
  return grants
end

-- Reads a new grant back: from the key owner with ListGrants and, when its retiring principal is
-- in the grantor's account, from there with ListRetirableGrants (which needs no permission in the
-- key owner's account).
local function grant_visible(spec, grant_id)
  local listed = {}
  for page in spec.owner.kms:paginate("ListGrants", { KeyId = spec.key.arn, GrantId = grant_id }) do
    for _, g in ipairs(page.Grants or {}) do listed[#listed + 1] = g end
  end
  if not kms_grants.find_grant(listed, spec.role.arn, spec.operations) then return false end
  local retiring = spec.retiring_principal
  if retiring and arn.account_of(retiring) == spec.grantor.account then
    for page in spec.grantor.kms:paginate("ListRetirableGrants", { RetiringPrincipal = retiring }) do
      for _, g in ipairs(page.Grants or {}) do
        if g.GrantId == grant_id then return true end
      end
    end
    return false
  end
  return true
end

--- crossaccount.plan_grant(ctx, spec) -> "exists" (a matching grant is there), "planned" (a step
--- was added, and made when applying) or nil (undo). Plans (or, when applying, makes) the grant.
--- spec = {owner=<key owner side>, grantor=<side that calls CreateGrant>, key=, role=<{arn=}>,
--- operations=, retiring_principal=, undo=bool, grants=<the owner's grant list, or nil to list>}.
--- A named grant (kms_grants.grant_name) makes CreateGrant idempotent; after creating it, the key
--- owner (and the retiring principal's account) list it to verify. Undo revokes exactly the grants
--- of that name to that role.
function M.plan_grant(ctx, spec)
  local key, role = spec.key, spec.role
  local grants = spec.grants or M.list_grants(spec.owner.kms, key.arn)
  local name = kms_grants.grant_name(role.arn)
  if spec.undo then
    for _, g in ipairs(kms_grants.grants_by_name(grants, name, role.arn)) do
      ctx.plan:add {
        action = "kms:RevokeGrant", target = key.arn,
        detail = string.format("grant %s (%s) to %s", g.GrantId, name, role.arn),
        apply = function() spec.owner.kms:RevokeGrant { KeyId = key.arn, GrantId = g.GrantId } end,
      }
    end
    return
  end
  local existing = kms_grants.find_grant(grants, role.arn, spec.operations)
  if existing then
    key.grant_id = existing.GrantId
    return "exists"
  end
  ctx.plan:add {
    action = "kms:CreateGrant", target = key.arn,
    detail = string.format("from account %s: grant %s to %s for %s", spec.grantor.account, name, role.arn,
                           table.concat(spec.operations, ", ")),
    apply = function()
      local created = spec.grantor.kms:CreateGrant { KeyId = key.arn, GranteePrincipal = role.arn,
                                                     Operations = spec.operations, Name = name,
                                                     RetiringPrincipal = spec.retiring_principal }
      key.grant_id = created.GrantId
      if not grant_visible(spec, created.GrantId) then
        ctx.fail(string.format("grant %s on %s was created but its key owner or retiring principal cannot see it",
                               created.GrantId, key.arn))
      end
      ctx.log(string.format("grant %s on %s created and verified", created.GrantId, key.arn))
    end,
  }
  return "planned"
end

return M
