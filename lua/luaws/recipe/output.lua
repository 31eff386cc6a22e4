-- output: a recipe's result on stdout for people: rows in text mode (`key: value`, one line per
-- record of a list), aligned columns with --output table. JSON is luaws.recipe.plan's.
local M = {}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  return keys
end

local function is_array(t)
  if type(t) ~= "table" or next(t) == nil then return false end
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #t
end

-- A scalar, or a short list of scalars, as one cell of text.
local function cell(v)
  if type(v) ~= "table" then return tostring(v) end
  if next(v) == nil then return "" end
  if is_array(v) then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = cell(x) end
    return table.concat(parts, ", ")
  end
  local parts = {}
  for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = tostring(k) .. "=" .. cell(v[k]) end
  return "{" .. table.concat(parts, " ") .. "}"
end

-- A list of records: an array whose items are all tables with string keys.
local function is_records(v)
  if not is_array(v) then return false end
  for _, item in ipairs(v) do
    if type(item) ~= "table" or is_array(item) or next(item) == nil then return false end
  end
  return true
end

-- The columns of a list of records: every field, in sorted order.
local function columns(records)
  local seen, cols = {}, {}
  for _, r in ipairs(records) do
    for k in pairs(r) do
      if not seen[k] then seen[k], cols[#cols + 1] = true, k end
    end
  end
  table.sort(cols, function(a, b) return tostring(a) < tostring(b) end)
  return cols
end

local function walk(value, prefix, on_scalar, on_records)
  if type(value) == "table" and next(value) == nil then return end -- nothing to show
  if type(value) ~= "table" or (is_array(value) and not is_records(value)) then
    on_scalar(prefix, value)
  elseif is_records(value) then
    on_records(prefix, value)
  else
    for _, k in ipairs(sorted_keys(value)) do
      walk(value[k], prefix == "" and tostring(k) or (prefix .. "." .. tostring(k)), on_scalar, on_records)
    end
  end
end

--- output.rows(result) -> text: "key: value" lines (nested keys joined with dots), and for a list
--- of records "key:" then one line per record, "field=value" pairs in column order.
function M.rows(result)
  if result == nil then return "" end
  local out = {}
  walk(result, "", function(key, v)
    out[#out + 1] = (key ~= "" and (key .. ": ") or "") .. cell(v)
  end, function(key, records)
    out[#out + 1] = (key ~= "" and key or "items") .. ": (" .. #records .. ")"
    local cols = columns(records)
    for _, r in ipairs(records) do
      local parts = {}
      for _, c in ipairs(cols) do
        if r[c] ~= nil then parts[#parts + 1] = tostring(c) .. "=" .. cell(r[c]) end
      end
      out[#out + 1] = "  " .. table.concat(parts, "  ")
    end
  end)
  return table.concat(out, "\n")
end

local function aligned(header, rows)
  local widths = {}
  for i, h in ipairs(header) do widths[i] = utf8.len(h) or #h end
  for _, row in ipairs(rows) do
    for i, v in ipairs(row) do widths[i] = math.max(widths[i], utf8.len(v) or #v) end
  end
  local function line(cells)
    local parts = {}
    for i, v in ipairs(cells) do
      parts[i] = i < #cells and (v .. string.rep(" ", widths[i] - (utf8.len(v) or #v))) or v
    end
    return table.concat(parts, "  ")
  end
  local rule = {}
  for i, w in ipairs(widths) do rule[i] = string.rep("-", w) end
  local out = { line(header), line(rule) }
  for _, row in ipairs(rows) do out[#out + 1] = line(row) end
  return table.concat(out, "\n")
end

--- output.table(result) -> text: the scalar fields as a KEY/VALUE table, then each list of
--- records as a table of its own (a column per field, a line per record) under its key.
function M.table(result)
  if result == nil then return "" end
  local scalars, tables = {}, {}
  walk(result, "", function(key, v)
    scalars[#scalars + 1] = { key ~= "" and key or "value", cell(v) }
  end, function(key, records)
    local cols = columns(records)
    local header, rows = {}, {}
    for i, c in ipairs(cols) do header[i] = tostring(c):upper() end
    for _, r in ipairs(records) do
      local row = {}
      for i, c in ipairs(cols) do row[i] = r[c] == nil and "" or cell(r[c]) end
      rows[#rows + 1] = row
    end
    tables[#tables + 1] = (key ~= "" and (key .. ":\n") or "") .. aligned(header, rows)
  end)
  local out = {}
  if #scalars > 0 then out[#out + 1] = aligned({ "KEY", "VALUE" }, scalars) end
  for _, t in ipairs(tables) do out[#out + 1] = t end
  return table.concat(out, "\n\n")
end

return M
