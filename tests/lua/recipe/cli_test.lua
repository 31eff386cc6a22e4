-- cli_test: `luaws list | help | run` end to end: options anywhere, exit codes, stdout vs stderr, whoami.
local T = require "testing"
local cjson = require "cjson"
local localcloud = require "localcloud"

local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")
local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."
local fixtures = source_dir .. "/tests/fixtures"

local tmpdir = os.tmpname()
os.remove(tmpdir)
assert(os.execute("mkdir -p " .. tmpdir .. "/extra/recipes " .. tmpdir .. "/home"))

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Runs luaws with the fixture recipes on LUAWS_PATH; returns stdout, stderr, exit code.
local function luaws(cmdline, env)
  local errfile = tmpdir .. "/stderr"
  local prefix = "cd " .. q(source_dir) .. " && env LUAWS_PATH=" .. q(fixtures .. ":" .. tmpdir .. "/extra")
    .. " HOME=" .. q(tmpdir .. "/home") .. " XDG_CONFIG_HOME= LUAWS_BACKUP_DIR=" .. q(tmpdir .. "/backups")
    .. " AWS_CONFIG_FILE=" .. q(tmpdir .. "/home/config") .. " AWS_SHARED_CREDENTIALS_FILE="
    .. q(tmpdir .. "/home/credentials") .. " " .. (env or "")
  local p = io.popen(prefix .. " " .. q(bin) .. " " .. cmdline .. " 2>" .. q(errfile))
  local out = p:read("a")
  local _, _, code = p:close()
  local f = io.open(errfile)
  local err = f and f:read("a") or ""
  if f then f:close() end
  return out, err, code
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

T.test("list shows every recipe once with categories, summary and origin", function()
  write(tmpdir .. "/extra/recipes/hello.lua", "return nil -- shadowed by the fixture's hello")
  write(tmpdir .. "/extra/recipes/extra-one.lua", [[return { description = "An extra recipe.\nMore.",
    categories = { "read-only" }, run = function() end }]])
  local out, err, code = luaws("list")
  T.eq(code, 0, err)
  T.match(out, "\nhello +read%-only,test +Echoes its arguments back %(test fixture%)%. +%[LUAWS_PATH, shadows 1%]\n")
  T.match(out, "whoami +read%-only,identity +Shows the AWS account .-%[shipped%]")
  T.match(out, "extra%-one +read%-only +An extra recipe%. +%[LUAWS_PATH%]")
  T.match(out, "bad%-field .*%(broken: recipe bad%-field%.lua: field 'categories' must be a table %(got string%)%)")
  local _, n = out:gsub("\nhello ", "")
  T.eq(n, 1)
  local json = cjson.decode((luaws("list --output json")))
  local count, previous = {}, ""
  for _, r in ipairs(json) do
    count[r.name] = (count[r.name] or 0) + 1
    T.ok(r.name > previous, "sorted by name")
    previous = r.name
  end
  -- Shipped recipes come and go; the fixtures and whoami are always there, each once.
  for _, name in ipairs { "bad-field", "extra-one", "grant-reader", "hello", "two-changes", "typo-global", "whoami" } do
    T.eq(count[name], 1, name)
  end
end)

T.test("the project's ./recipes and the user's recipes are searched, shipped first", function()
  assert(os.execute("mkdir -p " .. tmpdir .. "/home/.config/luaws/recipes"))
  write(tmpdir .. "/home/.config/luaws/recipes/mine.lua", [[return { description = "Mine.",
    categories = { "read-only" }, run = function() return { mine = true } end }]])
  write(tmpdir .. "/home/.config/luaws/recipes/whoami.lua", "error('never loaded: shipped whoami wins')")
  local out, err, code = luaws("list")
  T.eq(code, 0, err)
  T.match(out, "mine +read%-only +Mine%. +%[user%]")
  T.match(out, "whoami .-%[shipped, shadows 1%]")
  out, err, code = luaws("run mine --output json")
  T.eq(code, 0, err)
  T.eq(cjson.decode(out).result.mine, true)
  os.remove(tmpdir .. "/home/.config/luaws/recipes/whoami.lua")
end)

T.test("help renders description, argument table and an example", function()
  local out, err, code = luaws("help hello")
  T.eq(code, 0, err)
  T.match(out, "^hello  %[read%-only, test%]")
  T.match(out, "Every argument type appears once%.")
  T.match(out, "\n  %-%-name +string +required +who to greet\n")
  T.match(out, "\n  %-%-count +integer +default: 1 +how many times\n")
  T.match(out, "\n  %-%-loud +flag +optional +shout\n")
  T.match(out, "\n  %-%-mode +enum%(fast|safe%) +default: safe +how\n")
  T.match(out, "Example:\n  luaws run hello %-%-name VALUE\n")
  out = luaws("help two-changes")
  T.match(out, "luaws run two%-changes %-%-apply")
  T.match(out, "changes AWS resources")
  local same = luaws("run hello --help")
  T.eq(same, (luaws("help hello")))
  out, err, code = luaws("help")
  T.eq(code, 0, err)
  T.match(out, "usage: luaws")
end)

T.test("run: --arg value and --arg=value, globals before or after the name", function()
  local out, err, code = luaws("--output json run hello --name=bob --count 3 --loud --tags x --tags y"
    .. " --accounts 111122223333,444455556666 --key alias/shared --mode=fast --region eu-west-1")
  T.eq(code, 0, err)
  T.eq(err, "hello bob\n", "progress goes to stderr")
  local r = cjson.decode(out)
  T.eq(r.status, "ok")
  T.eq(r.recipe, "hello")
  T.eq(r.applied, false)
  T.same(r.result, { name = "bob", count = 3, loud = true, tags = { "x", "y" },
                     accounts = { "111122223333", "444455556666" }, key = "alias/shared", mode = "fast",
                     apply = false })
  -- text output: the result on stdout, sorted "key: value" lines
  out, err, code = luaws("run hello --name bob --output text")
  T.eq(code, 0, err)
  T.eq(out, "apply: false\ncount: 1\nloud: false\nmode: safe\nname: bob\ntags: a, b\n")
  -- --output table: the same result as aligned columns
  out, err, code = luaws("run hello --name bob --output table")
  T.eq(code, 0, err)
  T.eq(out, "KEY    VALUE\n-----  -----\napply  false\ncount  1\nloud   false\nmode   safe\nname   bob\n"
    .. "tags   a, b\n")
end)

T.test("help SERVICE [OPERATION] describes the models; a recipe name comes first", function()
  local out, err, code = luaws("help kms")
  T.eq(code, 0, err)
  T.match(out, "^kms: AWS Key Management Service")
  out, err, code = luaws("help kms CreateGrant")
  T.eq(code, 0, err)
  T.match(out, "^kms CreateGrant")
  T.match(out, "\n  KeyId%*")
  out, err, code = luaws("help kms CreateGrnt")
  T.eq(code, 2)
  T.eq(out, "")
  T.match(err, "^luaws: [^\n]*CreateGrant")
  out, err, code = luaws("help hello")
  T.eq(code, 0, err)
  T.match(out, "^hello ")
end)

T.test("bad usage and bad input: one line on stderr, nothing on stdout, exit 2", function()
  local cases = {
    { "run hello --name x --account-id 12345", "luaws: --account-id: '12345' is not a 12-digit AWS account ID\n" },
    { "run hello", "luaws: hello needs --name (who to greet)\n" },
    { "run hello --name x --nme y", "luaws: unknown argument --nme for recipe hello (did you mean --name?)\n" },
    { "run helo", "luaws: unknown recipe 'helo' (did you mean hello?); `luaws list` shows them\n" },
    { "run hello --name", "luaws: --name needs a value (string)\n" },
    { "run hello --name x --count 2 --count 3", "luaws: --count given twice\n" },
    { "run hello --name x stray", "luaws: unexpected argument 'stray' (recipe hello takes --name value pairs)\n" },
    { "run hello --name x --loud yes", "luaws: unexpected argument 'yes' (--loud is a flag and takes no value)\n" },
    { "run hello --name x --output yaml", "luaws: --output: 'yaml' is not one of text, json, table\n" },
    { "run hello --name x --region mars-1", "luaws: --region: 'mars-1' is not an AWS region name (like us-east-1)\n" },
    { "run hello --name x --image-id ami-1",
      "luaws: --image-id: 'ami-1' is not an AMI ID (ami- and 8 or 17 hex digits)\n" },
    { "run", "luaws: run needs a recipe name (`luaws list` shows them)\n" },
    { "run ./nowhere.lua", "luaws: recipe file './nowhere.lua' does not exist\n" },
    { "list extra", "luaws: list takes no arguments\n" },
    { "run bad-field", "luaws: recipe bad-field.lua: field 'categories' must be a table (got string)\n" },
    { "run hello --name x --source-profile nosuch",
      "^luaws: %-%-source%-profile: .*nosuch.*\n$" },
    { "run hello --name x --profile nosuch", "^luaws: %-%-profile: .*nosuch.*\n$" },
  }
  for _, c in ipairs(cases) do
    local out, err, code = luaws(c[1] .. " --output json")
    T.eq(code, 2, c[1])
    T.eq(out, "", c[1])
    if c[2]:sub(1, 1) == "^" then T.match(err, c[2], c[1]) else T.eq(err, c[2], c[1]) end
  end
end)

T.test("a recipe given by path runs", function()
  local out, err, code = luaws("run tests/fixtures/recipes/hello.lua --name path --output json")
  T.eq(code, 0, err)
  T.eq(cjson.decode(out).result.name, "path")
end)

T.test("an undefined global names the file and line; exit 1", function()
  local out, err, code = luaws("run typo-global --output json")
  T.eq(code, 1)
  T.eq(err, "luaws: recipe typo-global.lua:8: undefined global 'kmss'\n")
  local r = cjson.decode(out)
  T.eq(r.status, "failed")
  T.eq(r.error.message, "recipe typo-global.lua:8: undefined global 'kmss'")
  local _, debug_err = luaws("run typo-global --debug")
  T.match(debug_err, "stack traceback")
end)

T.test("plan first: without --apply nothing happens, with it the steps run", function()
  local out, err, code = luaws("run two-changes")
  T.eq(code, 0)
  T.eq(out, "", "text mode: the plan goes to stderr")
  T.match(err, "^Plan: 2 changes%. Nothing was changed; rerun with %-%-apply to make them%.\n")
  T.match(err, "1%. CreateThing  thing%-1\n     creates the first thing\n       %+ thing%-1\n")
  T.match(err, "       %- old\n       %+ new")
  out, err, code = luaws("run two-changes --output json")
  T.eq(code, 0, err)
  local r = cjson.decode(out)
  T.eq(r.status, "planned")
  T.eq(r.applied, false)
  T.eq(r.plan[1].status, "planned")
  T.same(r.result.made, {})
  out, err, code = luaws("run --apply two-changes --output=json")
  T.eq(code, 0, err)
  r = cjson.decode(out)
  T.eq(r.status, "applied")
  T.eq(r.applied, true)
  T.same(r.result.made, { "thing-1", "thing-2" })
  T.match(err, "^Applied 2 of 2 changes:")
  out, err, code = luaws("run two-changes --nothing --apply --output json")
  T.eq(code, 0)
  T.eq(cjson.decode(out).status, "nothing-to-do")
  T.match(err, "Nothing to do")
end)

T.test("a failure midway shows what was done; exit 1", function()
  local out, err, code = luaws("run two-changes --apply --fail-second --output json")
  T.eq(code, 1)
  local r = cjson.decode(out)
  T.eq(r.status, "failed")
  T.eq(r.plan[1].status, "done")
  T.eq(r.plan[2].status, "failed")
  T.eq(r.error.message, "the second thing broke")
  T.match(err, "%[done%] CreateThing")
  T.match(err, "%[FAILED%] PutThing")
  T.match(err, "\nluaws: two%-changes: the second thing broke\n$")
end)

T.test("--apply on a read-only recipe warns and changes nothing", function()
  local out, err, code = luaws("run hello --name x --apply --output json")
  T.eq(code, 0)
  T.match(err, "hello is read%-only; %-%-apply changes nothing")
  T.eq(cjson.decode(out).applied, false)
end)

local server = localcloud.start()
local endpoint = " --endpoint-url " .. server.url

T.test("whoami against the local cloud, by --profile, and --expect-account", function()
  write(tmpdir .. "/home/credentials", "[cloud]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    .. "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
  os.execute("chmod 600 " .. tmpdir .. "/home/credentials") -- owner-only, as a credentials file should be
  write(tmpdir .. "/home/config", "[profile cloud]\nregion = us-east-1\n")
  local out, e, code = luaws("run whoami --profile cloud --output json" .. endpoint)
  T.eq(code, 0, e)
  local r = cjson.decode(out)
  T.eq(r.status, "ok")
  T.eq(r.result.account, "123456789012")
  T.match(r.result.arn, "^arn:aws:sts::123456789012:")
  T.eq(r.result.profile, "cloud")
  T.ok(not out:find("wJalrXUtnFEMI"), "no secret on stdout")
  T.ok(not e:find("wJalrXUtnFEMI"), "no secret on stderr")
  out, e, code = luaws("--profile cloud run whoami" .. endpoint)
  T.eq(code, 0, e)
  T.match(out, "^account: 123456789012\narn: arn:aws:sts::123456789012:")
  out, e, code = luaws("run whoami --profile cloud --expect-account 111122223333 --output json" .. endpoint)
  T.eq(code, 1)
  T.eq(e, "luaws: whoami: credentials belong to account 123456789012, not 111122223333\n")
  r = cjson.decode(out)
  T.eq(r.status, "failed")
  T.eq(r.result.account, "123456789012", "the result is still reported")
  out, e, code = luaws("run whoami --profile cloud --expect-account 12345" .. endpoint)
  T.eq(code, 2)
  T.eq(out, "")
  T.eq(e, "luaws: --expect-account: '12345' is not a 12-digit AWS account ID\n")
end)

T.test("a key policy change: the plan changes nothing, --apply backs up and writes, a rerun is a no-op", function()
  local function key_policy(key)
    local out = luaws(string.format([[-e "io.write(aws.client('kms', {profile='cloud', endpoint_url='%s'})]]
      .. [[:GetKeyPolicy{KeyId='%s', PolicyName='default'}.Policy)"]], server.url, key))
    return out
  end
  local key, e = luaws(string.format([[-e "io.write(aws.client('kms', {profile='cloud', endpoint_url='%s'})]]
    .. [[:CreateKey{}.KeyMetadata.KeyId)"]], server.url))
  T.match(key, "^%x+%-", e)
  local original = key_policy(key)
  T.match(original, "Enable IAM User Permissions")
  local cmd = "run grant-reader --profile cloud --key-id " .. key .. " --account-id 444455556666" .. endpoint
  local out, err, code = luaws(cmd .. " --output json")
  T.eq(code, 0, err)
  local r = cjson.decode(out)
  T.eq(r.status, "planned")
  T.eq(r.plan[1].action, "PutKeyPolicy")
  T.match(r.plan[1].diff, "%+ added Sid AllowRead444455556666")
  T.eq(key_policy(key), original, "planning changed the key policy")
  out, err, code = luaws(cmd .. " --apply --output json")
  T.eq(code, 0, err)
  r = cjson.decode(out)
  T.eq(r.status, "applied")
  T.eq(r.plan[1].status, "done")
  local backup = err:match("saved the old key policy to (%S+)")
  T.ok(backup and backup:find("^" .. tmpdir:gsub("%p", "%%%0") .. "/backups/grant%-reader/"), err)
  local f = assert(io.open(backup))
  T.eq(f:read("a"), original)
  f:close()
  local now = key_policy(key)
  T.match(now, "AllowRead444455556666")
  T.match(now, "Enable IAM User Permissions", "the owner's statement survives")
  out, err, code = luaws(cmd .. " --apply --output json")
  T.eq(code, 0, err)
  T.eq(cjson.decode(out).status, "nothing-to-do")
  T.eq(key_policy(key), now)
end)

server.stop()
os.execute("rm -rf " .. q(tmpdir))
T.done()
