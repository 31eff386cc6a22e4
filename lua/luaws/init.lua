-- luaws: the library a script, recipe or the REPL gets as `aws`.
local M = {}

M.host = require "luaws.host"
M.version = M.host.versions().luaws

return M
