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

-- Median CPU ms of fn(model) over the rounds, each with a fresh model module, after a warm-up.
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
  return median(samples)
end

local function size(path)
  local st = fs.stat(path)
  return st and st.size or 0
end

require "luaws.sdk.config" -- model.load reads the environment through it: not part of a load
local services_dir = host.data_dir .. "/lua/luaws/sdk/services/"
print(string.format("%-34s %9s %9s", "what", "ms (med)", "KB read"))
for _, name in ipairs({ "ec2", "s3", "sagemaker", "kms", "sts" }) do
  local t = time(function(m) m.load(name) end)
  local m = fresh_model()
  m.load(name)
  local from = m.loaded_from[name]
  print(string.format("%-34s %9.2f %9d", "load " .. name .. (from:match("%.luac$") and " (bytecode)" or " (source)"),
                      t, size(from) // 1024))
end
-- The same from source: what a build without fresh bytecode pays.
local saved = host.models_dir
host.models_dir = nil
print(string.format("%-34s %9.2f %9d", "load ec2 (source)", time(function(m) m.load("ec2") end),
                    size(services_dir .. "ec2.lua") // 1024))
host.models_dir = saved
print(string.format("%-34s %9.2f %9d", "s3:rules() (bytecode)", time(function(m) m.load("s3"):rules() end)
                    - time(function(m) m.load("s3") end), size(host.models_dir .. "/s3.rules.luac") // 1024))
print(string.format("%-34s %9.2f %9d", "ec2:waiters() (source)", time(function(m) m.load("ec2"):waiters() end)
                    - time(function(m) m.load("ec2") end), size(services_dir .. "ec2.waiters.lua") // 1024))
print(string.format("%-34s %9.2f %9d", "ec2:docs() (source)", time(function(m) m.load("ec2"):docs() end)
                    - time(function(m) m.load("ec2") end), size(services_dir .. "ec2.docs.lua") // 1024))
print(string.format("%-34s %9.2f %9d", "model.services()", time(function(m) m.services() end),
                    size(services_dir .. "index.lua") // 1024))
local all = time(function(m) for _, n in ipairs(m.services()) do m.load(n) end end)
print(string.format("%-34s %9.2f", "load all 424 (bytecode)", all))
