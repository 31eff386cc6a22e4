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

---------------------------------------------------------------------------------------------------
-- Resume tokens: botocore's (base64 of python's json.dumps of the next request's tokens, plus
-- boto_truncate_amount when the last page was cut short), so AWS CLI tokens work here and back.
---------------------------------------------------------------------------------------------------

--- encode_token(tokens, input_names) -> botocore's resume token for {input_name = token} (in
--- input_token order, nil as null) and tokens.boto_truncate_amount.
function M.encode_token(tokens, input_names)
  local obj, keys = {}, {}
  for _, name in ipairs(input_names) do
    keys[#keys + 1] = name
    obj[name] = tokens[name] == nil and jmespath.NULL or tokens[name]
  end
  if tokens.boto_truncate_amount then
    keys[#keys + 1] = "boto_truncate_amount"
    obj.boto_truncate_amount = tokens.boto_truncate_amount
  end
  return require("luaws.crypto").base64_encode(jmespath.encode(jmespath.object(obj, keys), true))
end

--- decode_token(text) -> {input_name = token}, truncate amount: a botocore resume token (or the
--- old "token___N" form). Raises InvalidStartingToken.
function M.decode_token(text, input_names)
  local json = type(text) == "string" and require("luaws.crypto").base64_decode(text)
  local ok, doc = pcall(jmespath.decode, json or "")
  if ok and type_of(doc) == "object" then
    local amount = doc.boto_truncate_amount
    local tokens = {}
    for k, v in pairs(doc) do
      if k ~= "boto_truncate_amount" and k ~= "boto_encoded_keys" and v ~= jmespath.NULL then tokens[k] = v end
    end
    return tokens, math.tointeger(amount) or 0
  end
  if type(text) == "string" then  -- botocore's deprecated form: tokens joined by "___", then N
    local parts = {}
    for part in (text .. "___"):gmatch("(.-)___") do parts[#parts + 1] = part end
    local amount = 0
    if #parts == #input_names + 1 and tonumber(parts[#parts]) then
      amount = math.tointeger(tonumber(parts[#parts])) or 0
    end
    local tokens = {}
    for i, name in ipairs(input_names) do
      if parts[i] and parts[i] ~= "None" and parts[i] ~= "" then tokens[name] = parts[i] end
    end
    if #parts == #input_names or #parts == #input_names + 1 then return tokens, amount end
  end
  errors.raise({ code = "InvalidStartingToken", message = "not a pagination token: " .. tostring(text) }, 3)
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

local function sub_list(v, from, to)  -- python's v[from:to] on a list or string (0-based)
  if type(v) == "string" then return v:sub(from + 1, to) end
  local out = jmespath.array()
  for i = from + 1, math.min(to or rawlen(v), rawlen(v)) do out[#out + 1] = v[i] end
  return out
end

-- botocore's _handle_first_request after a starting token: skip the items already given.
local function skip_given(spec, page, amount)
  local primary = spec.result_key[1]
  local all = primary:search(page)
  local data = nil
  if type_of(all) == "array" or type(all) == "string" then data = sub_list(all, amount) end
  set_path(page, primary.expression, data)
  for i = 2, #spec.result_key do
    local expr = spec.result_key[i]
    local sample = expr:search(page)
    local empty = nil
    if type_of(sample) == "array" then empty = jmespath.array()
    elseif type(sample) == "string" then empty = ""
    elseif type(sample) == "number" then empty = sample end
    set_path(page, expr.expression, empty)
  end
end

--- pages(client, op_name, params, opts) -> iterator of pages, info. opts.page_size sets the
--- limit key; opts.max_items stops after that many items of the first result key (the last page
--- cut short) and sets info.resume_token, which opts.starting_token takes to carry on (botocore's
--- PaginationConfig MaxItems / StartingToken, same tokens); opts.max_pages stops after that
--- many pages. info.spec is the compiled paginator. Raises OperationNotPageable, and
--- PaginationError when the service returns the same token twice.
function M.pages(client, op_name, params, opts)
  opts = opts or {}
  local paginator, spec = lookup(client, op_name)
  op_name = paginator.operation or op_name
  local info = { spec = spec, resume_token = nil }
  local request = {}
  for k, v in pairs(params or {}) do request[k] = v end
  local next_tokens, starting_truncation = {}, 0
  if opts.starting_token then
    next_tokens, starting_truncation = M.decode_token(opts.starting_token, spec.input_token)
  end
  local function inject(tokens)
    for _, name in ipairs(spec.input_token) do
      local token = tokens[name]
      if token == "None" then token = nil end
      request[name] = token
    end
  end
  if opts.starting_token then inject(next_tokens) end
  if opts.page_size then
    if not spec.limit_key then  -- as botocore: a page size needs the paginator's limit key
      errors.raise({ code = "PaginationError", message = string.format(
        "%s %s has no page size parameter (its paginator names no limit_key)", client.service_name, op_name),
        service = client.service_name, operation = op_name }, 2)
    end
    request[spec.limit_key] = opts.page_size
  end
  local finished, previous, count, repeated, total, first = false, nil, 0, nil, 0, true
  local max_items = opts.max_items
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
    local truncation = 0
    if first then
      first = false
      if opts.starting_token then
        truncation = starting_truncation
        skip_given(spec, page, truncation)
      end
    end
    local primary = spec.result_key[1]
    local current = primary and primary:search(page)
    local kind = type_of(current)  -- python's len(): items, characters, or a map's keys
    local n = (kind == "array" and rawlen(current)) or (kind == "string" and (utf8.len(current) or #current))
      or (kind == "object" and #jmespath.search("keys(@)", current)) or 0
    if max_items and total + n > max_items and kind ~= "object" then
      local keep = n - (total + n - max_items)
      set_path(page, primary.expression, sub_list(current, 0, keep))
      local resume = {}
      for k, v in pairs(next_tokens) do resume[k] = v end
      resume.boto_truncate_amount = keep + truncation
      info.resume_token = M.encode_token(resume, spec.input_token)
      finished = true
      return page
    end
    total = total + n
    local tokens, done = M.next_token(spec, page)
    next_tokens = tokens
    if done or (opts.max_pages and count >= opts.max_pages) then
      finished = true
      return page
    end
    if max_items and total == max_items then
      info.resume_token = M.encode_token(tokens, spec.input_token)
      finished = true
      return page
    end
    if previous and same_tokens(previous, tokens) then
      repeated = tokens
      return page
    end
    inject(tokens)
    previous = tokens
    return page
  end, info
end

--- items(client, op_name, params, opts) -> iterator of the items under the result keys, page by
--- page, each key in order (a key whose value is a structure yields it once; numbers and strings
--- such as Scan's Count are no items), and the pages' info (see pages: max_items,
--- starting_token, info.resume_token).
function M.items(client, op_name, params, opts)
  local next_page, info = M.pages(client, op_name, params, opts)
  local queue, qi = {}, 1
  return function()
    while true do
      if qi <= #queue then
        local item = queue[qi]
        queue[qi], qi = nil, qi + 1
        return item
      end
      local page = next_page()
      if not page then return nil end
      queue, qi = {}, 1
      local results = M.results(info.spec, page)
      -- A page may lack an earlier result key (S3's last page: CommonPrefixes, no Contents), so
      -- walk every key's slot rather than ipairs, which would stop at the hole.
      for k = 1, #info.spec.result_key do
        local v = results[k]
        if type_of(v) == "array" then
          for i = 1, rawlen(v) do
            if v[i] ~= jmespath.NULL then queue[#queue + 1] = v[i] end
          end
        elseif type_of(v) == "object" then
          queue[#queue + 1] = v
        end  -- a count (DynamoDB Scan's Count, ScannedCount) is no item
      end
    end
  end, info
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
  local next_page, info = M.pages(client, op_name, params, opts)
  local spec = info.spec
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
  if info.resume_token then complete.NextToken = info.resume_token end
  return complete
end

--- paginate(client, op_name, params, opts): client:paginate's body. opts.items = true iterates
--- items (see items) instead of pages; opts.page_size, opts.max_items, opts.max_pages.
function M.paginate(client, op_name, params, opts)
  opts = opts or {}
  if opts.items then return M.items(client, op_name, params, opts) end
  return M.pages(client, op_name, params, opts)
end

return M
