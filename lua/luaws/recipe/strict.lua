-- strict: environments for recipe files that turn a misspelt global into an error naming the line.
local M = {}

-- What a recipe may use from the standard library. No io, load, dofile or os.execute: a recipe
-- talks to AWS through ctx and aws, and writes files only through ctx.backup.
local SAFE_GLOBALS = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "rawequal", "rawget", "rawlen",
  "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "_VERSION",
}
local SAFE_LIBRARIES = { "string", "table", "math", "utf8", "coroutine" }
local SAFE_OS = { "time", "date", "clock", "getenv" }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- Where the access happened: "recipe foo.lua:12" from the chunk name of the calling function.
local function location(level)
  local info = debug.getinfo(level + 1, "Sl")
  if info and info.currentline and info.currentline > 0 then
    return info.short_src .. ":" .. info.currentline .. ": "
  end
  return ""
end

local function guard_error(message, level)
  error(setmetatable({ code = "UndefinedGlobal", message = location(level + 1) .. message },
                     { __tostring = function(e) return e.message end }), 0)
end

--- strict.guard(env) -> env, with a metatable that raises on reading or assigning an undeclared
--- global: "recipe foo.lua:12: undefined global 'kmss'". Assignments are refused too, because a
--- recipe keeps its state in locals and ctx; a new global is almost always a missing `local`.
function M.guard(env)
  return setmetatable(env, {
    __index = function(_, name)
      guard_error(string.format("undefined global '%s'", tostring(name)), 2)
    end,
    __newindex = function(_, name)
      guard_error(string.format("assignment to undeclared global '%s' (use local)", tostring(name)), 2)
    end,
  })
end

--- strict.environment(extra) -> a fresh guarded table with the whitelisted standard library (each
--- library copied, so a recipe cannot change them for others), print writing to stderr, and every
--- field of `extra` (for instance aws, require).
function M.environment(extra)
  local env = {}
  for _, name in ipairs(SAFE_GLOBALS) do env[name] = _G[name] end
  for _, name in ipairs(SAFE_LIBRARIES) do env[name] = copy(_G[name]) end
  env.os = {}
  for _, name in ipairs(SAFE_OS) do env.os[name] = os[name] end
  -- stdout belongs to the recipe's result (and to --output json); chatter goes to stderr.
  env.print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    io.stderr:write(table.concat(parts, "\t", 1, parts.n), "\n")
  end
  for k, v in pairs(extra or {}) do env[k] = v end
  env._G = env
  return M.guard(env)
end

return M
