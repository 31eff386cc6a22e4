-- harness/rest: the rest-json and rest-xml reply readers under fuzz (fuzz_restjson, fuzz_restxml).
--
-- Input: byte 0 picks the operation (low bits) and whether the bytes are read as a reply or an
-- error reply (bit 7); up to the first empty line come "name: value" header lines, then the body.
-- Replies must parse or raise a one-line ResponseParseError table; error replies must always
-- give a code. Models: tests/fixtures/models (one member of every HTTP binding).
local oracle = require "oracle"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = here .. "/../../tests/fixtures/models/?.lua;" .. package.path
local model = require "luaws.sdk.model"
local protocol = require "luaws.sdk.protocol"
local errors = require "luaws.core.errors"

local M = {}

local function split(data)
  local headers, body = {}, data
  local head_end = data:find("\n\n", 1, true)
  if head_end then
    for _, line in ipairs(oracle.lines(data:sub(1, head_end - 1))) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      if name then headers[name:lower()] = value end
    end
    body = data:sub(head_end + 2)
  end
  return headers, body
end

--- harness(service) -> {run=}: fuzzes every operation with an output or errors of that service.
function M.harness(service)
  local svc = model.load(service)
  local mod = protocol.for_service(svc)
  local ops = {}
  for _, name in ipairs(svc:operation_names()) do ops[#ops + 1] = svc:operation(name) end
  return {
    run = function(data)
      local selector = data:byte(1) or 0
      local op = ops[(selector & 0x7f) % #ops + 1]
      local headers, body = split(data:sub(2))
      local res = { status = 200, headers = headers, body = body }
      if selector & 0x80 == 0 then
        local ok, result = pcall(mod.parse, svc, op, res)
        if ok then
          if type(result) ~= "table" or type(result.ResponseMetadata) ~= "table" then
            oracle.fail("%s parse(%s) returned %s without ResponseMetadata", service, op.name, type(result))
          end
          for _, v in pairs(result) do -- an event stream: every event, or an error table
            if getmetatable(v) and getmetatable(v).__name == "luaws.EventStream" then
              local eok, err = pcall(function()
                for _ = 1, 1000 do
                  if v:next() == nil then break end
                end
              end)
              if not eok then
                if not errors.is_error(err) or type(err.message) ~= "string" or err.message:find("\n") then
                  oracle.fail("%s event stream raised %s", service, tostring(err))
                end
              end
            end
          end
        else
          oracle.expect_error(service .. " parse(" .. op.name .. ")", result, { "ResponseParseError" })
        end
      else
        res.status = 400 + (#body % 200)
        local ok, e = pcall(mod.parse_error, svc, op, res)
        if not ok then oracle.fail("%s parse_error raised: %s", service, tostring(e)) end
        if type(e) ~= "table" or type(e.code) ~= "string" or e.code == "" then
          oracle.fail("%s parse_error returned no code", service)
        end
        if type(e.message) ~= "string" then oracle.fail("%s parse_error returned no message", service) end
      end
    end,
  }
end

return M
