-- models: CPU cost of loading service models (bytecode vs source) and their sibling files.
-- Run: `luaws bench/models.lua [rounds]`.
-- Each figure is the median of `rounds` loads, each in a fresh luaws.sdk.model module (the
-- chunk is read and run again); sizes are of the files read.
local fs = require "luaws.fs"
local host = require "luaws.host"

local rounds = tonumber(arg and arg[1]) or 21

local function median(list)
  table.sort(list)
  return list[(#list + 1) // 2]
end

local function fresh_model()
  package.loaded["luaws.sdk.model"] = nil
  return require "luaws.sdk.model"
end

-- Median and minimum CPU ms of fn(model) over the rounds, each with a fresh model module, after
-- a warm-up. On a shared machine the minimum is the cost, the median what a run will likely see.
local function time(fn)
  fn(fresh_model())
  local samples = {}
  for i = 1, rounds do
    local m = fresh_model()
    collectgarbage()
    local t0 = os.clock()
    fn(m)
    samples[i] = (os.clock() - t0) * 1000
  end
  local mid = median(samples)
  return mid, samples[1]
end

local function size(path)
  local st = fs.stat(path)
  return st and st.size or 0
end

require "luaws.sdk.config" -- model.load reads the environment through it: not part of a load
local services_dir = host.data_dir .. "/lua/luaws/sdk/services/"
print(string.format("%-34s %9s %9s %9s", "what", "ms (med)", "ms (min)", "KB read"))
for _, name in ipairs({ "ec2", "s3", "sagemaker", "kms", "sts" }) do
  local mid, min = time(function(m) m.load(name) end)
  local m = fresh_model()
  m.load(name)
  local from = m.loaded_from[name]
  print(string.format("%-34s %9.2f %9.2f %9d", "load " .. name
                      .. (from:match("%.luac$") and " (bytecode)" or " (source)"), mid, min, size(from) // 1024))
end
-- The same from source: what a build without fresh bytecode pays.
local saved = host.models_dir
host.models_dir = nil
local mid, min = time(function(m) m.load("ec2") end)
print(string.format("%-34s %9.2f %9.2f %9d", "load ec2 (source)", mid, min, size(services_dir .. "ec2.lua") // 1024))
host.models_dir = saved
-- A sibling's cost: the model and the sibling loaded, less the model alone.
local function sibling(label, name, method, path)
  local both, both_min = time(function(m)
    local svc = m.load(name)
    svc[method](svc)
  end)
  local alone, alone_min = time(function(m) m.load(name) end)
  print(string.format("%-34s %9.2f %9.2f %9d", label, both - alone, both_min - alone_min, size(path) // 1024))
end
sibling("s3:rules() (bytecode)", "s3", "rules", host.models_dir .. "/s3.rules.luac")
sibling("ec2:waiters() (source)", "ec2", "waiters", services_dir .. "ec2.waiters.lua")
sibling("ec2:docs() (source)", "ec2", "docs", services_dir .. "ec2.docs.lua")
mid, min = time(function(m) m.services() end)
print(string.format("%-34s %9.2f %9.2f %9d", "model.services()", mid, min, size(services_dir .. "index.lua") // 1024))
mid, min = time(function(m) for _, n in ipairs(m.services()) do m.load(n) end end)
print(string.format("%-34s %9.2f %9.2f", "load all 424 (bytecode)", mid, min))
