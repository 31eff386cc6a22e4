-- kmsaccess: what a launcher's service-linked role needs on a KMS key, and safe ways to give it.
--
-- Shared by the cross-account recipes and the doctor: find the keys behind an AMI or an Auto
-- Scaling group, build the key-policy statements and grants that let a launcher's role use a key,
-- and write a key policy without ever losing a statement (backup, merge, write, read back, verify).
local arn = require "luaws.core.arn"
local policy = require "luaws.domain.policy"

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
---   backup=fn(text) -> path, owner=<account>, sleep=fn(s), now=fn() -> seconds, settle=seconds,
---   rounds=n} -> {backup=path, rounds=n, policy=text}.
--- PutKeyPolicy replaces the whole document and has no conditional write, so: read the live
--- policy, save it (backup) before anything is written, apply `transform` to it, refuse oversize
--- or owner-lockout results, write (never bypassing the lockout safety check), read back and check
--- `expect` and that every statement we did not mean to touch survived. Then wait and read again:
--- a concurrent writer that read before our write may replace the policy after our read-back.
--- Its read-to-write window is about as long as ours, so the wait is `settle` seconds or three
--- times our own read-to-write time, whichever is longer (a loaded machine or a slow link widens
--- both). Whenever the live policy is not what we expect, wait a random part of that (so two
--- writers stop colliding), merge again from the live policy and write again, up to `rounds` times.
--- settle = 0 turns the waiting off.
function M.write_policy(o)
  local now = o.now or os.time
  local function read()
    return o.kms:GetKeyPolicy { KeyId = o.key, PolicyName = "default" }.Policy
  end
  local started = now()
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
    local wait = (o.settle or 0) > 0 and math.max(o.settle, 3 * (now() - started)) or 0
    local live = read()
    if wait > 0 and o.expect(policy.decode(live)) then
      o.sleep(wait)
      live = read()
    end
    local doc = policy.decode(live)
    if o.expect(doc) and survives(doc, keep) then
      return { backup = first_backup, rounds = round, policy = live }
    end
    if wait > 0 then o.sleep(math.random() * wait) end
    started = now()
    text = read()
  end
  error({ code = "PolicyNotSettled", exit = 1, message = string.format(
    "key policy of %s kept changing under concurrent writers; gave up after %d rounds (backup: %s)",
    o.key, o.rounds or 5, tostring(first_backup)) }, 0)
end

M.includes_all = includes_all

-- --- diagnosis and audit (the doctor: diagnose-asg, audit-grants) --------------------------------

-- What EBS does with the key on the launcher role's behalf when it creates the instance's volumes:
-- a grant to the role must carry at least these (the blog's five; AWS's docs grant eight).
M.EBS_OPERATIONS = M.BLOG_OPERATIONS

-- Scaling activity messages, most specific first. kind: "kms-access" (the role cannot use a key),
-- "kms-key-state" (a key is disabled, pending deletion or gone), "role" (the service-linked role
-- cannot be assumed), "image" (the AMI is not visible). Real AWS also reports the KMS cases as an
-- instance that "became unhealthy" with the same reason, so the patterns match anywhere in the text.
local FAILURE_PATTERNS = {
  { pattern = "InvalidKMSKey%.InvalidState", kind = "kms-key-state" },
  { pattern = "KMS key provided is in an incorrect state", kind = "kms-key-state" },
  { pattern = "[Kk][Mm][Ss] key .-pending deletion", kind = "kms-key-state" },
  { pattern = "[Kk][Mm][Ss] key .-disabled", kind = "kms-key-state" },
  { pattern = "inaccessible AWS KMS key", kind = "kms-access" },
  { pattern = "inaccessible KMS key", kind = "kms-access" },
  { pattern = "Client%.InternalError", kind = "kms-access" },
  { pattern = "Client error on launch", kind = "kms-access" },
  { pattern = "KMSKeyNotAccessible", kind = "kms-access" },
  { pattern = "InvalidKMSKey", kind = "kms-access" },
  { pattern = "[Aa]ccess denied when attempting to assume role", kind = "role" },
  { pattern = "AWSServiceRoleForAutoScaling.-not .-exist", kind = "role" },
  { pattern = "image id '%[?ami%-[%x]+%]?' does not exist", kind = "image" },
  { pattern = "InvalidAMIID", kind = "image" },
}

--- kmsaccess.classify_failure(activity) -> kind, matched_text: why a failed scaling activity failed
--- as far as the launcher-and-KMS trap goes ("kms-access", "kms-key-state", "role", "image"), or nil
--- for an activity that did not fail or failed for another reason.
function M.classify_failure(activity)
  if type(activity) ~= "table" or activity.StatusCode ~= "Failed" then return nil end
  local text = (activity.StatusMessage or "") .. " " .. (activity.Description or "")
  for _, p in ipairs(FAILURE_PATTERNS) do
    local found = text:match(p.pattern)
    if found then return p.kind, found end
  end
  return nil
end

--- kmsaccess.is_unique_id(principal) -> true for an IAM unique ID (AROA... role, AIDA... user, and
--- the other 4-letter prefixes): what a key policy or grant shows once its principal was deleted.
function M.is_unique_id(principal)
  return type(principal) == "string" and principal:match("^A[A-Z][A-Z][A-Z][A-Z0-9]+$") ~= nil
    and #principal >= 16 and #principal <= 128
end

--- kmsaccess.launcher_of(role_arn) -> launcher name ("autoscaling", "spot", ...) when role_arn is a
--- launcher's service-linked role (any suffix), else nil.
function M.launcher_of(role_arn)
  if type(role_arn) ~= "string" then return nil end
  local service, name = role_arn:match("^arn:[%w%-]+:iam::%d+:role/aws%-service%-role/([^/]+)/([^/]+)$")
  if not service then return nil end
  for launcher, l in pairs(M.LAUNCHERS) do
    if l.service == service and (name == l.role or name:sub(1, #l.role + 1) == l.role .. "_") then
      return launcher
    end
  end
  return nil
end

--- kmsaccess.grant_coverage(grants, role_arn, operations) -> {grant=<best grant or nil>,
--- missing={operations it lacks}, constrained={grants to the role that carry Constraints}}.
--- The best grant is an unconstrained grant to role_arn lacking the fewest operations; missing is
--- every operation when there is none.
function M.grant_coverage(grants, role_arn, operations)
  local best, best_missing = nil, nil
  local constrained = {}
  for _, g in ipairs(grants or {}) do
    if g.GranteePrincipal == role_arn then
      if g.Constraints ~= nil and next(g.Constraints) ~= nil then
        constrained[#constrained + 1] = g
      else
        local has, missing = set_of(g.Operations), {}
        for _, op in ipairs(operations) do
          if not has[op] then missing[#missing + 1] = op end
        end
        if not best_missing or #missing < #best_missing then best, best_missing = g, missing end
      end
    end
  end
  if not best then
    best_missing = {}
    for i, op in ipairs(operations) do best_missing[i] = op end
  end
  return { grant = best, missing = best_missing, constrained = constrained }
end

local function condition_values(block, key)
  for k, v in pairs(type(block) == "table" and block or {}) do
    if type(k) == "string" and k:lower() == key then
      return type(v) == "table" and v or { v }
    end
  end
  return nil
end

-- An Allow statement for everyone whose only condition is aws:PrincipalOrgID matching org_id.
local function org_statement(s, org_id)
  if s.Effect ~= "Allow" or type(s.Condition) ~= "table" then return false end
  if not (s.Principal == "*" or (type(s.Principal) == "table" and policy.principal_matches(s.Principal, "*"))) then
    return false
  end
  local matched = false
  for op, block in pairs(s.Condition) do
    local values = condition_values(block, "aws:principalorgid")
    if not values or (op ~= "StringEquals" and op ~= "StringLike" and op ~= "ForAnyValue:StringEquals") then
      return false
    end
    for k in pairs(block) do
      if k:lower() ~= "aws:principalorgid" then return false end
    end
    for _, v in ipairs(values) do
      if v == org_id or (op == "StringLike" and policy.action_matches(v, org_id)) then matched = true end
    end
  end
  return matched
end

--- kmsaccess.org_allows(doc, org_id, actions) -> ok, missing: like policy.allows for a member of
--- organization org_id through statements conditioned only on aws:PrincipalOrgID (the org-wide key
--- policy). A Deny naming an action counts against it, as in policy.allows.
function M.org_allows(doc, org_id, actions)
  local missing = {}
  for _, action in ipairs(actions) do
    local allowed, denied = false, false
    for _, s in ipairs(policy.statements(doc)) do
      if policy.statement_covers(s, action) then
        if s.Effect == "Deny" and policy.principal_matches(s.Principal, "*") then denied = true end
        if org_id and org_statement(s, org_id) then allowed = true end
      end
    end
    if denied or not allowed then missing[#missing + 1] = action end
  end
  return #missing == 0, missing
end

local function grant_signature(g)
  local ops = {}
  for i, op in ipairs(g.Operations or {}) do ops[i] = op end
  table.sort(ops)
  local constraints = g.Constraints and policy.json_encode(g.Constraints) or ""
  return table.concat({ tostring(g.GranteePrincipal), table.concat(ops, ","), constraints }, "\0")
end

--- kmsaccess.audit_grants(grants, opts) -> findings: one list per grant, in the order given, of
--- {flag=, message=}. opts: {operations = operations a launcher role's grant must carry (default
--- DOC_OPERATIONS), used_roles = {[account] = {[role_arn] = group names}} for the accounts whose
--- groups were listed}. Flags:
---   "duplicate"          same grantee, operations and constraints as an older grant (kept: the oldest);
---   "deleted-principal"  grantee or retiring principal is a unique ID (AROA..., AIDA...): deleted;
---   "missing-operations" a launcher service-linked role's grant lacks some of opts.operations;
---   "unused"             an Auto Scaling role's grant in an account whose groups were listed, and no
---                        group there uses that role.
function M.audit_grants(grants, opts)
  opts = opts or {}
  local required = opts.operations or M.DOC_OPERATIONS
  local order = {}
  grants = grants or {}
  for i = 1, #grants do order[i] = i end
  -- Oldest first, so the one kept among duplicates is the first made.
  table.sort(order, function(a, b)
    local ca, cb = tonumber(grants[a].CreationDate) or 0, tonumber(grants[b].CreationDate) or 0
    if ca ~= cb then return ca < cb end
    return a < b
  end)
  local findings, first_with = {}, {}
  for i = 1, #grants do findings[i] = {} end
  for _, i in ipairs(order) do
    local g = grants[i]
    local signature = grant_signature(g)
    local kept = first_with[signature]
    if kept then
      table.insert(findings[i], { flag = "duplicate", message = string.format(
        "same grantee, operations and constraints as grant %s", tostring(grants[kept].GrantId)) })
    else
      first_with[signature] = i
    end
  end
  for i, g in ipairs(grants) do
    for _, field in ipairs { "GranteePrincipal", "RetiringPrincipal" } do
      if M.is_unique_id(g[field]) then
        table.insert(findings[i], { flag = "deleted-principal", message = string.format(
          "%s %s is a unique ID, not an ARN: the principal was deleted", field, g[field]) })
      end
    end
    local launcher = M.launcher_of(g.GranteePrincipal)
    if launcher then
      local has, missing = set_of(g.Operations), {}
      for _, op in ipairs(required) do
        if not has[op] then missing[#missing + 1] = op end
      end
      if #missing > 0 then
        table.insert(findings[i], { flag = "missing-operations", missing = missing, message =
          "grant to a launcher role lacks " .. table.concat(missing, ", ") })
      end
      local account = arn.account_of(g.GranteePrincipal)
      local roles = launcher == "autoscaling" and opts.used_roles and opts.used_roles[account]
      if roles and not roles[g.GranteePrincipal] then
        table.insert(findings[i], { flag = "unused", message = string.format(
          "no Auto Scaling group in account %s uses %s", account, M.role_name(g.GranteePrincipal)) })
      end
    end
  end
  return findings
end

-- ---------------------------------------------------------------------------------------------
-- Launcher roles looked up rather than assumed, the same-account key policy, the organization
-- statement (added for the variants and the organization rollout).

--- kmsaccess.launcher_role_name(launcher, suffix) -> the role name AWS gives the launcher's
--- service-linked role (with "_suffix" when a custom suffix is given).
function M.launcher_role_name(launcher, suffix)
  local l = assert(M.LAUNCHERS[launcher or "autoscaling"], "unknown launcher")
  return l.role .. ((suffix and suffix ~= "") and ("_" .. suffix) or "")
end

local function is_code(e, code) return type(e) == "table" and e.code == code end

--- kmsaccess.find_launcher_role(iam, launcher, suffix) -> role {Arn=, RoleName=, Path=} or nil.
--- Asks IAM instead of assuming the ARN: GetRole by the documented name, then ListRoles under
--- /aws-service-role/<service>/ matching the name case-insensitively (IAM role names are unique
--- regardless of case, and older accounts hold roles whose case differs from today's docs).
function M.find_launcher_role(iam, launcher, suffix)
  local l = assert(M.LAUNCHERS[launcher or "autoscaling"], "unknown launcher")
  local name = M.launcher_role_name(launcher, suffix)
  local ok, got = pcall(function() return iam:GetRole { RoleName = name } end)
  if ok and got and got.Role then return got.Role end
  if not ok and not is_code(got, "NoSuchEntity") then error(got, 0) end
  local wanted = name:lower()
  local unsuffixed = {}
  for page in iam:paginate("ListRoles", { PathPrefix = "/aws-service-role/" .. l.service .. "/" }) do
    for _, role in ipairs(page.Roles or {}) do
      if type(role.RoleName) == "string" and role.RoleName:lower() == wanted then return role end
      if type(role.RoleName) == "string" and not role.RoleName:find("_", 1, true) then
        unsuffixed[#unsuffixed + 1] = role
      end
    end
  end
  -- A service's path holds only its service-linked roles: the one without a custom suffix is the
  -- default role, whatever its exact name.
  if (suffix == nil or suffix == "") and #unsuffixed == 1 then return unsuffixed[1] end
  return nil
end

-- The actions a same-account service-linked role needs unconditionally (AWS's example names
-- kms:ReEncrypt* and kms:GenerateDataKey*; these are what launches use).
local ROLE_USE_ACTIONS = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                           "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey" }

--- kmsaccess.role_statement_sids(role_arn) -> use_sid, attach_sid: luaws's own Sids for the two
--- statements of AWS's example, per role (AWS's own Sids "Allow service-linked role use of the
--- customer managed key" / "Allow attachment of persistent resources" often already exist for
--- other principals, and merging by Sid must never replace somebody else's statement).
function M.role_statement_sids(role_arn)
  local name = M.role_name(role_arn):gsub("[^%w]", "")
  return "LuawsServiceLinkedRoleUse" .. name, "LuawsServiceLinkedRoleAttach" .. name
end

--- kmsaccess.role_statements(role_arn) -> the two key policy statements of AWS's "Required AWS
--- KMS key policy for use with encrypted volumes" naming a service-linked role of the key's own
--- account: use of the key, and CreateGrant only when GrantIsForAWSResource (EBS makes the grant).
function M.role_statements(role_arn)
  local use_sid, attach_sid = M.role_statement_sids(role_arn)
  return {
    { Sid = use_sid, Effect = "Allow", Principal = { AWS = role_arn }, Action = M.USE_ACTIONS, Resource = "*" },
    { Sid = attach_sid, Effect = "Allow", Principal = { AWS = role_arn }, Action = "kms:CreateGrant",
      Resource = "*", Condition = { Bool = { ["kms:GrantIsForAWSResource"] = true } } },
  }
end

--- kmsaccess.role_policy_needs(doc, role_arn) -> missing actions: what a same-account key policy
--- lacks for the role itself (a statement naming the account root does not count: it delegates to
--- IAM, and a service-linked role's IAM policies cannot be changed).
function M.role_policy_needs(doc, role_arn)
  local _, missing = policy.allows(doc, role_arn, ROLE_USE_ACTIONS)
  local can_grant = policy.allows(doc, role_arn, { "kms:CreateGrant" })
  if not can_grant and #policy.grant_for_aws_resource_only(doc, role_arn) == 0 then
    missing[#missing + 1] = "kms:CreateGrant"
  end
  return missing
end

M.ORG_ACTIONS = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
                  "kms:CreateGrant" }

--- kmsaccess.org_statement_sid(org_id) -> the Sid of luaws's organization statement.
function M.org_statement_sid(org_id)
  return "LuawsOrgUseAndCreateGrant" .. tostring(org_id):gsub("[^%w]", "")
end

--- kmsaccess.org_statement(org_id) -> ONE statement letting every principal of the organization
--- use the key and create grants on it (aws:PrincipalOrgID), kms:CreateGrant included: an
--- organization statement without it leaves every member's Auto Scaling groups failing.
function M.org_statement(org_id)
  return { Sid = M.org_statement_sid(org_id), Effect = "Allow", Principal = { AWS = "*" },
           Action = M.ORG_ACTIONS, Resource = "*",
           Condition = { StringEquals = { ["aws:PrincipalOrgID"] = org_id } } }
end

-- Whether a statement's only condition is aws:PrincipalOrgID equal to org_id (for everyone).
local function org_only(s, org_id)
  if s.Effect ~= "Allow" then return false end
  if s.Principal ~= "*" and not (type(s.Principal) == "table" and s.Principal.AWS == "*") then return false end
  if type(s.Condition) ~= "table" then return false end
  local found = false
  for op, block in pairs(s.Condition) do
    if op ~= "StringEquals" or type(block) ~= "table" then return false end
    for k, v in pairs(block) do
      if type(k) ~= "string" or k:lower() ~= "aws:principalorgid" then return false end
      for _, x in ipairs(type(v) == "table" and v or { v }) do
        if x == org_id then found = true end
      end
    end
  end
  return found
end

--- kmsaccess.org_policy_needs(doc, org_id) -> missing_actions, trap_sids: the actions no
--- organization-wide statement gives (and no Deny takes away), and the organization statements
--- that allow use but not kms:CreateGrant (the trap that still fails every member's launches).
function M.org_policy_needs(doc, org_id)
  local missing, trap = {}, {}
  local statements = policy.statements(doc)
  for _, action in ipairs(M.REQUIRED_ACTIONS) do
    local allowed = false
    for _, s in ipairs(statements) do
      if s.Effect == "Deny" and policy.statement_covers(s, action) then allowed = false break end
      if org_only(s, org_id) and policy.statement_covers(s, action) then allowed = true end
    end
    if not allowed then missing[#missing + 1] = action end
  end
  for i, s in ipairs(statements) do
    if org_only(s, org_id) and policy.statement_covers(s, "kms:Decrypt")
       and not policy.statement_covers(s, "kms:CreateGrant") then
      trap[#trap + 1] = s.Sid or ("statement #" .. i)
    end
  end
  return missing, trap
end

--- kmsaccess.index_grants(grants) -> grants keyed by grantee principal (each a list).
function M.index_grants(grants)
  local by = {}
  for _, g in ipairs(grants or {}) do
    if g.GranteePrincipal then
      by[g.GranteePrincipal] = by[g.GranteePrincipal] or {}
      table.insert(by[g.GranteePrincipal], g)
    end
  end
  return by
end

return M
