-- retry_test: standard-mode retries: the rules in luaws.retry, then real calls through the client
-- against tests/lib/fakeserver.py answering throttling errors, 500s and dropped connections.
local T = require "testing"
local retry = require "luaws.sdk.retry"

local function fixed(value) return function() return value end end

T.test("throttling, transient codes, 5xx and transport failures are retryable", function()
  for _, code in ipairs { "Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown",
    "TooManyRequestsException", "EC2ThrottledException", "PriorRequestNotComplete" } do
    T.eq(retry.classify { code = code, status = 400 }, "throttling", code)
  end
  for _, code in ipairs { "RequestTimeout", "RequestTimeoutException", "IDPCommunicationError" } do
    T.eq(retry.classify { code = code, status = 400 }, "transient", code)
  end
  T.eq(retry.classify { code = "InternalFailure", status = 500 }, "transient")
  T.eq(retry.classify { code = "ServiceUnavailable", status = 503 }, "transient")
  T.eq(retry.classify { code = "HTTP502", status = 502 }, "ambiguous")
  T.eq(retry.classify { code = "HTTP504", status = 504 }, "ambiguous")
  T.eq(retry.classify { code = "ConnectionRefused", transport = true }, "unsent")
  T.eq(retry.classify { code = "DNSFailure", transport = true }, "unsent")
  T.eq(retry.classify { code = "Whatever", transport = true, sent = false }, "unsent")
  T.eq(retry.classify { code = "ConnectionReset", transport = true }, "ambiguous")
  T.eq(retry.classify { code = "ReadTimeout", transport = true }, "ambiguous")
  T.eq(retry.classify { code = "AccessDeniedException", status = 400 }, nil)
  T.eq(retry.classify { code = "ValidationException", status = 400 }, nil)
  T.eq(retry.classify { code = "NotFoundException", status = 404 }, nil)
end)

T.test("ambiguous failures repeat only calls that are safe to repeat", function()
  local blocked = retry.decide({ attempt = 1, max_attempts = 3, safe_to_repeat = false },
    { code = "ConnectionReset", transport = true })
  T.eq(blocked.retry, false)
  T.eq(blocked.ambiguous, true)
  local unsent = retry.decide({ attempt = 1, max_attempts = 3, safe_to_repeat = false,
    random = fixed(0) }, { code = "ConnectionRefused", transport = true })
  T.eq(unsent.retry, true)
  local throttled = retry.decide({ attempt = 1, max_attempts = 3, safe_to_repeat = false,
    random = fixed(0) }, { code = "ThrottlingException", status = 400 })
  T.eq(throttled.retry, true, "a throttled write was not applied, so it is retried")
end)

T.test("backoff is full jitter, doubling, capped at 20 s", function()
  T.eq(retry.backoff(1, fixed(0.5)), 0.5)
  T.eq(retry.backoff(2, fixed(0.5)), 1.0)
  T.eq(retry.backoff(3, fixed(0.5)), 2.0)
  T.eq(retry.backoff(10, fixed(0.5)), 10.0)
  T.eq(retry.backoff(10, fixed(0.999)), 0.999 * 20)
  T.eq(retry.backoff(1, fixed(0)), 0)
  -- x-amz-retry-after raises the delay, but by at most 5 s over the computed one
  T.eq(retry.backoff(1, fixed(0.5), "2000"), 2.0)
  T.eq(retry.backoff(1, fixed(0.5), "60000"), 5.5)
  T.eq(retry.backoff(1, fixed(0.5), "bogus"), 0.5)
  math.randomseed(7)
  for attempt = 1, 12 do
    local d = retry.backoff(attempt)
    T.ok(d >= 0 and d < math.min(2 ^ (attempt - 1), 20), "delay within the jitter window")
  end
end)

T.test("max attempts stops retrying and says so", function()
  local d = retry.decide({ attempt = 3, max_attempts = 3, safe_to_repeat = true },
    { code = "Throttling", status = 400 })
  T.eq(d.retry, false)
  T.eq(d.max_attempts_reached, true)
  d = retry.decide({ attempt = 1, max_attempts = 1, safe_to_repeat = true },
    { code = "InternalFailure", status = 500 })
  T.eq(d.retry, false)
end)

T.test("the retry quota drains 5 per retry, 10 per timeout, and refills on success", function()
  local quota = retry.new_quota()
  T.eq(quota.available, 500)
  local state = { attempt = 1, max_attempts = 3, safe_to_repeat = true, quota = quota, random = fixed(0) }
  local d = retry.decide(state, { code = "Throttling", status = 400 })
  T.eq(d.cost, 5)
  T.eq(quota.available, 495)
  d = retry.decide(state, { code = "ReadTimeout", transport = true })
  T.eq(d.cost, 10)
  T.eq(quota.available, 485)
  retry.on_success(quota, 10)
  T.eq(quota.available, 495)
  retry.on_success(quota, nil)
  T.eq(quota.available, 496)
  retry.on_success(quota, 5)
  retry.on_success(quota, 5)
  T.eq(quota.available, 500, "never above capacity")
  -- drain it: the 101st retry in a row finds the bucket empty
  local granted = 0
  for _ = 1, 101 do
    if retry.decide(state, { code = "InternalFailure", status = 500 }).retry then granted = granted + 1 end
  end
  T.eq(granted, 100)
  local refused = retry.decide(state, { code = "InternalFailure", status = 500 })
  T.eq(refused.retry, false)
  T.eq(refused.retry_quota_exceeded, true)
end)

-- Client-level retries against a scripted server. The sleep hook records the backoff instead of
-- waiting, so the schedule is checked exactly and the tests stay fast.
local cjson = require "cjson"
local client_module = require "luaws.sdk.client"
local fakeserver = require "fakeserver"
local server = fakeserver.start {}
local CREDS = { access_key = "AKIDEXAMPLE", secret_key = "retrytestsecretretrytestsecret" }

local slept = {}
client_module.hooks.sleep = function(seconds) slept[#slept + 1] = seconds end
client_module.hooks.random = fixed(0.5)

local function reply(status, code, message, headers)
  local h = { ["Content-Type"] = "application/x-amz-json-1.1", ["x-amzn-RequestId"] = "r-" .. status }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = status, headers = h, body = cjson.encode { __type = code, message = message } }
end
local OK_KEYS = { status = 200, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
  body = cjson.encode { Keys = { { KeyId = "k-1" } }, Truncated = false } }
local OK_KEY = { status = 200, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
  body = cjson.encode { KeyMetadata = { KeyId = "k-new" } } }

local function kms_client(opts)
  opts = opts or {}
  return aws.client("kms", { region = "us-east-1", endpoint_url = opts.endpoint_url or server.url,
    credentials = CREDS, max_attempts = opts.max_attempts, timeout = opts.timeout })
end

local function fresh(script)
  server.script(script)
  slept = {}
end

T.test("throttling is retried with growing jittered backoff, then succeeds", function()
  fresh { sequence = { reply(400, "ThrottlingException", "Rate exceeded"),
    reply(400, "Throttling", "Rate exceeded"), OK_KEYS } }
  local kms = kms_client()
  local result = kms:ListKeys {}
  T.eq(result.Keys[1].KeyId, "k-1")
  T.eq(result.ResponseMetadata.RetryAttempts, 2)
  T.same(slept, { 0.5, 1.0 }, "random 0.5 * 2^0, then 0.5 * 2^1")
  T.eq(result.ResponseMetadata.TotalBackoff, 1.5)
  local sent = server.log()
  T.eq(#sent, 3)
  T.eq(sent[1].headers["amz-sdk-request"], "attempt=1; max=3")
  T.eq(sent[3].headers["amz-sdk-request"], "attempt=3; max=3")
  T.ok(sent[1].headers["authorization"] and sent[3].headers["authorization"], "every attempt is signed")
  T.eq(kms.quota.available, 495, "two retries took 10; the success refunds the last one's 5, as botocore does")
end)

T.test("500s are retried up to max_attempts, then the last error is raised", function()
  fresh { default = reply(500, "KMSInternalException", "internal error") }
  local kms = kms_client()
  local e = T.raises(function() return kms:CreateKey {} end)
  T.eq(e.code, "KMSInternalException")
  T.eq(e.status, 500)
  T.eq(e.attempts, 3)
  T.eq(e.backoff, 1.5)
  T.eq(e.retryable, true)
  T.eq(e.operation, "CreateKey")
  T.eq(#server.log(), 3)
  T.eq(kms.quota.available, 490, "two retries cost 5 each and nothing was refunded")
end)

T.test("max_attempts = 1 turns retries off; AWS_MAX_ATTEMPTS is honoured", function()
  fresh { default = reply(503, "ServiceUnavailableException", "busy") }
  local e = T.raises(function() return kms_client({ max_attempts = 1 }):ListKeys {} end)
  T.eq(e.attempts, 1)
  T.eq(#server.log(), 1)
  T.same(slept, {})

  fresh { default = reply(503, "ServiceUnavailableException", "busy") }
  local config = require "luaws.sdk.config"
  config.set_env { AWS_MAX_ATTEMPTS = "5" }
  local ok, kms = pcall(kms_client)
  config.set_env(nil)
  T.ok(ok, tostring(kms))
  e = T.raises(function() return kms:ListKeys {} end)
  T.eq(e.attempts, 5)
  T.eq(#server.log(), 5)
  T.same(slept, { 0.5, 1, 2, 4 })
end)

T.test("a dropped connection is retried for a read, not for a write that may have applied", function()
  fresh { sequence = { { close = true, status = 200, body = string.rep("x", 200) }, OK_KEYS } }
  local kms = kms_client()
  local result = kms:ListKeys {}
  T.eq(result.ResponseMetadata.RetryAttempts, 1)
  T.eq(#server.log(), 2)

  fresh { sequence = { { close = true, status = 200, body = string.rep("x", 200) }, OK_KEY } }
  local e = T.raises(function() return kms:CreateKey {} end)
  T.eq(e.code, "ConnectionReset")
  T.eq(e.ambiguous, true)
  T.eq(e.retryable, false)
  T.eq(e.attempts, 1)
  T.match(e.message, "not retried")
  T.eq(#server.log(), 1, "CreateKey was sent once: a second key would be a duplicate")

  -- CreateGrant with a Name is idempotent, so it is repeated
  fresh { sequence = { { close = true, status = 200, body = string.rep("x", 200) },
    { status = 200, headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
      body = cjson.encode { GrantId = "g-1", GrantToken = "t" } } } }
  local grant = kms:CreateGrant { KeyId = "k", GranteePrincipal = "arn:aws:iam::111122223333:root",
    Operations = { "Decrypt" }, Name = "luaws-test" }
  T.eq(grant.GrantId, "g-1")
  T.eq(#server.log(), 2)
end)

T.test("an idempotency token is filled once and repeated on every attempt", function()
  fresh { default = { close = true, status = 200, body = string.rep("x", 200) } }
  local ec2 = aws.client("ec2", { region = "us-east-1", endpoint_url = server.url, credentials = CREDS })
  local e = T.raises(function()
    return ec2:RunInstances { ImageId = "ami-12345678", MinCount = 1, MaxCount = 1 }
  end)
  T.eq(e.code, "ConnectionReset")
  T.eq(e.attempts, 3, "RunInstances carries ClientToken, so it is safe to repeat")
  local sent = server.log()
  T.eq(#sent, 3)
  local token = sent[1].body:match("ClientToken=([^&]+)")
  T.ok(token and #token >= 32, "a token was generated: " .. sent[1].body)
  T.eq(sent[2].body:match("ClientToken=([^&]+)"), token)
  T.eq(sent[3].body:match("ClientToken=([^&]+)"), token)
end)

T.test("a read timeout is retried for a read and costs 10 quota", function()
  fresh { sequence = { { stall = 2 }, OK_KEYS } }
  local kms = kms_client { timeout = 0.3 }
  local result = kms:ListKeys {}
  T.eq(result.ResponseMetadata.RetryAttempts, 1)
  T.eq(kms.quota.available, 500)
  fresh { default = { stall = 2 } }
  local e = T.raises(function() return kms:ListKeys({}, { max_attempts = 2 }) end)
  T.eq(e.code, "ReadTimeout")
  T.eq(e.attempts, 2)
  T.eq(kms.quota.available, 490)
end)

T.test("connection refused is retried for any operation (the request never left)", function()
  local port_probe = fakeserver.start {}
  local dead_url = port_probe.url
  port_probe.stop()
  slept = {}
  local kms = kms_client { endpoint_url = dead_url }
  local e = T.raises(function() return kms:CreateKey {} end)
  T.eq(e.code, "ConnectionRefused")
  T.eq(e.attempts, 3)
  T.eq(#slept, 2)
end)

T.test("an empty retry quota stops retries", function()
  fresh { default = reply(500, "KMSInternalException", "internal error") }
  local kms = kms_client()
  kms.quota.available = 7
  local e = T.raises(function() return kms:ListKeys {} end)
  T.eq(e.attempts, 2, "one retry (cost 5) fits, the second does not")
  T.eq(e.retry_quota_exceeded, true)
  T.eq(kms.quota.available, 2)
end)

T.test("x-amz-retry-after stretches the delay", function()
  fresh { sequence = { reply(503, "SlowDown", "slow", { ["x-amz-retry-after"] = "3000" }), OK_KEYS } }
  kms_client():ListKeys {}
  T.same(slept, { 3.0 })
end)

T.test("one real backoff really waits", function()
  client_module.hooks.sleep = nil
  client_module.hooks.random = fixed(0.2)
  fresh { sequence = { reply(400, "ThrottlingException", "Rate exceeded"), OK_KEYS } }
  local started = aws.now()
  local result = kms_client():ListKeys {}
  local elapsed = aws.now() - started
  T.eq(result.ResponseMetadata.TotalBackoff, 0.2)
  T.ok(elapsed >= 0.19, "the client slept at least the backoff, took " .. elapsed)
end)

server.stop()
T.done()
