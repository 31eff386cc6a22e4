-- keypolicy_test: luaws's statements, what a key policy lacks, and the write that never loses a statement.
local T = require "testing"
local keypolicy = require "luaws.domain.keypolicy"
local launchers = require "luaws.domain.launchers"
local policy = require "luaws.domain.policy"

local A, B = "111122223333", "444455556666"
local OWNER = { Sid = "Owner", Effect = "Allow", Principal = { AWS = "arn:aws:iam::" .. A .. ":root" },
                Action = "kms:*", Resource = "*" }

T.test("the two cross-account statements name B's root and give CreateGrant unconditionally", function()
  local use, grant = table.unpack(keypolicy.statements(B))
  T.eq(use.Sid, "LuawsCrossAccountUse" .. B)
  T.eq(grant.Action, "kms:CreateGrant")
  T.eq(grant.Condition, nil)
  local doc = policy.merge(policy.new { OWNER }, keypolicy.statements(B))
  local missing, trap = keypolicy.policy_needs(doc, B)
  T.same(missing, {})
  T.same(trap, {})
  T.ok(#keypolicy.policy_needs(policy.new { OWNER }, B) == 8)
end)

T.test("organization and same-account role statements close their gaps", function()
  local org = keypolicy.org_statement("o-abc123")
  T.same({ keypolicy.org_policy_needs(policy.new { org }, "o-abc123") }, { {}, {} })
  local role = launchers.role_arn(A, "aws", "autoscaling")
  T.ok(#keypolicy.role_policy_needs(policy.new { OWNER }, role) > 0)
  T.same(keypolicy.role_policy_needs(policy.new(keypolicy.role_statements(role)), role), {})
end)

-- A fake KMS holding one policy text; `meddle` lets a concurrent writer change it after a write.
local function fake_kms(text, meddle)
  local kms = { writes = 0 }
  function kms.GetKeyPolicy() return { Policy = text } end
  function kms.PutKeyPolicy(_, p)
    kms.writes = kms.writes + 1
    text = p.Policy
    if meddle then text = meddle(text, kms.writes) or text end
  end
  return kms
end

T.test("write_policy backs up first, keeps every statement, verifies after", function()
  local original = policy.encode(policy.new { OWNER, { Effect = "Allow", Principal = "*", Action = "kms:Describe*",
                                                     Resource = "*" } })
  local backups = {}
  local kms = fake_kms(original)
  local result = keypolicy.write_policy {
    kms = kms, key = "k", owner = A, settle = 0,
    backup = function(t) backups[#backups + 1] = t return "/backup/" .. #backups end,
    transform = function(doc) return (policy.merge(doc, keypolicy.statements(B))) end,
    expect = function(doc) return keypolicy.includes_all(doc, keypolicy.statements(B)) end,
  }
  T.eq(backups[1], original)
  T.eq(result.backup, "/backup/1")
  T.eq(#policy.statements(policy.decode(result.policy)), 4)
end)

T.test("write_policy refuses an owner lockout and gives up on a policy that keeps changing", function()
  local kms = fake_kms(policy.encode(policy.new { OWNER }))
  local ok, e = pcall(keypolicy.write_policy, { kms = kms, key = "k", owner = A, settle = 0, backup = function() end,
    transform = function() return policy.new {} end, expect = function() return true end })
  T.ok(not ok)
  T.eq(e.code, "OwnerLockout")
  T.eq(kms.writes, 0)
  local rival = fake_kms(policy.encode(policy.new { OWNER }), function() return policy.encode(policy.new { OWNER }) end)
  ok, e = pcall(keypolicy.write_policy, { kms = rival, key = "k", owner = A, settle = 0, rounds = 2,
    backup = function() return "b" end,
    transform = function(doc) return (policy.merge(doc, keypolicy.statements(B))) end,
    expect = function(doc) return keypolicy.includes_all(doc, keypolicy.statements(B)) end })
  T.ok(not ok)
  T.eq(e.code, "PolicyNotSettled")
  T.eq(rival.writes, 2)
end)

T.done()
