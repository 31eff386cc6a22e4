-- audit-grants: lists the grants on KMS keys and flags duplicates, deleted grantees, missing operations, unused ones.
local arn = require "luaws.core.arn"
local kms_grants = require "luaws.domain.grants"
local launchers = require "luaws.domain.launchers"
local policy = require "luaws.domain.policy"

local FLAGS = { "duplicate", "deleted-principal", "missing-operations", "unused" }

local function list(t) return policy.array(t or {}) end

local function why(e)
  if type(e) == "table" then
    return (e.code and (e.code .. ": ") or "") .. tostring(e.message or ""):gsub("[\r\n]+", " ")
  end
  return tostring(e)
end

local function all_pages(client, operation, params, field)
  local items = {}
  for page in client:paginate(operation, params) do
    for _, item in ipairs(page[field] or {}) do items[#items + 1] = item end
  end
  return items
end

-- {[account] = {[role_arn] = {group names}}} for every --group-profile account, and what failed.
local function roles_in_use(ctx, profiles)
  local used, unchecked = {}, {}
  for _, profile in ipairs(profiles or {}) do
    local ok, err = pcall(function()
      local account = ctx.client("sts", { profile = profile }):GetCallerIdentity {}.Account
      local partition = "aws"
      local roles = used[account] or {}
      used[account] = roles
      local autoscaling = ctx.client("autoscaling", { profile = profile })
      for _, g in ipairs(all_pages(autoscaling, "DescribeAutoScalingGroups", {}, "AutoScalingGroups")) do
        local role = g.ServiceLinkedRoleARN or launchers.role_arn(account, partition, "autoscaling")
        roles[role] = roles[role] or {}
        table.insert(roles[role], g.AutoScalingGroupName)
      end
      ctx.log(string.format("--group-profile %s: account %s, %d role(s) in use by its groups", profile, account,
                            (function() local n = 0 for _ in pairs(roles) do n = n + 1 end return n end)()))
    end)
    if not ok then
      unchecked[#unchecked + 1] = { what = "the groups of --group-profile " .. profile, why = why(err) }
    end
  end
  return used, unchecked
end

local function short_principal(p)
  if type(p) ~= "string" then return "-" end
  return p:match("^arn:[^:]+:iam::(%d+:.*)$") or p
end

local function audit_key(kms, key_ref, operations, used)
  local entry = { key = key_ref, grants = list() }
  local ok, described = pcall(function() return kms:DescribeKey { KeyId = key_ref }.KeyMetadata end)
  if not ok then
    entry.error = why(described)
    return entry
  end
  entry.arn, entry.state = described.Arn, described.KeyState
  local listed, grants = pcall(all_pages, kms, "ListGrants", { KeyId = described.Arn }, "Grants")
  if not listed then
    entry.error = "cannot list its grants (only the key owner, or a principal its key policy allows " ..
                  "kms:ListGrants, may): " .. why(grants)
    return entry
  end
  local findings = kms_grants.audit_grants(grants, { operations = operations, used_roles = used })
  for i, g in ipairs(grants) do
    local flags = {}
    for _, finding in ipairs(findings[i]) do flags[#flags + 1] = finding.flag end
    entry.grants[#entry.grants + 1] = {
      grant_id = g.GrantId, name = g.Name, grantee = g.GranteePrincipal, retiring = g.RetiringPrincipal,
      operations = list(g.Operations), constraints = g.Constraints, created = g.CreationDate,
      issuing_account = g.IssuingAccount, flags = list(flags), findings = list(findings[i]),
    }
  end
  return entry
end

local function log_key(ctx, entry)
  if entry.error then
    ctx.log(string.format("%s: %s", entry.key, entry.error))
    return
  end
  ctx.log(string.format("%s (%s): %d grant(s)", entry.arn, tostring(entry.state), #entry.grants))
  for _, g in ipairs(entry.grants) do
    ctx.log(string.format("  %s  %-28s  %-60s  %d op(s)%s", g.grant_id:sub(1, 12), g.name or "(no name)",
                          short_principal(g.grantee), #g.operations,
                          #g.flags > 0 and ("  [" .. table.concat(g.flags, ", ") .. "]") or ""))
    for _, finding in ipairs(g.findings) do ctx.log("      " .. finding.flag .. ": " .. finding.message) end
  end
end

return {
  description = [[
Lists the grants on KMS keys and flags the ones to clean up or fix.

Read-only; run it with the key owner's credentials (--profile), which alone may list every grant.
For each --key-id it lists the grants and flags:

  duplicate           same grantee, operations and constraints as an older grant on the key (the
                      oldest is kept unflagged). CreateGrant without a Name makes a new grant on
                      every call, so scripts that retry leave these behind.
  deleted-principal   the grantee or retiring principal shows as a unique ID (AROA... for a role,
                      AIDA... for a user) instead of an ARN: that principal was deleted, and a new
                      one with the same name does not inherit the grant.
  missing-operations  a grant to a launcher's service-linked role (Auto Scaling, EC2 Fleet, Spot
                      Fleet, Spot) lacks operations from --operations: 'docs' (AWS's eight, the
                      default), 'blog' (the five EBS needs) or a list.
  unused              a grant to an Auto Scaling service-linked role (AWSServiceRoleForAutoScaling or
                      a _SUFFIX variant) in an account given with --group-profile, when no Auto
                      Scaling group in that account and region names that role. Accounts without a
                      --group-profile are not judged.

Revoke what you no longer need with the key owner's kms RevokeGrant (KeyId + GrantId). Exit 0:
nothing flagged; 1: something flagged or a key could not be read; 2: bad input.
With --output json the grants and their flags are in "result".]],
  categories = { "read-only", "diagnose", "kms", "audit" },
  args = {
    { name = "key-id", type = "list", items = "kms_key", required = true,
      help = "the keys to audit (ID, alias or ARN; repeat or separate with commas)" },
    { name = "operations", type = "list", default = "docs",
      help = "operations a launcher role's grant must carry: 'docs' (AWS's eight), 'blog' (five) or a list" },
    { name = "group-profile", type = "list", items = "profile",
      help = "profiles of accounts whose Auto Scaling groups decide which grants are unused" },
  },
  examples = {
    "--profile owner --key-id alias/ami-key",
    "--profile owner --key-id alias/ami-key,alias/data-key --group-profile workload --operations blog",
  },
  run = function(ctx)
    local a = ctx.args
    local operations, bad = kms_grants.parse_operations(a.operations)
    if not operations then error({ code = "InvalidArgument", exit = 2, message = "--operations: " .. bad }, 0) end
    local kms = ctx.client("kms")
    local used, unchecked = roles_in_use(ctx, a.group_profile)

    local keys, counts, total, flagged, failed = list(), {}, 0, 0, 0
    for _, flag in ipairs(FLAGS) do counts[flag] = 0 end
    local unjudged = {}
    for _, key_ref in ipairs(a.key_id) do
      local entry = audit_key(kms, key_ref, operations, used)
      keys[#keys + 1] = entry
      if entry.error then failed = failed + 1 end
      for _, g in ipairs(entry.grants) do
        total = total + 1
        if #g.flags > 0 then flagged = flagged + 1 end
        for _, flag in ipairs(g.flags) do counts[flag] = counts[flag] + 1 end
        local account = arn.account_of(g.grantee)
        if launchers.launcher_of(g.grantee) == "autoscaling" and account and not used[account]
           and not unjudged[account] then
          unjudged[account] = true
          unchecked[#unchecked + 1] = { what = "whether grants to account " .. account .. "'s Auto Scaling roles " ..
                                                "are used", why = "no --group-profile for account " .. account }
        end
      end
      log_key(ctx, entry)
    end
    for _, u in ipairs(unchecked) do ctx.log("could not check " .. u.what .. ": " .. u.why) end

    local parts = {}
    for _, flag in ipairs(FLAGS) do
      if counts[flag] > 0 then parts[#parts + 1] = counts[flag] .. " " .. flag end
    end
    local summary = string.format("%d of %d grant(s) on %d key(s) flagged%s", flagged, total, #a.key_id,
                                  #parts > 0 and (": " .. table.concat(parts, ", ")) or "")
    if failed > 0 then summary = summary .. string.format("; %d key(s) could not be read", failed) end
    ctx.log(summary)
    ctx.result({
      keys = keys, total = total, flagged = flagged, counts = counts, unchecked = list(unchecked),
      operations = list(operations), summary = summary,
    }, { text = { flagged = flagged, total = total, summary = summary } })
    if flagged > 0 or failed > 0 then ctx.fail(summary) end
  end,
}
