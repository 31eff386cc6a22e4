-- plan_test: steps recorded in order, applied only when applying, writes refused outside a step.
local T = require "testing"
local plan = require "luaws.recipe.plan"

T.test("planning records steps and runs nothing", function()
  local p = plan.new { apply = false, mutating = true, recipe = "t" }
  local ran = false
  T.eq(p:add { action = "kms:PutKeyPolicy", target = "k", apply = function() ran = true end }, nil)
  T.ok(not ran)
  T.eq(p.steps[1].status, "planned")
  T.ok(not p:empty())
end)

T.test("applying runs each step as it is added; a failing step is marked and raised", function()
  local p = plan.new { apply = true, mutating = true, recipe = "t" }
  T.eq(p:add { action = "a", apply = function() T.ok(p:may_write()) return 42 end }, 42)
  T.ok(not p:may_write())
  T.eq(p.steps[1].status, "done")
  local ok = pcall(p.add, p, { action = "b", apply = function() error({ code = "Boom", message = "b" }, 0) end })
  T.ok(not ok)
  T.eq(p.steps[2].status, "failed")
end)

T.test("a read-only recipe cannot plan; a guarded client refuses writes outside a step", function()
  local ro = plan.new { apply = true, mutating = false, recipe = "ro" }
  local ok, e = pcall(ro.add, ro, { action = "x" })
  T.ok(not ok)
  T.eq(e.code, "ReadOnlyRecipe")
  local p = plan.new { apply = true, mutating = true, recipe = "t" }
  local client = plan.guard_client({ ListKeys = function() return "list" end, CreateKey = function() return "k" end },
                                   "kms", p, function(op) return op:find("^List") ~= nil end)
  T.eq(client:ListKeys(), "list")
  ok, e = pcall(client.CreateKey, client)
  T.ok(not ok)
  T.eq(e.code, "ChangeOutsidePlan")
  T.eq(p:add { action = "kms:CreateKey", apply = function() return client:CreateKey() end }, "k")
end)

T.done()
