-- recipe_test: recipe loading and validation, strict environments, argument types, plans and guards.
local T = require "testing"
local recipe = require "luaws.recipe"
local args = require "luaws.recipe.args"
local plan = require "luaws.recipe.plan"

local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."
local fixtures = source_dir .. "/tests/fixtures/recipes/"

local tmpdir = os.tmpname()
os.remove(tmpdir)
assert(os.execute("mkdir -p " .. tmpdir))

local function write_recipe(name, text)
  local path = tmpdir .. "/" .. name .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function load_error(text, name)
  local path = write_recipe(name or "broken", text)
  local e = T.raises(function() recipe.load(path) end)
  return type(e) == "table" and tostring(e.message or e) or tostring(e), e
end

-- A stand-in for the aws library: clients record the operations they are asked to run.
local function fake_aws(calls)
  return {
    client = function(service, opts)
      local c = { service = service, opts = opts }
      return setmetatable(c, { __index = function(_, op)
        if op == "paginate" then
          return function(_, name) calls[#calls + 1] = service .. ":paginate:" .. name return function() end end
        end
        if op == "waiter" then  -- a waiter's definition names the one operation it calls
          return function(_, name)
            return name, { operation = name == "KeyGone" and "ScheduleKeyDeletion" or "DescribeKey" }
          end
        end
        if op == "wait" then
          return function(_, name) calls[#calls + 1] = service .. ":wait:" .. name return {} end
        end
        return function(self, params)
          assert(self == c, "operation called without the real client as self")
          calls[#calls + 1] = service .. ":" .. op
          return { op = op, params = params }
        end
      end })
    end,
    version = "test",
    is_read_only = require("luaws.sdk.operations").is_read_only,
  }
end

local function mutating_recipe(body)
  return write_recipe("mut", [[
return {
  description = "mutating test recipe",
  categories = { "mutating" },
  run = function(ctx)
]] .. body .. [[
  end,
}]])
end

T.test("loads a fixture recipe with its metadata", function()
  local r = recipe.load(fixtures .. "hello.lua")
  T.eq(r.name, "hello")
  T.eq(r.summary, "Echoes its arguments back (test fixture).")
  T.same(r.categories, { "read-only", "test" })
  T.eq(r.mutating, nil)
  T.eq(#r.args, 13)
  T.eq(r.args[13].type, "enum")
  T.same(r.args[13].values, { "fast", "safe" })
  T.ok(recipe.load(fixtures .. "two-changes.lua").mutating)
end)

T.test("a missing or badly typed field names the file and the field", function()
  T.eq(load_error("return { categories = {'read-only'}, run = function() end }", "nodesc"),
       "recipe nodesc.lua: missing field 'description' (a string)")
  T.eq(load_error("return { description = 'x', categories = 'read-only', run = function() end }", "badcat"),
       "recipe badcat.lua: field 'categories' must be a table (got string)")
  T.eq(load_error("return { description = 'x', categories = {'read-only'} }", "norun"),
       "recipe norun.lua: missing field 'run' (a function)")
  T.eq(load_error("return { description = 'x', catgories = {'read-only'}, run = print }", "typo"),
       "recipe typo.lua: unknown field 'catgories' (did you mean categories?)")
  T.match(load_error("return { description = 'x', categories = {'test'}, run = print }"),
          "exactly one of 'mutating' or 'read%-only'")
  T.match(load_error("return { description = 'x', categories = {'mutating', 'read-only'}, run = print }"),
          "exactly one of")
  T.match(load_error("return 42"), "must return a table %(got number%)")
  local msg, e = load_error("return { description = 'x', categories = {'read-only'}, run = print,\n"
    .. " args = { { name = 'n', type = 'integr', help = 'h' } } }", "badtype")
  T.eq(msg, "recipe badtype.lua: args[1] ('n'): unknown type 'integr'")
  T.eq(e.exit, 2)
  T.eq(e.code, "InvalidRecipe")
end)

T.test("argument declarations are checked", function()
  local function spec_error(spec)
    return load_error("return { description = 'x', categories = {'read-only'}, run = print, args = { "
                      .. spec .. " } }", "specs")
  end
  T.match(spec_error("{ type = 'string', help = 'h' }"), "args%[1%]: missing field 'name'")
  T.match(spec_error("{ name = 'a', type = 'string' }"), "missing field 'help'")
  T.match(spec_error("{ name = 'Bad_Name', type = 'string', help = 'h' }"), "lowercase")
  T.match(spec_error("{ name = 'region', type = 'region', help = 'h' }"), "clashes with the global option %-%-region")
  T.match(spec_error("{ name = 'a', type = 'enum', help = 'h' }"), "needs field 'values'")
  T.match(spec_error("{ name = 'a', type = 'string', help = 'h', requird = true }"), "unknown field 'requird'")
  T.match(spec_error("{ name = 'a', type = 'string', help = 'h', required = 'yes' }"),
          "field 'required' must be a boolean")
  T.match(spec_error("{ name = 'a', type = 'account_id', help = 'h', default = '123' }"),
          "default '123' is not a 12%-digit AWS account ID")
  T.match(spec_error("{ name = 'a', type = 'string', help = 'h', required = true, default = 'x' }"),
          "cannot have a default")
  T.match(spec_error("{ name = 'a', type = 'string', help = 'h' }, { name = 'a', type = 'string', help = 'h' }"),
          "declared twice")
end)

T.test("an undefined global is an error naming file and line", function()
  -- At load time (top level of the file) ...
  T.eq(load_error("local x = 1\nreturn kmss", "early"), "recipe early.lua:2: undefined global 'kmss'")
  -- ... and when run is called.
  local r = recipe.load(fixtures .. "typo-global.lua")
  local report = recipe.execute(r, { aws = fake_aws({}) })
  T.eq(report.status, "failed")
  T.eq(report.exit, 1)
  T.eq(report.error.message, "recipe typo-global.lua:8: undefined global 'kmss'")
  T.match(load_error("x = 1\nreturn {}", "assign"), "^recipe assign.lua:1: assignment to undeclared global 'x'")
  T.match(load_error("return {", "syntax"), "^recipe syntax.lua:1:")
end)

T.test("recipe environments are fresh and limited", function()
  local path = write_recipe("env", [[
string.evil = true
local seen = { io = rawget(_G, "io"), load = rawget(_G, "load"), execute = os.execute, dofile = rawget(_G, "dofile") }
local ok_require = pcall(require, "luaws.core.arn")
local bad_require = pcall(require, "os")
return { description = "d", categories = { "read-only" },
         run = function() return { seen = seen, ok_require = ok_require, bad_require = bad_require } end }]])
  local report = recipe.execute(recipe.load(path), { aws = fake_aws({}) })
  T.eq(report.status, "ok")
  T.eq(rawget(string, "evil"), nil, "the recipe's string table is its own copy")
  T.same(report.result.seen, {})
  T.eq(report.result.ok_require, true)
  T.eq(report.result.bad_require, false)
  -- Two loads of the same file get different environments.
  T.ok(recipe.load(path).env ~= recipe.load(path).env)
end)

T.test("argument types convert values and explain bad ones in one line", function()
  local function bad(spec, raw)
    spec.help = spec.help or "h"
    local e = T.raises(function() args.convert(args.check_spec(spec, "t"), raw) end)
    T.eq(e.exit, 2)
    return e.message
  end
  T.eq(bad({ name = "account-id", type = "account_id" }, "12345"),
       "--account-id: '12345' is not a 12-digit AWS account ID")
  T.eq(bad({ name = "n", type = "integer" }, "1.5"), "--n: '1.5' is not a whole number")
  T.eq(bad({ name = "n", type = "integer", max = 3 }, "4"), "--n: '4' is more than 3")
  T.eq(bad({ name = "k", type = "kms_key" }, "nope"), "--k: 'nope' is not a KMS key ID, alias name or key ARN")
  T.eq(bad({ name = "k", type = "kms_key", arn_only = true }, "alias/x"),
       "--k: 'alias/x' is not a KMS key ARN (a key in another account needs its full ARN)")
  T.eq(bad({ name = "i", type = "ami_id" }, "ami-xyz"), "--i: 'ami-xyz' is not an AMI ID (ami- and 8 or 17 hex digits)")
  T.eq(bad({ name = "r", type = "region" }, "us-east"), "--r: 'us-east' is not an AWS region name (like us-east-1)")
  T.eq(bad({ name = "a", type = "arn", service = "kms" }, "arn:aws:iam::111122223333:role/x"),
       "--a: 'arn:aws:iam::111122223333:role/x' is not a kms ARN")
  T.eq(bad({ name = "a", type = "arn" }, "arn:aws:kms"), "--a: 'arn:aws:kms' is not a valid ARN")
  T.eq(bad({ name = "l", type = "list", items = "account_id" }, "111122223333,12"),
       "--l: '111122223333,12' has item '12' that is not a 12-digit AWS account ID")
  T.eq(bad({ name = "m", type = "enum(a|b)" }, "c"), "--m: 'c' is not one of a, b")
  T.eq(bad({ name = "f", type = "boolean" }, "maybe"), "--f: 'maybe' is not true or false")
  T.eq(bad({ name = "p", type = "path", must_exist = true }, tmpdir .. "/none"),
       "--p: '" .. tmpdir .. "/none' does not exist or cannot be read")
  T.eq(bad({ name = "p", type = "profile" }, "a b"), "--p: 'a b' is not a profile name")
  local specs = {
    args.check_spec({ name = "ops", type = "list", default = "Encrypt, Decrypt,,", help = "h" }, "t"),
    args.check_spec({ name = "n", type = "integer", default = 2, help = "h" }, "t"),
    args.check_spec({ name = "flag", type = "boolean", help = "h" }, "t"),
    args.check_spec({ name = "need", type = "string", required = true, help = "what is needed" }, "t"),
  }
  local v = args.resolve(specs, { need = "x", flag = "no" }, "demo")
  T.same(v.ops, { "Encrypt", "Decrypt" })
  T.eq(v.n, 2)
  T.eq(v.flag, false)
  T.eq(v.need, "x")
  local e = T.raises(function() args.resolve(specs, {}, "demo") end)
  T.eq(e.message, "demo needs --need (what is needed)")
  T.eq(e.exit, 2)
end)

T.test("suggestions for close names", function()
  T.same(args.suggest("imag-id", { "image-id", "key-id", "asg-name" }), { "image-id" })
  T.same(args.suggest("zzz", { "image-id" }), {})
  T.eq(args.did_you_mean("whomai", { "whoami", "hello" }), " (did you mean whoami?)")
  T.eq(args.distance("kitten", "sitting"), 3)
end)

T.test("a plan changes nothing: writes are refused unless applying a step", function()
  local calls = {}
  local path = mutating_recipe([[
    local kms = ctx.client("kms")
    local key = kms:DescribeKey { KeyId = "k" }
    local ok, err = pcall(function() return kms:CreateGrant { KeyId = "k" } end)
    local ok2, err2 = pcall(function() return aws.client("iam"):CreateRole {} end)
    ctx.plan:add { action = "CreateGrant", target = "k", detail = "grant",
                   apply = function() return kms:CreateGrant { KeyId = key.params.KeyId } end }
    return { refused = not ok and err.code, message = err.message, direct_refused = not ok2 and err2.code }
]])
  local report = recipe.execute(recipe.load(path), { aws = fake_aws(calls) })
  T.eq(report.status, "planned")
  T.eq(report.exit, 0)
  T.same(calls, { "kms:DescribeKey" })
  T.eq(report.result.refused, "ChangeOutsidePlan")
  T.eq(report.result.direct_refused, "ChangeOutsidePlan")
  T.match(report.result.message, "^recipe mut%.lua:7: kms:CreateGrant changes AWS resources; not applying")
  T.eq(report.plan[1].status, "planned")
  -- With --apply the step runs, and only the step.
  calls = {}
  report = recipe.execute(recipe.load(path), { aws = fake_aws(calls), apply = true })
  T.eq(report.status, "applied")
  T.same(calls, { "kms:DescribeKey", "kms:CreateGrant" })
  T.eq(report.plan[1].status, "done")
  T.eq(report.result.refused, "ChangeOutsidePlan", "outside a step a write is refused even when applying")
end)

T.test("other spellings and call() cannot sneak a write past the guard", function()
  local calls = {}
  local path = mutating_recipe([[
    local kms = ctx.client("kms")
    local codes = {}
    for _, attempt in ipairs {
      function() return kms:create_grant {} end,
      function() return kms:createGrant {} end,
      function() return kms:call("PutKeyPolicy", {}) end,
      function() return kms:paginate("CreateGrant", {}) end,
    } do
      local ok, err = pcall(attempt)
      codes[#codes + 1] = ok and "allowed" or err.code
    end
    kms:describe_key {}
    kms:call("ListGrants", {})
    return codes
]])
  local fake = fake_aws(calls)
  local real_client = fake.client
  fake.client = function(...)
    local c = real_client(...)
    rawset(c, "call", function(self, name) calls[#calls + 1] = "call:" .. name return self end)
    return c
  end
  local report = recipe.execute(recipe.load(path), { aws = fake })
  T.eq(report.status, "nothing-to-do", report.error and report.error.message)
  T.same(report.result, { "ChangeOutsidePlan", "ChangeOutsidePlan", "ChangeOutsidePlan", "ChangeOutsidePlan" })
  T.same(calls, { "kms:describe_key", "call:ListGrants" })
end)

T.test("read-only recipes cannot write or plan, even with --apply", function()
  local calls = {}
  local path = write_recipe("ro", [[
return { description = "d", categories = { "read-only" }, run = function(ctx)
  local ok, err = pcall(function() ctx.client("kms"):PutKeyPolicy {} end)
  local ok2, err2 = pcall(function() ctx.plan:add { action = "X" } end)
  local ok3, err3 = pcall(function() for _ in ctx.client("kms"):paginate("ListGrants", {}) do end end)
  local ok4, err4 = pcall(function() for _ in ctx.client("kms"):paginate("DeleteEverything", {}) do end end)
  return { err.code, err2.code, ok3 and "ok" or tostring(err3), err4.code, ok or ok2 or ok4 }
end }]])
  local report = recipe.execute(recipe.load(path), { aws = fake_aws(calls), apply = true })
  T.same(report.result, { "ChangeOutsidePlan", "ReadOnlyRecipe", "ok", "ChangeOutsidePlan", false })
  T.same(calls, { "kms:paginate:ListGrants" })
  T.eq(report.status, "ok")
  T.eq(report.applied, false)
end)

T.test("read-only recipes may wait on a waiter whose operation only reads", function()
  local calls = {}
  local path = write_recipe("ro_wait", [[
return { description = "d", categories = { "read-only" }, run = function(ctx)
  local kms = ctx.client("kms")
  kms:wait("KeyReady", { KeyId = "k" })
  local ok, err = pcall(function() kms:wait("KeyGone", { KeyId = "k" }) end)
  return { ok and "allowed" or err.code }
end }]])
  local report = recipe.execute(recipe.load(path), { aws = fake_aws(calls) })
  T.same(report.result, { "ChangeOutsidePlan" }, report.error and report.error.message)
  T.same(calls, { "kms:wait:KeyReady" })
end)

T.test("without a classifier every operation counts as a change", function()
  local the_plan = plan.new { apply = false, mutating = false, recipe = "t" }
  local guarded = plan.guard_client({ ListGrants = function() return "listed" end }, "kms", the_plan)
  local ok, err = pcall(guarded.ListGrants, guarded, {})
  T.ok(not ok)
  T.eq(err.code, "ChangeOutsidePlan")
end)

T.test("a failing step is marked and stops the recipe", function()
  local report = recipe.execute(recipe.load(fixtures .. "two-changes.lua"),
                                { aws = fake_aws({}), apply = true, args = { fail_second = true } })
  T.eq(report.status, "failed")
  T.eq(report.exit, 1)
  T.eq(report.plan[1].status, "done")
  T.eq(report.plan[2].status, "failed")
  T.eq(report.plan[2].error, "the second thing broke")
  T.eq(report.error.code, "RecipeFailed")
  local nothing = recipe.execute(recipe.load(fixtures .. "two-changes.lua"),
                                 { aws = fake_aws({}), args = { nothing = true } })
  T.eq(nothing.status, "nothing-to-do")
end)

T.test("ctx.client applies the global options and caches clients", function()
  local seen = {}
  local aws = { client = function(service, opts) seen[#seen + 1] = { service, opts } return {} end }
  local r = recipe.load(fixtures .. "hello.lua")
  local ctx = recipe.context(r, { aws = aws, profile = "a", region = "eu-west-1", endpoint_url = "http://x" })
  local c1 = ctx.client("kms")
  T.ok(ctx.client("kms") == c1)
  ctx.client("kms", { profile = "b" })
  T.eq(#seen, 2)
  T.same(seen[1], { "kms", { profile = "a", region = "eu-west-1", endpoint_url = "http://x" } })
  T.same(seen[2], { "kms", { profile = "b", region = "eu-west-1", endpoint_url = "http://x" } })
end)

T.test("plan:apply runs only when applying", function()
  local p = plan.new { apply = false, mutating = true, recipe = "t" }
  p:add { action = "A" }
  T.eq(p:apply(function() return 1 end), nil)
  T.eq(p.steps[1].status, "planned")
  local q = plan.new { apply = true, mutating = true, recipe = "t" }
  q:add { action = "A" }
  T.eq(q:apply(function() return q:may_write() and 2 end), 2)
  T.eq(q.steps[1].status, "done")
  T.ok(not q:may_write())
end)

T.test("backups are written only when applying", function()
  local r = recipe.load(fixtures .. "two-changes.lua")
  local dir = tmpdir .. "/backups"
  local ctx = recipe.context(r, { aws = fake_aws({}) })
  -- LUAWS_BACKUP_DIR is read from the environment; point HOME-based default aside by checking paths.
  local path, written = ctx.backup("policy.json", "{}")
  T.eq(written, false)
  T.ok(not io.open(path, "r"), "nothing written while planning")
  local actx = recipe.context(r, { aws = fake_aws({}), apply = true })
  local apath, awritten = actx.backup("policy.json", '{"old":true}')
  T.eq(awritten, true)
  T.match(apath, "/two%-changes/%d+T%d+Z%-1%-policy%.json$")
  local f = assert(io.open(apath, "r"))
  T.eq(f:read("a"), '{"old":true}')
  f:close()
  os.remove(apath)
  T.raises(function() actx.backup("../escape", "x") end)
  os.execute("rm -rf " .. dir)
end)

T.test("a backup never replaces another run's backup of the same second", function()
  local r = recipe.load(fixtures .. "two-changes.lua")
  -- Two processes backing up in the same second pick the same first name: the second run's
  -- context stands in for the other process here.
  local first = recipe.context(r, { aws = fake_aws({}), apply = true })
  local second = recipe.context(r, { aws = fake_aws({}), apply = true })
  local a = first.backup("policy.json", "first")
  local b = second.backup("policy.json", "second")
  if a:match("T(%d+)Z") == b:match("T(%d+)Z") then T.ok(a ~= b, "same name: " .. a) end
  for path, want in pairs { [a] = "first", [b] = "second" } do
    local f = assert(io.open(path, "r"))
    T.eq(f:read("a"), want)
    f:close()
    os.remove(path)
  end
end)

T.test("report JSON has the documented members", function()
  local report = recipe.execute(recipe.load(fixtures .. "two-changes.lua"), { aws = fake_aws({}) })
  local text = plan.report_json(report)
  local decoded = require("cjson").decode(text)
  T.eq(decoded.recipe, "two-changes")
  T.eq(decoded.applied, false)
  T.eq(decoded.status, "planned")
  T.eq(#decoded.plan, 2)
  T.eq(decoded.plan[2].diff, "- old\n+ new")
  T.match(text, '"result":{"made":{}}', "an empty result table encodes as {}")
end)

os.execute("rm -rf " .. tmpdir)
T.done()
