-- plan: plan-first changes for recipes: recorded steps, clients that refuse writes, the report.
local json = require "luaws.core.json"

local M = {}

local recipe_errors = require "luaws.recipe.errors"

-- The innermost recipe line on the stack ("recipe foo.lua:12: "), so a refusal points at the call.
local function recipe_location()
  for level = 3, 30 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source:find("^@recipe ") and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline .. ": "
    end
  end
  return ""
end

local function refusal(service, operation, why)
  local where = recipe_location()
  return recipe_errors.new({ code = "ChangeOutsidePlan", service = service, operation = operation,
    message = string.format("%s%s:%s changes AWS resources; %s", where, service, operation, why) }, true)
end

local Plan = {}
Plan.__index = Plan
Plan.__name = "luaws.Plan"

--- plan.new{apply=bool, mutating=bool, recipe=name} -> a plan. Steps are recorded in order; in apply
--- mode each step's apply function runs as it is added, so later steps see earlier results.
function M.new(opts)
  return setmetatable({ applying = opts.apply and true or false, mutating = opts.mutating and true or false,
                        recipe = opts.recipe or "?", steps = {}, writes_open = 0 }, Plan)
end

--- plan:add{action=, target=, detail=, diff=, apply=function(step) ... end} -> the apply function's
--- results in apply mode, nil when only planning. action names the change (usually the AWS operation),
--- target what it changes, detail one human line, diff a multi-line string (or list of lines).
--- Writes through recipe clients are allowed only while an apply function runs.
function Plan:add(step)
  if type(step) ~= "table" or type(step.action) ~= "string" then
    error("plan:add needs a table with an action (a string)", 2)
  end
  if not self.mutating then
    error(recipe_errors.new({ code = "ReadOnlyRecipe", message = string.format(
      "recipe %s is not in category 'mutating' and cannot plan changes", self.recipe) }, true), 2)
  end
  local diff = step.diff
  if type(diff) == "table" then diff = table.concat(diff, "\n") end
  local record = { action = step.action, target = step.target and tostring(step.target) or nil,
                   detail = step.detail, diff = diff, status = "planned" }
  self.steps[#self.steps + 1] = record
  if not self.applying or step.apply == nil then return nil end
  self.writes_open = self.writes_open + 1
  local results = table.pack(pcall(step.apply, record))
  self.writes_open = self.writes_open - 1
  if not results[1] then
    record.status = "failed"
    local e = results[2]
    record.error = type(e) == "table" and (e.message or tostring(e)) or tostring(e)
    error(e, 0)
  end
  record.status = "done"
  return table.unpack(results, 2, results.n)
end

--- plan:apply(fn) -> fn's results in apply mode (writes allowed inside), nil when only planning. For
--- changes already described by plan:add steps without their own apply function.
function Plan:apply(fn)
  if not self.applying then return nil end
  if not self.mutating then
    error(recipe_errors.new({ code = "ReadOnlyRecipe", message = string.format(
      "recipe %s is not in category 'mutating' and cannot change anything", self.recipe) }, true), 2)
  end
  self.writes_open = self.writes_open + 1
  local results = table.pack(pcall(fn))
  self.writes_open = self.writes_open - 1
  if not results[1] then error(results[2], 0) end
  for _, s in ipairs(self.steps) do if s.status == "planned" then s.status = "done" end end
  return table.unpack(results, 2, results.n)
end

--- plan:empty() -> whether nothing is planned.
function Plan:empty() return #self.steps == 0 end

--- plan:may_write() -> whether a write may go out right now.
function Plan:may_write() return self.applying and self.writes_open > 0 end

-- The AWS name of an operation however the recipe spelt it (kms:create_grant, kms:CREATEGRANT):
-- the client's model knows; without one, snake_case and lowerCamel are folded to CamelCase.
local function canonical_operation(client, key)
  local svc = rawget(client, "service")
  if type(svc) == "table" and type(svc.operation) == "function" then
    local ok, op = pcall(svc.operation, svc, key)
    if ok and type(op) == "table" and type(op.name) == "string" then return op.name end
  end
  return (key:gsub("^%l", string.upper):gsub("_(%w)", string.upper))
end

--- plan.guard_client(client, service, the_plan, is_read_only) -> a proxy of an aws client whose
--- operations that change anything raise {code="ChangeOutsidePlan"} unless the plan is applying
--- one of its steps. is_read_only(operation) classifies (the facade's aws.is_read_only); without
--- one every operation counts as a change.
--- Operations are checked under their AWS names whatever the spelling, also through
--- client:call(name, ...), client:paginate(name, ...) and client:wait(waiter, ...) (checked as
--- the waiter's operation); plain fields pass straight through.
function M.guard_client(client, service, the_plan, is_read_only)
  local function check(operation)
    if type(operation) ~= "string" then return end
    local name = canonical_operation(client, operation)
    if not (is_read_only and is_read_only(name)) and not the_plan:may_write() then
      if not the_plan.mutating then
        error(refusal(service, name, "recipe " .. the_plan.recipe .. " is read-only"), 0)
      elseif not the_plan.applying then
        error(refusal(service, name, "not applying (plan only; rerun with --apply)"), 0)
      else
        error(refusal(service, name, "make it inside ctx.plan:add{..., apply=function() ... end}"), 0)
      end
    end
  end
  local proxy = {}
  return setmetatable(proxy, {
    __name = "luaws.GuardedClient",
    __index = function(_, key)
      local value = client[key]
      if type(value) ~= "function" then return value end
      if key == "paginate" or key == "paginate_all" or key == "call" then
        return function(_, operation, ...)
          check(operation)
          return value(client, operation, ...)
        end
      end
      if key == "wait" then  -- a waiter calls one operation: its own (e.g. DescribeInstances)
        return function(_, waiter, ...)
          local _, definition = client:waiter(waiter)
          check(definition.operation)
          return value(client, waiter, ...)
        end
      end
      -- Every other function is treated as an operation: a helper method that is not one is
      -- refused while planning, which errs on the safe side.
      return function(first, ...)
        check(key)
        if first == proxy then return value(client, ...) end
        return value(first, ...)
      end
    end,
  })
end

local function steps_array(steps)
  local out = json.array()
  for i, s in ipairs(steps) do
    out[i] = { action = s.action, target = s.target, detail = s.detail, diff = s.diff, status = s.status,
               error = s.error }
  end
  return out
end

--- plan.report_json(report) -> one line of JSON: {recipe=, applied=, plan=[...], result=, status=, error=}.
function M.report_json(report)
  return json.encode({
    recipe = report.recipe, applied = report.applied, status = report.status,
    plan = steps_array(report.plan or {}), result = report.result, error = report.error,
  })
end

local function indent_lines(text, prefix)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = prefix .. line end
  return table.concat(out, "\n")
end

--- plan.render(report) -> human text (for stderr): the steps and what happened to them.
function M.render(report)
  local lines = {}
  local steps = report.plan or {}
  local n = #steps
  if report.mutating then
    if n == 0 then
      lines[#lines + 1] = "Nothing to do: everything is already in place."
    elseif report.applied then
      local done = 0
      for _, s in ipairs(steps) do if s.status == "done" then done = done + 1 end end
      lines[#lines + 1] = string.format("Applied %d of %d change%s:", done, n, n == 1 and "" or "s")
    else
      lines[#lines + 1] = string.format("Plan: %d change%s. Nothing was changed; rerun with --apply to make %s.",
                                        n, n == 1 and "" or "s", n == 1 and "it" or "them")
    end
  end
  for i, s in ipairs(steps) do
    local mark = ({ planned = "", done = "[done] ", failed = "[FAILED] " })[s.status] or ""
    lines[#lines + 1] = string.format("  %d. %s%s%s", i, mark, s.action, s.target and ("  " .. s.target) or "")
    if s.detail then lines[#lines + 1] = "     " .. s.detail end
    if s.diff and s.diff ~= "" then lines[#lines + 1] = indent_lines(s.diff, "       ") end
    if s.error then lines[#lines + 1] = "     error: " .. s.error end
  end
  return table.concat(lines, "\n")
end

-- Flattens a result table into "key: value" lines, nested keys joined with dots, keys sorted.
local function scalar_list(value)
  if type(value) ~= "table" or #value == 0 then return nil end
  local parts = {}
  for k, v in pairs(value) do
    if math.type(k) ~= "integer" or type(v) == "table" then return nil end
    parts[k] = tostring(v)
  end
  return table.concat(parts, ", ")
end

local function flatten(value, prefix, out)
  local joined = scalar_list(value)
  if joined then
    out[#out + 1] = prefix .. ": " .. joined
    return out
  end
  if type(value) ~= "table" then
    out[#out + 1] = (prefix ~= "" and (prefix .. ": ") or "") .. tostring(value)
    return out
  end
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  for _, k in ipairs(keys) do
    flatten(value[k], prefix == "" and tostring(k) or (prefix .. "." .. tostring(k)), out)
  end
  return out
end

--- plan.render_result(result) -> "key: value" lines for a text-mode result on stdout.
function M.render_result(result)
  if result == nil then return "" end
  return table.concat(flatten(result, "", {}), "\n")
end

return M
