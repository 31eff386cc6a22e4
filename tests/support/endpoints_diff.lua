-- endpoints_diff: resolves the endpoint of each case in a JSON file with luaws's rule-set
-- resolver, for tests/py/endpoints_diff_test.py.
-- Usage: luaws tests/support/endpoints_diff.lua CASES.json RULESETS.json OUT.json [shipped]
-- With "shipped", services, operations and rule sets come from luaws's own models
-- (luaws.sdk.model: svc:rules(), svc:operation()); else from the JSON files (botocore's data).
-- CASES = {flavours={{env={...}, endpoint_url=}}, services={name={service_id=, endpoint_prefix=,
--          signing_name=, metadata={clientContextParams=}}}, ops={id={name=, input=, ...}},
--          cases={{service=, flavour=<index>, op=<id or nil>, params={...}}}}
-- OUT = [{url=, signing_region=, signing_name=, headers=} or {error=<code: message>}] in order.
local cjson = require "cjson"
local config = require "luaws.sdk.config"
local resolver = require "luaws.sdk.endpoints.resolver"

local function read_json(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("a")
  f:close()
  return cjson.decode(text)
end

local cases_file, rules_file, out_file, shipped = arg[1], arg[2], arg[3], arg[4] == "shipped"
local spec = read_json(cases_file)
local rulesets = read_json(rules_file)

-- cjson's null (a light userdata) -> nil, recursively, as the generated models have no nulls.
local function strip(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == cjson.null then v[k] = nil else strip(x) end
  end
  return v
end

local services = {}
local function service(name)
  local svc = services[name]
  if not svc and shipped then
    svc = require("luaws.sdk.model").load(name)
    services[name] = svc
  elseif not svc then
    svc = spec.services[name]
    svc.name = name
    local ruleset = strip(rulesets[name])
    svc.rules = function() return ruleset end
    services[name] = svc
  end
  return svc
end

local results = {}
local current_flavour, resolvers, cfg
for i, case in ipairs(spec.cases) do
  if case.flavour ~= current_flavour then
    current_flavour = case.flavour
    config.set_env(spec.flavours[case.flavour].env)
    resolvers = {}
    cfg = config.resolve {}
  end
  local flavour = spec.flavours[case.flavour]
  local ok, ep = pcall(function()
    local r = resolvers[case.service]
    if not r then
      local svc = service(case.service)
      r = resolver.new { service = svc, name = case.service, region = cfg.region, settings = cfg.settings,
        endpoint_url = flavour.endpoint_url ~= cjson.null and flavour.endpoint_url or nil }
      resolvers[case.service] = r
    end
    local op = case.op and case.op ~= cjson.null and spec.ops[case.op] or nil
    if op and shipped then op = service(case.service):operation(op.name) end
    return r:resolve(op, case.params ~= cjson.null and case.params or nil)
  end)
  if ok then
    results[i] = { url = ep.url, signing_region = ep.signing_region, signing_name = ep.signing_name,
      headers = ep.headers or cjson.empty_array }
  else
    results[i] = { error = type(ep) == "table" and (tostring(ep.code) .. ": " .. tostring(ep.message))
      or tostring(ep) }
  end
end

local f = assert(io.open(out_file, "w"))
f:write(cjson.encode(results))
f:close()
