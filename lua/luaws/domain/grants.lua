-- grants: KMS grants for launcher roles: operation presets, idempotent names, lookup, coverage and audit.
local arn = require "luaws.core.arn"
local launchers = require "luaws.domain.launchers"
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

--- grants.parse_operations(list) -> operations (a list), or nil and a message. Accepts the
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

--- grants.grant_name(role_arn) -> a deterministic grant Name, so CreateGrant is idempotent.
function M.grant_name(role_arn)
  return ("luaws-" .. launchers.role_name(role_arn)):gsub("[^%w:/_%-]", "-"):sub(1, 256)
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

--- grants.find_grant(grants, role_arn, operations) -> the first grant to role_arn that carries
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

--- grants.grants_by_name(grants, name, role_arn) -> the grants luaws made for role_arn.
function M.grants_by_name(grants, name, role_arn)
  local out = {}
  for _, g in ipairs(grants or {}) do
    if g.Name == name and g.GranteePrincipal == role_arn then out[#out + 1] = g end
  end
  return out
end

-- What EBS does with the key on the launcher role's behalf when it creates the instance's volumes:
-- a grant to the role must carry at least these (the blog's five; AWS's docs grant eight).
M.EBS_OPERATIONS = M.BLOG_OPERATIONS

--- grants.grant_coverage(grants, role_arn, operations) -> {grant=<best grant or nil>,
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

local function grant_signature(g)
  local ops = {}
  for i, op in ipairs(g.Operations or {}) do ops[i] = op end
  table.sort(ops)
  local constraints = g.Constraints and policy.json_encode(g.Constraints) or ""
  return table.concat({ tostring(g.GranteePrincipal), table.concat(ops, ","), constraints }, "\0")
end

--- grants.audit_grants(grants, opts) -> findings: one list per grant, in the order given, of
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
      if launchers.is_unique_id(g[field]) then
        table.insert(findings[i], { flag = "deleted-principal", message = string.format(
          "%s %s is a unique ID, not an ARN: the principal was deleted", field, g[field]) })
      end
    end
    local launcher = launchers.launcher_of(g.GranteePrincipal)
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
          "no Auto Scaling group in account %s uses %s", account, launchers.role_name(g.GranteePrincipal)) })
      end
    end
  end
  return findings
end

--- grants.index_grants(grants) -> grants keyed by grantee principal (each a list).
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
