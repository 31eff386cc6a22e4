-- waiters_diff: the luaws side of tests/py/waiters_diff_test.py: one JSON task per stdin line,
-- one JSON answer per stdout line (waiter acceptors and runs, paginator pages and full results).
local errors = require "luaws.core.errors"
local jmespath = require "luaws.core.jmespath"
local waiters = require "luaws.sdk.waiters"
local paginate = require "luaws.sdk.paginate"

waiters.hooks.sleep = function() end

-- What the protocol parsers return: plain tables, no markers, no nulls.
local function unmarked(v)
  if v == jmespath.NULL then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = unmarked(x) end
  return out
end

-- What waiters and paginate see after luaws.sdk.shaped marks a result by its output shape:
-- the decoded JSON keeps [] and {} apart exactly as the shape would.
-- (A copy per call: paginate's full result appends to the first page's lists, as botocore's.)
local function plain(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = plain(x) end
  return setmetatable(out, getmetatable(v))
end

local function error_of(resp)
  return errors.new { code = resp.Error.Code, message = resp.Error.Message,
    status = resp.ResponseMetadata and resp.ResponseMetadata.HTTPStatusCode }
end

local function waiter_task(task)
  local def = task.definition
  local fired = jmespath.array()
  local index_of = function(acceptor)
    for j, a in ipairs(def.acceptors) do if a == acceptor then return j end end
    return 0
  end
  local unshaped = jmespath.array()
  for i, resp in ipairs(task.responses) do
    local _, acceptor = waiters.evaluate(def.acceptors, plain(resp))
    fired[i] = index_of(acceptor)
    local _, without = waiters.evaluate(def.acceptors, unmarked(resp))
    unshaped[i] = index_of(without)
  end
  local seq, n = task.sequence, 0
  local client = {
    service_name = task.service,
    service = { name = task.service, waiters = function() return { waiters = { [task.waiter] = def } } end },
    call = function()
      n = n + 1
      local resp = plain(seq[n])
      if resp.Error then error(error_of(resp), 0) end
      return resp
    end,
  }
  local ok, err = pcall(waiters.wait, client, task.waiter, {}, { delay = 0, max_attempts = #seq })
  local run
  if ok then run = "success:" .. n
  elseif err.code == "WaiterFailure" then run = "failure:" .. err.attempts
  elseif err.code == "WaiterTimeout" then run = "timeout:" .. err.attempts
  else run = "error:" .. tostring(err) end
  return { fired = fired, run = run, unshaped = unshaped }
end

local function paginator_task(task)
  local pages, n = task.pages, task.start or 0
  local client = {
    service_name = task.service,
    service = { paginator = function(_, op) return { raw = task.config, operation = op } end },
    call = function()
      n = n + 1
      if n > rawlen(pages) then error(errors.new { code = "Exhausted" }, 0) end
      return plain(pages[n])
    end,
  }
  local function given(v) if v ~= jmespath.NULL then return v end end
  local opts = { max_items = given(task.max_items), starting_token = given(task.starting_token) }
  local seen, finish, info = jmespath.array(), "done", nil
  local ok, err = pcall(function()
    local next_page
    next_page, info = paginate.pages(client, task.operation, {}, opts)
    for page in next_page do
      local values = jmespath.array()
      local results = paginate.results(info.spec, page)
      for i = 1, #info.spec.result_key do values[i] = results[i] == nil and jmespath.NULL or results[i] end
      seen[#seen + 1] = values
    end
  end)
  if not ok then
    if err.code == "PaginationError" then finish = "repeat"
    elseif err.code == "Exhausted" then finish = "exhausted"
    else error(err, 0) end
  end
  local full
  if finish == "done" then
    n = task.start or 0
    full = paginate.full_result(client, task.operation, {}, opts)
  end
  return { pages = seen, ["end"] = finish, full = full, resume = info and info.resume_token, consumed = n }
end

-- The shipped definitions (svc:waiters() of the generated models), when the model has them.
local function definitions_task(task)
  local ok, svc = pcall(require("luaws.sdk.model").load, task.service)
  if not ok then return { shipped = false } end
  local pages = jmespath.object()
  for _, op in ipairs(task.paginators or {}) do
    local p = svc:paginator(op)
    pages[op] = p and (p.raw or p) or jmespath.NULL
  end
  if type(svc.waiters) ~= "function" then return { shipped = false, paginators = pages } end
  return { shipped = true, waiters = waiters.definitions(svc), paginators = pages }
end

local KINDS = { waiter = waiter_task, paginator = paginator_task, definitions = definitions_task }

for line in io.lines() do
  local task = jmespath.decode(line)
  local ok, answer = pcall(KINDS[task.kind], task)
  if not ok then answer = { error = tostring(answer) } end
  io.write(jmespath.encode(answer), "\n")
end
