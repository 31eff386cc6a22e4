-- scriptargs_test: aws.args parses a plain script's arguments declared like a recipe's.
local T = require "testing"
local scriptargs = require "luaws.recipe.scriptargs"

local SPECS = {
  { name = "bucket", required = true, help = "the bucket" },
  { name = "count", type = "integer", default = 2 },
  { name = "mode", type = "enum(fast|slow)", default = "fast" },
  { name = "dry-run", type = "boolean" },
  { name = "profile" }, -- any name goes in a script, even a global option's
}

T.test("values, defaults, flags and snake_case names", function()
  local a = scriptargs.parse(SPECS, { "--bucket", "b", "--count=3", "--dry-run", "--profile", "x" })
  T.eq(a.bucket, "b")
  T.eq(a.count, 3)
  T.eq(a.mode, "fast")
  T.eq(a["dry-run"], true)
  T.eq(a.dry_run, true)
  T.eq(a.profile, "x")
  a = scriptargs.parse(SPECS, { "--bucket", "b", "--no-dry-run", "--mode", "slow" })
  T.eq(a.dry_run, false)
  T.eq(a.mode, "slow")
  T.eq(a.count, 2)
  T.same(aws.args(SPECS, { "--bucket", "c" }).bucket, "c")
end)

T.test("mistakes are usage errors (exit 2) naming the argument", function()
  local function fails(argv, pattern)
    local ok, e = pcall(scriptargs.parse, SPECS, argv)
    T.ok(not ok, "accepted " .. table.concat(argv, " "))
    T.eq(e.exit, 2)
    T.match(e.message, pattern)
  end
  fails({ "--buckt", "b" }, "unknown argument %-%-buckt %(did you mean %-%-bucket%?%)")
  fails({ "--bucket", "b", "--count", "x" }, "%-%-count: 'x'")
  fails({}, "needs %-%-bucket")
  fails({ "--bucket", "b", "--mode", "medium" }, "%-%-mode: 'medium'")
  fails({ "--bucket" }, "%-%-bucket needs a value")
  fails({ "stray" }, "unexpected argument 'stray'")
end)

T.test("--help prints the arguments and exits 0", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write([[aws.args({ { name = "bucket", required = true, help = "the bucket" },
    { name = "count", type = "integer", default = 2 } }, arg, { description = "Lists a bucket." })]])
  f:close()
  local p = io.popen(os.getenv("LUAWS_BIN") .. " " .. path .. " --help 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  os.remove(path)
  T.eq(code, 0)
  T.match(out, "^usage: luaws [^\n]+ %[%-%-NAME VALUE %.%.%.%]\n\nLists a bucket%.\n\narguments:\n")
  T.match(out, "\n  %-%-bucket%s+string, required  the bucket\n")
  T.match(out, "\n  %-%-count%s+integer, default: 2\n")
end)

T.done()
