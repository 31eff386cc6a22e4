-- rulesets: endpoint rule sets for tests, read from the installed botocore (never committed).
local cjson = require "cjson"

local M = {}

local function strip(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == cjson.null then v[k] = nil else strip(x) end
  end
  return v
end

--- rulesets.botocore(name, ...) -> {name = ruleset, ...} decoded from botocore's data (JSON nulls
--- removed, as in the generated models), or nil when python3 or botocore is missing.
function M.botocore(...)
  local source = os.getenv("LUAWS_SOURCE_DIR") or "."
  local cmd = { "python3", source .. "/tests/support/dump_ruleset.py", ... }
  for i, part in ipairs(cmd) do cmd[i] = "'" .. part:gsub("'", "'\\''") .. "'" end
  local pipe = io.popen(table.concat(cmd, " ") .. " 2>/dev/null")
  if not pipe then return nil end
  local text = pipe:read("a")
  pipe:close()
  local ok, decoded = pcall(cjson.decode, text)
  if not ok or type(decoded) ~= "table" then return nil end
  return strip(decoded)
end

return M
