-- rest_fixtures: the hand-written rest-json and rest-xml models of tests/fixtures/models, loaded.
local M = {}

local SOURCE = os.getenv("LUAWS_SOURCE_DIR") or "."
package.path = SOURCE .. "/tests/fixtures/models/?.lua;" .. package.path

local model = require "luaws.sdk.model"
local protocol = require "luaws.sdk.protocol"

M.rj = model.load("fixture-restjson")
M.rx = model.load("fixture-restxml")
M.RJ = protocol.for_service(M.rj)
M.RX = protocol.for_service(M.rx)

--- build(svc, module, op_name, params) -> the request module.build makes.
function M.build(svc, mod, op, params) return mod.build(svc, svc:operation(op), params) end

--- headers_of(req) -> {lower-case name = value} of a built request.
function M.headers_of(req)
  local out = {}
  for _, h in ipairs(req.headers) do out[h[1]:lower()] = h[2] end
  return out
end

return M
