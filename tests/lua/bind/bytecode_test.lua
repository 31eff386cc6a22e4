-- bytecode_test: luaws's own modules load from the build's bytecode when it is fresh, keeping their
-- line numbers; overrides on LUAWS_PATH and edited sources load from source.
local T = require "testing"

local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")

local function run(env, chunk)
  local p = io.popen(env .. " " .. bin .. " -e '" .. chunk .. "' 2>&1")
  local out = p:read("a")
  p:close()
  return out
end

T.test("a library module comes from bytecode, named by its path under the data dir", function()
  local source = debug.getinfo(require("luaws.core.json").decode, "S").source
  T.eq(source, "@luaws/core/json.lua")
  local _, path = package.searchers[2]("luaws.core.json")
  T.match(path, "/lua/luaws/core/json%.lua$", "the loader still reports the source file")
end)

T.test("errors inside bytecode keep their line numbers", function()
  local ok, e = pcall(require("luaws.core.json").encode, { print })
  T.ok(not ok)
  local trace = debug.traceback()
  T.ok(type(e) == "string" and trace ~= nil)
  T.match(run("", 'print(debug.getinfo(require("luaws.recipe.plan").new, "S").linedefined)'), "^%d+")
end)

T.test("library bytecode has no local or upvalue names (they cost load time), only lines", function()
  local encode = require("luaws.core.uri").encode
  T.eq(debug.getlocal(encode, 1), nil, "parameter names are dropped")
  T.ok(debug.getinfo(encode, "S").linedefined > 0, "line numbers stay")
  local ok, e = pcall(require("luaws.core.errors").new, 5)
  T.ok(not ok)
  T.match(tostring(e), "^luaws/core/errors%.lua:%d+: attempt to index", "a runtime error names file and line")
end)

T.test("load_compiled: fresh bytecode in one read, with an environment; stale or missing is nil", function()
  local host = require "luaws.host"
  local dir = T.tempdir()
  local source, compiled = dir .. "/data.lua", dir .. "/data.luac"
  local function write(path, text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
  end
  write(source, "return 1\n")
  write(compiled, string.dump(load("return marker", "=data")))
  assert(os.execute("touch -d '2001-01-01' " .. source))
  local chunk, size = host.load_compiled(compiled, source, { marker = "from env" })
  T.eq(type(chunk), "function")
  T.eq(size, #string.dump(load("return marker", "=data")))
  T.eq(chunk(), "from env")
  assert(os.execute("touch -d '2001-01-01' " .. compiled .. " && touch " .. source))
  T.eq(host.load_compiled(compiled, source), nil, "older than its source")
  T.eq(host.load_compiled(dir .. "/missing.luac", source), nil)
  write(compiled, "return 'text, not bytecode'")
  T.eq(host.load_compiled(compiled, dir .. "/data.lua"), nil, "text is never loaded as bytecode")
end)

T.test("a module overridden on LUAWS_PATH loads from its source", function()
  local dir = T.tempdir()
  assert(os.execute("mkdir -p " .. dir .. "/luaws/core"))
  local f = assert(io.open(dir .. "/luaws/core/pretty.lua", "w"))
  f:write("return { shadow = true }\n")
  f:close()
  T.eq(run("LUAWS_PATH=" .. dir, 'io.write(tostring(require("luaws.core.pretty").shadow))'), "true")
end)

T.test("a missing module still lists where it was looked for", function()
  local ok, e = pcall(require, "luaws.no.such.module")
  T.ok(not ok)
  T.match(tostring(e), "no file '[^']*/lua/luaws/no/such/module%.lua'")
end)

T.done()
