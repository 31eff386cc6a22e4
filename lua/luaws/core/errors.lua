-- errors: the one error shape luaws raises (AWS, validation and transport), printable on one line.
local M = {}

-- The metatable lives in the registry under "luaws.Error" so C code can give tables the same
-- identity with luaL_setmetatable(L, "luaws.Error"); whoever gets there first creates it.
local registry = debug.getregistry()
local mt = registry["luaws.Error"] or {}
registry["luaws.Error"] = mt
mt.__name = "luaws.Error"

local function one_line(s)
  return (tostring(s):gsub("[\r\n]+%s*", " "):gsub("%s+$", ""))
end

mt.__tostring = function(e)
  local parts = {}
  local where = {}
  if e.service then where[#where + 1] = tostring(e.service) end
  if e.operation then where[#where + 1] = tostring(e.operation) end
  if #where > 0 then parts[#parts + 1] = table.concat(where, " ") .. ": " end
  parts[#parts + 1] = tostring(e.code or "Error")
  if e.message and e.message ~= "" then parts[#parts + 1] = ": " .. one_line(e.message) end
  local detail = {}
  if e.status then detail[#detail + 1] = "HTTP " .. tostring(e.status) end
  if e.request_id then detail[#detail + 1] = "request " .. tostring(e.request_id) end
  if #detail > 0 then parts[#parts + 1] = " (" .. table.concat(detail, ", ") .. ")" end
  return table.concat(parts)
end

--- errors.new{code=, message=, status=, service=, operation=, request_id=, retryable=, ...}
-- Returns the fields table itself with the "luaws.Error" metatable (other fields are kept, e.g.
-- type="Sender" or exit=2). code defaults to "Error", retryable to false.
function M.new(fields)
  fields = fields or {}
  if type(fields) == "string" then fields = { message = fields } end
  fields.code = fields.code or "Error"
  if fields.retryable == nil then fields.retryable = false end
  return setmetatable(fields, mt)
end

--- errors.raise(fields, level): raises errors.new(fields); level is accepted for symmetry with
-- error() (tables carry no position, so it only matters if a caller passes a string).
function M.raise(fields, level)
  error(M.new(fields), (level or 1) + 1)
end

--- errors.is_error(v) -> true when v is a luaws error table.
function M.is_error(v)
  return type(v) == "table" and getmetatable(v) == mt
end

--- errors.is(e, code, ...) -> true when e is a luaws error whose code is one of the codes given
-- (or any luaws error when no code is given).
function M.is(e, ...)
  if not M.is_error(e) then return false end
  local n = select("#", ...)
  if n == 0 then return true end
  for i = 1, n do
    if e.code == select(i, ...) then return true end
  end
  return false
end

--- errors.summary(e) -> "Code: message" for an error table, tostring(e) for anything else, on
-- one line (line breaks become spaces): the short form for tables and lists of findings, where
-- the service, status and request id that tostring(e) adds are shown apart or not wanted.
function M.summary(e)
  local text = tostring(e)
  if type(e) == "table" then text = (e.code and (e.code .. ": ") or "") .. tostring(e.message or "") end
  return (text:gsub("[\r\n]+", " "))
end

--- errors.wrap(v, fields) -> a luaws error: v itself if it is one, a table like
-- {code=, message=, retryable=} (from luaws.http) given the metatable, or a string wrapped as
-- {code="Error", message=v}; fields (service=, operation=, ...) fill in what is missing.
function M.wrap(v, fields)
  local e
  if M.is_error(v) then
    e = v
  elseif type(v) == "table" then
    e = M.new(v)
  else
    e = M.new({ message = tostring(v) })
  end
  for k, x in pairs(fields or {}) do
    if e[k] == nil then e[k] = x end
  end
  return e
end

M.metatable = mt
return M
