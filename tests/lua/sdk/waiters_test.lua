-- waiters_test: client:wait against a scripted server: success after retries, failure states,
-- unmatched errors, timeouts, overrides, names, and sleeping through the scheduler.
local T = require "testing"
local cjson = require "cjson"
local fakeserver = require "fakeserver"
local waiters = require "luaws.sdk.waiters"

local server = fakeserver.start {}
local CREDS = { access_key = "AKIDEXAMPLE", secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

-- A kms waiter (kms has none in botocore): DescribeKey until the key is enabled.
local DEFS = { version = 2, waiters = {
  KeyEnabled = { operation = "DescribeKey", delay = 7, maxAttempts = 4, acceptors = {
    { matcher = "path", argument = "KeyMetadata.Enabled", expected = true, state = "success" },
    { matcher = "path", argument = "KeyMetadata.KeyState", expected = "PendingDeletion", state = "failure" },
    { matcher = "error", expected = "NotFoundException", state = "retry" },
  } },
  KeysListed = { operation = "ListKeys", delay = 1, maxAttempts = 3, acceptors = {
    { matcher = "pathAll", argument = "Keys[].KeyId", expected = "k", state = "success" },
    { matcher = "status", expected = 500, state = "retry" },
    { matcher = "error", expected = true, state = "failure" },
  } },
} }
waiters.hooks.load = function(service) if service.name == "kms" then return DEFS end end
local slept = {}
waiters.hooks.sleep = function(s) slept[#slept + 1] = s end

local function reply(status, body)
  return { status = status, headers = { ["Content-Type"] = "application/x-amz-json-1.1",
    ["x-amzn-RequestId"] = "req-" .. status }, body = cjson.encode(body) }
end
local function key(enabled, state)
  return reply(200, { KeyMetadata = { KeyId = "k1", Enabled = enabled, KeyState = state } })
end
local NOT_FOUND = reply(400, { __type = "NotFoundException", message = "no such key" })

local function kms()
  return aws.client("kms", { region = "eu-west-1", endpoint_url = server.url, credentials = CREDS,
    max_attempts = 1 })
end

T.test("retries (an error acceptor, a path that does not match) until success", function()
  server.script { routes = { ["/"] = { NOT_FOUND, key(false, "Creating"), key(true, "Enabled") } } }
  slept = {}
  local last, attempts = kms():wait("KeyEnabled", { KeyId = "k1" })
  T.eq(attempts, 3)
  T.eq(last.KeyMetadata.KeyId, "k1")
  T.same(slept, { 7, 7 }, "the definition's delay between attempts, none after success")
  T.eq(#server.log(), 3)
  T.same(cjson.decode(server.log()[1].body), { KeyId = "k1" })
end)

T.test("a failure state raises WaiterFailure naming the waiter, acceptor and response", function()
  server.script { routes = { ["/"] = { key(false, "PendingDeletion") } } }
  local e = T.raises(function() kms():wait("KeyEnabled", { KeyId = "k1" }) end)
  T.eq(e.code, "WaiterFailure")
  T.eq(e.waiter, "KeyEnabled")
  T.eq(e.acceptor.expected, "PendingDeletion")
  T.eq(e.last_response.KeyMetadata.KeyState, "PendingDeletion")
  T.eq(e.attempts, 1)
  T.match(tostring(e), "^kms DescribeKey: WaiterFailure: waiter KeyEnabled reached a failure state after 1 attempt: "
    .. "for expression \"KeyMetadata.KeyState\" we matched expected path: \"PendingDeletion\"$")
end)

T.test("a service error no acceptor expects fails at once, carrying the error", function()
  server.script { routes = { ["/"] = { reply(400, { __type = "AccessDeniedException", message = "nope" }) } } }
  local e = T.raises(function() kms():wait("KeyEnabled", { KeyId = "k1" }) end)
  T.eq(e.code, "WaiterFailure")
  T.eq(e.error.code, "AccessDeniedException")
  T.eq(e.last_response.Error.Code, "AccessDeniedException")
  T.eq(e.status, 400)
  T.match(e.message, "AccessDeniedException: nope")
end)

T.test("max attempts: WaiterTimeout with the attempts made and the last accepted state", function()
  server.script { default = NOT_FOUND }
  slept = {}
  local e = T.raises(function() kms():wait("key_enabled", { KeyId = "k1" }, { delay = 0.5 }) end)
  T.eq(e.code, "WaiterTimeout")
  T.eq(e.attempts, 4)
  T.eq(#server.log(), 4)
  T.same(slept, { 0.5, 0.5, 0.5 }, "delay overridden; maxAttempts from the definition")
  T.match(e.message, "gave up after 4 attempts .*last accepted state retry")
  e = T.raises(function() kms():wait("KeyEnabled", { KeyId = "k1" }, { max_attempts = 2 }) end)
  T.eq(e.attempts, 2)
end)

T.test("pathAll, status and error=true matchers through a real client", function()
  server.script { routes = { ["/"] = {
    reply(500, { __type = "KMSInternalException", message = "boom" }),
    reply(200, { Keys = { { KeyId = "k" }, { KeyId = "other" } } }),
    reply(200, { Keys = { { KeyId = "k" }, { KeyId = "k" } } }) } } }
  local _, attempts = kms():wait("KeysListed", {})
  T.eq(attempts, 3)
  server.script { routes = { ["/"] = { reply(200, { Keys = {} }), reply(200, { Keys = {} }),
    reply(200, { Keys = {} }) } } }
  local e = T.raises(function() kms():wait("KeysListed", {}) end)
  T.eq(e.code, "WaiterTimeout", "pathAll never matches an empty list")
  server.script { default = reply(400, { __type = "ThrottlingException", message = "slow" }) }
  e = T.raises(function() kms():wait("KeysListed", {}) end)
  T.eq(e.code, "WaiterFailure")
  T.eq(e.acceptor.matcher, "error")
end)

T.test("unknown waiter: one line naming the closest waiters; not a service error", function()
  local e = T.raises(function() kms():wait("KeyEnable", {}) end)
  T.eq(e.code, "UnknownWaiter")
  T.match(tostring(e), "^[^\n]+$")
  T.match(e.message, "no waiter named 'KeyEnable' %(closest: KeyEnabled, KeysListed%)")
  local sts = aws.client("sts", { region = "us-east-1", endpoint_url = server.url, credentials = CREDS })
  e = T.raises(function() sts:wait("Anything", {}) end)
  T.match(e.message, "sts has no waiters")
end)

T.test("a waiter of one's own: a definition table instead of a name", function()
  server.script { routes = { ["/"] = { key(false, "Creating"), key(true, "Enabled") } } }
  local mine = { name = "MyKeyReady", operation = "DescribeKey", delay = 0, maxAttempts = 5, acceptors = {
    { matcher = "path", argument = "KeyMetadata.KeyState == 'Enabled' && KeyMetadata.Enabled", expected = true,
      state = "success" } } }
  local _, attempts = kms():wait(mine, { KeyId = "k1" })
  T.eq(attempts, 2)
  server.script { default = key(false, "Creating") }
  local e = T.raises(function() kms():wait(mine, { KeyId = "k1" }, { max_attempts = 1 }) end)
  T.eq(e.waiter, "MyKeyReady")
end)

T.test("a rest-json service's shipped waiter: lambda FunctionExists (error=false, a GET path)", function()
  local function lambda_reply(status, body, errtype)
    return { status = status, headers = { ["Content-Type"] = "application/json",
      ["x-amzn-RequestId"] = "r", ["x-amzn-ErrorType"] = errtype }, body = cjson.encode(body) }
  end
  server.script { routes = { ["/2015-03-31/functions/my-fn"] = {
    lambda_reply(404, { Type = "User", Message = "Function not found" }, "ResourceNotFoundException"),
    lambda_reply(200, { Configuration = { FunctionName = "my-fn", State = "Active" } }) } } }
  local lambda = aws.client("lambda", { region = "eu-west-1", endpoint_url = server.url, credentials = CREDS,
    max_attempts = 1 })
  local last, attempts = lambda:wait("function_exists", { FunctionName = "my-fn" }, { delay = 0 })
  T.eq(attempts, 2)
  T.eq(last.Configuration.State, "Active")
  local log = server.log()
  T.eq(log[1].method, "GET")
  T.eq(log[1].path, "/2015-03-31/functions/my-fn")
  T.same(lambda:waiter_names(), { "FunctionActive", "FunctionActiveV2", "FunctionExists", "FunctionUpdated",
    "FunctionUpdatedV2", "PublishedVersionActive" })
end)

T.test("errors that are not answers (bad parameters) are raised as they are", function()
  local e = T.raises(function() kms():wait("KeyEnabled", { KeyId = 5, Nope = 1 }) end)
  T.eq(e.code, "ParamValidation", tostring(e))
end)

T.test("waiting sleeps through the scheduler: other tasks run meanwhile", function()
  waiters.hooks.sleep = nil
  local client = require "luaws.sdk.client"
  local saved = client.hooks.sleep
  client.hooks.sleep = nil
  server.script { routes = { ["/"] = { NOT_FOUND, NOT_FOUND, key(true, "Enabled") } } }
  local ticks = 0
  local started = aws.now()
  local waiter = aws.spawn(function() return select(2, kms():wait("KeyEnabled", { KeyId = "k1" }, { delay = 0.1 })) end)
  local ticker = aws.spawn(function()
    for _ = 1, 5 do
      aws.sleep(0.02)
      ticks = ticks + 1
    end
  end)
  T.eq(aws.wait(waiter), 3)
  aws.wait(ticker)
  T.eq(ticks, 5)
  T.ok(aws.now() - started >= 0.2, "two delays of 0.1 s")
  client.hooks.sleep = saved
end)

server.stop()
T.done()
