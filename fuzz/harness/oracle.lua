-- oracle: what every fuzz harness checks about errors, shared by the libFuzzer targets and replay.lua.
local M = {}

--- oracle.fail(fmt, ...): reports a broken invariant. The "FUZZ ORACLE" prefix lets the C driver
--- and replay.lua tell a finding from an ordinary error of the code under test.
function M.fail(fmt, ...)
  error("FUZZ ORACLE: " .. string.format(fmt, ...), 0)
end

--- oracle.expect_error(what, err, codes[, exit]) -> err: err must be a luaws error table (a code
--- from `codes`, a one-line string message, the exit code asked for when given), never a string,
--- a Lua runtime error or a traceback (which takes several lines).
function M.expect_error(what, err, codes, exit)
  if type(err) ~= "table" then
    M.fail("%s raised a %s instead of an error table: %s", what, type(err), tostring(err))
  end
  local known = false
  for _, code in ipairs(codes) do known = known or err.code == code end
  if not known then
    M.fail("%s raised code %s (expected %s): %s", what, tostring(err.code),
      table.concat(codes, " or "), tostring(err.message))
  end
  if type(err.message) ~= "string" or err.message == "" then
    M.fail("%s raised %s without a message", what, tostring(err.code))
  end
  if err.message:find("\n") then
    M.fail("%s raised a multi-line message: %q", what, err.message)
  end
  if exit ~= nil and err.exit ~= exit then
    M.fail("%s raised %s with exit %s, expected %s", what, err.code, tostring(err.exit), tostring(exit))
  end
  return err
end

--- oracle.lines(data) -> array of the lines of data (without "\n"; "\r" kept).
function M.lines(data)
  local out = {}
  for line in (data .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

return M
