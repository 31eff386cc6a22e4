-- help: what a service and an operation take, rendered from the models and their docs companions.
-- Only `luaws help`, the REPL's help() and tab completion load this; a call never does, and the
-- docs (<service>.docs.lua, svc:docs()) are read only here, on first use.
local model = require "luaws.sdk.model"

local M = {}

local MAX_DEPTH = 3 -- nesting levels of structures expanded under a parameter
local MAX_ENUM = 12 -- enum values listed before "..."

-- The help text of a service: svc:docs() when the model has it, else empty tables.
local function docs_of(svc)
  if type(svc.docs) == "function" then
    local ok, docs = pcall(svc.docs, svc)
    if ok and type(docs) == "table" then
      docs.operations = docs.operations or {}
      docs.shapes = docs.shapes or {}
      -- An empty table is what a model without a docs file gives.
      return docs, next(docs.operations) ~= nil or next(docs.shapes) ~= nil
    end
  end
  return { operations = {}, shapes = {} }, false
end

local function shape_of(svc, name)
  local ok, shape = pcall(svc.shape, svc, name)
  return ok and type(shape) == "table" and shape or { type = "?", name = name }
end

-- "string", "integer", "list of Tag", "map of string to string", "structure Tag".
local function describe(svc, name)
  local shape = shape_of(svc, name)
  local t = shape.type
  if t == "list" then return "list of " .. M.short_type(svc, shape.member.target) end
  if t == "map" then
    return "map of " .. M.short_type(svc, shape.key.target) .. " to " .. M.short_type(svc, shape.value.target)
  end
  if t == "structure" then return "structure " .. name end
  return t
end

--- help.short_type(svc, shape_name) -> a shape's type in a few words ("string", "structure Tag").
function M.short_type(svc, name)
  local shape = shape_of(svc, name)
  if shape.type == "structure" then return name end
  if shape.type == "list" or shape.type == "map" then return describe(svc, name) end
  return shape.type
end

-- "one of: a, b, c" / "length 1..63" / "range 0..100" for a shape, from the docs.
local function constraints(svc, docs, name)
  local d = docs.shapes[name]
  if type(d) ~= "table" then return nil end
  local parts = {}
  if type(d.enum) == "table" and #d.enum > 0 then
    local shown = {}
    for i = 1, math.min(#d.enum, MAX_ENUM) do shown[i] = d.enum[i] end
    parts[#parts + 1] = "one of: " .. table.concat(shown, ", ") .. (#d.enum > MAX_ENUM
      and string.format(", ... (%d in all)", #d.enum) or "")
  end
  if d.min or d.max then
    local kind = shape_of(svc, name).type
    local word = (kind == "string" or kind == "list" or kind == "blob" or kind == "map") and "length" or "range"
    parts[#parts + 1] = string.format("%s %s..%s", word, tostring(d.min or ""), tostring(d.max or ""))
  end
  return #parts > 0 and table.concat(parts, "; ") or nil
end

-- The structure whose members a shape shows nested: itself, or a list's/map's element.
local function nested_structure(svc, name)
  local shape = shape_of(svc, name)
  if shape.type == "structure" then return name, shape end
  if shape.type == "list" then return nested_structure(svc, shape.member.target) end
  if shape.type == "map" then return nested_structure(svc, shape.value.target) end
  return nil
end

local function pad(s, n) return s .. string.rep(" ", math.max(0, n - #s)) end

-- The docs entry holding a member's enum and limits: models inline scalar shapes (a member's
-- target is "string"), so the docs name the original shape per member when the generator
-- records it (docs.shapes[Struct].targets[Member], a list's docs.shapes[List].targets.member);
-- else a shape of the member's own name that
-- has an enum or limits (ServerSideEncryption, StorageClass), which is how AWS names most.
local function scalar_docs_name(svc, docs, struct, ref)
  local shape = shape_of(svc, ref.target)
  if shape.type == "list" or shape.type == "map" or shape.type == "structure" then return ref.target end
  local entry = docs.shapes[struct]
  local named = type(entry) == "table" and type(entry.targets) == "table" and entry.targets[ref.name]
  if named then return named end
  local same = docs.shapes[ref.name]
  if type(same) == "table" and (same.enum or same.min or same.max) then return ref.name end
  return ref.target
end

-- Appends the members of structure `name` to `out`, indented by depth, each as
-- "Name*  type  first sentence", then its constraints and (depth permitting) its own members.
local function add_members(out, svc, docs, name, depth, on_path)
  local shape = shape_of(svc, name)
  if shape.type ~= "structure" or not shape.members then return end
  local indent = string.rep("  ", depth)
  local rows, width, type_width = {}, 0, 0
  for _, ref in ipairs(shape.members) do
    local label = ref.name .. ((shape.required_set or {})[ref.name] and "*" or "")
    local kind = describe(svc, ref.target)
    rows[#rows + 1] = { ref = ref, label = label, kind = kind }
    width = math.max(width, #label)
    type_width = math.max(type_width, #kind)
  end
  type_width = math.min(type_width, 24)
  local member_docs = type(docs.shapes[name]) == "table" and docs.shapes[name].members or {}
  for _, row in ipairs(rows) do
    local ref = row.ref
    local line = indent .. pad(row.label, width) .. "  " .. pad(row.kind, type_width)
    local docs_name = scalar_docs_name(svc, docs, name, ref)
    local doc = member_docs[ref.name] or (type(docs.shapes[docs_name]) == "table" and docs.shapes[docs_name].doc)
    if doc then line = line .. "  " .. doc end
    out[#out + 1] = (line:gsub("%s+$", ""))
    local target = shape_of(svc, ref.target)
    local limits = constraints(svc, docs, docs_name)
    if target.type == "list" then
      local entry = docs.shapes[ref.target]
      local element_name = type(entry) == "table" and type(entry.targets) == "table" and entry.targets.member
      local element = constraints(svc, docs, element_name or target.member.target)
      if element then limits = (limits and (limits .. "; ") or "") .. "each " .. element end
    end
    if limits then out[#out + 1] = indent .. string.rep(" ", width + 2) .. limits end
    local inner = nested_structure(svc, ref.target)
    if inner and not on_path[inner] then
      if depth < MAX_DEPTH then
        on_path[inner] = true
        add_members(out, svc, docs, inner, depth + 1, on_path)
        on_path[inner] = nil
      else
        out[#out + 1] = indent .. "  ... (help \"" .. svc.name .. " " .. inner .. "\")"
      end
    end
  end
end

local function load_service(name)
  local ok, svc = pcall(model.load, name)
  if not ok then error(svc, 0) end
  return svc
end

-- The waiters of a service: {Name = {operation=...}} (empty without a waiters file).
local function waiters_of(svc)
  if type(svc.waiters) ~= "function" then return {} end
  local ok, w = pcall(svc.waiters, svc)
  return ok and type(w) == "table" and w.waiters or {}
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

--- help.service(name) -> text: the service, its operations (with their first sentence), its
--- paginators and waiters. Raises UnknownService for an unknown name.
function M.service(name)
  local svc = load_service(name)
  local docs, has_docs = docs_of(svc)
  local out = {}
  local md = svc.metadata or {}
  out[#out + 1] = string.format("%s: %s (API %s, protocol %s)", svc.name, md.serviceFullName or svc.name,
    tostring(svc.api_version), tostring(svc.protocol))
  out[#out + 1] = ""
  out[#out + 1] = "Operations:"
  local names = svc:operation_names()
  local width = 0
  for _, op in ipairs(names) do width = math.max(width, #op) end
  local paginated = {}
  for _, op in ipairs(names) do
    local doc = docs.operations[op]
    out[#out + 1] = "  " .. (doc and pad(op, width) .. "  " .. doc or op)
    if svc:paginator(op) then paginated[#paginated + 1] = op end
  end
  out[#out + 1] = ""
  out[#out + 1] = "Paginators (client:paginate(op, params)): "
    .. (#paginated > 0 and table.concat(paginated, ", ") or "none")
  local waiters = waiters_of(svc)
  local wnames = {}
  for _, w in ipairs(sorted_keys(waiters)) do
    wnames[#wnames + 1] = w .. (waiters[w].operation and (" (" .. waiters[w].operation .. ")") or "")
  end
  out[#out + 1] = "Waiters (client:wait(name, params)): "
    .. (#wnames > 0 and table.concat(wnames, ", ") or "none")
  out[#out + 1] = ""
  out[#out + 1] = string.format('An operation\'s parameters: luaws help %s OPERATION (REPL: help "%s OPERATION")',
    svc.name, svc.name)
  if not has_docs then out[#out + 1] = "(no documentation installed for " .. svc.name .. ")" end
  return table.concat(out, "\n")
end

--- help.operation(service, op) -> text: the operation's first sentence, its parameters (type,
--- * for required, enum values and limits, nested structures, first sentence of each) and what
--- it returns. `op` may also name a structure shape of the service. Raises UnknownService or
--- UnknownOperation (with close names).
function M.operation(service, op_name)
  local svc = load_service(service)
  local docs, has_docs = docs_of(svc)
  local out = {}
  local ok, op = pcall(svc.operation, svc, op_name)
  if not ok then
    -- A shape name (help "s3 Tag") shows that structure.
    local sok, shape = pcall(svc.shape, svc, op_name)
    if not sok or type(shape) ~= "table" or shape.type ~= "structure" then error(op, 0) end
    local entry = docs.shapes[op_name]
    out[#out + 1] = svc.name .. " " .. op_name .. " (structure)"
      .. (type(entry) == "table" and entry.doc and (": " .. entry.doc) or "")
    add_members(out, svc, docs, op_name, 1, { [op_name] = true })
    return table.concat(out, "\n")
  end
  out[#out + 1] = svc.name .. " " .. op.name .. (docs.operations[op.name] and (": " .. docs.operations[op.name]) or "")
  if op.deprecated then out[#out + 1] = "(deprecated)" end
  out[#out + 1] = ""
  local input = op.input and op.input.name
  if input and op.input.members and #op.input.members > 0 then
    out[#out + 1] = "Parameters (* required):"
    add_members(out, svc, docs, input, 1, { [input] = true })
  else
    out[#out + 1] = "Parameters: none"
  end
  out[#out + 1] = ""
  local output = op.output and op.output.name
  if output and op.output.members and #op.output.members > 0 then
    out[#out + 1] = "Returns:"
    local before = #out
    add_members(out, svc, docs, output, 1, { [output] = true })
    -- Results nest deeply (DescribeInstances); the top level is enough to find one's way.
    for i = #out, before + 1, -1 do
      if out[i]:find("^      ") then table.remove(out, i) end
    end
  else
    out[#out + 1] = "Returns: nothing (ResponseMetadata only)"
  end
  local extras = {}
  local pager = svc:paginator(op.name)
  if pager then
    extras[#extras + 1] = string.format("Paginated: client:paginate(%q, params) follows %s", op.name,
      table.concat(pager.input_token, ", "))
  end
  local waiters = waiters_of(svc)
  local wnames = {}
  for _, w in ipairs(sorted_keys(waiters)) do
    if waiters[w].operation == op.name then wnames[#wnames + 1] = w end
  end
  if #wnames > 0 then extras[#extras + 1] = "Waiters on it: " .. table.concat(wnames, ", ") end
  if #extras > 0 then
    out[#out + 1] = ""
    for _, e in ipairs(extras) do out[#out + 1] = e end
  end
  out[#out + 1] = ""
  local first = op.input and op.input.members and op.input.members[1]
  for _, ref in ipairs(op.input and op.input.members or {}) do
    if (op.input.required_set or {})[ref.name] then first = ref break end
  end
  out[#out + 1] = string.format('Call: aws.client("%s"):%s{ %s }', svc.name, op.name,
    first and (first.name .. " = ...") or "")
  if not has_docs then out[#out + 1] = "(no documentation installed for " .. svc.name .. ")" end
  return table.concat(out, "\n")
end

--- help.parameter_names(svc_or_name, op) -> sorted array of the operation's top-level
--- parameter names (for tab completion); {} when unknown. Never raises.
function M.parameter_names(service, op_name)
  local ok, names = pcall(function()
    local svc = type(service) == "table" and service or model.load(service)
    local op = svc:operation(op_name)
    local list = {}
    for _, ref in ipairs(op.input and op.input.members or {}) do list[#list + 1] = ref.name end
    table.sort(list)
    return list
  end)
  return ok and names or {}
end

--- help.services() -> sorted array of the service names luaws can load.
function M.services()
  if type(model.services) == "function" then
    local ok, names = pcall(model.services)
    if ok and type(names) == "table" then return names end
  end
  local path = package.searchpath("luaws.sdk.services.index", package.path)
  local index = path and loadfile(path, "t", {})
  local names = index and index() or {}
  local list = {}
  for _, n in ipairs(names) do list[#list + 1] = n end
  return list
end

--- help.data_version() -> the botocore version the shipped models were generated from (the
--- "from botocore X" in a model's header), or nil.
function M.data_version()
  local index = package.searchpath("luaws.sdk.services.index", package.path)
  if not index then return nil end
  local dir = index:match("^(.*)/[^/]+$")
  for _, name in ipairs(M.services()) do
    local f = io.open(dir .. "/" .. name .. ".lua")
    if f then
      local header = f:read("l") or ""
      f:close()
      local version = header:match("from botocore ([%w.]+)")
      if version then return version end
    end
  end
  return nil
end

--- help.text(target[, op]) -> the help text for what the REPL's help() and `luaws help` name:
--- "s3", "s3 PutObject", "s3.PutObject", ("s3", "PutObject"), a client (its service), a client
--- and an operation name, or an operation function taken from a client (s3.PutObject).
function M.text(target, op)
  if type(target) == "table" and type(target.service_name) == "string" then
    target = target.service_name
  elseif type(target) == "function" then
    local service
    service, op = require("luaws.sdk.client").operation_of(target)
    if not (service and op) then return nil, "not an operation of a client (try help \"s3 PutObject\")" end
    target = service
  end
  if type(target) ~= "string" then return nil, "help takes a service or operation name" end
  local service, rest = target:match("^%s*([%w%-_]+)[%s.:]+([%w_]+)%s*$")
  if service then target, op = service, rest end
  target = target:match("^%s*(.-)%s*$")
  if op then return M.operation(target, op) end
  return M.service(target)
end

return M
