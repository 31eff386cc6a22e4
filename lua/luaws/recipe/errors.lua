-- recipe.errors: the recipe floor's one error maker: luaws error tables, with a plain variant for a
-- recipe file's own problems ("recipe foo.lua: missing field 'run'" reads better without a code).
local errors = require "luaws.core.errors"

local M = {}

-- Prints as its message alone; errors.is still sees the code through the luaws.Error identity
-- for every other error (plain ones are only ever printed and exited on).
local plain_mt = { __tostring = function(e) return e.message end, __name = "luaws.RecipeError" }

--- recipe.errors.new(fields[, plain]) -> an error table {code=, message=, exit=, ...}: a
--- luaws.core.errors table, or (plain) one that prints as its message alone.
function M.new(fields, plain)
  if plain then
    if fields.retryable == nil then fields.retryable = false end
    return setmetatable(fields, plain_mt)
  end
  return errors.new(fields)
end

return M
