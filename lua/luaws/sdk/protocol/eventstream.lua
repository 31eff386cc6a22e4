-- protocol.eventstream: event-stream outputs for every protocol: frames decoded in C (luaws.eventstream)
-- while the response arrives, events shaped by the model, modeled exceptions raised as error tables.
--
-- A protocol module that sets `event_streams = true` gets, for operations with an `eventstream`
-- output member, a streamed res from client.lua (res.body a luaws.http chunk iterator; a string
-- works too), and in its parse does:
--   local stream = eventstream.open(res, {shape = member.shape, service = svc, operation = op,
--                                         parse = function(shape, bytes) ... end})
--   result[member.name] = stream
-- `parse` turns a payload into a value of `shape` with the protocol's own body format (JSON,
-- XML, CBOR); rpc protocols (json, smithy-rpc-v2-cbor) first read stream:initial_response().
-- Callers iterate: `for event in result.Stream do ... end`, each event {EventName = {...}} as
-- botocore yields them; an exception event raises {code=, message=, status=, service=,
-- operation=, fields=} (error table), a broken frame {code="EventStreamError"}.
local errors = require "luaws.core.errors"
local eventstream = require "luaws.eventstream"
local shared = require "luaws.sdk.protocol.shared"

local M = {}

--- member(op) -> the output member ref carrying the event stream, or nil. Reads the refs'
-- `eventstream` trait (tools/gen_services.py copies it from the target shape), so no member
-- shape is decoded for operations without one.
function M.member(op)
  local out = op and op.output
  if not out or out.type ~= "structure" then return nil end
  for _, m in ipairs(out.members) do
    if m.eventstream then return m end
  end
  return nil
end

--- read_all(body) -> the whole body as a string (body: a string or luaws.http's chunk iterator).
function M.read_all(body)
  if type(body) ~= "function" then return body or "" end
  local parts = {}
  for chunk in body do parts[#parts + 1] = chunk end
  return table.concat(parts)
end

local Stream = {}
Stream.__index = Stream

local function fail(self, fields)
  self.finished = true
  if self.res.close then self.res.close() end
  fields.service = fields.service or (self.service and self.service.service_id)
  fields.operation = fields.operation or (self.operation and self.operation.name)
  fields.status = fields.status or self.res.status
  if fields.retryable == nil then fields.retryable = false end
  error(errors.new(fields), 0)
end

-- The next raw message {headers=, types=, payload=}, or nil at the end of the body.
local function next_message(self)
  if self.pending then
    local msg = self.pending
    self.pending = nil
    return msg
  end
  while true do
    local msg, err = self.decoder:next()
    if msg then return msg end
    if err then fail(self, { code = "EventStreamError", message = err.message }) end
    local chunk
    if self.body_string then
      chunk, self.body_string = self.body_string, nil
    elseif self.body_fn then
      chunk = self.body_fn()
    end
    if chunk == nil then
      if self.decoder:pending() then
        fail(self, { code = "EventStreamError", message = "the event stream ended inside a message" })
      end
      return nil
    end
    local ok, ferr = self.decoder:feed(chunk)
    if not ok then fail(self, { code = "EventStreamError", message = ferr.message }) end
  end
end

-- A value of the event structure `shape` from a message: header members, then the payload.
local function parse_event(self, shape, msg)
  local out, payload_member = {}, nil
  for _, m in ipairs(shape.members or {}) do
    if m.eventheader then
      local v = msg.headers[m.name]
      if v ~= nil and m.shape.type == "timestamp" and type(v) == "number" then
        v = shared.iso_timestamp(v / 1000)
      end
      out[m.name] = v
    elseif m.eventpayload then
      payload_member = m
    end
  end
  if payload_member then
    local kind = payload_member.shape.type
    if kind == "blob" or kind == "string" then
      out[payload_member.name] = msg.payload
    else
      out[payload_member.name] = self.parse(payload_member.shape, msg.payload)
    end
  else
    for k, v in pairs(self.parse(shape, msg.payload) or {}) do
      if out[k] == nil then out[k] = v end
    end
  end
  return out
end

local function raise_exception(self, msg)
  local name = msg.headers[":exception-type"]
  local member = name and self.shape.by_name and self.shape.by_name[name]
  if member then
    local ok, fields = pcall(self.parse, member.shape, msg.payload)
    fields = ok and type(fields) == "table" and fields or {}
    fail(self, { code = name, message = fields.Message or fields.message or "", fields = fields })
  end
  fail(self, { code = msg.headers[":error-code"] or name or "EventStreamError",
    message = msg.headers[":error-message"] or ("unmodeled exception event " .. tostring(name)) })
end

--- stream:next() -> the next event {EventName = value}, or nil at the end of the stream.
function Stream:next()
  if self.finished then return nil end
  while true do
    local msg = next_message(self)
    if msg == nil then
      self.finished = true
      return nil
    end
    local kind = msg.headers[":message-type"]
    if kind == "event" then
      local name = msg.headers[":event-type"]
      if name ~= "initial-response" then
        local member = name and self.shape.by_name and self.shape.by_name[name]
        if not member then return {} end  -- an event this model does not know, as botocore
        return { [name] = parse_event(self, member.shape, msg) }
      end
    elseif kind == "exception" then
      raise_exception(self, msg)
    elseif kind == "error" then
      fail(self, { code = msg.headers[":error-code"] or "EventStreamError",
        message = msg.headers[":error-message"] or "" })
    end
  end
end

Stream.__call = function(self) return self:next() end

--- stream:initial_response() -> the payload of the leading initial-response event, or nil when
-- the stream starts with another message (kept for iteration). Reads (and may wait) once.
function Stream:initial_response()
  if self.initial_read then return self.initial end
  self.initial_read = true
  local msg = next_message(self)
  if msg and msg.headers[":message-type"] == "event" and msg.headers[":event-type"] == "initial-response" then
    self.initial = msg.payload
  elseif msg and msg.headers[":message-type"] ~= "event" then
    self.pending = msg
    self:next()  -- raises the exception or error that came first
  else
    self.pending = msg
  end
  return self.initial
end

--- stream:close(): stops reading; the connection is dropped.
function Stream:close()
  self.finished = true
  if self.res.close then self.res.close() end
end

Stream.__close = Stream.close
Stream.__name = "luaws.EventStream"

--- open(res, opts) -> stream (callable: `for event in stream do`), see the top of this file.
-- res = {status=, headers=, body=<chunk iterator or string>, close=}; opts = {shape=, parse=,
-- service=, operation=}.
function M.open(res, opts)
  local self = setmetatable({ res = res, shape = opts.shape, parse = opts.parse,
    service = opts.service, operation = opts.operation, decoder = eventstream.decoder(),
    finished = false }, Stream)
  if type(res.body) == "function" then self.body_fn = res.body else self.body_string = res.body or "" end
  return self
end

return M
