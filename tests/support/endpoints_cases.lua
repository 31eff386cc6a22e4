-- endpoints_cases: evaluates rule-set test cases (params only, no configuration) with luaws's
-- engine, for tests/py/endpoints_cases_test.py.
-- Usage: luaws tests/support/endpoints_cases.lua IN.json OUT.json
-- IN = {service = {ruleset = {...}, cases = {{params}, ...}}}
-- OUT = {service = {{url=, properties=, headers=} or {error=}, ...}}
local cjson = require "cjson"
local rules = require "luaws.sdk.endpoints.rules"

local function strip(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == cjson.null then v[k] = nil else strip(x) end
  end
  return v
end

local f = assert(io.open(arg[1]))
local input = strip(cjson.decode(f:read("a")))
f:close()
local out = {}
for name, spec in pairs(input) do
  local evaluate = rules.compile(spec.ruleset)
  local results = {}
  for i, params in ipairs(spec.cases) do
    local ok, r = pcall(evaluate, params)
    if ok then
      results[i] = { url = r.url, properties = next(r.properties) and r.properties or nil,
        headers = next(r.headers) and r.headers or nil }
    else
      results[i] = { error = type(r) == "table" and r.message or tostring(r) }
    end
  end
  out[name] = results
end
f = assert(io.open(arg[2], "w"))
f:write(cjson.encode(out))
f:close()
