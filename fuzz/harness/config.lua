-- harness/config: the shared config/credentials INI parser and profile resolution under fuzz.
-- Fuzz bytes become both files; every profile found is resolved. Errors must be one-line
-- ConfigParseError/InvalidRegion/... tables with exit 2 that never quote the offending line.
local config = require "luaws.sdk.config"
local oracle = require "oracle"

local config_path, credentials_path

local RESOLVE_CODES = { "InvalidRegion", "InvalidConfiguration", "ProfileNotFound", "ConfigParseError" }

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- The fixed wording of parse errors: a value that happens to spell part of it is no leak.
local FIXED_WORDING = "a setting before any [section] header | expected 'key = value' lines under a nested"
  .. " setting | duplicate section [] | duplicate key in [] | section header is missing its closing ']'"
  .. " (write [profile NAME])"

-- A parse error names "path:N:"; the message must not carry line N's value (it may be a secret).
local function check_quotes_nothing(err, data)
  local lineno = tonumber(err.message:match("^fuzz:(%d+): "))
  if not lineno then oracle.fail("ConfigParseError without a line number: %s", err.message) end
  local line = oracle.lines(data)[lineno]
  if line == nil then oracle.fail("ConfigParseError names line %d of %d", lineno, #oracle.lines(data)) end
  -- A section header, even an unclosed one, is named on purpose ("duplicate section [x]"); only
  -- settings hold secrets.
  local value = not line:match("^%s*%[") and line:match("[=:]%s*(.-)%s*$")
  -- Section names are not secrets, and a fuzzed one may well spell the value: leave them out.
  local rest = err.message:gsub("^fuzz:%d+: ", ""):gsub(" in %[.*%]$", "")
  if value and #value >= 8 and rest:find(value, 1, true) and not FIXED_WORDING:find(value, 1, true) then
    oracle.fail("ConfigParseError quotes the value on line %d: %s", lineno, err.message)
  end
end

local function check_sections(sections)
  if type(sections) ~= "table" then oracle.fail("parse_ini returned a %s", type(sections)) end
  for name, values in pairs(sections) do
    if type(name) ~= "string" or type(values) ~= "table" then
      oracle.fail("parse_ini: bad section %s", tostring(name))
    end
    for key, value in pairs(values) do
      if type(key) ~= "string" or key ~= key:lower() then oracle.fail("parse_ini: bad key %q", tostring(key)) end
      if type(value) ~= "string" and type(value) ~= "table" then
        oracle.fail("parse_ini: key %q holds a %s", key, type(value))
      end
    end
  end
end

return {
  --- setup(dir): the harness writes its two files under dir.
  setup = function(dir)
    config_path, credentials_path = dir .. "/config", dir .. "/credentials"
    config.set_env { AWS_CONFIG_FILE = config_path, AWS_SHARED_CREDENTIALS_FILE = credentials_path,
                     HOME = dir }
  end,
  run = function(data)
    local ok, sections = pcall(config.parse_ini, data, "fuzz")
    if not ok then
      check_quotes_nothing(oracle.expect_error("config.parse_ini", sections, { "ConfigParseError" }, 2), data)
      return
    end
    check_sections(sections)
    write(config_path, data)
    write(credentials_path, data)
    config.reload()
    local fok, files = pcall(config.files)
    if not fok then oracle.fail("config.files raised on text parse_ini accepted: %s", tostring(files)) end
    local names = {}
    for name in pairs(files.config.profiles) do names[#names + 1] = name end
    for name in pairs(files.credentials.profiles) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local rok, resolved = pcall(config.resolve, { profile = name })
      if rok then
        if resolved.region ~= nil and not resolved.region:match("^[a-z0-9-]+$") then
          oracle.fail("config.resolve accepted region %q", resolved.region)
        end
        if math.type(resolved.max_attempts) ~= "integer" or resolved.max_attempts < 1 then
          oracle.fail("config.resolve gave max_attempts %s", tostring(resolved.max_attempts))
        end
        config.service_setting(resolved.settings, "KMS", "endpoint_url")
      else
        oracle.expect_error("config.resolve", resolved, RESOLVE_CODES, 2)
      end
    end
  end,
}
