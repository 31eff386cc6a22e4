-- sign_bench: SigV4 signatures per second through the Lua API (luaws.sigv4.sign).
-- usage: luaws bench/sign_bench.lua [seconds]   prints one JSON object
local sigv4 = require "luaws.sigv4"
local cjson = require "cjson"

local seconds = tonumber(arg and arg[1]) or 1.0

-- The KMS ListKeys call from the issue: what every recipe request looks like to the signer.
local function request()
  return {
    method = "POST", url = "https://kms.us-east-1.amazonaws.com/",
    headers = { { "Content-Type", "application/x-amz-json-1.1" }, { "X-Amz-Target", "TrentService.ListKeys" } },
    body = "{}", region = "us-east-1", service = "kms",
    access_key = "AKIDEXAMPLE", secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    time = "20150830T123600Z",
  }
end

-- Runs fn in batches until `seconds` of CPU time pass; returns calls per second.
local function rate(fn)
  local batch, calls = 1000, 0
  local start = os.clock()
  local elapsed
  repeat
    for _ = 1, batch do fn() end
    calls = calls + batch
    elapsed = os.clock() - start
  until elapsed >= seconds
  return calls / elapsed
end

local shared = request()
local fresh_rate = rate(function() return sigv4.sign(request()) end)
local reused_rate = rate(function() return sigv4.sign(shared) end)
local r = sigv4.sign(shared)
io.write(cjson.encode({
  fresh_table_per_second = fresh_rate,   -- a new options table for every call, as a client does
  reused_table_per_second = reused_rate, -- the same options table every call
  canonical_request = r.canonical_request,
  string_to_sign = r.string_to_sign,
  signature = r.signature,
}), "\n")
