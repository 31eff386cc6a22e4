-- crossaccount_test: the shared steps of the KMS-access recipes, on a fake key owner: plan and apply a
-- key policy change, a named grant, and the byte-for-byte restore behind --undo.
local T = require "testing"
local crossaccount = require "luaws.domain.crossaccount"
local keypolicy = require "luaws.domain.keypolicy"
local launchers = require "luaws.domain.launchers"
local plan = require "luaws.recipe.plan"
local policy = require "luaws.domain.policy"

local A, B = "111122223333", "444455556666"
local KEY = "arn:aws:kms:us-east-1:" .. A .. ":key/k-1"
local ORIGINAL = '{"Version": "2012-10-17",  "Statement": [{"Sid": "Owner", "Effect": "Allow", ' ..
                 '"Principal": {"AWS": "arn:aws:iam::' .. A .. ':root"}, "Action": "kms:*", "Resource": "*"}]}'

-- A key owner whose KMS holds one policy text and a grant list, and a ctx around a real plan.
local function world(apply)
  local w = { text = ORIGINAL, grants = {}, writes = 0, backups = {}, log = {} }
  w.kms = {
    GetKeyPolicy = function() return { Policy = w.text } end,
    PutKeyPolicy = function(_, p) w.writes = w.writes + 1 w.text = p.Policy end,
    CreateGrant = function(_, p)
      local g = { GrantId = "g-" .. (#w.grants + 1), GranteePrincipal = p.GranteePrincipal, Operations = p.Operations,
                  Name = p.Name }
      w.grants[#w.grants + 1] = g
      return { GrantId = g.GrantId }
    end,
    paginate = function(_, _, params)
      local done = false
      return function()
        if done then return nil end
        done = true
        local out = {}
        for _, g in ipairs(w.grants) do
          if not params.GrantId or g.GrantId == params.GrantId then out[#out + 1] = g end
        end
        return { Grants = out }
      end
    end,
  }
  w.ctx = { plan = plan.new { apply = apply, mutating = true, recipe = "t" },
            backup = function(_, text) w.backups[#w.backups + 1] = text return "/b/" .. #w.backups end,
            log = function(line) w.log[#w.log + 1] = line end }
  w.owner = { kms = w.kms, account = A }
  return w
end

local function add_statements(w, key)
  return crossaccount.plan_policy(w.ctx, w.owner, key, {
    statements = keypolicy.statements(B), detail = function() return "let B use the key" end,
    needs = function(doc) return (keypolicy.policy_needs(doc, B)) end })
end

T.test("planning a key policy change shows a diff and writes nothing", function()
  local w = world(false)
  local step = add_statements(w, { arn = KEY })
  T.eq(step, nil, "plan:add returns nothing while planning")
  T.eq(w.ctx.plan.steps[1].action, "kms:PutKeyPolicy")
  T.match(w.ctx.plan.steps[1].diff, "LuawsCrossAccountUse" .. B)
  T.eq(w.writes, 0)
end)

T.test("applying backs up the original, writes, and records what was there and what it left", function()
  local w = world(true)
  local key = { arn = KEY }
  add_statements(w, key)
  T.eq(w.backups[1], ORIGINAL)
  T.eq(key.original_policy, ORIGINAL)
  T.eq(key.written_policy, w.text)
  T.eq(#policy.statements(policy.decode(w.text)), 3)
  local again = world(true)
  again.text = w.text
  T.eq(add_statements(again, { arn = KEY }), nil, "a second run has nothing to do")
  T.eq(#again.ctx.plan.steps, 0)
end)

T.test("a named grant is planned once, then found", function()
  local w = world(true)
  local role = { arn = launchers.role_arn(B, "aws", "autoscaling") }
  local grantor = { kms = w.kms, account = B }
  local key = { arn = KEY }
  local spec = { owner = w.owner, grantor = grantor, key = key, role = role, operations = { "Decrypt", "CreateGrant" } }
  T.eq(crossaccount.plan_grant(w.ctx, spec), "planned")
  T.eq(key.grant_id, "g-1")
  T.eq(w.grants[1].Name, "luaws-AWSServiceRoleForAutoScaling")
  T.eq(crossaccount.plan_grant(w.ctx, spec), "exists")
  T.eq(#w.grants, 1)
end)

T.test("undo restores the original bytes when nobody changed the policy since", function()
  local w = world(true)
  local key = { arn = KEY }
  add_statements(w, key)
  local sids = { keypolicy.statement_sids(B) }
  crossaccount.plan_restore_policy(w.ctx, w.owner, key, { original = key.original_policy,
                                                           written = key.written_policy, sids = sids })
  T.eq(w.text, ORIGINAL)
  T.eq(w.backups[#w.backups], key.written_policy, "the live policy is backed up before the restore")
  T.eq(crossaccount.plan_restore_policy(w.ctx, w.owner, key, { original = ORIGINAL, written = key.written_policy,
                                                                sids = sids }), nil, "nothing left to undo")
end)

T.test("undo after someone else's change removes only luaws's statements", function()
  local w = world(true)
  local key = { arn = KEY }
  add_statements(w, key)
  local doc = policy.decode(w.text)
  w.text = policy.encode(policy.merge(doc, { { Sid = "Theirs", Effect = "Allow", Principal = { AWS = "*" },
                                               Action = "kms:DescribeKey", Resource = "*" } }))
  crossaccount.plan_restore_policy(w.ctx, w.owner, key, { original = key.original_policy,
    written = key.written_policy, sids = { keypolicy.statement_sids(B) } })
  local after = policy.decode(w.text)
  T.ok(policy.find(after, "Theirs"), "their statement stays")
  T.eq(policy.find(after, "LuawsCrossAccountUse" .. B), nil)
  T.ok(w.text ~= ORIGINAL)
  T.match(table.concat(w.log, "\n"), "changed after luaws wrote it")
end)

T.done()
