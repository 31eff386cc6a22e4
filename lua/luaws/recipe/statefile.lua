-- statefile: small JSON state files (resumable rollouts), written atomically and owner-only.
local fs = require "luaws.fs"
local json = require "luaws.core.json"

local M = {}

local function home() return os.getenv("HOME") or "" end

--- statefile.state_dir() -> $XDG_STATE_HOME/luaws, or ~/.local/state/luaws.
function M.state_dir()
  local state = os.getenv("XDG_STATE_HOME")
  if not state or state == "" then state = home() .. "/.local/state" end
  return state .. "/luaws"
end

--- statefile.default_path(name) -> <state_dir>/<name>.json; name is reduced to [%w._-].
function M.default_path(name)
  return M.state_dir() .. "/" .. tostring(name):gsub("[^%w%._%-]", "-") .. ".json"
end

--- statefile.read_text(path) -> the file's content, or nil and "<path>: <reason>".
function M.read_text(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

--- statefile.load(path) -> state table ({} when the file does not exist yet), or nil and a message
--- when it exists but cannot be read or is not a JSON object.
function M.load(path)
  if not fs.stat(path) then return {} end
  local text, err = M.read_text(path)
  if not text then return nil, err end
  local ok, doc = pcall(json.decode, text)
  if not ok or type(doc) ~= "table" then
    return nil, string.format("%s: not a luaws state file (%s)", path,
                              type(doc) == "table" and (doc.message or "bad JSON") or tostring(doc))
  end
  return doc
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

--- statefile.save(path, state) -> true, or nil and a message. Writes the JSON to a new owner-only
--- file beside the target and renames it over the target, so a reader (or a rerun after the
--- process is killed) sees the old state or the new one, never half of one.
function M.save(path, state)
  local ok, err = fs.mkdir_private(dirname(path))
  if not ok then return nil, err end
  local text = json.encode(state, { indent = " " }) .. "\n"
  for _ = 1, 5 do
    local temp = string.format("%s.tmp-%d-%06d", path, os.time(), math.random(0, 999999))
    ok, err = fs.write_private(temp, text)
    if ok then
      local renamed, why = os.rename(temp, path)
      if renamed then return true end
      os.remove(temp)
      return nil, why
    end
  end
  return nil, err
end

return M
