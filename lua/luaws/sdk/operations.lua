-- operations: the one classifier of AWS operations: which only read, which are safe to repeat.
--
-- Plans (luaws.recipe.plan, through aws.is_read_only) refuse every operation this does not call
-- read-only; retries (luaws.sdk.retry) repeat an ambiguous failure only when safe_to_repeat says
-- so. Deny by default: an unusual write (RequestSpotInstances, SignUp, ...) never passes as a read.
local customizations = require "luaws.sdk.customizations"

local M = {}

-- AWS names its reads with these verbs; the next character starts a word (Getaway is no read).
M.READ_PREFIXES = { "Describe", "Get", "List", "Search", "Lookup", "Head", "Simulate", "Estimate",
                    "Preview", "BatchGet" }

--- operations.is_read_only(service, operation) -> boolean. service is the model name ("kms").
function M.is_read_only(service, operation)
  if type(operation) ~= "string" then return false end
  local reads = customizations.for_service(service).read_only
  if reads and reads[operation] then return true end
  for _, prefix in ipairs(M.READ_PREFIXES) do
    if operation:sub(1, #prefix) == prefix and operation:find("^[%u%d]", #prefix + 1) then
      return true
    end
  end
  return false
end

--- operations.safe_to_repeat{service=, operation=, params=, has_idempotency_token=} -> boolean:
--- whether sending the call again after an ambiguous failure leaves the same state.
function M.safe_to_repeat(call)
  if call.has_idempotency_token or M.is_read_only(call.service, call.operation) then return true end
  local writes = customizations.for_service(call.service).idempotent_writes
  local rule = writes and writes[call.operation]
  if type(rule) == "function" then return rule(call.params) and true or false end
  return rule == true
end

return M
