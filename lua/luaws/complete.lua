-- complete: `luaws __complete WORD...`, the candidates the bash and zsh completion scripts offer.
-- Like luaws.repl it sits above the library floors (it reads recipes, profiles and models).
-- The words are those after `luaws` up to the one being completed (last, maybe ""); the answer is
-- one candidate per line, already filtered by that word's prefix. No candidates lets the shell
-- fall back to file names (scripts, `luaws test DIR`).
local recipe = require "luaws.recipe"

local M = {}

M.COMMANDS = { "run", "list", "help", "test", "repl" }
-- Global options, and the values each takes (true: a value of its own kind; false: a flag).
M.GLOBAL_OPTIONS = { ["--profile"] = "profile", ["--region"] = "region", ["--endpoint-url"] = true,
  ["--output"] = { "text", "json", "table" }, ["--apply"] = false, ["--debug"] = false,
  ["--help"] = false, ["--version"] = false, ["-e"] = true, ["-i"] = false }

local REGIONS = { "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
  "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1",
  "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3", "me-south-1", "sa-east-1", "us-east-1",
  "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2" }

--- complete.profiles() -> sorted profile names of ~/.aws/config and ~/.aws/credentials (or
--- AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE); {} when they cannot be read.
function M.profiles()
  local ok, config = pcall(require, "luaws.sdk.config")
  if not ok then return {} end
  local fok, files = pcall(config.files)
  if not fok then return {} end
  local seen, names = {}, {}
  for _, file in ipairs { files.config, files.credentials } do
    for name in pairs(file.profiles or {}) do
      if not seen[name] then seen[name], names[#names + 1] = true, name end
    end
  end
  table.sort(names)
  return names
end

local function recipe_names()
  local names = {}
  for _, entry in ipairs(recipe.catalog()) do names[#names + 1] = entry.name end
  return names
end

local function load_recipe(name)
  local ok, r = pcall(function() return recipe.load(recipe.find(name)) end)
  return ok and r or nil
end

local function help_module()
  local ok, help = pcall(require, "luaws.sdk.help")
  return ok and help or nil
end

-- Values for an option or recipe argument of kind `kind` ("profile", "region", a list, ...).
local function values_of(kind)
  if kind == "profile" then return M.profiles() end
  if kind == "region" then return REGIONS end
  if type(kind) == "table" then return kind end
  return {}
end

-- The kind of value a recipe argument takes: its enum values, "profile", "region", false for a
-- flag, or true for any other value.
local function arg_kind(spec)
  if spec.type == "boolean" then return false end
  if spec.type == "enum" then return spec.values or true end
  if spec.type == "profile" or spec.type == "region" then return spec.type end
  return true
end

local function filter(candidates, prefix)
  local out = {}
  for _, c in ipairs(candidates) do
    if c:sub(1, #prefix) == prefix then out[#out + 1] = c end
  end
  table.sort(out)
  return out
end

--- complete.candidates(words) -> sorted array of completions for the last word of `words` (the
--- command line after `luaws`).
function M.candidates(words)
  local cur = words[#words] or ""
  local options = {} -- option name -> kind, for what is known at this point
  for name, kind in pairs(M.GLOBAL_OPTIONS) do options[name] = kind end
  local command, name, positional = nil, nil, {}
  local given = {}
  local i = 1
  while i < #words do
    local w = words[i]
    local opt = w:match("^(%-%-?[%w-]+)=") or w
    if options[opt] ~= nil then
      given[opt] = true
      if options[opt] and not w:find("=", 1, true) then
        if i + 1 == #words then return filter(values_of(options[opt]), cur) end -- "--opt pre"
        i = i + 1 -- skip its value
      end
    elseif not command then
      if w:sub(1, 1) == "-" then return {} end
      command = w
    elseif not name and (command == "run" or command == "help") then
      name = w
      local r = command == "run" and load_recipe(w)
      for _, spec in ipairs(r and r.args or {}) do
        options["--" .. spec.name] = arg_kind(spec)
        if spec.type == "boolean" then options["--no-" .. spec.name] = false end
      end
    else
      positional[#positional + 1] = w
    end
    i = i + 1
  end
  -- "--opt=pre": the shell completes the part after "=".
  local opt, value_prefix = cur:match("^(%-%-[%w-]+)=(.*)$")
  if opt then return filter(values_of(options[opt]), value_prefix) end
  if cur:sub(1, 1) == "-" then
    local names = {}
    for option in pairs(options) do
      if not given[option] and (option:sub(1, 2) == "--" or not command) then names[#names + 1] = option end
    end
    return filter(names, cur)
  end
  if not command then return filter(M.COMMANDS, cur) end
  if command == "run" and not name then return filter(recipe_names(), cur) end
  if command == "help" and not name then
    local names = recipe_names()
    names[#names + 1] = "test"
    names[#names + 1] = "services"
    local help = help_module()
    for _, s in ipairs(help and help.services() or {}) do names[#names + 1] = s end
    return filter(names, cur)
  end
  if command == "help" and name and #positional == 0 then
    local help = help_module()
    local ok, svc = pcall(function() return require("luaws.sdk.model").load(name) end)
    if help and ok then return filter(svc:operation_names(), cur) end
  end
  return {}
end

--- complete.main(words) -> 0, after printing the candidates one per line on stdout.
function M.main(words)
  local ok, list = pcall(M.candidates, words)
  if ok then
    for _, c in ipairs(list) do io.stdout:write(c, "\n") end
  end
  return 0
end

return M
