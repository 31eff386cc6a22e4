-- cli: the recipe commands `luaws run | list | help` and the global options around them.
local args = require "luaws.recipe.args"
local plan = require "luaws.recipe.plan"
local json = require "luaws.core.json"
local output = require "luaws.recipe.output"
local recipe = require "luaws.recipe"

local M = {}

local USAGE = [[
usage: luaws [options] run RECIPE [--ARG VALUE | --ARG=VALUE ...] [--apply]
       luaws [options] list
       luaws help [RECIPE]
       luaws help SERVICE [OPERATION]  (a service's operations; an operation's parameters)
       luaws help services             (the services built in)
       luaws test FILE|DIR ...       (test recipes on a local cloud; `luaws help test`)
       luaws sso login [--profile NAME | --sso-session NAME] [--use-device-code] | sso logout

options (before or after the recipe name):
  --profile NAME       AWS profile for the recipe's clients (default: the usual AWS resolution)
  --region REGION      AWS region
  --endpoint-url URL   send every call to this endpoint (a local cloud, for instance)
  --output text|json|table  text: the result as rows; json: one machine-readable object on
                       stdout, everything else on stderr; table: the result as aligned columns
  --apply              make the changes a mutating recipe plans (without it nothing is changed)
  --debug              log requests (secrets redacted) and show tracebacks

exit status: 0 done or nothing to do, 1 the recipe found a problem or failed, 2 bad usage or input]]

-- Global options: whether each takes a value.
local GLOBALS = { profile = true, region = true, ["endpoint-url"] = true, output = true,
                  apply = false, debug = false, help = false }
local GLOBAL_NAMES = {}
for name in pairs(GLOBALS) do GLOBAL_NAMES[#GLOBAL_NAMES + 1] = name end
table.sort(GLOBAL_NAMES)

local function usage(message, code) return args.usage_error(message, code or "Usage") end

local function stdout(text) io.stdout:write(text, "\n") io.stdout:flush() end
local function stderr(text) io.stderr:write(text, "\n") io.stderr:flush() end

-- Checks that a profile named on the command line exists, when the config module is there to ask.
local function check_profile(aws, option, name)
  if type(aws.profile) ~= "function" then return end
  local found, err = pcall(aws.profile, name)
  if not found then
    local message = type(err) == "table" and (err.message or tostring(err)) or tostring(err)
    error(usage(string.format("--%s: %s", option, message), "ProfileNotFound"), 0)
  end
end

local function set_global(globals, name, value)
  if name == "output" then
    args.convert({ name = "output", type = "enum", values = { "text", "json", "table" } }, value)
  elseif name == "region" then
    args.convert({ name = "region", type = "region" }, value)
  elseif name == "profile" then
    args.convert({ name = "profile", type = "profile" }, value)
  end
  globals[name] = value
end

-- Splits argv into global options and the rest: command, recipe name, and the recipe's argument
-- tokens. Global options are recognised anywhere; recipe arguments only after the recipe name.
local function split_argv(argv)
  local globals = { output = "text" }
  local command, name, tokens = nil, nil, {}
  local i = 1
  while i <= #argv do
    local token = argv[i]
    local option, inline = token:match("^%-%-([^=]+)=(.*)$")
    option = option or token:match("^%-%-(.+)$")
    if token == "-h" then option = "help" end
    if option and GLOBALS[option] ~= nil then
      if GLOBALS[option] then
        local value = inline
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil or value:find("^%-%-") then error(usage("--" .. option .. " needs a value"), 0) end
        end
        set_global(globals, option, value)
      else
        if inline ~= nil then error(usage("--" .. option .. " takes no value"), 0) end
        globals[option] = true
      end
    elseif command == nil then
      if option then
        error(usage(string.format("unknown option --%s%s", option,
                                  args.did_you_mean(option, GLOBAL_NAMES, "--"))), 0)
      end
      command = token
    elseif name == nil and (command == "run" or command == "help") then
      if option then
        error(usage(string.format("unknown option --%s before the recipe name (recipe arguments go after it)",
                                  option)), 0)
      end
      name = token
    else
      tokens[#tokens + 1] = token
      if option and inline == nil and argv[i + 1] and not argv[i + 1]:find("^%-%-") then
        -- The value of a recipe argument; which arguments take values is known only once the recipe
        -- is loaded, so the pair is kept together here.
        tokens[#tokens + 1] = argv[i + 1]
        i = i + 1
      end
    end
    i = i + 1
  end
  return globals, command, name, tokens
end

-- Parses recipe argument tokens against the recipe's specs -> {name = raw value}.
local function parse_recipe_args(r, tokens)
  local specs, names = {}, {}
  for _, spec in ipairs(r.args) do specs[spec.name] = spec; names[#names + 1] = spec.name end
  local given = {}
  local i = 1
  while i <= #tokens do
    local token = tokens[i]
    local name, inline = token:match("^%-%-([^=]+)=(.*)$")
    name = name or token:match("^%-%-(.+)$")
    if not name then
      error(usage(string.format("unexpected argument '%s' (recipe %s takes --name value pairs)", token, r.name)), 0)
    end
    local spec = specs[name]
    local negated = false
    if not spec and name:find("^no%-") and specs[name:sub(4)] and specs[name:sub(4)].type == "boolean" then
      spec, negated = specs[name:sub(4)], true
    end
    if not spec then
      local all = {}
      for _, n in ipairs(names) do all[#all + 1] = n end
      for _, n in ipairs(GLOBAL_NAMES) do all[#all + 1] = n end
      error(usage(string.format("unknown argument --%s for recipe %s%s", name, r.name,
                                args.did_you_mean(name, all, "--")), "UnknownArgument"), 0)
    end
    local value
    if spec.type == "boolean" then
      if negated and inline ~= nil then error(usage("--" .. name .. " takes no value"), 0) end
      value = inline or not negated
      -- A bare flag never swallows the next token; give it back if split_argv paired them.
      if inline == nil and tokens[i + 1] and not tokens[i + 1]:find("^%-%-") then
        error(usage(string.format("unexpected argument '%s' (--%s is a flag and takes no value)",
                                  tokens[i + 1], spec.name)), 0)
      end
    else
      value = inline
      if value == nil then
        i = i + 1
        value = tokens[i]
        if value == nil or value:find("^%-%-") then
          error(usage(string.format("--%s needs a value (%s)", spec.name, args.describe_type(spec))), 0)
        end
      end
    end
    if given[spec.name] ~= nil then
      if spec.type ~= "list" then error(usage("--" .. spec.name .. " given twice"), 0) end
      value = given[spec.name] .. "," .. value
    end
    given[spec.name] = value
    i = i + 1
  end
  return given
end

local function pad(s, n) return s .. string.rep(" ", n - utf8.len(s)) end

-- An example command line built from the metadata: every required argument with a typical value.
local function example_lines(r)
  local lines = {}
  local base = { "luaws run " .. r.name }
  for _, spec in ipairs(r.args) do
    if spec.required then
      local value = spec.example or args.types[spec.type].example(spec)
      base[#base + 1] = "--" .. spec.name .. (value and (" " .. value) or "")
    end
  end
  local cmd = table.concat(base, " ")
  lines[#lines + 1] = cmd .. (r.mutating and "            # plan: shows the changes, makes none" or "")
  if r.mutating then lines[#lines + 1] = cmd .. " --apply    # makes them" end
  for _, e in ipairs(r.examples) do lines[#lines + 1] = "luaws run " .. r.name .. " " .. e end
  return lines
end

--- cli.render_help(r) -> the text of `luaws help RECIPE`.
function M.render_help(r)
  local out = {}
  out[#out + 1] = string.format("%s  [%s]  (%s: %s)", r.name, table.concat(r.categories, ", "), r.origin, r.path)
  out[#out + 1] = ""
  out[#out + 1] = (r.description:gsub("%s+$", ""))
  out[#out + 1] = ""
  if #r.args == 0 then
    out[#out + 1] = "Arguments: none"
  else
    out[#out + 1] = "Arguments:"
    local rows, widths = {}, { 0, 0, 0 }
    for _, spec in ipairs(r.args) do
      local need
      if spec.required then need = "required"
      elseif spec.default ~= nil then
        local d = spec.default
        if type(d) == "table" then d = table.concat(d, ",") end
        need = "default: " .. tostring(d)
      else need = "optional" end
      local row = { "--" .. spec.name, args.describe_type(spec), need, spec.help }
      for c = 1, 3 do widths[c] = math.max(widths[c], utf8.len(row[c])) end
      rows[#rows + 1] = row
    end
    for _, row in ipairs(rows) do
      out[#out + 1] = "  " .. pad(row[1], widths[1]) .. "  " .. pad(row[2], widths[2]) .. "  "
        .. pad(row[3], widths[3]) .. "  " .. row[4]
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = "Example:"
  for _, line in ipairs(example_lines(r)) do out[#out + 1] = "  " .. line end
  if r.mutating then
    out[#out + 1] = ""
    out[#out + 1] = "This recipe changes AWS resources. Without --apply it only reads and prints its plan."
  end
  out[#out + 1] = "Global options: --profile --region --endpoint-url --output text|json|table --apply --debug"
  return table.concat(out, "\n")
end

local function cmd_list(globals)
  local rows = {}
  for _, entry in ipairs(recipe.catalog()) do
    local ok, r = pcall(recipe.load, entry)
    if ok then
      rows[#rows + 1] = { name = r.name, categories = r.categories, summary = r.summary, origin = entry.origin,
                          path = entry.path, shadows = entry.shadows }
    else
      rows[#rows + 1] = { name = entry.name, categories = {}, origin = entry.origin, path = entry.path,
                          shadows = entry.shadows, broken = tostring(type(r) == "table" and r.message or r) }
    end
  end
  if globals.output == "json" then
    local list = json.array()
    for _, row in ipairs(rows) do
      list[#list + 1] = { name = row.name, categories = json.array(row.categories), summary = row.summary,
                          origin = row.origin, path = row.path, shadows = json.array(row.shadows),
                          broken = row.broken }
    end
    stdout(json.encode(list))
    return 0
  end
  if #rows == 0 then
    stderr("No recipes found. Searched:")
    for _, d in ipairs(recipe.search_path()) do stderr("  " .. d.dir .. " (" .. d.origin .. ")") end
    return 0
  end
  local w1, w2 = 4, 10
  for _, row in ipairs(rows) do
    w1 = math.max(w1, utf8.len(row.name))
    w2 = math.max(w2, utf8.len(table.concat(row.categories, ",")))
  end
  for _, row in ipairs(rows) do
    local summary = row.broken and ("(broken: " .. row.broken .. ")") or row.summary
    local where = row.origin .. (#row.shadows > 0 and (", shadows " .. #row.shadows) or "")
    stdout(string.format("%s  %s  %s  [%s]", pad(row.name, w1), pad(table.concat(row.categories, ","), w2),
                         summary, where))
  end
  return 0
end

local TEST_USAGE = [[
usage: luaws test FILE|DIR ... [--in-process]

Runs recipe tests: Lua files (a DIR means every *_test.lua inside, sorted), each in its own luaws
process with its own temporary folder for backups and state files, then prints
"N passed, N failed" over all files. Exit status: 0 when every case passed, 1 otherwise, 2 on bad
usage. --in-process runs a single FILE in this process (no isolation; for debugging).

A test file gets `aws` and `testkit` (also `require "luaws.testkit"`):

  local testkit = require "luaws.testkit"
  local cloud = testkit.cloud { seed = { role_suffix = "web" } }  -- local cloud, blog scenario
  testkit.case("plan first", function()
    local report = cloud:run("cross-account-ami-asg",
      { ["source-profile"] = "source", ["target-profile"] = "target", ["asg-name"] = "web-asg" })
    testkit.eq(report.status, "planned")
  end)

testkit.cloud{seed=, auth=, region=} starts localcloud/serve.py (python3 with moto), seeds the
two-account blog scenario (profiles "source" = account A, "target" = account B), turns signature
checking on and points the AWS config at those profiles; it stops when the file ends.
cloud:run(recipe, args, {apply=, output=, profile=}) runs a recipe as `luaws run` does and returns
its report {status=, exit=, plan=, result=, error=, text=, log=}; cloud:client(service, profile);
cloud:reconcile(group) retries Auto Scaling launches now.
Assertions: testkit.case(name, fn), eq, same (deep), ok, match (Lua pattern), raises.
See "Testing your recipe" in docs/recipes.md.]]

-- `luaws help NAME [OPERATION]`: a recipe, else a service (its operations, paginators and
-- waiters), or with OPERATION the operation's parameters: aws.commands.help renders those from
-- the models, above the recipe floor.
local function cmd_help(aws, name, tokens)
  if not name then stdout(USAGE) return 0 end
  if name == "test" and #tokens == 0 then stdout(TEST_USAGE) return 0 end
  if #tokens > 1 then
    error(usage("unexpected argument '" .. tokens[2] .. "' after help " .. name .. " " .. tokens[1]), 0)
  end
  local help = aws and aws.commands and aws.commands.help
  if #tokens == 1 then
    if not help then error(usage("no service models to describe " .. name .. " " .. tokens[1]), 0) end
    local ok, text = pcall(help, name, tokens[1])
    if not ok then
      error(usage(type(text) == "table" and tostring(text.message or text) or tostring(text), "UnknownName"), 0)
    end
    stdout(text)
    return 0
  end
  local found, entry = pcall(recipe.find, name)
  if not found and help then
    local ok, text = pcall(help, name)
    if ok then stdout(text) return 0 end
  end
  if not found then error(entry, 0) end
  stdout(M.render_help(recipe.load(entry)))
  return 0
end

-- One line for an error value: error tables print through their __tostring, plain ones as
-- "Code: message", strings as they are; anything after a newline is left to --debug.
local function one_line(e)
  local s
  local mt = type(e) == "table" and getmetatable(e)
  if type(e) == "table" and e.code == "RecipeFailed" and e.message then
    s = tostring(e.message)
  elseif mt and mt.__tostring then
    s = tostring(e)
  elseif type(e) == "table" and e.message then
    s = (e.code and (e.code .. ": ") or "") .. tostring(e.message)
  else
    s = tostring(e)
  end
  return (s:gsub("\n.*", ""))
end

--- cli.execute(r, tokens, globals[, log]) -> report: what `luaws run` does between loading recipe r
--- and printing: parses the argument tokens ({"--name", "value", "--flag", ...}), checks named
--- profiles, and runs r through recipe.execute with the global options (globals: profile=, region=,
--- ["endpoint-url"]=, output=, apply=, debug=). log(line) receives progress lines (default: stderr).
--- `luaws test` runs recipes through here too, so a tested recipe runs as `luaws run` runs it.
function M.execute(r, tokens, globals, log, aws)
  aws = aws or {}
  local given = parse_recipe_args(r, tokens)
  local values = args.resolve(r.args, given, r.name)
  if globals.profile then check_profile(aws, "profile", globals.profile) end
  for _, spec in ipairs(r.args) do
    if spec.type == "profile" and given[spec.name] then check_profile(aws, spec.name, values[spec.name]) end
  end
  if globals.apply and not r.mutating then
    local say = log or stderr
    say(string.format("luaws: %s is read-only; --apply changes nothing", r.name))
  end
  return recipe.execute(r, {
    args = values, apply = globals.apply, profile = globals.profile, region = globals.region,
    endpoint_url = globals["endpoint-url"], output = globals.output or "text", debug = globals.debug,
    traceback = globals.debug, log = log, aws = aws,
  })
end

local function cmd_run(aws, globals, name, tokens)
  if not name then error(usage("run needs a recipe name (`luaws list` shows them)"), 0) end
  local r = recipe.load(recipe.find(name))
  if globals.help then stdout(M.render_help(r)) return 0 end
  local report = M.execute(r, tokens, globals, nil, aws)
  if r.mutating and (#report.plan > 0 or report.status ~= "failed") then stderr(plan.render(report)) end
  if report.status == "failed" then
    local line = one_line(report.raw_error)
    -- Errors that already name the recipe file ("recipe foo.lua:12: ...") need no second prefix.
    stderr("luaws: " .. (line:find("^recipe ") and "" or (r.name .. ": ")) .. line)
    if report.traceback then stderr(report.traceback) end
  end
  if globals.output == "json" then
    local ok, text = pcall(plan.report_json, report)
    if not ok then
      -- A result that JSON cannot carry (a function, a cycle) is the recipe's bug: say so, exit 1.
      report.result, report.status, report.exit = nil, "failed", 1
      report.error = { code = "BadResult", message = "the recipe's result is not JSON: " .. tostring(text) }
      stderr("luaws: " .. r.name .. ": " .. report.error.message)
      text = plan.report_json(report)
    end
    stdout(text)
  elseif globals.output == "table" then
    -- The whole result, as with json: a table is for reading the data itself.
    local text = output.table(report.result)
    if text ~= "" then stdout(text) end
  elseif report.result_text ~= false then
    local shown = report.result
    if type(report.result_text) == "table" then shown = report.result_text end
    local text = output.rows(shown)
    if text ~= "" then stdout(text) end
  end
  return report.exit
end

--- cli.main(argv, aws) -> exit code. argv holds the words after the program name, from the first
--- option or command on (`run NAME ...`, `list`, `help [NAME]`, `test ...`, `sso ...`); aws is the
--- library the host hands down (recipes get it; `luaws test` and `luaws sso` are its
--- aws.commands.test and aws.commands.sso). Bad usage raises an error table with exit = 2, which
--- the host prints as one line.
function M.main(argv, aws)
  aws = aws or {}
  local globals, command, name, tokens = split_argv(argv)
  if globals.debug then
    require("luaws.host").debug(true)
    if type(aws.debug) == "function" then aws.debug(true) end
  end
  if command == nil then
    if globals.help then stdout(USAGE) return 0 end
    error(usage("no command given: run RECIPE, list, help [RECIPE] or test FILE"), 0)
  end
  if command == "test" then
    if globals.help then stdout(TEST_USAGE) return 0 end
    if not (aws.commands and aws.commands.test) then error(usage("this luaws cannot run tests"), 0) end
    return aws.commands.test(tokens, globals)
  end
  if command == "help" then return cmd_help(aws, name, tokens) end
  if globals.help and command == "run" and name then return cmd_help(aws, name, {}) end
  if command == "list" then
    if name or #tokens > 0 then error(usage("list takes no arguments"), 0) end
    return cmd_list(globals)
  end
  if command == "run" then return cmd_run(aws, globals, name, tokens) end
  if command == "sso" then
    if not (aws.commands and aws.commands.sso) then error(usage("this luaws cannot sign in"), 0) end
    return aws.commands.sso(tokens, globals)
  end
  local commands = { "run", "list", "help", "test", "repl", "sso" }
  local close = args.did_you_mean(command, commands)
  if close == "" and not command:find("[/.]") then
    -- Not close to a command: what was meant was a script (main.c sends a name that is no file).
    error(usage(string.format("'%s' is neither a script nor a command (commands: %s; see luaws --help)",
                              command, table.concat(commands, ", ")), "NoSuchScript"), 0)
  end
  error(usage(string.format("unknown command '%s'%s; no script of that name either", command, close)), 0)
end

return M
