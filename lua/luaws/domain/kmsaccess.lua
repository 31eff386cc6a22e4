-- kmsaccess: one table of the domain's KMS-access functions, for recipes written against it.
--
-- New code requires the module that owns a function: luaws.domain.keypolicy (statements, policy
-- needs, the safe write), grants (operations, names, lookup, audit), launchers (service-linked
-- roles) and launch_sources (images, groups, failed activities).
local M = {}
for _, name in ipairs { "keypolicy", "grants", "launchers", "launch_sources" } do
  for k, v in pairs(require("luaws.domain." .. name)) do M[k] = v end
end
return M
