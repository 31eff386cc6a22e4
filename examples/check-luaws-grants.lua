-- check-luaws-grants: checks that the grants luaws made on a key still reach the roles they were made for.
--
--   luaws --profile key-owner examples/check-luaws-grants.lua --key-id KEY [--role-name NAME]
--
-- Reads only. Lists the key's grants named luaws-* (the org rollout, launcher-role-grant and
-- cross-account-ami-asg name theirs so), and for each one looks the grantee role up in its own
-- account (through --role-name, OrganizationAccountAccessRole by default). A grant is flagged when
-- its grantee is no longer an ARN (the role was deleted: KMS shows its unique ID), when the role
-- is gone or was recreated (a new role with the same name is a new principal: the old grant does
-- not reach it), when the name does not match the grantee, when it lacks one of AWS's eight
-- operations, or when the same role holds duplicates. Exits 1 when anything is flagged.
local kms_grants = require "luaws.domain.grants"
local launchers = require "luaws.domain.launchers"
local progress = require "luaws.recipe.progress"

local options = { ["key-id"] = false, ["role-name"] = "OrganizationAccountAccessRole" }
local i = 1
while arg[i] do
  local name, value = arg[i]:match("^%-%-([%w%-]+)=?(.*)$")
  if not name or options[name] == nil then options = nil break end
  if value == "" then i = i + 1; value = arg[i] end
  options[name] = value
  i = i + 1
end
if not options or not options["key-id"] then
  io.stderr:write("usage: luaws [--profile P] check-luaws-grants.lua --key-id KEY [--role-name NAME]\n")
  os.exit(2)
end

local kms, sts = aws.client("kms"), aws.client("sts")
local me = sts:GetCallerIdentity {}
local key = kms:DescribeKey { KeyId = options["key-id"] }.KeyMetadata
local grants = {}
for page in kms:paginate("ListGrants", { KeyId = key.Arn }) do
  for _, g in ipairs(page.Grants or {}) do
    if type(g.Name) == "string" and g.Name:find("^luaws%-") then grants[#grants + 1] = g end
  end
end

-- One IAM client per account, made once even when many tasks ask for it at the same time.
local iam_clients = {}
local function iam_for(account)
  if account == me.Account then return aws.client("iam") end
  if not iam_clients[account] then
    iam_clients[account] = aws.spawn(function()
      local role = string.format("arn:aws:iam::%s:role/%s", account, options["role-name"])
      local c = sts:AssumeRole { RoleArn = role, RoleSessionName = "luaws-check-grants" }.Credentials
      return aws.client("iam", { credentials = {
        access_key = c.AccessKeyId, secret_key = c.SecretAccessKey, session_token = c.SessionToken } })
    end)
  end
  return aws.wait(iam_clients[account])
end

local rows, per_role = {}, {}
local function check(g)
  local problems = {}
  local grantee = g.GranteePrincipal or ""
  per_role[grantee] = (per_role[grantee] or 0) + 1
  local account = grantee:match("^arn:[^:]+:iam::(%d+):role/")
  if not account then
    problems[#problems + 1] = "grantee is not a role ARN (deleted role?)"
  else
    local ok, got = pcall(function() return iam_for(account):GetRole { RoleName = launchers.role_name(grantee) } end)
    if not ok and type(got) == "table" and got.code == "NoSuchEntity" then
      problems[#problems + 1] = "role no longer exists"
    elseif not ok then
      problems[#problems + 1] = "cannot check the role: " .. tostring(type(got) == "table" and got.code or got)
    elseif got.Role.Arn ~= grantee then
      problems[#problems + 1] = "role ARN is now " .. got.Role.Arn
    end
    if g.Name ~= kms_grants.grant_name(grantee) then problems[#problems + 1] = "name does not match the grantee" end
  end
  local has = {}
  for _, op in ipairs(g.Operations or {}) do has[op] = true end
  local missing = {}
  for _, op in ipairs(kms_grants.DOC_OPERATIONS) do if not has[op] then missing[#missing + 1] = op end end
  if #missing > 0 then problems[#problems + 1] = "missing " .. table.concat(missing, ",") end
  rows[#rows + 1] = { grant = g.GrantId:sub(1, 12), grantee = grantee, problems = problems }
end

local tasks = {}
for n, g in ipairs(grants) do tasks[n] = function() check(g) end end
local _, errs = aws.parallel(tasks)
for _, e in pairs(errs) do error(e, 0) end

local flagged = 0
for _, row in ipairs(rows) do
  if per_role[row.grantee] > 1 then
    table.insert(row.problems, per_role[row.grantee] .. " luaws grants to this role")
  end
  row.verdict = #row.problems == 0 and "ok" or table.concat(row.problems, "; ")
  if #row.problems > 0 then flagged = flagged + 1 end
end
table.sort(rows, function(x, y) return x.grantee < y.grantee end)
print(string.format("key %s: %d luaws grants, %d flagged", key.Arn, #rows, flagged))
if #rows > 0 then
  print(progress.table(rows, { { key = "grant", title = "grant" }, { key = "grantee", title = "grantee", max = 110 },
                               { key = "verdict", title = "verdict", max = 100 } }))
end
os.exit(flagged > 0 and 1 or 0)
