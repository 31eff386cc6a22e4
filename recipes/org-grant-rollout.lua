-- org-grant-rollout: the Auto Scaling KMS fix for every member account of an organization, concurrently.
local crossaccount = require "luaws.domain.crossaccount"
local fanout = require "luaws.recipe.fanout"
local keypolicy = require "luaws.domain.keypolicy"
local kms_grants = require "luaws.domain.grants"
local launchers = require "luaws.domain.launchers"
local member_access = require "luaws.domain.members"
local policy = require "luaws.domain.policy"
local progress = require "luaws.recipe.progress"
local statefile = require "luaws.recipe.statefile"

local SESSION_NAME = "luaws-org-grant-rollout"
local STATE_VERSION = 1

-- Reads account IDs: one per line, the first field of a CSV line, '#' comments and blank lines skipped.
local function read_accounts_file(path)
  local text, err = statefile.read_text(path)
  if not text then error(crossaccount.usage("--accounts-file: " .. tostring(err)), 0) end
  local accounts, seen, number = {}, {}, 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    number = number + 1
    local field = line:gsub("#.*$", ""):match("^%s*([^,%s]*)")
    if field ~= "" then
      if not field:find("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
        error(crossaccount.usage(string.format("--accounts-file %s line %d: '%s' is not a 12-digit account ID",
                                               path, number, field)), 0)
      end
      if not seen[field] then
        seen[field] = true
        accounts[#accounts + 1] = { id = field, name = "" }
      end
    end
  end
  return accounts
end

local function list_org_accounts(mgmt)
  local accounts = {}
  for page in mgmt.organizations:paginate("ListAccounts", {}) do
    for _, acct in ipairs(page.Accounts or {}) do
      if acct.Status == nil or acct.Status == "ACTIVE" then
        accounts[#accounts + 1] = { id = acct.Id, name = acct.Name or "" }
      end
    end
  end
  table.sort(accounts, function(x, y) return x.id < y.id end)
  return accounts
end

-- What a state entry must match to count as done: same key, role and operations.
local function fingerprint(key_arn, role_name, operations)
  local ops = {}
  for i, op in ipairs(operations) do ops[i] = op end
  table.sort(ops)
  return key_arn .. "|" .. role_name .. "|" .. table.concat(ops, ",")
end

-- The key, organization, members and state file both directions work from.
local function open_rollout(ctx, a)
  local listed = a.accounts_file and read_accounts_file(a.accounts_file)
  local mgmt = crossaccount.side(ctx, nil, "management", { "organizations", "sts", "kms" })
  local owner = a.key_profile and crossaccount.side(ctx, a.key_profile, "key owner", { "kms" }) or mgmt
  local described = owner.kms:DescribeKey { KeyId = a.key_id }.KeyMetadata
  if described.KeyState ~= "Enabled" and not a.undo then
    ctx.fail(string.format("KMS key %s is %s; enable it first", described.Arn, tostring(described.KeyState)))
  end
  if described.KeyManager == "AWS" then
    ctx.fail(string.format("%s is an AWS managed key: its policy cannot be changed", described.Arn))
  end
  local key = { arn = described.Arn, key_id = described.KeyId }
  local org_id = a.org_id or mgmt.organizations:DescribeOrganization {}.Organization.Id
  ctx.log(string.format("organization %s, key %s (account %s), caller account %s", org_id, key.arn, owner.account,
                        mgmt.account))
  local r = { mgmt = mgmt, owner = owner, key = key, org_id = org_id, members = {} }
  for _, acct in ipairs(listed or list_org_accounts(mgmt)) do
    if acct.id == owner.account then
      ctx.log("skipping the key owner's own account " .. acct.id .. " (same-account-asg fixes groups there)")
    else
      r.members[#r.members + 1] = acct
    end
  end
  r.state_path = a.state_file or statefile.default_path("org-grant-rollout-" .. key.key_id)
  local state, state_err = statefile.load(r.state_path)
  if not state then error(crossaccount.usage("--state-file: " .. state_err), 0) end
  state.accounts = state.accounts or {}
  if state.key and state.key ~= key.arn then
    error(crossaccount.usage(string.format("state file %s belongs to a rollout of key %s; give another --state-file",
                                           r.state_path, state.key)), 0)
  end
  state.version, state.recipe, state.key, state.organization_id = STATE_VERSION, "org-grant-rollout", key.arn, org_id
  r.state = state
  function r.save_state()
    if not ctx.apply then return end
    local ok, err = statefile.save(r.state_path, state)
    if not ok then ctx.log("warning: cannot write the state file: " .. tostring(err)) end
  end
  r.bucket = fanout.bucket(a.rate, math.max(1, math.min(a.concurrency, a.rate)))
  r.owner_kms = fanout.limited(owner.kms, r.bucket)
  return r
end

-- The rollout: the organization statement, then a grant in every unfinished member.
local function roll_out(ctx, a, r)
  local operations, why = kms_grants.parse_operations(a.operations)
  if not operations then error(crossaccount.usage("--operations: " .. why), 0) end
  local key, state, owner = r.key, r.state, r.owner
  local print_id = fingerprint(key.arn, launchers.launcher_role_name(a.launcher), operations)

  -- 1. The key policy, before any member asks for a grant (recorded so --undo can restore it).
  local org_statement = keypolicy.org_statement(r.org_id)
  crossaccount.plan_policy(ctx, owner, key, {
    statements = { org_statement },
    needs = function(doc) return (keypolicy.org_policy_needs(doc, r.org_id)) end,
    note = function(doc)
      local _, trap = keypolicy.org_policy_needs(doc, r.org_id)
      if #trap > 0 then
        ctx.log(string.format("note: statement %s lets the organization use the key but not kms:CreateGrant, so " ..
          "members' Auto Scaling groups still fail; luaws adds its own statement and leaves that one as it is",
          table.concat(trap, ", ")))
      end
    end,
    detail = function(missing)
      return string.format("let organization %s use the key and create grants on it (missing: %s)", r.org_id,
                           table.concat(missing, ", "))
    end,
  })
  if key.written_policy then
    local earlier = state.policy
    state.policy = { sid = org_statement.Sid, written = key.written_policy,
                     original = (earlier and not earlier.undone and earlier.original) or key.original_policy }
    r.save_state()
  end

  -- 2. Each member, a bounded number at a time, every request through the rate limit.
  local by_grantee = kms_grants.index_grants(crossaccount.list_grants(owner.kms, key.arn))
  local rows, pending = {}, {}
  for _, acct in ipairs(r.members) do
    local row = { account = acct.id, name = acct.name }
    rows[#rows + 1] = row
    local done = state.accounts[acct.id]
    if done and not a.recheck and done.fingerprint == print_id and done.status == "done" then
      row.status, row.grant_id, row.role_arn = "done-earlier", done.grant_id, done.role_arn
    elseif a.max_accounts and #pending >= a.max_accounts then
      row.status = "not-reached"
    else
      pending[#pending + 1] = row
    end
  end
  ctx.log(string.format("%d member accounts: %d to check now, %d finished earlier (state file %s)", #r.members,
                        #pending, #rows - #pending, r.state_path))
  local sts = fanout.limited(r.mgmt.sts, r.bucket)
  local function handle(row)
    local role_arn = string.format("arn:%s:iam::%s:role/%s", r.mgmt.partition, row.account, a.role_name)
    local provider = member_access.assume(sts, role_arn, SESSION_NAME)
    local member = { account = row.account, partition = r.mgmt.partition, label = "member",
                     iam = fanout.limited(ctx.client("iam", { credentials = provider }), r.bucket),
                     kms = fanout.limited(ctx.client("kms", { credentials = provider }), r.bucket) }
    local planned = {}
    local role = crossaccount.ensure_role(ctx, member, a.launcher)
    if role.created or not role.exists then planned[#planned + 1] = "iam:CreateServiceLinkedRole" end
    local member_key = { arn = key.arn }
    local grant = crossaccount.plan_grant(ctx, {
      owner = { kms = r.owner_kms, account = owner.account }, grantor = member, key = member_key, role = role,
      operations = operations, grants = by_grantee[role.arn] or {} })
    if grant == "planned" then planned[#planned + 1] = "kms:CreateGrant" end
    row.role_arn, row.role_created, row.grant_id = role.arn, role.created or false, member_key.grant_id
    if #planned == 0 then
      row.status = "in-place"
    elseif ctx.apply then
      row.status = "fixed"
    else
      row.status, row.needs = "planned", table.concat(planned, ", ")
    end
    if ctx.apply then
      local earlier = state.accounts[row.account]
      local created = (grant == "planned") or (earlier ~= nil and earlier.grant_created == true
                                               and earlier.grant_id == row.grant_id)
      state.accounts[row.account] = { status = "done", grant_id = row.grant_id, role_arn = row.role_arn,
                                      grant_created = created, fingerprint = print_id,
                                      at = os.date("!%Y-%m-%dT%H:%M:%SZ") }
      r.save_state()
    end
  end
  local bar = progress.bar { total = #pending, label = "accounts" }
  fanout.run(pending, handle, { concurrency = a.concurrency, on_done = function(row) bar:advance(row.status) end })
  bar:finish()
  return rows, operations
end

-- The undo: revoke every grant the rollout created (by the key owner), then its statement.
local function undo(ctx, a, r)
  local key, state = r.key, r.state
  local rows, pending = {}, {}
  local accounts = {}
  for id in pairs(state.accounts) do accounts[#accounts + 1] = id end
  table.sort(accounts)
  for _, id in ipairs(accounts) do
    local entry = state.accounts[id]
    local row = { account = id, name = "", grant_id = entry.grant_id, role_arn = entry.role_arn }
    if not entry.grant_created then
      row.status = "not-ours"
    elseif entry.status == "undone" then
      row.status = "undone-earlier"
    elseif a.max_accounts and #pending >= a.max_accounts then
      row.status = "not-reached"
    else
      pending[#pending + 1] = row
    end
    rows[#rows + 1] = row
  end
  if #accounts == 0 and not state.policy then
    ctx.log("nothing to undo: state file " .. r.state_path .. " records no rollout of this key")
  end
  local live = {}
  for _, g in ipairs(crossaccount.list_grants(r.owner.kms, key.arn)) do live[g.GrantId] = g end
  local function handle(row)
    local g = live[row.grant_id]
    if g and g.GranteePrincipal == row.role_arn then
      ctx.plan:add {
        action = "kms:RevokeGrant", target = key.arn,
        detail = string.format("account %s: grant %s to %s", row.account, row.grant_id, row.role_arn),
        apply = function() r.owner_kms:RevokeGrant { KeyId = key.arn, GrantId = row.grant_id } end,
      }
      row.status = ctx.apply and "revoked" or "planned"
    else
      row.status = "already-gone"
    end
    if ctx.apply then
      state.accounts[row.account].status = "undone"
      r.save_state()
    end
  end
  local bar = progress.bar { total = #pending, label = "accounts" }
  fanout.run(pending, handle, { concurrency = a.concurrency, on_done = function(row) bar:advance(row.status) end })
  bar:finish()
  local grants_left = false
  for _, row in ipairs(rows) do
    if row.status == "failed" or row.status == "not-reached" then grants_left = true end
  end
  local p = state.policy
  if p and not p.undone and not grants_left then
    crossaccount.plan_restore_policy(ctx, r.owner, key,
                                     { original = p.original, written = p.written, sids = { p.sid } })
    if ctx.apply then
      p.undone = true
      r.save_state()
    end
  end
  return rows
end

return {
  description = [[
Rolls the Auto Scaling KMS fix out to every member account of an organization, concurrently.

From the management account (or a delegated administrator; --profile), with the key in that
account or in --key-profile's: lists the member accounts (organizations ListAccounts, or
--accounts-file), and

  1. in the key policy: ONE statement lets every principal of the organization (aws:PrincipalOrgID)
     use the key and call kms:CreateGrant (an organization statement without CreateGrant still
     leaves every member's groups failing); merged by Sid, backed up, read back and verified;
  2. in each member, through --role-name (OrganizationAccountAccessRole): looks up the launcher's
     service-linked role (created when missing) and creates a named, idempotent grant to it on the
     key, verified from the key owner.

Members are handled --concurrency at a time (requests in flight are bounded by the same number)
and every request waits for a token of a --rate requests/second bucket. On a terminal a progress
bar shows on stderr. A state file (--state-file, default ~/.local/state/luaws/) records each
finished account, written atomically and owner-only, so a rerun (after a failure, Ctrl-C, or a
--max-accounts canary) skips them; --recheck ignores it. The end is a table: account, status,
grant ID or error. Without --apply it only reads and lists what each account needs.

--undo takes back exactly what the rollout recorded in its state file: each grant it created
(revoked by the key owner, account by account, with the same concurrency, rate and resume), then
its organization statement: the key policy goes back byte for byte when nobody changed it since,
else only luaws's statement is removed. Service-linked roles it created stay (groups use them).
A second --undo finds nothing to do.]],
  categories = { "mutating", "cross-account", "kms", "organizations" },
  args = {
    { name = "key-id", type = "kms_key", required = true,
      help = "the KMS key (ID, alias or ARN) in the key owner's account" },
    { name = "key-profile", type = "profile", help = "profile of the key owner, when not the --profile account" },
    { name = "accounts-file", type = "path", must_exist = true,
      help = "account IDs, one per line, instead of organizations ListAccounts" },
    { name = "org-id", type = "string", help = "the organization ID (default: organizations DescribeOrganization)" },
    { name = "role-name", type = "string", default = "OrganizationAccountAccessRole",
      help = "the role assumed in each member account" },
    { name = "launcher", type = "enum", values = { "autoscaling", "ec2-fleet", "spot-fleet", "spot" },
      default = "autoscaling", help = "whose service-linked role gets the grant in each member" },
    { name = "operations", type = "list", default = "docs",
      help = "grant operations: 'docs' (AWS's eight), 'blog' (the blog's five) or a comma-separated list" },
    { name = "concurrency", type = "integer", default = "16", min = 1, max = 256,
      help = "member accounts handled at once (and the bound on requests in flight)" },
    { name = "rate", type = "integer", default = "20", min = 1, max = 10000,
      help = "requests per second at most, over all accounts" },
    { name = "state-file", type = "path",
      help = "where finished accounts are recorded (default: under ~/.local/state/luaws)" },
    { name = "recheck", type = "boolean", help = "ignore the state file: check every account again" },
    { name = "undo", type = "boolean",
      help = "remove the grants and the key policy statement this rollout added (from its state file)" },
    { name = "max-accounts", type = "integer", min = 1,
      help = "handle at most this many unfinished accounts in this run (a canary); rerun for the rest" },
  },
  examples = {
    "--profile management --key-id alias/golden-ami",
    "--profile management --key-id alias/golden-ami --apply --concurrency 32 --rate 40",
    "--profile security --key-profile images --key-id arn:aws:kms:us-east-1:111122223333:key/... " ..
      "--accounts-file accounts.txt --apply",
    "--profile management --key-id alias/golden-ami --apply --max-accounts 5",
    "--profile management --key-id alias/golden-ami --undo --apply",
  },
  run = function(ctx)
    local a = ctx.args
    local started = aws.now()
    local r = open_rollout(ctx, a)
    local rows, operations
    if a.undo then rows = undo(ctx, a, r) else rows, operations = roll_out(ctx, a, r) end

    local counts, failed = {}, 0
    for _, row in ipairs(rows) do
      counts[row.status] = (counts[row.status] or 0) + 1
      if row.status == "failed" then failed = failed + 1 end
      row.detail = row.error or row.grant_id or row.needs or ""
    end
    ctx.log(progress.table(rows, { { key = "account", title = "account" }, { key = "status", title = "status" },
                                   { key = "detail", title = "grant id / error / needs", max = 100 } }))
    local stats = aws.http_stats()
    local out_rows = policy.array()
    for i, row in ipairs(rows) do
      out_rows[i] = { account = row.account, name = row.name, status = row.status, grant_id = row.grant_id,
                      role_arn = row.role_arn, role_created = row.role_created, needs = row.needs, error = row.error }
    end
    ctx.result({
      key = r.key.arn, key_owner = r.owner.account, organization_id = r.org_id, launcher = a.launcher,
      role_name = a.role_name, operations = operations, state_file = r.state_path, accounts = out_rows,
      counts = counts, concurrency = a.concurrency, rate = a.rate, undo = a.undo or false,
      http = { requests = stats.requests, max_in_flight_seen = stats.max_in_flight_seen,
               max_in_flight = a.concurrency },
      seconds = math.floor((aws.now() - started) * 1000 + 0.5) / 1000,
    }, { text = false })
    if failed > 0 then
      ctx.fail(string.format("%d of %d member accounts failed (see the table); rerun to retry them", failed, #rows))
    end
  end,
}
