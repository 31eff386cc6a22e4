-- scriptargs: aws.args, command-line arguments for plain scripts with the same declarations,
-- types and one-line errors as recipe arguments (luaws.recipe.args), without writing a recipe.
local args = require "luaws.recipe.args"

local M = {}

local function usage_text(specs, opts)
  local lines = { "usage: " .. (opts.usage or ("luaws " .. (opts.script or "SCRIPT") .. " [--NAME VALUE ...]")) }
  if opts.description then lines[#lines + 1] = "" lines[#lines + 1] = opts.description end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "arguments:"
  local width = 0
  for _, spec in ipairs(specs) do width = math.max(width, #spec.name + 2) end
  for _, spec in ipairs(specs) do
    local need = spec.required and "required" or (spec.default ~= nil and ("default: " .. tostring(
      type(spec.default) == "table" and table.concat(spec.default, ",") or spec.default)) or "optional")
    lines[#lines + 1] = string.format("  %-" .. width .. "s  %s, %s%s", "--" .. spec.name,
      args.describe_type(spec), need, spec.help and ("  " .. spec.help) or "")
  end
  return table.concat(lines, "\n")
end

-- A declaration made complete: type "string" unless given, "enum(a|b)" expanded. Unlike a
-- recipe's, any name goes (a script may take --profile) and help is optional.
local function normalise(spec, i)
  local where = "aws.args argument " .. i
  if type(spec) ~= "table" or type(spec.name) ~= "string" or not spec.name:find("^[%w][%w%-_]*$") then
    error(where .. ": needs a name (letters, digits, '-')", 3)
  end
  local s = {}
  for k, v in pairs(spec) do s[k] = v end
  s.type = s.type or "string"
  local enum = s.type:match("^enum%((.*)%)$")
  if enum then
    s.type, s.values = "enum", {}
    for v in enum:gmatch("[^|,%s]+") do s.values[#s.values + 1] = v end
  end
  if not args.types[s.type] then error(string.format("%s ('%s'): unknown type '%s'", where, s.name, s.type), 3) end
  return s
end

--- scriptargs.parse(specs, argv[, opts]) -> values keyed by argument name (and snake_case), as a
--- recipe's ctx.args. specs: an array of recipe argument declarations ({name=, type=, required=,
--- default=, values=, help=}; type defaults to "string"). argv: the script's arguments (default
--- the global `arg`). opts: {description=, usage=}. --help prints the usage and exits 0; a bad
--- argument raises a usage error (one line, exit 2) naming it and close names.
function M.parse(specs, argv, opts)
  opts = opts or {}
  argv = argv or _G.arg or {}
  local by_name, names, normalised = {}, {}, {}
  for i, spec in ipairs(specs) do
    spec = normalise(spec, i)
    normalised[i] = spec
    by_name[spec.name], names[#names + 1] = spec, spec.name
  end
  specs = normalised
  opts.script = opts.script or (argv[0] and tostring(argv[0]))
  local given = {}
  local i = 1
  while i <= #argv do
    local token = argv[i]
    if token == "--help" or token == "-h" then
      io.stdout:write(usage_text(specs, opts), "\n")
      os.exit(0)
    end
    local name, inline = token:match("^%-%-([^=]+)=(.*)$")
    name = name or token:match("^%-%-(.+)$")
    if not name then
      error(args.usage_error(string.format("unexpected argument '%s' (arguments are --name value pairs; --help)",
        token)), 0)
    end
    local spec, negated = by_name[name], false
    if not spec and name:find("^no%-") and by_name[name:sub(4)] and by_name[name:sub(4)].type == "boolean" then
      spec, negated = by_name[name:sub(4)], true
    end
    if not spec then
      error(args.usage_error(string.format("unknown argument --%s%s (--help lists them)", name,
        args.did_you_mean(name, names, "--"))), 0)
    end
    local value
    if spec.type == "boolean" then
      value = inline or not negated
    else
      value = inline
      if value == nil then
        i = i + 1
        value = argv[i]
        if value == nil then
          error(args.usage_error(string.format("--%s needs a value (%s)", spec.name, args.describe_type(spec))), 0)
        end
      end
    end
    if given[spec.name] ~= nil and spec.type == "list" then value = given[spec.name] .. "," .. value end
    given[spec.name] = value
    i = i + 1
  end
  return args.resolve(specs, given, opts.script)
end

return M
