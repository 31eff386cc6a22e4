-- customizations_test: every per-service customization module loads and holds only known fields.
local T = require "testing"
local customizations = require "luaws.sdk.customizations"
local fs = require "luaws.fs"

local KNOWN = { read_only = "table", idempotent_writes = "table" }

T.test("each module under sdk/customizations is a table of known fields", function()
  local dir = package.searchpath("luaws.sdk.customizations", package.path):gsub("/init%.lua$", "")
  local checked = 0
  for _, name in ipairs(fs.list(dir)) do
    local service = name:match("^(.-)%.lua$")
    if service and service ~= "init" then
      local c = customizations.for_service(service)
      T.eq(type(c), "table", service)
      for field, value in pairs(c) do
        T.ok(KNOWN[field], service .. ": unknown field " .. tostring(field))
        T.eq(type(value), KNOWN[field] or "?", service .. "." .. tostring(field))
      end
      checked = checked + 1
    end
  end
  T.ok(checked >= 3, "checked " .. checked)
end)

T.test("idempotent writes are true or a function of the parameters", function()
  for _, service in ipairs { "kms", "iam" } do
    for op, rule in pairs(customizations.for_service(service).idempotent_writes) do
      T.ok(rule == true or type(rule) == "function", service .. ":" .. op)
    end
  end
end)

T.done()
