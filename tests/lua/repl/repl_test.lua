-- repl_test: luaws.repl, the REPL's Lua side: completions from the models, printing without
-- ResponseMetadata, help().
local T = require "testing"
local repl = require "luaws.repl"

T.test("service names after aws.client(, closed with the quote used", function()
  local names, append = repl.complete('k = aws.client("', "km")
  T.same(names, { "kms" })
  T.eq(append, '"')
  names, append = repl.complete("aws.client( '", "organ")
  T.same(names, { "organizations" })
  T.eq(append, "'")
end)

T.test("parameter names inside a client call's table, at a key position", function()
  _G.kc = aws.client("kms", { region = "us-east-1", credentials = false })
  local names, append = repl.complete("kc:CreateGrant{", "Grantee")
  T.same(names, { "GranteePrincipal" })
  T.eq(append, "=")
  names = repl.complete("kc:CreateGrant({KeyId = 'k', ", "Re")
  T.same(names, { "RetiringPrincipal" })
  names = repl.complete("kc:CreateGrant{\n  KeyId = 'k',\n  ", "Op")
  T.same(names, { "Operations" })
  -- a value position, a nested table, or not a client: left to the plain completion
  T.eq(repl.complete("kc:CreateGrant{KeyId = ", "x"), nil)
  T.eq(repl.complete("t = {", "a"), nil)
  T.eq(repl.complete("print{", "a"), nil)
  _G.kc = nil
end)

T.test("results print without ResponseMetadata; the field itself prints", function()
  local path = os.tmpname()
  local saved = io.stdout
  local f = assert(io.open(path, "w"))
  io.output(f)
  local real_stdout = io.stdout
  rawset(io, "stdout", f)
  repl.print({ Keys = { "a" }, ResponseMetadata = { RequestId = "r1" } }, 7)
  repl.print({ RequestId = "r2" })
  rawset(io, "stdout", real_stdout)
  io.output(saved)
  f:close()
  local out = assert(io.open(path)):read("a")
  os.remove(path)
  T.eq(out, '{ Keys = { "a" } }\t7\n{ RequestId = "r2" }\n')
end)

T.done()
