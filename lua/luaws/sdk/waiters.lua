-- sdk.waiters: client:wait(name, ...) runs a service's waiters-2 definition as botocore does.
--
-- A response, for the acceptors, is botocore's: the parsed result (with
-- ResponseMetadata.HTTPStatusCode) after a success, or {Error={Code=, Message=},
-- ResponseMetadata={HTTPStatusCode=, RequestId=}} after a service error. Errors that are not
-- answers from the service (transport, validation) are raised as they are.
local errors = require "luaws.core.errors"
local jmespath = require "luaws.core.jmespath"

local M = {}

-- Hooks the tests replace: sleep (else the scheduler's sleep, so other coroutines run
-- meanwhile) and load(service) -> waiters-2 table or nil (a test's own definitions; nil: the
-- model's svc:waiters()).
M.hooks = { sleep = nil, load = nil }

local type_of = jmespath.type_of

--- py_equal(a, b) -> python's a == b on JSON values (True == 1, 1 == 1.0, deep lists/dicts).
local function py_equal(a, b)
  if type_of(a) == "null" then a = nil end
  if type_of(b) == "null" then b = nil end
  if type(a) == "boolean" and math.type(b) then a = a and 1 or 0 end
  if type(b) == "boolean" and math.type(a) then b = b and 1 or 0 end
  if a == b then return true end
  local ta, tb = type_of(a), type_of(b)
  local ca, cb = ta == "array" or ta == "object", tb == "array" or tb == "object"
  if not (ca and cb) then return false end
  if ta ~= tb then return next(a) == nil and next(b) == nil end  -- an unmarked {} is either
  if ta == "array" then
    if rawlen(a) ~= rawlen(b) then return false end
    for i = 1, rawlen(a) do if not py_equal(a[i], b[i]) then return false end end
    return true
  end
  for k, v in pairs(a) do if b[k] == nil or not py_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
M.py_equal = py_equal

local function is_error_response(response)
  local e = type(response) == "table" and response.Error
  return type(e) == "table" and e.Code ~= nil
end

local function search(acceptor, response)
  return jmespath.compile(acceptor.argument):search(response)
end

local MATCHERS = {
  path = function(a, response)
    if is_error_response(response) then return nil end
    return py_equal(search(a, response), a.expected)
  end,
  pathAll = function(a, response)
    if is_error_response(response) then return nil end
    local r = search(a, response)
    if type_of(r) ~= "array" or next(r) == nil then return false end
    for i = 1, rawlen(r) do if not py_equal(r[i], a.expected) then return false end end
    return true
  end,
  pathAny = function(a, response)
    if is_error_response(response) then return nil end
    local r = search(a, response)
    if type_of(r) ~= "array" or next(r) == nil then return false end
    for i = 1, rawlen(r) do if py_equal(r[i], a.expected) then return true end end
    return false
  end,
  status = function(a, response)
    local meta = type(response) == "table" and response.ResponseMetadata
    return py_equal(type(meta) == "table" and meta.HTTPStatusCode or nil, a.expected)
  end,
  error = function(a, response)
    local e = type(response) == "table" and response.Error
    if a.expected == true then return type(e) == "table" and e.Code ~= nil end
    if a.expected == false then return e == nil end
    return (type(e) == "table" and e.Code or "") == a.expected
  end,
}

--- matches(acceptor, response) -> true when the acceptor ({matcher=, expected=, argument=,
--- state=}) accepts the response (botocore's AcceptorConfig.matcher_func). Raises
--- WaiterConfigError for an unknown matcher.
function M.matches(acceptor, response)
  local f = MATCHERS[acceptor.matcher]
  if not f then
    errors.raise { code = "WaiterConfigError", message = "unknown acceptor matcher: " .. tostring(acceptor.matcher) }
  end
  return f(acceptor, response) and true or false
end

--- evaluate(acceptors, response) -> state, acceptor: the first acceptor that matches and its
--- state ("success" | "failure" | "retry"), or nil when none matches.
function M.evaluate(acceptors, response)
  for _, a in ipairs(acceptors) do
    if M.matches(a, response) then return a.state, a end
  end
  return nil
end

--- explain(acceptor) -> botocore's one-line explanation of an acceptor.
function M.explain(a)
  local m, e = a.matcher, tostring(a.expected)
  if m == "path" then return string.format('for expression "%s" we matched expected path: "%s"', a.argument, e) end
  if m == "pathAll" then
    return string.format('for expression "%s" all members matched expected path: "%s"', a.argument, e)
  end
  if m == "pathAny" then
    return string.format('for expression "%s" we matched expected path: "%s" at least once', a.argument, e)
  end
  if m == "status" then return "matched expected HTTP status code: " .. e end
  return "matched expected service error code: " .. e
end

---------------------------------------------------------------------------------------------------
-- Definitions
---------------------------------------------------------------------------------------------------

--- definitions(service) -> {Name = {operation=, delay=, maxAttempts=, acceptors={...}}} from the
--- service's waiters-2 (svc:waiters()), or {} when it has none.
function M.definitions(service)
  local doc = M.hooks.load and M.hooks.load(service)
  if doc == nil and type(service.waiters) == "function" then doc = service:waiters() end
  if type(doc) ~= "table" then return {} end
  return doc.waiters or doc
end

--- names(service) -> the sorted waiter names.
function M.names(service)
  local out = {}
  for name in pairs(M.definitions(service)) do out[#out + 1] = name end
  table.sort(out)
  return out
end

local function squash(s) return (s:gsub("[_%-]", ""):lower()) end

--- get(service, name) -> canonical name, definition. `name` may be botocore's ("TableExists")
--- or boto3's ("table_exists"), or a definition of one's own ({operation=, acceptors=, delay=,
--- maxAttempts=, name=}). Raises UnknownWaiter naming the closest waiters.
function M.get(service, name)
  if type(name) == "table" and name.operation and name.acceptors then
    return name.name or ("custom " .. tostring(name.operation) .. " waiter"), name
  end
  local defs = M.definitions(service)
  if type(name) == "string" then
    if defs[name] then return name, defs[name] end
    for canonical, def in pairs(defs) do
      if squash(canonical) == squash(name) then return canonical, def end
    end
  end
  local names = M.names(service)
  local lev = require("luaws.sdk.model").levenshtein
  local scored = {}
  for _, n in ipairs(names) do
    scored[#scored + 1] = { n = n, d = lev(squash(n), squash(tostring(name))) }
  end
  table.sort(scored, function(x, y) if x.d ~= y.d then return x.d < y.d end return x.n < y.n end)
  local close = {}
  for i = 1, math.min(3, #scored) do close[i] = scored[i].n end
  local svc = service.name or "?"
  local msg
  if #names == 0 then
    msg = string.format("%s has no waiters", svc)
  else
    msg = string.format("%s has no waiter named '%s' (closest: %s)", svc, tostring(name), table.concat(close, ", "))
  end
  errors.raise({ code = "UnknownWaiter", message = msg, service = svc, suggestions = close }, 2)
end

---------------------------------------------------------------------------------------------------
-- Running
---------------------------------------------------------------------------------------------------

-- The service's answer as botocore's waiter sees it: the result, or the parsed error.
local function error_response(e)
  return { Error = { Code = e.code, Message = e.message or "" },
    ResponseMetadata = { HTTPStatusCode = e.status, RequestId = e.request_id } }
end

local function sleep(seconds)
  if seconds <= 0 then return end
  if M.hooks.sleep then return M.hooks.sleep(seconds) end
  require("luaws.http").sleep(seconds)
end

local function waiter_error(code, fields, message)
  fields.code, fields.message = code, message
  return errors.new(fields)
end

--- wait(client, name, params, opts) -> last response, attempts. Calls the waiter's operation
--- with params every `delay` seconds until an acceptor reaches success. opts = {delay=,
--- max_attempts=} override the definition's. Raises WaiterFailure (a failure state, or a service
--- error no acceptor matched: fields waiter, acceptor, last_response, error, attempts),
--- WaiterTimeout (max attempts made: waiter, attempts, last_response) or UnknownWaiter.
function M.wait(client, name, params, opts)
  opts = opts or {}
  local service = client.service
  local canonical, def = M.get(service, name)
  local delay = opts.delay or def.delay or 15
  local max_attempts = opts.max_attempts or def.maxAttempts or 40
  local acceptors = def.acceptors or {}
  local base = { service = client.service_name, operation = def.operation, waiter = canonical }
  local attempts, last_matched = 0, nil
  while true do
    local ok, result = pcall(client.call, client, def.operation, params)
    local response, raised
    if ok then
      response = require("luaws.sdk.shaped").mark_output(service, def.operation, result)
    elseif errors.is_error(result) and result.status and result.code ~= "ResponseParseError" then
      response, raised = error_response(result), result
    else
      error(result, 0)  -- not an answer from the service: transport, validation, unreadable 2xx
    end
    attempts = attempts + 1
    local state, acceptor = M.evaluate(acceptors, response)
    if acceptor then last_matched = acceptor end
    local function fields()
      local f = {}
      for k, v in pairs(base) do f[k] = v end
      f.attempts, f.last_response, f.error, f.acceptor = attempts, response, raised, acceptor or last_matched
      f.status = raised and raised.status or nil
      f.request_id = raised and raised.request_id or nil
      return f
    end
    if not state and raised then
      error(waiter_error("WaiterFailure", fields(), string.format("waiter %s failed: %s: %s",
        canonical, tostring(raised.code), tostring(raised.message or ""))), 2)
    end
    if state == "success" then return response, attempts end
    if state == "failure" then
      error(waiter_error("WaiterFailure", fields(), string.format(
        "waiter %s reached a failure state after %d attempt%s: %s", canonical, attempts,
        attempts == 1 and "" or "s", M.explain(acceptor))), 2)
    end
    if attempts >= max_attempts then
      local previously = last_matched and ("; last accepted state " .. last_matched.state .. ": "
        .. M.explain(last_matched)) or ""
      error(waiter_error("WaiterTimeout", fields(), string.format(
        "waiter %s gave up after %d attempt%s (%g s apart)%s", canonical, attempts,
        attempts == 1 and "" or "s", delay, previously)), 2)
    end
    sleep(delay)
  end
end

return M
