-- model_bytecode_test: models load from build-time bytecode only when fresh and made from the data dir's own source.
local T = require "testing"
local model = require "luaws.sdk.model"
local host = require "luaws.host"
local fs = require "luaws.fs"

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local ok = os.execute(cmd)
  assert(ok, "command failed: " .. cmd)
end

local function temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  sh("mkdir -p " .. sh_quote(dir))
  return assert(fs.realpath(dir))
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

-- Sets a file's modification time to `seconds` (a string, may carry nine decimals).
local function set_mtime(path, seconds)
  sh("touch -d @" .. seconds .. " " .. sh_quote(path))
end

-- A tiny model; `service_id` tells which file a loaded model really came from.
local function tiny_model(service_id)
  return string.format([==[return {
metadata={apiVersion="2020-01-01",endpointPrefix="tiny",protocol="json",serviceId=%q,signingName="tiny"},
operations={Ping={input="PingRequest"}},
shapes={PingRequest=[[{members={{"A","string"}},type="structure"}]]},
paginators={},
}
]==], service_id)
end

-- A data dir holding services/tiny.lua (serviceId "FromSource") and a models dir holding
-- tiny.luac compiled from a variant (serviceId "FromBytecode"), both with the same mtime.
local function tiny_layout()
  local root = temp_dir()
  local data_dir, models_dir = root .. "/data", root .. "/models"
  sh("mkdir -p " .. sh_quote(data_dir .. "/lua/luaws/sdk/services") .. " " .. sh_quote(models_dir))
  local source = data_dir .. "/lua/luaws/sdk/services/tiny.lua"
  local compiled = models_dir .. "/tiny.luac"
  write(source, tiny_model("FromSource"))
  write(compiled, string.dump(assert(load(tiny_model("FromBytecode"))), true))
  set_mtime(source, "1700000000.5")
  set_mtime(compiled, "1700000000.5")
  return { root = root, data_dir = data_dir, models_dir = models_dir, source = source,
           compiled = compiled }
end

-- Runs fn(fresh model module) with host.data_dir/models_dir and package.path pointing at the
-- layout (plus `extra_path` first), restoring everything afterwards. A fresh module instance has
-- an empty cache, so every call really loads.
local function with_layout(layout, fn, extra_path)
  local saved = { data_dir = host.data_dir, models_dir = host.models_dir, path = package.path,
                  module = package.loaded["luaws.sdk.model"] }
  host.data_dir, host.models_dir = layout.data_dir, layout.models_dir
  package.path = (extra_path or "") .. layout.data_dir .. "/lua/?.lua;" .. saved.path
  package.loaded["luaws.sdk.model"] = nil
  local ok, err = pcall(function() fn(require "luaws.sdk.model") end)
  host.data_dir, host.models_dir, package.path = saved.data_dir, saved.models_dir, saved.path
  package.loaded["luaws.sdk.model"] = saved.module
  sh("rm -rf " .. sh_quote(layout.root))
  if not ok then error(err, 0) end
end

T.test("fs.stat reports mtime (seconds) and mtime_ns (exact)", function()
  local dir = temp_dir()
  local path = dir .. "/f"
  write(path, "x")
  set_mtime(path, "1700000000.000000007")
  local st = assert(fs.stat(path))
  sh("rm -rf " .. sh_quote(dir))
  T.eq(st.mtime_ns, 1700000000000000007)
  T.ok(math.abs(st.mtime - 1700000000.0) < 1e-3, tostring(st.mtime))
  T.eq(math.type(st.mtime), "float")
end)

T.test("fresh bytecode (same mtime) is what loads", function()
  with_layout(tiny_layout(), function(m)
    local svc = m.load("tiny")
    T.eq(svc.service_id, "FromBytecode")
    T.eq(m.loaded_from.tiny, host.models_dir .. "/tiny.luac")
    T.eq(svc:operation("Ping").input.by_name.A.target, "string")
  end)
end)

T.test("bytecode newer than its source is used", function()
  local layout = tiny_layout()
  set_mtime(layout.compiled, "1700000100")
  with_layout(layout, function(m) T.eq(m.load("tiny").service_id, "FromBytecode") end)
end)

T.test("a source newer than its bytecode wins, by a second or by a nanosecond", function()
  for _, newer in ipairs({ "1700000001.5", "1700000000.500000001" }) do
    local layout = tiny_layout()
    set_mtime(layout.source, newer)
    with_layout(layout, function(m)
      T.eq(m.load("tiny").service_id, "FromSource", newer)
      T.eq(m.loaded_from.tiny, layout.source)
    end)
  end
end)

T.test("a model overridden through the path is never shadowed by bytecode", function()
  local layout = tiny_layout()
  local override = layout.root .. "/override"
  sh("mkdir -p " .. sh_quote(override .. "/luaws/sdk/services"))
  write(override .. "/luaws/sdk/services/tiny.lua", tiny_model("FromOverride"))
  set_mtime(override .. "/luaws/sdk/services/tiny.lua", "1600000000")  -- older than the bytecode
  with_layout(layout, function(m)
    T.eq(m.load("tiny").service_id, "FromOverride")
    T.eq(m.loaded_from.tiny, override .. "/luaws/sdk/services/tiny.lua")
  end, override .. "/?.lua;")
end)

T.test("no bytecode, a folder in its place, or no models dir: the source loads", function()
  local layout = tiny_layout()
  os.remove(layout.compiled)
  with_layout(layout, function(m) T.eq(m.load("tiny").service_id, "FromSource") end)

  layout = tiny_layout()
  os.remove(layout.compiled)
  sh("mkdir " .. sh_quote(layout.compiled))
  with_layout(layout, function(m) T.eq(m.load("tiny").service_id, "FromSource") end)

  layout = tiny_layout()
  layout.models_dir = nil
  with_layout(layout, function(m) T.eq(m.load("tiny").service_id, "FromSource") end)
end)

T.test("only binary chunks load from the models dir; corrupt ones fall back to the source", function()
  local layout = tiny_layout()
  write(layout.compiled, tiny_model("FromTextInModelsDir"))
  set_mtime(layout.compiled, "1700000100")
  with_layout(layout, function(m)
    T.eq(m.load("tiny").service_id, "FromSource")
    T.eq(m.loaded_from.tiny, layout.source)
  end)

  layout = tiny_layout()
  local bytes = read(layout.compiled)
  write(layout.compiled, bytes:sub(1, #bytes // 2))
  set_mtime(layout.compiled, "1700000100")
  with_layout(layout, function(m) T.eq(m.load("tiny").service_id, "FromSource") end)
end)

T.test("the build tree's binary finds its compiled models and uses them", function()
  T.match(host.models_dir, "/share/luaws/models$")
  for _, name in ipairs(model.service_names()) do
    T.ok(fs.stat(host.models_dir .. "/" .. name .. ".luac"), "compiled " .. name)
  end
  model.load("ec2")
  T.eq(model.loaded_from.ec2, host.models_dir .. "/ec2.luac")
end)

T.test("compiled models hold exactly what their sources hold", function()
  for _, name in ipairs(model.service_names()) do
    local source = package.searchpath("luaws.sdk.services." .. name, package.path)
    local from_source = assert(loadfile(source, "t", {}))()
    local from_bytecode = assert(loadfile(host.models_dir .. "/" .. name .. ".luac", "b", {}))()
    T.ok(T.deep_equal(from_bytecode, from_source), name)
  end
end)

-- The data layout of an install, copied into a temp dir: <root>/bin/luaws,
-- <root>/share/luaws/{lua,models}, mtimes kept. Returns root and a function running Lua there.
local function installed_copy()
  local root = temp_dir()
  local bin = root .. "/bin/luaws"
  local share = root .. "/share/luaws"
  sh("mkdir -p " .. sh_quote(root .. "/bin") .. " " .. sh_quote(share))
  sh("cp -p " .. sh_quote(assert(os.getenv("LUAWS_BIN"))) .. " " .. sh_quote(bin))
  sh("cp -Rp " .. sh_quote(host.data_dir .. "/lua") .. " " .. sh_quote(share .. "/lua"))
  sh("cp -Rp " .. sh_quote(host.models_dir) .. " " .. sh_quote(share .. "/models"))
  local function run(code, env)
    local p = assert(io.popen("cd / && env -u LUAWS_PATH " .. (env or "") .. " " .. sh_quote(bin)
                              .. " -e " .. sh_quote(code) .. " 2>&1"))
    local out = p:read("a")
    p:close()
    return out
  end
  return root, share, run
end

local PROBE = [[local m = require "luaws.sdk.model"
for _, n in ipairs{"ec2", "kms"} do m.load(n); io.write(n, "=", m.loaded_from[n], "\n") end
io.write("models_dir=", require("luaws.host").models_dir, "\n")]]

T.test("an installed layout uses share/luaws/models until a source is touched", function()
  local root, share, run = installed_copy()
  local out = run(PROBE)
  sh("touch " .. sh_quote(share .. "/lua/luaws/sdk/services/ec2.lua"))
  local touched = run(PROBE)
  sh("rm -rf " .. sh_quote(root))
  T.eq(out, string.format("ec2=%s/models/ec2.luac\nkms=%s/models/kms.luac\nmodels_dir=%s/models\n",
                          share, share, share))
  T.eq(touched, string.format("ec2=%s/lua/luaws/sdk/services/ec2.lua\nkms=%s/models/kms.luac\nmodels_dir=%s/models\n",
                              share, share, share))
end)

T.test("LUAWS_PATH overriding a shipped model gets the override, not the bytecode", function()
  local root, share, run = installed_copy()
  local override = root .. "/override"
  sh("mkdir -p " .. sh_quote(override .. "/luaws/sdk/services"))
  write(override .. "/luaws/sdk/services/kms.lua", tiny_model("OverriddenKMS"))
  set_mtime(override .. "/luaws/sdk/services/kms.lua", "1600000000")
  local out = run([[local m = require "luaws.sdk.model"
io.write(m.load("kms").service_id, " ", m.loaded_from.kms, " ", m.load("ec2") and m.loaded_from.ec2)]],
                  "LUAWS_PATH=" .. sh_quote(override))
  sh("rm -rf " .. sh_quote(root))
  T.eq(out, "OverriddenKMS " .. override .. "/luaws/sdk/services/kms.lua " .. share .. "/models/ec2.luac")
end)

T.done()
