-- diagnose-asg: finds why an Auto Scaling group cannot launch its encrypted AMI and names the fix (read-only).
local arn = require "luaws.core.arn"
local crossaccount = require "luaws.domain.crossaccount"
local keypolicy = require "luaws.domain.keypolicy"
local kms_grants = require "luaws.domain.grants"
local launchers = require "luaws.domain.launchers"
local launches = require "luaws.domain.launch_sources"
local policy = require "luaws.domain.policy"

-- Error codes that mean "these credentials may not look at that": the doctor reports what it could
-- not check instead of stopping.
local DENIED = {
  AccessDenied = true, AccessDeniedException = true, UnauthorizedOperation = true, AuthFailure = true,
  UnauthorizedAccess = true, AccessDeniedForDependencyException = true,
}

local FAILURE_KINDS = {
  ["kms-access"] = "the launcher role cannot use a KMS key",
  ["kms-key-state"] = "a KMS key is disabled, pending deletion or gone",
  role = "the service-linked role cannot be assumed (missing?)",
  image = "the AMI is not visible to the group's account",
}

local function list(t) return policy.array(t or {}) end
local function join(t) return table.concat(t, ", ") end

local function code_of(e) return type(e) == "table" and e.code or nil end

-- One line for an AWS error: "Code: message".
local function why(e)
  if type(e) == "table" then
    local message = tostring(e.message or ""):gsub("[\r\n]+", " ")
    return (e.code and (e.code .. ": ") or "") .. message
  end
  return tostring(e)
end

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

-- Launch template or configuration -> list of launch sources {source=, image_id=, key_ids=}.
local function template_source(ec2, spec, f)
  local version = spec.Version or "$Default"
  local request = { Versions = { version } }
  if spec.LaunchTemplateId then request.LaunchTemplateId = spec.LaunchTemplateId
  else request.LaunchTemplateName = spec.LaunchTemplateName end
  local name = spec.LaunchTemplateId or spec.LaunchTemplateName
  local ok, out = try(ec2, "DescribeLaunchTemplateVersions", request)
  local found = ok and out.LaunchTemplateVersions and out.LaunchTemplateVersions[1]
  if not found then
    local reason = ok and "no such version" or why(out)
    if ok or not DENIED[code_of(out)] then
      f.problem("LaunchTemplateMissing", string.format("launch template %s version %s cannot be read: %s",
                                                       name, version, reason))
    else
      f.cannot("launch template " .. name, out)
    end
    return nil
  end
  local data = found.LaunchTemplateData or {}
  local resolved = tostring(found.VersionNumber)
  local source = string.format("launch template %s (%s) version %s", found.LaunchTemplateId or name,
                               found.LaunchTemplateName or "?", resolved)
  if version:sub(1, 1) == "$" then source = source .. " (" .. version .. ")" end
  return { source = source, image_id = data.ImageId, mappings = data.BlockDeviceMappings,
           template_id = found.LaunchTemplateId, version = resolved, version_spec = version }
end

local function launch_sources(autoscaling, ec2, group, f)
  local sources = {}
  local function add(s) if s then sources[#sources + 1] = s end end
  if group.LaunchTemplate then
    add(template_source(ec2, group.LaunchTemplate, f))
  elseif group.MixedInstancesPolicy and group.MixedInstancesPolicy.LaunchTemplate then
    local lt = group.MixedInstancesPolicy.LaunchTemplate
    local seen = {}
    local specs = { lt.LaunchTemplateSpecification }
    for _, o in ipairs(lt.Overrides or {}) do specs[#specs + 1] = o.LaunchTemplateSpecification end
    for _, spec in ipairs(specs) do
      local id = (spec.LaunchTemplateId or spec.LaunchTemplateName or "") .. "@" .. (spec.Version or "")
      if not seen[id] then seen[id] = true add(template_source(ec2, spec, f)) end
    end
  elseif group.LaunchConfigurationName then
    local ok, out = try(autoscaling, "DescribeLaunchConfigurations",
                        { LaunchConfigurationNames = { group.LaunchConfigurationName } })
    local config = ok and out.LaunchConfigurations and out.LaunchConfigurations[1]
    if config then
      add { source = "launch configuration " .. group.LaunchConfigurationName, image_id = config.ImageId,
            mappings = config.BlockDeviceMappings }
    elseif ok then
      f.problem("LaunchConfigurationMissing", "launch configuration " .. group.LaunchConfigurationName ..
                " does not exist")
    else
      f.cannot("launch configuration " .. group.LaunchConfigurationName, out)
    end
  else
    f.cannot("the group's launch template", "the group names neither a launch template nor a configuration")
  end
  return sources
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
    local ok, out = pcall(launches.image_keys, reader, image)
    if ok then keys = out
    else
      f.cannot(string.format("the KMS keys of AMI %s's snapshots %s", image.ImageId, join(snapshots)),
               reader_name .. ": " .. why(out))
      return
    end
  else
    -- Another account's snapshots: AWS shows their KmsKeyId to their owner only.
    local ok, out = pcall(launches.image_keys, env.group.ec2, image)
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
    local code = code_of(out)
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
  if code_of(out) == "NoSuchEntity" then
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
    local kind = launches.classify_failure(a)
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

return {
  description = [[
Finds why an Auto Scaling group cannot launch its encrypted AMI, and says which command fixes it.

Read-only. Auto Scaling launches as the group's service-linked role, not as you, so an AMI encrypted
with a customer managed KMS key (often another account's) that launches by hand can still fail in a
group ("Client.InternalError: Client error on launch", "Client.InvalidKMSKey.InvalidState", "encrypted
with an inaccessible AWS KMS key"). The doctor, in the group's account (--profile):

  * reads the group's recent scaling activities and recognises those failures;
  * follows the launch template (version included: $Latest, $Default, a number) or launch
    configuration to the AMI, its snapshots and their KMS keys, plus any KmsKeyId in the template's
    block devices and the account's default EBS encryption key, and takes the role from the group;
  * checks each key: its state, its key policy (does it let the group's account use the key and call
    kms:CreateGrant, or is the console's kms:GrantIsForAWSResource condition in the way; an
    organization-wide aws:PrincipalOrgID statement counts), the grants to the role, and the role's
    existence.

Another account's snapshots hide their KMS key, and only the key owner reads a key policy or lists
its grants: give --key-profile (the key owner's profile) for a complete diagnosis. Without it the
doctor says what it could not check and why, as it does on any AccessDenied.

Verdict: which key, which statement or grant is missing, and the `luaws run cross-account-ami-asg`
command that fixes it. With --output json the same findings are in "result" (status, problems,
unchecked, keys, role, launch, activities, fix). Exit 0: nothing stops the group launching (a
failure recorded before the fix stays in the history until Auto Scaling retries); 1: a cause was
found, or launches fail and something could not be checked; 2: bad input (unknown group).]],
  categories = { "read-only", "diagnose", "kms", "autoscaling", "cross-account" },
  args = {
    { name = "asg-name", type = "string", required = true, help = "the Auto Scaling group (in --profile's account)" },
    { name = "key-profile", type = "profile",
      help = "profile of the key owner's account: reads snapshot keys, key policies and grants there" },
    { name = "activities", type = "integer", default = "10", min = 1, max = 100,
      help = "how many recent scaling activities to read" },
  },
  examples = {
    "--profile workload --asg-name web",
    "--profile workload --asg-name web --key-profile owner --output json",
  },
  run = function(ctx)
    local a = ctx.args
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
    local sources = launch_sources(env.group.autoscaling, env.group.ec2, group, f)
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
        elseif ok or tostring(code_of(out)):find("^InvalidAMIID") then
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

    ctx.log("")
    ctx.log("VERDICT: " .. verdict)
    for i, p in ipairs(f.problems) do ctx.log(string.format("  %d. [%s] %s", i, p.code, p.message)) end
    for _, u in ipairs(f.unchecked) do ctx.log("  could not check " .. u.what .. ": " .. u.why) end
    for _, n in ipairs(f.notes) do ctx.log("  note: " .. n) end
    if #fixes > 0 then
      ctx.log("fix:")
      for _, line in ipairs(fixes) do ctx.log("  " .. line) end
    end

    local key_results = list()
    for _, k in ipairs(keys) do
      key_results[#key_results + 1] = {
        arn = k.arn, account = k.account, reasons = k.reasons, state = k.state, manager = k.manager,
        cross_account = k.cross_account,
        policy = { checked = k.policy.checked, missing = list(k.policy.missing),
                   console_trap = list(k.policy.console_trap), names_role = k.policy.names_role,
                   org_statement = k.policy.org_statement },
        grant = { checked = k.grant.checked, via = k.grant.via, grant_id = k.grant.grant_id,
                  missing = list(k.grant.missing) },
      }
    end
    local problems = list()
    for _, p in ipairs(f.problems) do problems[#problems + 1] = { code = p.code, message = p.message, key = p.key } end
    local launch = list()
    for _, s in ipairs(sources) do
      launch[#launch + 1] = { source = s.source, image_id = s.image_id, template_id = s.template_id,
                              version = s.version, version_spec = s.version_spec }
    end
    local activity_list = list()
    for _, x in ipairs(activities) do
      activity_list[#activity_list + 1] = { status = x.status, message = x.message, start = x.start, kind = x.kind }
    end
    ctx.result({
      group = a.asg_name, account = env.account, status = status, healthy = status == "healthy", verdict = verdict,
      role = { arn = env.role_arn, name = launchers.role_name(env.role_arn), exists = role_exists },
      launch = launch, activities = activity_list, keys = key_results, problems = problems,
      unchecked = list(f.unchecked), notes = list(f.notes), fix = list(fixes), organization_id = env.org_id,
    }, { text = { group = a.asg_name, status = status, fix = fixes } })
    if status ~= "healthy" then ctx.fail(verdict) end
  end,
}
