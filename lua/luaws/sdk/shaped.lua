-- sdk.shaped: marks a parsed result's lists and structures by its model shape, for JMESPath.
--
-- The protocol parsers return plain tables, where an empty list and an empty structure look
-- alike ({}); JMESPath (waiter acceptors, paginator keys) must tell them apart as botocore does
-- ([{}] flattens to [{}], [[]] to []). mark() sets luaws.core.jmespath's array/object
-- metatables in place; the values themselves are untouched.
local jmespath = require "luaws.core.jmespath"

local M = {}

local ARRAY_MT, OBJECT_MT = getmetatable(jmespath.array()), getmetatable(jmespath.object())

local function mark(shape, v)
  if type(v) ~= "table" or type(shape) ~= "table" or getmetatable(v) ~= nil then return end
  local t = shape.type
  if t == "structure" then
    setmetatable(v, OBJECT_MT)
    for _, ref in ipairs(shape.members or {}) do
      local x = rawget(v, ref.name)
      if type(x) == "table" then mark(ref.shape, x) end
    end
  elseif t == "list" then
    setmetatable(v, ARRAY_MT)
    local member = shape.member and shape.member.shape
    for i = 1, rawlen(v) do mark(member, v[i]) end
  elseif t == "map" then
    setmetatable(v, OBJECT_MT)
    local value = shape.value and shape.value.shape
    for _, x in pairs(v) do mark(value, x) end
  end
end

--- mark(shape, result) -> result, its lists and structures/maps (per the model shape, a luaws.sdk.model
--- structure such as op.output) marked as JMESPath arrays and objects, in place. Tables that
--- already have a metatable, and members the shape does not describe, are left as they are.
function M.mark(shape, result)
  mark(shape, result)
  return result
end

--- mark_output(service, op_name, result) -> result marked by the operation's output shape
--- (result unchanged when the model has no such operation or output).
function M.mark_output(service, op_name, result)
  local ok, op = pcall(service.operation, service, op_name)
  if ok and type(op) == "table" and op.output then mark(op.output, result) end
  return result
end

return M
