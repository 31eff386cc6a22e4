-- errors_test (recipe floor): recipe errors are luaws errors; plain ones print their message alone.
local T = require "testing"
local errors = require "luaws.core.errors"
local recipe_errors = require "luaws.recipe.errors"

T.test("a recipe error is a luaws error table with the usual fields", function()
  local e = recipe_errors.new { code = "BackupFailed", message = "cannot write backup", exit = 1 }
  T.ok(errors.is(e, "BackupFailed"))
  T.eq(e.retryable, false)
  T.eq(tostring(e), "BackupFailed: cannot write backup")
end)

T.test("a plain error prints its message alone and keeps its code and exit", function()
  local e = recipe_errors.new({ code = "InvalidRecipe", message = "recipe x.lua: missing field 'run'", exit = 2 }, true)
  T.eq(tostring(e), "recipe x.lua: missing field 'run'")
  T.eq(e.code, "InvalidRecipe")
  T.eq(e.exit, 2)
  T.eq(e.retryable, false)
end)

T.done()
