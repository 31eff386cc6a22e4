-- fanout: the organization rollout's per-account work (AssumeRole into the member, CreateGrant on
-- the management account's key from there) over many accounts, all at once or one at a time.
-- usage: luaws bench/fanout.lua parallel|sequential ACCOUNTS_FILE KEY_ARN [MAX_IN_FLIGHT]
-- The management account's keys come from the environment. Prints one JSON object.
local cjson = require "cjson"
local http = require "luaws.http"

local mode, accounts_path, key_arn = arg[1], arg[2], arg[3]
assert(mode == "parallel" or mode == "sequential", "mode: parallel or sequential")
if arg[4] then http.set_max_in_flight(tonumber(arg[4])) end

local accounts = {}
for line in io.lines(accounts_path) do
  if line:match("^%d+$") then accounts[#accounts + 1] = line end
end

local OPERATIONS = { "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                     "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant" }
local management = aws.client("sts")

local function roll_out(account)
  local session = management:AssumeRole {
    RoleArn = "arn:aws:iam::" .. account .. ":role/OrganizationAccountAccessRole",
    RoleSessionName = "luaws-rollout" }.Credentials
  local kms = aws.client("kms", { credentials = { access_key = session.AccessKeyId,
    secret_key = session.SecretAccessKey, session_token = session.SessionToken } })
  -- The grant's Name makes a rerun idempotent on AWS; the grantee is the member's root here
  -- because fresh accounts have no roles yet.
  return kms:CreateGrant { KeyId = key_arn, GranteePrincipal = "arn:aws:iam::" .. account .. ":root",
                           Operations = OPERATIONS, Name = "luaws-rollout-" .. account }.GrantId
end

local before = http.stats().requests
local started = aws.now()
local errors, first_error = 0, nil
if mode == "parallel" then
  local tasks = {}
  for i, account in ipairs(accounts) do tasks[i] = function() return roll_out(account) end end
  local _, errs = aws.parallel(tasks)
  for i = 1, #accounts do
    if errs[i] ~= nil then errors, first_error = errors + 1, first_error or tostring(errs[i]) end
  end
else
  for _, account in ipairs(accounts) do
    local ok, e = pcall(roll_out, account)
    if not ok then errors, first_error = errors + 1, first_error or tostring(e) end
  end
end
local seconds = aws.now() - started
local stats = http.stats()
io.write(cjson.encode {
  mode = mode, accounts = #accounts, requests = stats.requests - before, seconds = seconds,
  per_second = (stats.requests - before) / seconds, max_in_flight_seen = stats.max_in_flight_seen,
  max_in_flight = stats.max_in_flight, errors = errors, first_error = first_error or cjson.null,
}, "\n")
