-- diagnosis: the doctor's checks, from a group's failed launches to the missing statement or grant.
local arn = require "luaws.core.arn"
local crossaccount = require "luaws.domain.crossaccount"
local errors = require "luaws.core.errors"
local keypolicy = require "luaws.domain.keypolicy"
local kms_grants = require "luaws.domain.grants"
local launch_sources = require "luaws.domain.launch_sources"
local launchers = require "luaws.domain.launchers"
local policy = require "luaws.domain.policy"

local M = {}

-- Error codes that mean "these credentials may not look at that": the doctor reports what it could
-- not check instead of stopping.
local DENIED = {
  AccessDenied = true, AccessDeniedException = true, UnauthorizedOperation = true, AuthFailure = true,
  UnauthorizedAccess = true, AccessDeniedForDependencyException = true,
}


--- diagnosis.FAILURE_KINDS: what each kind of failed launch (launch_sources.classify_failure) means.
local FAILURE_KINDS = {
  ["kms-access"] = "the launcher role cannot use a KMS key",
  ["kms-key-state"] = "a KMS key is disabled, pending deletion or gone",
  role = "the service-linked role cannot be assumed (missing?)",
  image = "the AMI is not visible to the group's account",
}

local function list(t) return policy.array(t or {}) end
local function join(t) return table.concat(t, ", ") end

local why = errors.summary  -- one line for an AWS error: "Code: message"

-- Calls client:operation(params) protected -> ok, result or error.
local function try(client, operation, params)
  return pcall(function() return client[operation](client, params or {}) end)
end

-- Collects everything the doctor finds: problems (causes), what it could not check, and notes.
local function new_findings()
  local f = { problems = {}, unchecked = {}, notes = {} }
  function f.problem(code, message, fields)
    local p = { code = code, message = message }
    for k, v in pairs(fields or {}) do p[k] = v end
    f.problems[#f.problems + 1] = p
    return p
  end
  function f.cannot(what, reason)
    f.unchecked[#f.unchecked + 1] = { what = what, why = type(reason) == "string" and reason or why(reason) }
  end
  return f
end

local function identify(ctx, profile)
  local identity = ctx.client("sts", { profile = profile }):GetCallerIdentity {}
  return identity.Account, (arn.parse(identity.Arn) or {}).partition or "aws"
end

local function shell_word(s)
  if s:find("^[%w%._/:@%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- The flagship command that fixes the cross-account half of everything the doctor can find.
local function fix_command(ctx, key_owner)
  local target = ctx.profile or os.getenv("AWS_PROFILE") or "default"
  local source = ctx.args.key_profile
  local words = { "luaws", "run", "cross-account-ami-asg",
                  "--source-profile", source and shell_word(source) or ("<profile of account " .. key_owner .. ">"),
                  "--target-profile", shell_word(target), "--asg-name", shell_word(ctx.args.asg_name) }
  if ctx.region then words[#words + 1] = "--region " .. ctx.region end
  words[#words + 1] = "--apply"
  return table.concat(words, " ")
end

-- Keys the launch needs, each {ref=, reasons={}} in first-seen order.
local function new_keyring()
  local ring = { order = {}, by_ref = {} }
  function ring.add(ref, reason)
    if not ring.by_ref[ref] then
      ring.by_ref[ref] = { ref = ref, reasons = {} }
      ring.order[#ring.order + 1] = ring.by_ref[ref]
    end
    table.insert(ring.by_ref[ref].reasons, reason)
  end
  return ring
end

local function image_keys(ctx, env, image, ring, f)
  local snapshots = {}
  for _, m in ipairs(image.BlockDeviceMappings or {}) do
    if m.Ebs and m.Ebs.SnapshotId then snapshots[#snapshots + 1] = m.Ebs.SnapshotId end
  end
  if #snapshots == 0 then return end
  local owner = image.OwnerId
  local reader, reader_name = env.group.ec2, "account " .. env.account
  if owner and owner ~= env.account then
    if env.keys and env.keys.account == owner then
      reader, reader_name = env.keys.ec2, "--key-profile (account " .. owner .. ")"
    else
      reader = nil
    end
  end
  local keys
  if reader then
    local ok, out = pcall(launch_sources.image_keys, reader, image)
    if ok then keys = out
    else
      f.cannot(string.format("the KMS keys of AMI %s's snapshots %s", image.ImageId, join(snapshots)),
               reader_name .. ": " .. why(out))
      return
    end
  else
    -- Another account's snapshots: AWS shows their KmsKeyId to their owner only.
    local ok, out = pcall(launch_sources.image_keys, env.group.ec2, image)
    keys = ok and out or {}
    if #keys == 0 then
      local hint = ctx.args.key_profile
        and string.format(" (--key-profile is account %s, not the AMI's owner)", env.keys.account) or ""
      f.cannot(string.format("the KMS keys of AMI %s's snapshots %s", image.ImageId, join(snapshots)),
               string.format("the snapshots belong to account %s, which alone sees their KmsKeyId; rerun with " ..
                             "--key-profile <profile of account %s>%s", owner, owner, hint))
      return
    end
  end
  for _, k in ipairs(keys) do
    ring.add(k.key, string.format("AMI %s snapshot %s", image.ImageId, join(k.snapshots)))
  end
end

local function default_ebs_key(env, ring, f)
  local ok, out = try(env.group.ec2, "GetEbsEncryptionByDefault", {})
  if not ok then
    f.cannot("the account's default EBS encryption", out)
    return
  end
  if not out.EbsEncryptionByDefault then return end
  local got, key = try(env.group.ec2, "GetEbsDefaultKmsKeyId", {})
  if not got then
    f.cannot("the account's default EBS encryption key (encryption by default is on)", key)
    return
  end
  local id = key.KmsKeyId
  if id and id ~= "" and not id:find("alias/aws/ebs$") then
    ring.add(id, "default EBS encryption key of account " .. env.account)
  end
end

local function organization_of(env)
  local ok, out = try(env.group.organizations, "DescribeOrganization", {})
  return ok and out.Organization and out.Organization.Id or nil
end

-- Grants visible to the group's account without the key owner: those it may retire.
local function retirable_grants(env, key_arn, role_arn)
  local grants = {}
  for _, principal in ipairs { role_arn, arn.root(env.account, env.partition) } do
    local ok, err = pcall(function()
      for page in env.group.kms:paginate("ListRetirableGrants", { RetiringPrincipal = principal }) do
        for _, g in ipairs(page.Grants or {}) do
          if g.KeyId == key_arn then grants[#grants + 1] = g end
        end
      end
    end)
    if not ok then return nil, err end
  end
  return grants
end

local EBS_ACTIONS = {}
for i, op in ipairs(kms_grants.EBS_OPERATIONS) do EBS_ACTIONS[i] = "kms:" .. op end

-- Same-account key: does the key policy itself let the role do what EBS does? (AWS's example names
-- the role and allows CreateGrant under kms:GrantIsForAWSResource, which EBS satisfies.)
local function policy_names_role(doc, role_arn)
  local use = {}
  for _, a in ipairs(EBS_ACTIONS) do if a ~= "kms:CreateGrant" then use[#use + 1] = a end end
  local use_ok, missing = policy.allows(doc, role_arn, use)
  local grant_ok = policy.allows(doc, role_arn, { "kms:CreateGrant" })
    or #policy.grant_for_aws_resource_only(doc, role_arn) > 0
  if not grant_ok then missing[#missing + 1] = "kms:CreateGrant" end
  return use_ok and grant_ok, missing
end

local function check_key_policy(env, key, reader, f)
  local ok, out = try(reader, "GetKeyPolicy", { KeyId = key.arn, PolicyName = "default" })
  if not ok then
    f.cannot("the key policy of " .. key.arn, out)
    return
  end
  local doc = policy.decode(out.Policy)
  key.policy.checked = true
  if not key.cross_account then
    local named, missing = policy_names_role(doc, env.role_arn)
    key.policy.names_role = named
    key.policy.missing = list(missing)
    return
  end
  local missing, trap = keypolicy.policy_needs(doc, env.account)
  if #missing > 0 and env.org_id then
    local _, org_missing = keypolicy.org_allows(doc, env.org_id, missing)
    if #org_missing < #missing then key.policy.org_statement = true end
    missing = org_missing
  end
  key.policy.missing, key.policy.console_trap = list(missing), list(trap)
  if #missing == 0 then return end
  local lacks_grant = false
  for _, a in ipairs(missing) do if a == "kms:CreateGrant" then lacks_grant = true end end
  local message = string.format("the key policy of %s does not let account %s %s", key.arn, env.account, join(missing))
  local code = "KeyPolicyMissingStatement"
  if lacks_grant and #trap > 0 then
    code = "ConsoleGrantCondition"
    message = message .. string.format(": statement %s allows kms:CreateGrant only when " ..
      "kms:GrantIsForAWSResource is true (the console's default), which a direct CreateGrant from account " ..
      "%s never satisfies", "'" .. table.concat(trap, "', '") .. "'", env.account)
  elseif lacks_grant and key.policy.org_statement then
    code = "OrgPolicyWithoutCreateGrant"
    message = message .. ": the organization-wide (aws:PrincipalOrgID) statement omits kms:CreateGrant"
  end
  local short = string.format("key policy of %s lacks %s for account %s", key.arn,
                              code == "ConsoleGrantCondition" and "an unconditional kms:CreateGrant" or join(missing),
                              env.account)
  if #missing == #keypolicy.REQUIRED_ACTIONS then
    short = string.format("key policy of %s has no statement for account %s", key.arn, env.account)
  end
  f.problem(code, message, { key = key.arn, fix = "flagship", short = short })
end

local function check_grants(env, key, owner_reader, f)
  local grants, via
  if owner_reader then
    local ok, out = pcall(crossaccount.list_grants, owner_reader, key.arn)
    if ok then grants, via = out, "ListGrants"
    else f.cannot("the grants on " .. key.arn, out) end
  else
    local ok, out = pcall(crossaccount.list_grants, env.group.kms, key.arn)
    if ok then grants, via = out, "ListGrants from account " .. env.account
    else
      local retirable, err = retirable_grants(env, key.arn, env.role_arn)
      if retirable and kms_grants.grant_coverage(retirable, env.role_arn, kms_grants.EBS_OPERATIONS).grant then
        grants, via = retirable, "ListRetirableGrants"
      else
        f.cannot("the grants on " .. key.arn, string.format(
          "only the key owner may list them (ListGrants: %s); %s; rerun with --key-profile <profile of account %s>",
          why(out), retirable and "no grant retirable by this account names the role"
            or ("ListRetirableGrants: " .. why(err)), key.account))
      end
    end
  end
  if not grants then return end
  local coverage = kms_grants.grant_coverage(grants, env.role_arn, kms_grants.EBS_OPERATIONS)
  key.grant = { checked = true, via = via, missing = list(coverage.missing),
                grant_id = coverage.grant and coverage.grant.GrantId or nil }
  if coverage.grant and #coverage.missing == 0 then return end
  local role_name = launchers.role_name(env.role_arn)
  if coverage.grant then
    local message = string.format("grant %s on %s to %s lacks %s", coverage.grant.GrantId, key.arn, role_name,
                                  join(coverage.missing))
    f.problem("GrantIncomplete", message, { key = key.arn, fix = "flagship", short = message })
  else
    local extra = #coverage.constrained > 0 and string.format(
      " (%d grant(s) to it carry constraints, which EBS's requests may not meet)", #coverage.constrained) or ""
    local message = string.format("no grant on %s lets %s use it%s: Auto Scaling launches as that role, and " ..
      "neither the key policy nor account %s's IAM policies reach it", key.arn, env.role_arn, extra, env.account)
    if not key.cross_account then
      message = string.format("neither the key policy nor a grant on %s lets %s use it (key policy lacks %s)%s",
                              key.arn, env.role_arn, join(key.policy.missing or {}), extra)
    end
    f.problem("GrantMissing", message, { key = key.arn, fix = key.cross_account and "flagship" or "same-account",
                                         short = string.format("no grant on %s to %s", key.arn, role_name) })
  end
end

local function check_key(env, ref, f)
  local key = { ref = ref.ref, reasons = list(ref.reasons), policy = { checked = false }, grant = { checked = false } }
  local key_account = arn.account_of(ref.ref) or env.account
  local reader, owner = env.group.kms, true
  if key_account ~= env.account then
    if env.keys and env.keys.account == key_account then reader = env.keys.kms else owner = false end
  end
  key.account, key.cross_account = key_account, key_account ~= env.account
  local ok, out = try(reader, "DescribeKey", { KeyId = ref.ref })
  if not ok then
    local code = (type(out) == "table" and out.code or nil)
    key.arn = ref.ref
    if code == "NotFoundException" then
      f.problem("KeyNotFound", string.format("KMS key %s (%s) does not exist or was deleted", ref.ref,
                join(ref.reasons)), { key = ref.ref, short = "key " .. ref.ref .. " does not exist" })
    elseif not owner and DENIED[code] and tostring(out.message):find("resource%-based policy") then
      f.problem("KeyPolicyMissingStatement", string.format("account %s may not even kms:DescribeKey on %s: its " ..
        "key policy does not let account %s use the key", env.account, ref.ref, env.account),
        { key = ref.ref, fix = "flagship",
          short = string.format("key policy of %s does not let account %s use it", ref.ref, env.account) })
      f.cannot("the state, key policy and grants of " .. ref.ref, "they are visible only to the key owner; rerun " ..
               "with --key-profile <profile of account " .. key_account .. ">")
    else
      f.cannot("KMS key " .. ref.ref, out)
    end
    return key
  end
  local meta = out.KeyMetadata
  key.arn, key.state, key.manager = meta.Arn, meta.KeyState, meta.KeyManager
  key.account = arn.account_of(meta.Arn) or key_account
  if meta.KeyState == "Disabled" then
    f.problem("KeyDisabled", string.format("KMS key %s is disabled: nothing can launch with it. The key owner " ..
      "(account %s) must enable it (kms EnableKey); luaws leaves that decision to them", meta.Arn, key.account),
      { key = meta.Arn, fix = "enable", short = "key " .. meta.Arn .. " is disabled" })
  elseif meta.KeyState == "PendingDeletion" then
    f.problem("KeyPendingDeletion", string.format("KMS key %s is pending deletion: the key owner (account %s) " ..
      "must cancel the deletion (kms CancelKeyDeletion) and enable it (kms EnableKey)", meta.Arn, key.account),
      { key = meta.Arn, fix = "enable", short = "key " .. meta.Arn .. " is pending deletion" })
  elseif meta.KeyState ~= "Enabled" then
    f.problem("KeyState", string.format("KMS key %s is %s, not Enabled", meta.Arn, tostring(meta.KeyState)),
              { key = meta.Arn })
  end
  if meta.KeyManager == "AWS" and key.cross_account then
    f.problem("AwsManagedKey", string.format("%s is an AWS managed key, which cannot be used by another account: " ..
      "copy the AMI with a customer managed key", meta.Arn), { key = meta.Arn })
    return key
  end
  if meta.KeyManager == "AWS" then return key end
  if owner then check_key_policy(env, key, reader, f)
  else
    f.cannot("the key policy of " .. meta.Arn, "only the key owner may read it; rerun with --key-profile " ..
             "<profile of account " .. key.account .. ">")
  end
  if key.cross_account or not key.policy.names_role then
    check_grants(env, key, owner and reader or nil, f)
  end
  return key
end

local function check_role(env, f)
  local ok, out = try(env.group.iam, "GetRole", { RoleName = launchers.role_name(env.role_arn) })
  if ok then return true end
  if (type(out) == "table" and out.code or nil) == "NoSuchEntity" then
    f.problem("RoleMissing", string.format("the group's service-linked role %s does not exist in account %s",
              env.role_arn, env.account),
              { fix = "flagship", short = "role " .. launchers.role_name(env.role_arn) .. " does not exist" })
    return false
  end
  f.cannot("the role " .. env.role_arn, out)
  return nil
end

local function recent_activities(env, count, f)
  local ok, out = try(env.group.autoscaling, "DescribeScalingActivities",
                      { AutoScalingGroupName = env.group_name, MaxRecords = count })
  if not ok then
    f.cannot("the group's scaling activities", out)
    return {}
  end
  local activities = {}
  for _, a in ipairs(out.Activities or {}) do
    local kind = launch_sources.classify_failure(a)
    activities[#activities + 1] = { status = a.StatusCode, message = a.StatusMessage, start = a.StartTime,
                                    description = a.Description, kind = kind }
  end
  return activities
end

local function fixes_for(ctx, problems, key_owner)
  local out, seen = {}, {}
  local function add(line) if not seen[line] then seen[line] = true out[#out + 1] = line end end
  for _, p in ipairs(problems) do
    if p.fix == "enable" then
      add(string.format("in account %s: aws kms enable-key --key-id %s%s", arn.account_of(p.key) or "?", p.key,
                        p.code == "KeyPendingDeletion" and " (after aws kms cancel-key-deletion)" or ""))
    end
  end
  for _, p in ipairs(problems) do
    if p.fix == "flagship" then add(fix_command(ctx, key_owner)) end
    if p.fix == "same-account" then
      add(string.format("luaws run same-account-asg --profile %s --asg-name %s --apply   # key policy " ..
                        "statements naming the role", shell_word(ctx.profile or os.getenv("AWS_PROFILE") or "default"),
                        shell_word(ctx.args.asg_name)))
    end
  end
  return out
end

M.FAILURE_KINDS = FAILURE_KINDS
M.list, M.join = list, join

--- diagnosis.examine(ctx, a) -> {env=, findings=, activities=, latest=, sources=, keys=, role_exists=,
--- status="broken"|"failing"|"unknown"|"healthy", verdict=, fixes=}: every check of the doctor for
--- group a.asg_name (a: the recipe's arguments asg_name, key_profile, activities), read-only.
function M.examine(ctx, a)
  local f = new_findings()
  local env = { group_name = a.asg_name, region = ctx.region }
  env.account, env.partition = identify(ctx, nil)
  env.group = {}
  for _, service in ipairs { "autoscaling", "ec2", "kms", "iam", "organizations" } do
    env.group[service] = ctx.client(service)
  end
  if a.key_profile then
    env.keys = {}
    env.keys.account = identify(ctx, a.key_profile)
    env.keys.kms = ctx.client("kms", { profile = a.key_profile })
    env.keys.ec2 = ctx.client("ec2", { profile = a.key_profile })
  end

  local groups = env.group.autoscaling:DescribeAutoScalingGroups {
    AutoScalingGroupNames = { a.asg_name } }.AutoScalingGroups or {}
  local group = groups[1]
  if not group then
    error({ code = "GroupNotFound", exit = 2, message = string.format(
      "Auto Scaling group '%s' not found in account %s%s (check --asg-name, --profile and --region)",
      a.asg_name, env.account, ctx.region and (", region " .. ctx.region) or "") }, 0)
  end
  env.role_arn = group.ServiceLinkedRoleARN
    or launchers.role_arn(env.account, env.partition, "autoscaling")
  ctx.log(string.format("group %s in account %s launches as %s", a.asg_name, env.account, env.role_arn))

  local activities = recent_activities(env, a.activities, f)
  local latest = activities[1]
  if latest then
    ctx.log(string.format("latest activity (%s): %s%s", tostring(latest.start), tostring(latest.status),
      latest.message and (": " .. latest.message) or "")
      .. (latest.kind and ("  [" .. FAILURE_KINDS[latest.kind] .. "]") or ""))
  end

  local ring = new_keyring()
  local sources = launch_sources.group_sources(env.group.autoscaling, env.group.ec2, group, f)
  local images = {}
  for _, s in ipairs(sources) do
    ctx.log(string.format("it launches %s from %s", tostring(s.image_id), s.source))
    for _, m in ipairs(s.mappings or {}) do
      local key = m.Ebs and m.Ebs.KmsKeyId
      if type(key) == "string" and key ~= "" then
        ring.add(key, s.source .. " block device " .. tostring(m.DeviceName))
      end
    end
    local image_id = s.image_id
    if type(image_id) == "string" and image_id:find("^resolve:ssm:") then
      f.cannot("the AMI behind " .. image_id, "it is resolved from SSM Parameter Store at launch; " ..
               "check the parameter's current value")
    elseif image_id and not images[image_id] then
      images[image_id] = true
      local ok, out = try(env.group.ec2, "DescribeImages", { ImageIds = { image_id } })
      local image = ok and out.Images and out.Images[1]
      if image then
        image_keys(ctx, env, image, ring, f)
      elseif ok or tostring((type(out) == "table" and out.code or nil)):find("^InvalidAMIID") then
        f.problem("ImageNotVisible", string.format("AMI %s is not visible to account %s: deregistered, in " ..
          "another region, or not shared with it (its owner must add a launch permission)", image_id, env.account))
      else
        f.cannot("AMI " .. image_id, out)
      end
    end
  end
  default_ebs_key(env, ring, f)
  env.org_id = organization_of(env)

  local role_exists = check_role(env, f)
  local keys = {}
  for _, ref in ipairs(ring.order) do
    local key = check_key(env, ref, f)
    keys[#keys + 1] = key
    ctx.log(string.format("key %s (%s): %s%s", key.arn, join(ref.reasons), tostring(key.state or "state unknown"),
                          key.grant.grant_id and (", grant " .. key.grant.grant_id .. " to the role") or ""))
  end
  if #ring.order == 0 and #sources > 0 and #f.unchecked == 0 then
    f.notes[#f.notes + 1] = "found no KMS key behind the launch (unencrypted, or not visible: see 'could not check')"
  end

  local key_owner = (keys[1] and keys[1].account) or (env.keys and env.keys.account) or "A"
  for _, k in ipairs(keys) do if k.cross_account then key_owner = k.account break end end
  local status, verdict
  if #f.problems > 0 then
    status = "broken"
    local shorts = {}
    for _, p in ipairs(f.problems) do shorts[#shorts + 1] = p.short or p.message end
    verdict = string.format("group %s cannot launch: %s", a.asg_name, table.concat(shorts, "; "))
  elseif latest and latest.status == "Failed" and not latest.kind then
    status = "failing"
    verdict = string.format("group %s's latest launch failed for a reason outside these checks: %s", a.asg_name,
                            tostring(latest.message or latest.description))
  elseif latest and latest.kind and #f.unchecked > 0 then
    status = "unknown"
    verdict = string.format("group %s's launches fail (%s) and the cause is in what the doctor could not check: %s",
                            a.asg_name, FAILURE_KINDS[latest.kind], f.unchecked[1].what)
  else
    status = "healthy"
    verdict = string.format("nothing stops group %s launching with role %s", a.asg_name,
                            launchers.role_name(env.role_arn))
    if latest and latest.kind then
      verdict = verdict .. string.format(" (the failure recorded at %s does not apply any more: Auto " ..
        "Scaling's next attempt should succeed; a new grant can take a few minutes)", tostring(latest.start))
    end
  end
  local fixes = fixes_for(ctx, f.problems, key_owner)
  return { env = env, findings = f, activities = activities, latest = latest, sources = sources, keys = keys,
           role_exists = role_exists, status = status, verdict = verdict, fixes = fixes }
  end

return M
