-- model_all_test: every shipped service loads, every operation's shapes resolve, and nothing loads a model unasked.
local T = require "testing"
local model = require "luaws.sdk.model"

local PROTOCOLS = { json = true, query = true, ec2 = true, ["rest-json"] = true, ["rest-xml"] = true,
                    ["smithy-rpc-v2-cbor"] = true }

-- Walks every reference reachable from shape, decoding each shape once.
local function walk(svc, shape, seen)
  if seen[shape] then return end
  seen[shape] = true
  if shape.type == "structure" then
    for _, ref in ipairs(shape.members) do walk(svc, ref.shape, seen) end
  elseif shape.type == "list" then
    walk(svc, shape.member.shape, seen)
  elseif shape.type == "map" then
    walk(svc, shape.key.shape, seen)
    walk(svc, shape.value.shape, seen)
  end
end

T.test("every service loads and every operation's input and output resolve", function()
  local names = model.services()
  T.ok(#names >= 400, #names .. " services")
  local ops, shapes, protocols, rules, waiters = 0, 0, {}, 0, 0
  for _, name in ipairs(names) do
    local svc = model.load(name)
    T.eq(svc.name, name)
    T.ok(PROTOCOLS[svc.protocol], name .. ": protocol " .. tostring(svc.protocol))
    protocols[svc.protocol] = (protocols[svc.protocol] or 0) + 1
    T.ok(svc.signing_name and svc.endpoint_prefix and svc.api_version and svc.service_id, name .. " metadata")
    local seen = {}
    for _, op_name in ipairs(svc:operation_names()) do
      local op = svc:operation(op_name)
      ops = ops + 1
      if op.input then T.eq(op.input.type, "structure", name .. "." .. op_name); walk(svc, op.input, seen) end
      if op.output then T.eq(op.output.type, "structure", name .. "." .. op_name); walk(svc, op.output, seen) end
      for _, e in ipairs(op.errors) do T.ok(svc:shape(e).exception, name .. ": " .. e .. " is an exception") end
      local p = svc:paginator(op_name)
      if p then T.ok(#p.input_token > 0 and #p.output_token > 0, name .. "." .. op_name .. " paginator") end
    end
    for _ in pairs(seen) do shapes = shapes + 1 end
    if svc:rules() then rules = rules + 1; T.ok(svc:rules().version and svc:rules().rules, name .. " rules") end
    if svc:waiters() then waiters = waiters + 1; T.eq(svc:waiters().version, 2, name .. " waiters") end
  end
  print(string.format("  %d services, %d operations, %d shapes reached, %d rule sets, %d with waiters",
                      #names, ops, shapes, rules, waiters))
  local counts = {}
  for p, n in pairs(protocols) do counts[#counts + 1] = p .. "=" .. n end
  table.sort(counts)
  print("  protocols: " .. table.concat(counts, " "))
  for p in pairs(PROTOCOLS) do T.ok(protocols[p], "some service speaks " .. p) end
  T.ok(ops > 15000 and rules >= #names - 5, "all operations and rule sets")
end)

-- A file on LUAWS_PATH named like the model module records that it was required, then hands
-- over to the real one.
local function probe(script_args)
  local bin = os.getenv("LUAWS_BIN")
  local dir = T.tempdir()
  local marker = dir .. "/loaded"
  assert(os.execute("mkdir -p '" .. dir .. "/luaws/sdk'"))
  local f = assert(io.open(dir .. "/luaws/sdk/model.lua", "w"))
  f:write(string.format([[
local f = io.open(%q, "a"); f:write("model "); f:close()
local saved = package.path
package.path = package.path:gsub("^[^;]*;", "")
package.loaded["luaws.sdk.model"] = nil
local real = dofile(package.searchpath("luaws.sdk.model", package.path))
package.path = saved
local load = real.load
real.load = function(name)
  local g = io.open(%q, "a"); g:write(name, " "); g:close()
  return load(name)
end
return real
]], marker, marker))
  f:close()
  local cmd = string.format("LUAWS_PATH='%s' '%s' %s 2>&1", dir, bin, script_args)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local m = io.open(marker)
  local loaded = m and m:read("a") or ""
  if m then m:close() end
  os.execute("rm -rf '" .. dir .. "'")
  return loaded, out
end

T.test("lazy: `luaws -e ''` and a script naming no service load no model; ec2 loads ec2 only", function()
  if not os.getenv("LUAWS_BIN") then print("  skipped: LUAWS_BIN is not set"); return end
  T.eq((probe("-e ''")), "", "luaws -e '' requires no model module")
  T.eq((probe([[-e 'local aws = require "luaws"; local s = aws.services(); assert(#s > 400)']])), "model ",
       "aws.services() reads the index, loads no model")
  local loaded, out = probe([[-e 'local aws = require "luaws"; aws.client("ec2", {region = "us-east-1",
    credentials = {access_key_id = "AKID", secret_access_key = "x"}})']])
  T.eq(loaded, "model ec2 ", out)
end)

T.done()
