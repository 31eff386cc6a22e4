-- complete_test: `luaws __complete WORD...`, the candidates behind the bash and zsh completion.
local T = require "testing"
local complete = require "luaws.complete"

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp .. "/.aws"))
local f = assert(io.open(tmp .. "/.aws/config", "w"))
f:write("[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n[profile prod-admin]\n")
f:close()
local config = require "luaws.sdk.config"
config.set_env { HOME = tmp, AWS_CONFIG_FILE = tmp .. "/.aws/config",
                 AWS_SHARED_CREDENTIALS_FILE = tmp .. "/.aws/credentials" }

local function c(...) return complete.candidates { ... } end

T.test("commands, options and their values", function()
  T.same(c(""), { "help", "list", "repl", "run", "test" })
  T.same(c("r"), { "repl", "run" })
  T.same(c("--out"), { "--output" })
  T.same(c("--output", ""), { "json", "table", "text" })
  T.same(c("--output=t"), { "table", "text" })
end)

T.test("profiles from ~/.aws/config, after --profile or --profile=", function()
  T.same(c("--profile", ""), { "default", "dev", "prod-admin" })
  T.same(c("run", "whoami", "--profile=p"), { "prod-admin" })
end)

T.test("recipe names, and a recipe's arguments from its metadata", function()
  local names = c("run", "")
  T.ok(#names >= 5, "recipes: " .. #names)
  T.same(c("run", "who"), { "whoami" })
  local args = c("run", "cross-account-ami-asg", "--s")
  T.same(args, { "--service-linked-role-arn", "--source-profile" })
  -- an argument of type profile completes profiles
  T.same(c("run", "cross-account-ami-asg", "--source-profile", "d"), { "default", "dev" })
  -- options given already are not offered again
  local again = c("run", "whoami", "--debug", "--de")
  T.same(again, {})
end)

T.test("help: recipes, services, then a service's operations", function()
  T.same(c("help", "km"), { "kms" })
  T.same(c("help", "kms", "CreateG"), { "CreateGrant" })
  T.same(c("help", "services"), { "services" })
end)

T.test("no candidates (the shell falls back to file names) for scripts and test files", function()
  T.same(c("test", ""), {})
  T.same(c("run", "whoami", "--expect-account", ""), {})
end)

os.execute("rm -rf " .. tmp)
T.done()
