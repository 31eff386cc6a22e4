-- help: plain-text help for a service or an operation from its model and docs (the REPL's aws.help).
local model = require "luaws.sdk.model"

local M = {}

-- "string", "list of Tag", "map of string to string", "Filter" (a structure), ...
local function type_name(ref)
  local shape = ref.shape
  if shape.type == "list" then return "list of " .. type_name(shape.member) end
  if shape.type == "map" then return "map of " .. type_name(shape.key) .. " to " .. type_name(shape.value) end
  if shape.type == "structure" then return shape.name end
  return shape.type
end

local function wrap_enum(values)
  local text = table.concat(values, ", ", 1, math.min(#values, 12))
  if #values > 12 then text = text .. ", ... (" .. #values .. " values)" end
  return text
end

-- The lines describing the members of a structure shape, with their docs.
local function members(lines, shape, docs)
  local shape_docs = docs.shapes[shape.name] or {}
  local member_docs = shape_docs.members or {}
  for _, ref in ipairs(shape.members) do
    local line = string.format("  %s%s (%s)", ref.name, shape.required_set[ref.name] and "*" or "", type_name(ref))
    if member_docs[ref.name] then line = line .. ": " .. member_docs[ref.name] end
    lines[#lines + 1] = line
    -- Scalars are inlined in the model; the docs name the enum shape (of a list's member too).
    local enum_shape = (shape_docs.member_shapes or {})[ref.name]
    if not enum_shape and ref.shape.type == "list" then
      enum_shape = (docs.shapes[ref.target] or {}).member_shape
    end
    local enum = enum_shape and (docs.shapes[enum_shape] or {}).enum
    if enum then lines[#lines + 1] = "      one of: " .. wrap_enum(enum) end
  end
end

--- help.text(service[, operation]) -> string: a service's operations with their first
--- sentences, or an operation's input members (* = required) with types, docs and enum values,
--- and its output members. Raises UnknownService / UnknownOperation with close names.
function M.text(service, operation)
  local svc = model.load(service)
  local docs = svc:docs()
  local lines = {}
  if operation == nil then
    lines[1] = string.format("%s (%s, API %s): %d operations", svc.name, svc.service_id,
                             svc.api_version, #svc:operation_names())
    for _, name in ipairs(svc:operation_names()) do
      local doc = docs.operations[name]
      lines[#lines + 1] = "  " .. name .. (doc and (": " .. doc) or "")
    end
    return table.concat(lines, "\n")
  end
  local op = svc:operation(operation)
  lines[1] = svc.name .. " " .. op.name .. (docs.operations[op.name] and (": " .. docs.operations[op.name]) or "")
  if op.deprecated then lines[#lines + 1] = "  (deprecated)" end
  lines[#lines + 1] = "Input" .. (op.input and " (* = required):" or ": none")
  if op.input then members(lines, op.input, docs) end
  lines[#lines + 1] = "Output" .. (op.output and ":" or ": none")
  if op.output then members(lines, op.output, docs) end
  if svc:paginator(op.name) then lines[#lines + 1] = "Pages: client:paginate(\"" .. op.name .. "\", params)" end
  return table.concat(lines, "\n")
end

return M
