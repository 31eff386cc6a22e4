-- recipe: finds, loads and validates recipe files, and runs one with its ctx (plan, clients, result).
local args = require "luaws.recipe.args"
local fs = require "luaws.fs"
local plan = require "luaws.recipe.plan"
local strict = require "luaws.recipe.strict"

local M = {}

local recipe_errors = require "luaws.recipe.errors"

local recipe_error = recipe_errors.new
M.error = recipe_error

-- Metadata fields a recipe may set, with their Lua type and whether they are required.
-- Modelled on nmap NSE scripts: description + categories + args + one entry point; unknown fields
-- are refused so a misspelt field name never goes silently unused.
M.FIELDS = {
  description = { type = "string", required = true },
  categories = { type = "table", required = true },
  args = { type = "table" },
  run = { type = "function", required = true },
  author = { type = "string" },
  license = { type = "string" },
  examples = { type = "table" },
}
M.SAFETY_CATEGORIES = { "mutating", "read-only" }

local function home() return os.getenv("HOME") or "" end

--- recipe.search_path() -> list of {dir=, origin=} in priority order: shipped recipes, ./recipes,
--- the user's recipes (~/.config/luaws/recipes), then each LUAWS_PATH folder's recipes/.
function M.search_path()
  local dirs = {}
  local ok, host = pcall(require, "luaws.host")
  if ok and host.data_dir then dirs[#dirs + 1] = { dir = host.data_dir .. "/recipes", origin = "shipped" } end
  dirs[#dirs + 1] = { dir = "./recipes", origin = "project" }
  local config_home = os.getenv("XDG_CONFIG_HOME")
  if not config_home or config_home == "" then config_home = home() .. "/.config" end
  dirs[#dirs + 1] = { dir = config_home .. "/luaws/recipes", origin = "user" }
  for entry in (os.getenv("LUAWS_PATH") or ""):gmatch("[^:]+") do
    dirs[#dirs + 1] = { dir = entry .. "/recipes", origin = "LUAWS_PATH" }
  end
  return dirs
end

-- Lists a folder's *.lua files with the folder's real path (to spot a folder reached twice).
local function scan_dir(dir)
  local real = fs.realpath(dir)
  local names = real and fs.list(real)
  if not names then return nil end
  local files = {}
  for _, name in ipairs(names) do
    if name:find("^[%w][%w_%-]*%.lua$") then files[#files + 1] = name end
  end
  return real, files
end

--- recipe.catalog() -> list of {name=, path=, origin=, dir=, shadows={paths}} sorted by name; the
--- first folder in the search path wins when two hold a recipe of the same name.
function M.catalog()
  local by_name, list, seen_dirs = {}, {}, {}
  for _, d in ipairs(M.search_path()) do
    local real, files = scan_dir(d.dir)
    if real and not seen_dirs[real] then
      seen_dirs[real] = true
      for _, file in ipairs(files) do
        local name = file:sub(1, -5)
        local path = real .. "/" .. file
        if by_name[name] then
          table.insert(by_name[name].shadows, path)
        else
          by_name[name] = { name = name, path = path, origin = d.origin, dir = real, shadows = {} }
          list[#list + 1] = by_name[name]
        end
      end
    end
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return list
end

local function file_exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

--- recipe.find(name_or_path) -> catalog entry {name=, path=, origin=}. A name containing "/" or
--- ending in ".lua" is a file path. Raises a usage error (exit 2) suggesting close names.
function M.find(name)
  if name:find("/") or name:find("%.lua$") then
    if not file_exists(name) then
      error(args.usage_error(string.format("recipe file '%s' does not exist", name), "UnknownRecipe"), 0)
    end
    local base = name:match("([^/]+)$"):gsub("%.lua$", "")
    return { name = base, path = name, origin = "file", shadows = {} }
  end
  local names = {}
  for _, entry in ipairs(M.catalog()) do
    if entry.name == name then return entry end
    names[#names + 1] = entry.name
  end
  error(args.usage_error(string.format("unknown recipe '%s'%s; `luaws list` shows them", name,
                                       args.did_you_mean(name, names)), "UnknownRecipe"), 0)
end

local function restricted_require(name)
  if type(name) == "string" and (name:find("^luaws%.") or name == "cjson" or name == "cjson.safe") then
    return require(name)
  end
  error(string.format("recipes may require only luaws.* modules and cjson, not '%s'", tostring(name)), 2)
end

local function no_aws_yet()
  error("aws clients are available only while the recipe runs (inside run(ctx))", 2)
end

-- A recipe file that cannot be used is bad input to luaws (exit 2), like a bad argument.
local function field_error(file, message)
  return recipe_error({ code = "InvalidRecipe", message = "recipe " .. file .. ": " .. message, exit = 2 }, true)
end

local function list_of_strings(v)
  if type(v) ~= "table" then return false end
  for k, x in pairs(v) do
    if math.type(k) ~= "integer" or type(x) ~= "string" then return false end
  end
  return #v > 0
end

--- recipe.validate(meta, file) -> meta, or raises {code="InvalidRecipe", message="recipe FILE: ..."}
--- naming the field that is missing, unknown or badly typed.
function M.validate(meta, file)
  if type(meta) ~= "table" then
    error(field_error(file, "must return a table (got " .. type(meta) .. ")"), 0)
  end
  local known = {}
  for name in pairs(M.FIELDS) do known[#known + 1] = name end
  for k in pairs(meta) do
    if not M.FIELDS[k] then
      error(field_error(file, string.format("unknown field '%s'%s", tostring(k),
                                            args.did_you_mean(tostring(k), known))), 0)
    end
  end
  for name, rule in pairs(M.FIELDS) do
    local v = meta[name]
    if v == nil and rule.required then
      error(field_error(file, string.format("missing field '%s' (a %s)", name, rule.type)), 0)
    end
    if v ~= nil and type(v) ~= rule.type then
      error(field_error(file, string.format("field '%s' must be a %s (got %s)", name, rule.type, type(v))), 0)
    end
  end
  if meta.description:match("^%s*$") then error(field_error(file, "field 'description' is empty"), 0) end
  if not list_of_strings(meta.categories) then
    error(field_error(file, "field 'categories' must be a non-empty list of strings"), 0)
  end
  local safety = {}
  for _, c in ipairs(meta.categories) do
    if not c:find("^[a-z][a-z0-9%-]*$") then
      error(field_error(file, string.format("category '%s' must be lowercase words joined by '-'", c)), 0)
    end
    if c == "mutating" or c == "read-only" then safety[#safety + 1] = c end
  end
  if #safety ~= 1 then
    error(field_error(file, "field 'categories' must contain exactly one of 'mutating' or 'read-only'"), 0)
  end
  if meta.examples ~= nil and not list_of_strings(meta.examples) then
    error(field_error(file, "field 'examples' must be a list of strings"), 0)
  end
  local seen = {}
  for i, spec in ipairs(meta.args or {}) do
    local ok, err = pcall(args.check_spec, spec, "args[" .. i .. "]")
    if not ok then error(field_error(file, tostring(err)), 0) end
    if seen[spec.name] then
      error(field_error(file, string.format("args[%d]: argument '%s' declared twice", i, spec.name)), 0)
    end
    seen[spec.name] = true
  end
  for k in pairs(meta.args or {}) do
    if math.type(k) ~= "integer" then error(field_error(file, "field 'args' must be a list of tables"), 0) end
  end
  return meta
end

--- recipe.load(entry) -> recipe {name=, path=, origin=, file=, summary=, description=, categories=,
--- args=, examples=, run=, mutating=, env=}. entry is a catalog entry or a path. Each load gets a
--- fresh strict environment; errors name the file (and line or field).
function M.load(entry)
  if type(entry) == "string" then entry = M.find(entry) end
  local file = entry.path:match("([^/]+)$")
  local f, open_err = io.open(entry.path, "r")
  if not f then error(field_error(file, tostring(open_err)), 0) end
  local source = f:read("a")
  f:close()
  local env = strict.environment { aws = setmetatable({}, { __index = no_aws_yet }), require = restricted_require }
  local chunk, load_err = load(source, "@recipe " .. file, "t", env)
  if not chunk then error(recipe_error({ code = "InvalidRecipe", message = load_err, exit = 2 }, true), 0) end
  local ok, meta = pcall(chunk)
  if not ok then
    local message = type(meta) == "table" and tostring(meta.message or meta) or tostring(meta)
    if not message:find("^recipe ") then message = "recipe " .. file .. ": " .. message end
    error(recipe_error({ code = "InvalidRecipe", message = message, exit = 2 }, true), 0)
  end
  M.validate(meta, file)
  local r = {
    name = entry.name, path = entry.path, origin = entry.origin, file = file, env = env,
    description = meta.description, summary = meta.description:match("^%s*([^\n]*)"),
    categories = meta.categories, args = meta.args or {}, examples = meta.examples or {},
    author = meta.author, license = meta.license, run = meta.run,
  }
  for _, c in ipairs(r.categories) do if c == "mutating" then r.mutating = true end end
  return r
end

local function backup_dir()
  local dir = os.getenv("LUAWS_BACKUP_DIR")
  if dir and dir ~= "" then return dir end
  local state = os.getenv("XDG_STATE_HOME")
  if not state or state == "" then state = home() .. "/.local/state" end
  return state .. "/luaws/backups"
end

local function cache_key(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  return table.concat(parts, "\0", 1, parts.n)
end

--- recipe.context(r, options) -> ctx for r.run. options: {args=<converted values>, apply=, profile=,
--- region=, endpoint_url=, output=, debug=, aws=<the aws library: the host hands it down>, log=<fn>}.
function M.context(r, options)
  local aws = options.aws or {}
  local the_plan = plan.new { apply = options.apply, mutating = r.mutating, recipe = r.name }
  local log = options.log or function(line) io.stderr:write(line, "\n") end
  local ctx = {
    recipe = r.name, args = options.args or {}, apply = options.apply and true or false,
    profile = options.profile, region = options.region, endpoint_url = options.endpoint_url,
    output = options.output or "text", debug = options.debug and true or false, plan = the_plan,
  }
  local clients = {}

  --- ctx.client(service[, {profile=, region=, endpoint_url=, ...}]) -> a client of `service` with the
  --- global options as defaults, guarded so it cannot change anything outside an applying plan step.
  function ctx.client(service, opts)
    opts = opts or {}
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    if o.profile == nil then o.profile = ctx.profile end
    if o.region == nil then o.region = ctx.region end
    if o.endpoint_url == nil then o.endpoint_url = ctx.endpoint_url end
    local key = cache_key(service, o.profile, o.region, o.endpoint_url, o.credentials, o.max_attempts)
    if not clients[key] then
      if type(aws.client) ~= "function" then
        error(recipe_error { code = "NoClient", message = "this luaws has no aws.client yet" }, 2)
      end
      local classify = aws.is_read_only and function(op) return aws.is_read_only(service, op) end
      clients[key] = plan.guard_client(aws.client(service, o), service, the_plan, classify)
    end
    return clients[key]
  end

  --- ctx.log(...) writes its arguments (tostring'd, space separated) as one line on stderr.
  function ctx.log(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    log(table.concat(parts, " ", 1, parts.n))
  end

  --- ctx.result(tbl[, {text=false}]) sets the machine-readable result (the last call wins).
  --- opts.text: what text mode prints on stdout instead of the whole result, for recipes whose
  --- log lines already tell a person the story: false (nothing) or a smaller table (a summary).
  --- --output json always carries the whole result.
  function ctx.result(tbl, opts)
    ctx._result = tbl
    if opts and opts.text ~= nil then ctx._result_text = opts.text else ctx._result_text = nil end
  end

  --- ctx.fail(message[, fields]) stops the recipe: it found a problem (exit 1).
  function ctx.fail(message, fields)
    local e = { code = "RecipeFailed", message = message, exit = 1 }
    for k, v in pairs(fields or {}) do e[k] = v end
    error(recipe_error(e), 2)
  end

  --- ctx.backup(name, content) -> path, written. Saves content under the backup folder
  --- ($LUAWS_BACKUP_DIR or ~/.local/state/luaws/backups/<recipe>/) only when applying; when planning
  --- it returns the path it would use and false.
  local backups = 0
  function ctx.backup(name, content)
    assert(type(name) == "string" and name:find("^[%w%._%-]+$"), "ctx.backup: name must be a plain file name")
    assert(type(content) == "string", "ctx.backup: content must be a string")
    backups = backups + 1
    local dir = backup_dir() .. "/" .. r.name
    local stem = string.format("%s/%s-%d", dir, os.date("!%Y%m%dT%H%M%SZ"), backups)
    local path = stem .. "-" .. name
    if not ctx.apply then return path, false end
    -- Owner-only and never replacing a file: a backup of a key policy is nobody else's business.
    -- Two runs may back up in the same second (concurrent writers): a taken name gets a suffix.
    local ok, err = fs.mkdir_private(dir)
    if ok then
      for attempt = 2, 100 do
        local errno
        ok, err, errno = fs.write_private(path, content)
        if ok or errno ~= fs.EEXIST then break end
        path = string.format("%s.%d-%s", stem, attempt, name)
      end
    end
    if not ok then
      error(recipe_error { code = "BackupFailed", message = "cannot write backup: " .. tostring(err) }, 2)
    end
    return path, true
  end
  return ctx
end

local function error_fields(e)
  if type(e) == "table" then
    local out = {}
    for _, k in ipairs { "code", "message", "status", "service", "operation", "request_id", "retryable" } do
      if type(e[k]) ~= "function" and type(e[k]) ~= "table" then out[k] = e[k] end
    end
    out.message = out.message or tostring(e)
    return out
  end
  return { code = "RecipeError", message = tostring(e) }
end

--- recipe.execute(r, options) -> report {recipe=, mutating=, applied=, plan=, result=, status=,
--- error=, exit=, raw_error=}. Runs r.run(ctx) protected; options as for recipe.context plus
--- traceback=true to keep a traceback in report.traceback. status is "ok" (read-only), "planned",
--- "applied", "nothing-to-do" or "failed"; exit is 0, 1 or the error's exit (2 for bad input).
function M.execute(r, options)
  local ctx = M.context(r, options)
  local guarded_aws = setmetatable({
    client = function(service, opts) return ctx.client(service, opts) end,
  }, { __index = options.aws or {} })
  rawset(r.env, "aws", guarded_aws)
  local traceback
  local ok, returned = xpcall(r.run, function(e)
    if options.traceback then traceback = debug.traceback(tostring(e), 2) end
    return e
  end, ctx)
  local report = { recipe = r.name, mutating = r.mutating or false, applied = ctx.apply and r.mutating or false,
                   plan = ctx.plan.steps, traceback = traceback }
  report.result = ctx._result
  report.result_text = ctx._result_text
  if report.result == nil and ok and type(returned) == "table" then report.result = returned end
  if not ok then
    report.status, report.error, report.raw_error = "failed", error_fields(returned), returned
    report.exit = (type(returned) == "table" and math.type(returned.exit) == "integer") and returned.exit or 1
  elseif not r.mutating then
    report.status, report.exit = "ok", 0
  elseif #ctx.plan.steps == 0 then
    report.status, report.exit = "nothing-to-do", 0
  else
    report.status, report.exit = ctx.apply and "applied" or "planned", 0
  end
  return report
end

return M
