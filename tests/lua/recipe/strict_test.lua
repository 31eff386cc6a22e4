-- strict_test: a recipe's environment refuses undeclared globals and keeps the standard library private.
local T = require "testing"
local strict = require "luaws.recipe.strict"

T.test("reading or assigning an undeclared global is an error naming it", function()
  local env = strict.environment { aws = {} }
  local chunk = load("return kmss", "=recipe t.lua", "t", env)
  local ok, e = pcall(chunk)
  T.ok(not ok)
  T.match(tostring(e), "kmss")
  ok = pcall(load("x = 1", "=recipe t.lua", "t", env))
  T.ok(not ok)
end)

T.test("the whitelisted library is there, and a recipe's change to it stays its own", function()
  local env = strict.environment {}
  T.eq(load("return string.format('%d', 4)", "=t", "t", env)(), "4")
  load("string.upper = nil", "=t", "t", env)()
  T.eq(type(string.upper), "function")
  T.eq(load("return os.execute", "=t", "t", env)(), nil)
end)

T.done()
