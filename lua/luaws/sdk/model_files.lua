-- model_files: where service models come from: the shipped files (bytecode when fresh) and the
-- user's botocore-format models in AWS_DATA_PATH and ~/.aws/models, with botocore's precedence.
local errors = require "luaws.core.errors"
local fs = require "luaws.fs"
local host = require "luaws.host"

local M = {}

-- Shipped models: <services dir>/<name>.lua found through package.path (so LUAWS_PATH may
-- override one), siblings <name>.rules.lua, .waiters.lua, .docs.lua beside it.
local function find_shipped(name)
  return package.searchpath("luaws.sdk.services." .. name, package.path)
end

local function valid_name(name)
  return type(name) == "string" and name:match("^[%w][%w%-_]*$") ~= nil and name ~= "index"
end

local shipped_index -- the index file's table, once read

local function read_index()
  if not shipped_index then
    local path = package.searchpath("luaws.sdk.services.index", package.path)
    shipped_index = path and assert(loadfile(path, "t", {}))() or {}
  end
  return shipped_index
end

--- model.search_paths() -> the folders searched for user models, in botocore's order: each
--- entry of AWS_DATA_PATH (colon-separated, "~" expanded), then ~/.aws/models.
function M.search_paths()
  local config = require "luaws.sdk.config"
  local paths = {}
  for entry in (config.getenv("AWS_DATA_PATH") or ""):gmatch("[^:]+") do
    paths[#paths + 1] = config.expand_path(entry)
  end
  paths[#paths + 1] = config.expand_path("~/.aws/models")
  return paths
end

local function is_file(path)
  local st = fs.stat(path)
  return st ~= nil and st.type == "file"
end

-- The user's model of `name`: {dir=<api-version folder>, version=, file=<service-2 path>} for
-- the newest api version found in any search path (the first path wins among equal versions),
-- or nil. A folder holding only service-2.json.gz is reported through `gz`.
local function find_user(name, paths)
  local best, gz
  for _, root in ipairs(paths) do
    local versions = fs.list(root .. "/" .. name)
    for _, version in ipairs(versions or {}) do
      local dir = root .. "/" .. name .. "/" .. version
      if is_file(dir .. "/service-2.json") then
        if not best or version > best.version then
          best = { dir = dir, version = version, file = dir .. "/service-2.json" }
        end
      elseif is_file(dir .. "/service-2.json.gz") then
        gz = gz or dir .. "/service-2.json.gz"
      end
    end
  end
  return best, gz
end

-- Names of services with a service-2.json in the user's search paths.
local function user_service_names(paths)
  local seen = {}
  for _, root in ipairs(paths) do
    for _, name in ipairs(fs.list(root) or {}) do
      if valid_name(name) and not seen[name] and find_user(name, { root }) then seen[name] = true end
    end
  end
  return seen
end

--- model.services() -> sorted array of every service name luaws can load: the shipped models
--- and those in the user's search paths (model.search_paths()).
function M.services()
  local names, seen = {}, {}
  for _, n in ipairs(read_index()) do
    names[#names + 1] = n
    seen[n] = true
  end
  for n in pairs(user_service_names(M.search_paths())) do
    if not seen[n] then names[#names + 1] = n end
  end
  table.sort(names)
  return names
end

--- model.service_names(): the same as model.services().
M.service_names = M.services

M.loaded_from = {}

-- lazy(rule, build), which generated rule sets call for a tree with over 1 KB of children: its
-- `rules` field is build(), called on first read (tools/gen_services.py). Nothing else differs
-- from the plain table (pairs does not list a rules field before it is read).
local pending = setmetatable({}, { __mode = "k" })
local deferred = {
  __index = function(rule, key)
    local build = key == "rules" and pending[rule]
    if not build then return nil end
    pending[rule] = nil
    local rules = build()
    rawset(rule, "rules", rules)
    return rules
  end,
}
local function lazy(rule, build)
  pending[rule] = build
  return setmetatable(rule, deferred)
end

-- The environment a shipped data file runs in: nothing but lazy.
local function data_env()
  return { lazy = lazy }
end

-- The build's stripped bytecode for a shipped file (base: "ec2", "s3.rules", ...), when it may
-- stand in for the source at `path`: parsing ec2.lua's 844 KB costs ~10 ms per process, loading
-- its bytecode ~1 ms. Only for the data dir's own services/<base>.lua (a model overridden
-- through LUAWS_PATH must never be shadowed by bytecode made from another file), and only when
-- the bytecode is at least as new as that source (an edited, not yet rebuilt model wins).
-- Bytecode is read from models_dir and nowhere else. Returns the loaded chunk, its path and
-- size, or nil to fall back to the source.
local function load_compiled(base, path)
  local data_dir, models_dir = host.data_dir, host.models_dir
  if not (data_dir and models_dir) then return nil end
  if path ~= data_dir .. "/lua/luaws/sdk/services/" .. base .. ".lua" then return nil end
  -- Missing, stale, unreadable or foreign bytecode (another Lua build) is not an error: the
  -- source still works.
  local compiled = models_dir .. "/" .. base .. ".luac"
  local chunk, size = host.load_compiled(compiled, path, data_env())
  if not chunk then return nil end
  return chunk, compiled, size
end

local function model_error(path, message)
  errors.raise({ code = "InvalidModel", message = "cannot load model " .. path .. ": " .. message }, 0)
end

-- Runs a shipped file (bytecode when fresh). Returns its value, the path read and its size.
local function run_shipped(base, path)
  local chunk, loaded_path, size = load_compiled(base, path)
  if not chunk then
    local err
    chunk, err = loadfile(path, "t", data_env())
    if not chunk then model_error(path, err) end
    loaded_path = path
    local st = fs.stat(path)
    size = st and st.size or 0
  end
  local ok, value = pcall(chunk)
  if not ok or type(value) ~= "table" then model_error(loaded_path, ok and "no table returned" or tostring(value)) end
  return value, loaded_path, size
end

-- Reads and decodes a botocore JSON file; a broken file is a one-line InvalidModel error.
local function read_json(path)
  local f, err = io.open(path, "rb")
  if not f then model_error(path, err) end
  local text = f:read("a")
  f:close()
  local value, jerr = require("luaws.sdk.model_convert").decode_json(text)
  if value == nil then model_error(path, jerr) end
  return value
end

-- The file `file` ("paginators-1.json", ...) of a user model's api version: beside its
-- service-2.json, else in the same version folder of a later search path (as botocore), or nil.
local function user_sibling(svc, file)
  local src = svc._user
  if is_file(src.dir .. "/" .. file) then return src.dir .. "/" .. file end
  for _, root in ipairs(src.paths) do
    local path = root .. "/" .. svc.name .. "/" .. src.version .. "/" .. file
    if is_file(path) then return path end
  end
  return nil
end

-- Loads a user model (botocore JSON) into model data.
local function load_user(name, user)
  local convert = require "luaws.sdk.model_convert"
  local service2 = read_json(user.file)
  local pages
  local pages_path = user_sibling({ name = name, _user = user }, "paginators-1.json")
  if pages_path then
    local doc = read_json(pages_path)
    pages = type(doc) == "table" and doc.pagination or nil
  end
  local ok, data = pcall(convert.model, service2, pages)
  if not ok then model_error(user.file, tostring(data)) end
  return data, service2
end

M.find_shipped = find_shipped
M.valid_name = valid_name
M.read_index = read_index
M.is_file = is_file
M.find_user = find_user
M.run_shipped = run_shipped
M.read_json = read_json
M.user_sibling = user_sibling
M.load_user = load_user
M.model_error = model_error

return M
