-- harness/eventstream: the event-stream frame decoder through luaws.eventstream, fed in pieces
-- (byte 0 as in fuzz_eventstream.c: bits 0-6 the piece size, bit 7 "fix the CRCs"): messages are
-- well-typed, errors are EventStreamError tables, a broken stream stays broken, and a decoded
-- message encodes back to a frame that decodes equal.
local es = require "luaws.eventstream"
local oracle = require "oracle"

local function check_message(msg)
  if type(msg.payload) ~= "string" or type(msg.headers) ~= "table" or type(msg.types) ~= "table" then
    oracle.fail("a message without payload, headers or types")
  end
  local list = {}
  for name, value in pairs(msg.headers) do
    local kind = msg.types[name]
    if kind == nil then oracle.fail("header %q without a type", name) end
    list[#list + 1] = { name, kind, value }
  end
  local ok, frame = pcall(es.encode, list, msg.payload)
  if not ok then oracle.fail("a decoded message does not encode: %s", tostring(frame)) end
  local d = es.decoder()
  d:feed(frame)
  local again = d:next()
  if not again or again.payload ~= msg.payload then oracle.fail("encode(decode(frame)) does not decode back") end
  for name, value in pairs(msg.headers) do
    if again.headers[name] ~= value then oracle.fail("header %q changed in a round trip", name) end
  end
end

-- The CRCs of every frame the lengths describe, rewritten (fuzz_eventstream.c's fix_crcs).
local function fix_crcs(s)
  local at = 1
  while #s - at + 1 >= 16 do
    local total = string.unpack(">I4", s, at)
    s = s:sub(1, at + 7) .. string.pack(">I4", es.crc32(s:sub(at, at + 7))) .. s:sub(at + 12)
    if total < 16 or total > #s - at + 1 then break end
    local last = at + total - 4
    s = s:sub(1, last - 1) .. string.pack(">I4", es.crc32(s:sub(at, last - 1))) .. s:sub(last + 4)
    at = at + total
  end
  return s
end

return {
  run = function(data)
    if #data == 0 then return end
    local piece = (data:byte(1) & 0x7f) + 1
    if data:byte(1) & 0x80 ~= 0 then data = data:sub(1, 1) .. fix_crcs(data:sub(2)) end
    local d = es.decoder()
    local pos = 2
    while true do
      local msg, err = d:next()
      if msg then
        check_message(msg)
      elseif err then
        oracle.expect_error("eventstream decoder", err, { "EventStreamError" })
        local _, again = d:next()
        if not again then oracle.fail("a broken stream recovered") end
        return
      elseif pos > #data then
        return
      else
        assert(d:feed(data:sub(pos, pos + piece - 1)))
        pos = pos + piece
      end
    end
  end,
}
