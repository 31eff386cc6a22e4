-- kmsaccess_test: the re-export keeps every function users' recipes call, from the module that owns it.
local T = require "testing"
local kmsaccess = require "luaws.domain.kmsaccess"

T.test("every owning module's functions are reachable, and are the same functions", function()
  for _, name in ipairs { "keypolicy", "grants", "launchers", "launch_sources" } do
    for k, v in pairs(require("luaws.domain." .. name)) do T.eq(kmsaccess[k], v, name .. "." .. k) end
  end
  for _, k in ipairs { "statements", "write_policy", "grant_name", "role_arn", "image_keys", "group_launch" } do
    T.eq(type(kmsaccess[k]), "function", k)
  end
end)

T.done()
