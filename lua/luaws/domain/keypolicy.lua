-- keypolicy: the statements luaws adds to a KMS key policy, what a policy lacks, and the safe write.
local arn = require "luaws.core.arn"
local launchers = require "luaws.domain.launchers"
local policy = require "luaws.domain.policy"

local M = {}

-- What the key owner's policy must give the other account's root: the use actions and CreateGrant
-- (unconditionally: the console's kms:GrantIsForAWSResource condition blocks a direct CreateGrant).
M.USE_ACTIONS = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey" }
M.REQUIRED_ACTIONS = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                       "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
                       "kms:CreateGrant" }

--- keypolicy.statement_sids(account) -> use_sid, grant_sid: the stable Sids luaws owns for one
--- other account, so reruns replace rather than add and undo removes exactly these.
function M.statement_sids(account)
  return "LuawsCrossAccountUse" .. account, "LuawsCrossAccountCreateGrant" .. account
end

--- keypolicy.statements(account, partition) -> the two key-policy statements for another account.
function M.statements(account, partition)
  local use_sid, grant_sid = M.statement_sids(account)
  local root = arn.root(account, partition)
  return {
    { Sid = use_sid, Effect = "Allow", Principal = { AWS = root }, Action = M.USE_ACTIONS, Resource = "*" },
    { Sid = grant_sid, Effect = "Allow", Principal = { AWS = root }, Action = "kms:CreateGrant", Resource = "*" },
  }
end

--- keypolicy.policy_needs(doc, account) -> missing_actions, console_trap_sids: what the key policy
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

--- keypolicy.write_policy{kms=, key=, transform=fn(doc) -> new_doc, expect=fn(doc) -> bool,
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

--- keypolicy.org_allows(doc, org_id, actions) -> ok, missing: like policy.allows for a member of
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

-- The actions a same-account service-linked role needs unconditionally (AWS's example names
-- kms:ReEncrypt* and kms:GenerateDataKey*; these are what launches use).
local ROLE_USE_ACTIONS = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                           "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey" }

--- keypolicy.role_statement_sids(role_arn) -> use_sid, attach_sid: luaws's own Sids for the two
--- statements of AWS's example, per role (AWS's own Sids "Allow service-linked role use of the
--- customer managed key" / "Allow attachment of persistent resources" often already exist for
--- other principals, and merging by Sid must never replace somebody else's statement).
function M.role_statement_sids(role_arn)
  local name = launchers.role_name(role_arn):gsub("[^%w]", "")
  return "LuawsServiceLinkedRoleUse" .. name, "LuawsServiceLinkedRoleAttach" .. name
end

--- keypolicy.role_statements(role_arn) -> the two key policy statements of AWS's "Required AWS
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

--- keypolicy.role_policy_needs(doc, role_arn) -> missing actions: what a same-account key policy
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

--- keypolicy.org_statement_sid(org_id) -> the Sid of luaws's organization statement.
function M.org_statement_sid(org_id)
  return "LuawsOrgUseAndCreateGrant" .. tostring(org_id):gsub("[^%w]", "")
end

--- keypolicy.org_statement(org_id) -> ONE statement letting every principal of the organization
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

--- keypolicy.org_policy_needs(doc, org_id) -> missing_actions, trap_sids: the actions no
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

return M
