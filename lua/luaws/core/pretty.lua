-- pretty: readable, bounded rendering of Lua values for the REPL and for debugging output.
local M = {}

local DEFAULTS = { indent = 2, max_items = 100, max_depth = 12, width = 80 }

local KEYWORDS = {}
for word in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[word] = true
end

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\v"] = "\\v" }

--- Quotes a string as a Lua literal; UTF-8 stays readable, other control bytes become \ddd.
function M.quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or string.format("\\%03d", c:byte())
  end) .. '"'
end

-- Sort rank of a key's type: numbers first, then strings, then everything else.
local TYPE_RANK = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ra, rb = TYPE_RANK[type(a)] or 4, TYPE_RANK[type(b)] or 4
  if ra ~= rb then return ra < rb end
  if ra <= 2 then return a < b end
  return tostring(a) < tostring(b)
end

-- tostring that never raises: a broken __tostring must not hide the value being inspected.
local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed>"
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

local function format_key(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  if type(k) == "string" then return "[" .. M.quote(k) .. "]" end
  if type(k) == "number" or type(k) == "boolean" then return "[" .. tostring(k) .. "]" end
  return "[" .. safe_tostring(k) .. "]"
end

local format_value

-- Renders a table's entries, inline when short enough, else one per line at `level`.
local function format_table(t, opts, level, on_path)
  if on_path[t] then return "<cycle>" end
  if level >= opts.max_depth then return "{...}" end
  local keys, count = {}, 0
  for k in next, t do
    count = count + 1
    keys[count] = k
  end
  if count == 0 then return "{}" end
  table.sort(keys, key_less)

  on_path[t] = true
  -- Keys 1..n (no gaps) print as a plain list, the way the table was most likely written.
  local sequence_end = 0
  while rawget(t, sequence_end + 1) ~= nil do sequence_end = sequence_end + 1 end
  local entries, shown = {}, math.min(count, opts.max_items)
  for i = 1, shown do
    local k = keys[i]
    local v = format_value(rawget(t, k), opts, level + 1, on_path)
    if math.type(k) == "integer" and k >= 1 and k <= sequence_end then
      entries[i] = v
    else
      entries[i] = format_key(k) .. " = " .. v
    end
  end
  on_path[t] = nil
  if count > shown then entries[#entries + 1] = string.format("... (%d more)", count - shown) end

  local inline = "{ " .. table.concat(entries, ", ") .. " }"
  local room = opts.width - level * opts.indent
  if #inline <= room and not inline:find("\n", 1, true) then return inline end
  local pad = string.rep(" ", (level + 1) * opts.indent)
  return "{\n" .. pad .. table.concat(entries, ",\n" .. pad) .. "\n"
    .. string.rep(" ", level * opts.indent) .. "}"
end

function format_value(v, opts, level, on_path)
  local kind = type(v)
  if kind == "string" then return M.quote(v) end
  if kind == "table" then
    if has_tostring(v) then return safe_tostring(v) end
    return format_table(v, opts, level, on_path)
  end
  return safe_tostring(v)
end

--- Renders any value as a string. opts: indent (spaces per level, 2), max_items (entries shown
--- per table before "... (N more)", 100), max_depth (nesting shown before "{...}", 12),
--- width (columns a table may take on one line, 80). Values with __tostring (error tables)
--- show as their tostring; tables met again while inside themselves show as <cycle>.
function M.format(value, opts)
  local o = {}
  for k, default in pairs(DEFAULTS) do
    o[k] = opts and opts[k] or default
  end
  return format_value(value, o, 0, {})
end

--- Writes each argument formatted on stdout: tab-separated when all fit on one line, else one
--- per line, like print does for plain values.
function M.print(...)
  local n = select("#", ...)
  local parts, multiline = {}, false
  for i = 1, n do
    parts[i] = M.format((select(i, ...)))
    multiline = multiline or parts[i]:find("\n", 1, true) ~= nil
  end
  io.stdout:write(table.concat(parts, multiline and "\n" or "\t"), "\n")
  io.stdout:flush()
end

return M
