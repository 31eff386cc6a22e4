-- host_test: the embedded host and CLI: preloaded modules, search path, options, exit codes.
local T = require "testing"
local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

-- Writes a temporary file; returns its path. Callers remove it.
local function write_temp(text, path)
  path = path or os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function quote(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end

T.test("aws is preloaded and cjson is linked in", function()
  T.eq(type(aws), "table")
  T.eq(require("cjson").encode({ 1, 2 }), "[1,2]")
  T.eq(require("cjson.safe").decode("{"), nil)
end)

T.test("--version names luaws, Lua, libcurl, OpenSSL, expat, the botocore data and the licence", function()
  local out, code = run(bin .. " --version")
  T.eq(code, 0)
  T.match(out, "^luaws %d+%.%d+%.%d+, Lua 5%.4%.%d+, libcurl %d[%d.]*, OpenSSL %d[%w.]*, "
    .. "expat %d+%.%d+%.%d+, botocore data %d+%.%d+%.%d+\n")
  T.match(out, "\nMIT License, Copyright %(c%) 2026 The luaws authors")
end)

T.test("an uncaught error is one line and exit 1", function()
  local out, code = run(bin .. [[ -e 'error("boom")']])
  T.eq(code, 1)
  T.eq(out, "luaws: (command line):1: boom\n")
end)

T.test("--debug adds a traceback", function()
  local out, code = run(bin .. [[ --debug -e 'error("boom")']])
  T.eq(code, 1)
  T.match(out, "stack traceback:")
end)

T.test("an error table chooses its exit code", function()
  local _, code = run(bin .. [[ -e 'error(setmetatable({exit=2},{__tostring=function() return "bad" end}))']])
  T.eq(code, 2)
end)

T.test("scripts get arg like lua", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write('print(arg[0], arg[1], arg[2], select("#", ...))')
  f:close()
  local out, code = run(bin .. " " .. path .. " a b")
  os.remove(path)
  T.eq(code, 0)
  T.eq(out, path .. "\ta\tb\t2\n")
end)

T.test("LUAWS_PATH folders come first in package.path", function()
  local out = run("LUAWS_PATH=/tmp/one:/tmp/two " .. bin .. [[ -e 'io.write(package.path)']])
  T.match(out, "^/tmp/one/%?%.lua;/tmp/one/%?/init%.lua;/tmp/one/lua/%?%.lua;")
  T.match(out, "/tmp/two/%?%.lua")
end)

T.test("--help explains usage and exits 0", function()
  local out, code = run(bin .. " --help")
  T.eq(code, 0)
  T.match(out, "^usage: luaws")
  T.match(out, "%-e CHUNK")
  T.match(out, "run RECIPE")
end)

T.test("an unknown option is one line with a hint, exit 2", function()
  local out, code = run(bin .. " --bogus")
  T.eq(code, 2)
  T.eq(out, "luaws: unknown option '--bogus' (try 'luaws --help')\n")
  out, code = run(bin .. " -e")
  T.eq(code, 2)
  T.match(out, "^luaws: %-e needs a chunk of Lua")
  out, code = run(bin .. " --region")
  T.eq(code, 2)
  T.match(out, "^luaws: %-%-region needs a value")
end)

T.test("a missing script is bad input: one line, exit 2", function()
  local out, code = run(bin .. " /nonexistent/script.lua")
  T.eq(code, 2)
  T.eq(out, "luaws: cannot open /nonexistent/script.lua: No such file or directory\n")
end)

T.test("a syntax error in a script is bad input, as for a recipe: one line, exit 2", function()
  local path = write_temp("local x = = 1\n")
  local out, code = run(bin .. " " .. path)
  os.remove(path)
  T.eq(code, 2)
  T.match(out, "^luaws: [^\n]*:1: unexpected symbol near '='\n$")
end)

T.test("a mistyped command is not read as a script: the close command, or the commands", function()
  local out, code = run("cd /tmp && " .. bin .. " rn --profile x")
  T.eq(code, 2)
  T.eq(out, "luaws: unknown command 'rn' (did you mean run?); no script of that name either\n")
  out, code = run("cd /tmp && " .. bin .. " frob")
  T.eq(code, 2)
  T.match(out, "^luaws: 'frob' is neither a script nor a command %(commands: run, list, help, test, repl")
  -- A file of that name is a script, whatever it is called.
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  local f = assert(io.open(dir .. "/frob", "w"))
  f:write("io.write('script frob ran')\n")
  f:close()
  out, code = run("cd " .. dir .. " && " .. bin .. " frob")
  os.remove(dir .. "/frob")
  os.remove(dir)
  T.eq(code, 0)
  T.eq(out, "script frob ran")
end)

T.test("-e repeats and runs before the script, which sees its arguments", function()
  local path = write_temp("print(x, ...)")
  local out, code = run(bin .. " -e 'x = 1' -e 'x = x + 1' " .. path .. " one two")
  os.remove(path)
  T.eq(code, 0)
  T.eq(out, "2\tone\ttwo\n")
end)

T.test("- and piped stdin run a script", function()
  local out, code = run("echo 'print(arg[0], ...)' | " .. bin .. " - a b")
  T.eq(code, 0)
  T.eq(out, "-\ta\tb\n")
  out, code = run("echo 'print(\"from stdin\") os.exit(4)' | " .. bin)
  T.eq(code, 4)
  T.eq(out, "from stdin\n")
end)

T.test("--profile, --region, --endpoint-url become aws.defaults for scripts", function()
  local out, code = run("env -u AWS_PROFILE -u AWS_REGION -u AWS_ENDPOINT_URL " .. bin ..
    " --profile dev --region=eu-west-1 --endpoint-url http://127.0.0.1:9 -e " ..
    quote('local d = aws.defaults print(d.profile, d.region, d.endpoint_url, os.getenv("AWS_PROFILE"))'))
  T.eq(code, 0)
  T.eq(out, "dev\teu-west-1\thttp://127.0.0.1:9\tnil\n")
end)

T.test("--profile outranks environment keys, as the CLI's does", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -m 700 " .. dir)
  write_temp("[dev]\naws_access_key_id = AKIAPROFILEKEY000000\naws_secret_access_key = x\n", dir .. "/credentials")
  os.execute("chmod 600 " .. dir .. "/credentials")
  local env = "env AWS_SHARED_CREDENTIALS_FILE=" .. dir .. "/credentials AWS_CONFIG_FILE=" .. dir ..
    "/none AWS_ACCESS_KEY_ID=AKIAENVIRONMENTKEY00 AWS_SECRET_ACCESS_KEY=y "
  local probe = quote('print(aws.client("kms", {region="us-east-1"})._credentials:get().access_key)')
  local with_profile = run(env .. bin .. " --profile dev -e " .. probe)
  local without = run(env .. bin .. " -e " .. probe)
  os.execute("rm -rf " .. dir)
  T.eq(with_profile, "AKIAPROFILEKEY000000\n")
  T.eq(without, "AKIAENVIRONMENTKEY00\n")
end)

T.test("recipe-only options are refused for scripts", function()
  local out, code = run(bin .. " --apply -e 'print(1)'")
  T.eq(code, 2)
  T.match(out, "^luaws: %-%-apply is an option of recipe commands")
end)

T.test("recipe commands get every argument untouched, and their exit code counts", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir .. "/luaws/recipe"))
  write_temp([[return { main = function(args)
    print(table.concat(args, " "), os.getenv("AWS_PROFILE"), require("luaws.host").debug())
    return 7
  end }]], dir .. "/luaws/recipe/cli.lua")
  local out, code = run("env -u AWS_PROFILE LUAWS_PATH=" .. dir .. " " .. bin ..
    " --debug --profile p run some-recipe --region r --apply --output json")
  os.execute("rm -rf " .. dir)
  T.eq(code, 7)
  T.eq(out, "--debug --profile p run some-recipe --region r --apply --output json\tnil\ttrue\n")
end)

T.test("errors with a message field, multi-line or broken errors stay one line", function()
  local out, code = run(bin .. [[ -e 'error({code = "Throttling", message = "slow down"})']])
  T.eq(code, 1)
  T.eq(out, "luaws: Throttling: slow down\n")
  out = run(bin .. [[ -e 'require "no.such.module"']])
  T.eq(out, "luaws: (command line):1: module 'no.such.module' not found (details with --debug)\n")
  out, code = run(bin .. [[ -e 'error(setmetatable({}, {__tostring = function() error("x") end}))']])
  T.eq(code, 1)
  T.eq(out, "luaws: (error object is a table value whose __tostring failed)\n")
  out = run(bin .. [[ -e 'error()']])
  T.eq(out, "luaws: (error object is a nil value)\n")
end)

T.test("Ctrl-C stops a script: 'luaws: interrupted', exit 130", function()
  -- The script signals itself through a child (popen, unlike os.execute, leaves SIGINT alone).
  local script = write_temp([[
    local pid = assert(io.open("/proc/self/stat")):read("n")
    io.popen("kill -INT " .. pid):close()
    while true do end
  ]])
  local out, code = run(bin .. " " .. script)
  os.remove(script)
  T.eq(code, 130)
  T.eq(out, "luaws: interrupted\n")
end)

T.test("a script can catch the interrupt as an error table", function()
  local out, code = run(bin .. " -e " .. quote([[
    local pid = assert(io.open("/proc/self/stat")):read("n")
    local ok, err = pcall(function() io.popen("kill -INT " .. pid):close() while true do end end)
    print(ok, err.code, err.exit, tostring(err))]]))
  T.eq(code, 0)
  T.eq(out, "false\tInterrupted\t130\tinterrupted\n")
end)

T.done()
