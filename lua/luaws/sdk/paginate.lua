-- sdk.paginate: client:paginate(op, ...) follows a botocore paginator: pages, items, full result.
--
-- Every key of a paginator is a JMESPath expression, as botocore reads it: output tokens
-- ("NextMarker || Contents[-1].Key"), more_results ("StreamDescription.HasMoreShards"), result
-- keys ("Contents", "DistributionList.Items", "Reservations[].Instances[]") and
-- non_aggregate_keys.
local errors = require "luaws.core.errors"
local jmespath = require "luaws.core.jmespath"
local shaped = require "luaws.sdk.shaped"

local M = {}

local type_of = jmespath.type_of

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

local function compile_all(list)
  local out = {}
  for i, expr in ipairs(list) do out[i] = jmespath.compile(expr) end
  return out
end

--- spec(raw) -> {input_token={names}, output_token={compiled}, result_key={compiled},
--- more_results=compiled|nil, limit_key=, non_aggregate_keys={compiled}} from a botocore
--- paginator entry (either the raw paginators-1 entry or svc:paginator(op)'s table).
function M.spec(raw)
  raw = raw.raw or raw
  return {
    input_token = as_list(raw.input_token),
    output_token = compile_all(as_list(raw.output_token)),
    result_key = compile_all(as_list(raw.result_key)),
    more_results = raw.more_results and jmespath.compile(raw.more_results) or nil,
    limit_key = raw.limit_key,
    non_aggregate_keys = compile_all(as_list(raw.non_aggregate_keys)),
  }
end

--- next_token(spec, page) -> {input_name = token or nil}, done: the tokens for the next
--- request (botocore's _get_next_token: a false more_results, or no token, ends paging).
function M.next_token(spec, page)
  local tokens = {}
  if spec.more_results and jmespath.is_false(spec.more_results:search(page)) then return tokens, true end
  local any = false
  for i, name in ipairs(spec.input_token) do
    local expr = spec.output_token[i]
    local token = expr and expr:search(page)
    if jmespath.is_false(token) or token == 0 then token = nil end  -- python's `if next_token`
    tokens[name] = token
    any = any or token ~= nil
  end
  return tokens, not any
end

--- results(spec, page) -> array (one per result key, in order) of the key's value in the page
--- (nil when absent).
function M.results(spec, page)
  local out = {}
  for i, expr in ipairs(spec.result_key) do out[i] = expr:search(page) end
  return out
end

local function same_tokens(a, b)
  for k, v in pairs(a) do if not jmespath.equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function describe_tokens(t)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = k .. "=" .. jmespath.encode(v) end
  table.sort(parts)
  return table.concat(parts, ", ")
end

local function lookup(client, op_name)
  local paginator = client.service:paginator(op_name)
  if not paginator then
    errors.raise({ code = "OperationNotPageable", message = string.format("%s %s has no paginator",
      client.service_name, op_name), service = client.service_name, operation = op_name }, 3)
  end
  return paginator, M.spec(paginator)
end

--- pages(client, op_name, params, opts) -> iterator of pages. opts.page_size sets the limit
--- key, opts.max_pages stops after that many. Raises OperationNotPageable, and PaginationError
--- when the service returns the same token twice.
function M.pages(client, op_name, params, opts)
  opts = opts or {}
  local paginator, spec = lookup(client, op_name)
  op_name = paginator.operation or op_name
  local request = {}
  for k, v in pairs(params or {}) do request[k] = v end
  if opts.page_size and spec.limit_key then request[spec.limit_key] = opts.page_size end
  local finished, previous, count, repeated = false, nil, 0, nil
  return function()
    if repeated then  -- as botocore: the page came back, the next request is refused
      finished = true
      local tokens = repeated
      repeated = nil
      errors.raise({ code = "PaginationError", message = string.format(
        "%s %s returned the same next token twice (%s); stopping", client.service_name, op_name,
        describe_tokens(tokens)), service = client.service_name, operation = op_name }, 2)
    end
    if finished then return nil end
    local page = shaped.mark_output(client.service, op_name, client:call(op_name, request))
    count = count + 1
    local tokens, done = M.next_token(spec, page)
    if done or (opts.max_pages and count >= opts.max_pages) then
      finished = true
      return page
    end
    if previous and same_tokens(previous, tokens) then
      repeated = tokens
      return page
    end
    for _, name in ipairs(spec.input_token) do
      local token = tokens[name]
      if token == "None" then token = nil end
      request[name] = token
    end
    previous = tokens
    return page
  end, spec
end

--- items(client, op_name, params, opts) -> iterator of the items under the result keys, page by
--- page, each key in order (a result key whose value is not a list yields that value once).
--- opts.max_items stops after that many items.
function M.items(client, op_name, params, opts)
  opts = opts or {}
  local next_page, spec = M.pages(client, op_name, params, opts)
  local queue, qi, given = {}, 1, 0
  return function()
    while true do
      if opts.max_items and given >= opts.max_items then return nil end
      if qi <= #queue then
        local item = queue[qi]
        queue[qi], qi = nil, qi + 1
        given = given + 1
        return jmespath.NULL ~= item and item or nil
      end
      local page = next_page()
      if not page then return nil end
      queue, qi = {}, 1
      for _, v in ipairs(M.results(spec, page)) do
        if type_of(v) == "array" then
          for i = 1, rawlen(v) do queue[#queue + 1] = v[i] end
        elseif v ~= nil then
          queue[#queue + 1] = v
        end
      end
    end
  end
end

-- botocore's set_value_from_jmespath: a dotted path, creating the tables on the way.
local function set_path(t, expression, v)
  local keys = {}
  for key in expression:gmatch("[^.]+") do keys[#keys + 1] = key end
  for i = 1, #keys - 1 do
    if type(t[keys[i]]) ~= "table" then t[keys[i]] = {} end
    t = t[keys[i]]
  end
  t[keys[#keys]] = v
end

-- botocore.utils.merge_dicts(a, b): b's objects merged into a's, everything else replaced.
local function merge(a, b)
  for k, v in pairs(b) do
    if type_of(v) == "object" and type(a[k]) == "table" then merge(a[k], v) else a[k] = v end
  end
end

--- full_result(client, op_name, params, opts) -> one table with every page's result keys
--- concatenated (numbers and strings added up) and the first page's non_aggregate_keys, as
--- botocore's build_full_result (which appends to the first page's lists, so a
--- non_aggregate key that contains a result key carries the joined list too).
function M.full_result(client, op_name, params, opts)
  local next_page, spec = M.pages(client, op_name, params, opts)
  local complete, non_aggregate = {}, nil
  for page in next_page do
    if not non_aggregate then
      non_aggregate = {}
      for _, expr in ipairs(spec.non_aggregate_keys) do
        set_path(non_aggregate, expr.expression, expr:search(page))
      end
    end
    for _, expr in ipairs(spec.result_key) do
      local v = expr:search(page)
      if v ~= nil then
        local existing = expr:search(complete)
        if existing == nil then
          set_path(complete, expr.expression, v)
        elseif type_of(v) == "array" and type_of(existing) == "array" then
          for i = 1, rawlen(v) do existing[#existing + 1] = v[i] end
        elseif type(v) == "number" and type(existing) == "number" then
          set_path(complete, expr.expression, existing + v)
        elseif type(v) == "string" and type(existing) == "string" then
          set_path(complete, expr.expression, existing .. v)
        end
      end
    end
  end
  merge(complete, non_aggregate or {})
  return complete
end

--- paginate(client, op_name, params, opts): client:paginate's body. opts.items = true iterates
--- items (see items) instead of pages; opts.page_size, opts.max_items, opts.max_pages.
function M.paginate(client, op_name, params, opts)
  opts = opts or {}
  if opts.items then return M.items(client, op_name, params, opts) end
  return (M.pages(client, op_name, params, opts))
end

return M
