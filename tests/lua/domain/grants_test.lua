-- grants_test: operation presets, idempotent grant names, lookup, coverage and the audit flags.
local T = require "testing"
local grants = require "luaws.domain.grants"
local launchers = require "luaws.domain.launchers"

local ROLE = launchers.role_arn("444455556666", "aws", "autoscaling")

T.test("operations: presets, kms: prefixes, duplicates, and clear refusals", function()
  T.same(grants.parse_operations { "blog" }, grants.BLOG_OPERATIONS)
  T.same(grants.parse_operations { "kms:Decrypt", "Decrypt", "CreateGrant" }, { "Decrypt", "CreateGrant" })
  local none, message = grants.parse_operations { "Decrypt", "DeleteKey" }
  T.eq(none, nil)
  T.match(message, "DeleteKey")
  T.eq(#grants.DOC_OPERATIONS, 8)
end)

T.test("grant names are deterministic and valid", function()
  T.eq(grants.grant_name(ROLE), "luaws-AWSServiceRoleForAutoScaling")
  T.eq(grants.grant_name(ROLE), grants.grant_name(ROLE))
end)

T.test("find_grant and coverage: unconstrained grants carrying every operation", function()
  local list = {
    { GrantId = "c", GranteePrincipal = ROLE, Operations = grants.DOC_OPERATIONS, Constraints = { x = 1 } },
    { GrantId = "p", GranteePrincipal = ROLE, Operations = { "Decrypt" } },
    { GrantId = "f", GranteePrincipal = ROLE, Operations = grants.DOC_OPERATIONS },
  }
  T.eq(grants.find_grant(list, ROLE, grants.BLOG_OPERATIONS).GrantId, "f")
  T.eq(grants.find_grant({ list[1], list[2] }, ROLE, grants.BLOG_OPERATIONS), nil)
  local cover = grants.grant_coverage({ list[1], list[2] }, ROLE, { "Decrypt", "Encrypt" })
  T.eq(cover.grant.GrantId, "p")
  T.same(cover.missing, { "Encrypt" })
  T.eq(#cover.constrained, 1)
  T.eq(#grants.index_grants(list)[ROLE], 3)
end)

T.test("audit flags duplicates, deleted principals, missing operations and unused roles", function()
  local list = {
    { GrantId = "1", GranteePrincipal = ROLE, Operations = grants.DOC_OPERATIONS, CreationDate = 1 },
    { GrantId = "2", GranteePrincipal = ROLE, Operations = grants.DOC_OPERATIONS, CreationDate = 2 },
    { GrantId = "3", GranteePrincipal = "AROAEXAMPLEID123456", Operations = { "Decrypt" } },
    { GrantId = "4", GranteePrincipal = ROLE, Operations = { "Decrypt" }, CreationDate = 3 },
  }
  local findings = grants.audit_grants(list, { used_roles = { ["444455556666"] = {} } })
  local function flags(i)
    local out = {}
    for _, f in ipairs(findings[i]) do out[#out + 1] = f.flag end
    table.sort(out)
    return table.concat(out, ",")
  end
  T.eq(flags(1), "unused")
  T.eq(flags(2), "duplicate,unused")
  T.eq(flags(3), "deleted-principal")
  T.eq(flags(4), "missing-operations,unused")
end)

T.done()
