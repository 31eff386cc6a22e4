-- sdk.body: request bodies the transport can stream (file bodies, readers) and response sinks.
-- The client calls these; the bytes of a file never pass through a Lua string.
local errors = require "luaws.core.errors"

local M = {}

local function invalid(message)
  error(errors.new { code = "InvalidParameter", message = message }, 0)
end

--- is_file_body(v) -> whether v is a luaws.FileBody (luaws.http.file_body / aws.file_body).
function M.is_file_body(v)
  return type(v) == "userdata" and tostring(v):find("^luaws%.FileBody") ~= nil
end

--- sendable(body) -> what luaws.http can send: a string, a luaws.FileBody, or nil. An io file
--- is sent from its current position to its end, as botocore reads a file object; any other
--- reader (a table with read(n)) is read whole.
function M.sendable(body)
  if body == nil or type(body) == "string" or M.is_file_body(body) then return body end
  if io.type(body) == "file" then
    local fb, err = require("luaws.http").file_body(body, body:seek("cur"))
    if not fb then invalid("cannot send the file body: " .. tostring(err)) end
    return fb
  end
  local parts = {}
  while true do
    local chunk = body:read(1 << 16)
    if chunk == nil or chunk == "" then break end
    parts[#parts + 1] = chunk
  end
  return table.concat(parts)
end

--- add_checksum(request, algorithm): a protocol leaves the flexible checksum of a body that is
--- no string to the transport (built.checksum_algorithm, e.g. "crc32"); this adds
--- x-amz-checksum-<algorithm>. A file body computes it in C in the same read of the file as the
--- sha256 the signature needs (over TLS the payload may go unsigned, so the sha256 waits).
function M.add_checksum(request, algorithm)
  local body = request.body
  if not algorithm or body == nil or body == "" then return end
  local crypto = require "luaws.crypto"
  local digest
  if type(body) == "string" then
    if not crypto[algorithm] then return end
    digest = crypto[algorithm](body)
  elseif request.url:find("^https:") then
    digest = body:digest(algorithm)
  else
    digest = body:digest(algorithm, "sha256")
  end
  request.headers[#request.headers + 1] = { "x-amz-checksum-" .. algorithm, crypto.base64_encode(digest) }
end

--- payload_hash(body) -> the hex sha256 of a file body (cached on it), or nil for strings (the
--- signer hashes those itself).
function M.payload_hash(body)
  if not M.is_file_body(body) then return nil end
  return require("luaws.crypto").hex(body:digest("sha256"))
end

--- sink_path(ctx) -> call_opts.sink checked: only for operations whose result is a blob body
--- (GetObject, GetObjectTorrent, ...); raises InvalidParameter otherwise.
function M.sink_path(ctx)
  local sink = ctx.call_opts.sink
  if sink == nil then return nil end
  local output = ctx.op.output
  local ref = output and output.payload and output.by_name[output.payload]
  if type(sink) ~= "string" or not (ref and ref.shape.type == "blob") then
    invalid(string.format("%s:%s: sink must be a file path, for operations whose result is a body"
      .. " (GetObject, say)", ctx.service_name, ctx.op_name))
  end
  return sink
end

--- stream_wanted(ctx) -> true when call_opts.stream asks for the result's body while it arrives
--- (operations whose result is a blob body only; raises InvalidParameter otherwise).
function M.stream_wanted(ctx)
  if not ctx.call_opts.stream then return false end
  if ctx.call_opts.sink ~= nil then invalid("sink and stream exclude each other") end
  local output = ctx.op.output
  local ref = output and output.payload and output.by_name[output.payload]
  if not (ref and ref.shape.type == "blob") then
    invalid(string.format("%s:%s: stream is for operations whose result is a body (GetObject, say)",
      ctx.service_name, ctx.op_name))
  end
  return true
end

local Reader = {}
Reader.__index = Reader
Reader.__name = "luaws.BodyReader"

--- reader:read(n | "a") -> up to n bytes (all the rest with "a"), or nil at the end. Waits for
--- bytes as they arrive (yields inside a task); raises the transport error if the connection fails.
function Reader:read(n)
  local parts, have = {}, 0
  while n == "a" or have < n do
    local chunk = self._pending
    self._pending = nil
    if chunk == nil then chunk = self._next() end
    if chunk == nil then break end
    if n ~= "a" and have + #chunk > n then
      self._pending = chunk:sub(n - have + 1)
      chunk = chunk:sub(1, n - have)
    end
    parts[#parts + 1] = chunk
    have = have + #chunk
  end
  if have == 0 and n ~= "a" then return nil end
  return table.concat(parts)
end

--- reader:chunks() -> an iterator over the remaining chunks as they arrive.
function Reader:chunks()
  return function()
    local chunk = self._pending
    self._pending = nil
    if chunk ~= nil then return chunk end
    return self._next()
  end
end

--- reader:close(): stops the download early (safe more than once).
function Reader:close()
  if self._close then self._close() end
  self._next = function() return nil end
end

--- take_stream(res) -> a reader over a streamed 2xx body (luaws.http request{stream=true}),
--- leaving res.body "" so the protocol parses only the head.
function M.take_stream(res)
  local reader = setmetatable({ _next = res.body, _close = res.close }, Reader)
  res.body = ""
  return reader
end

--- attach_sink(op, result, res[, reader]): the payload member (GetObject's Body) becomes the
--- reader of a streamed body, or the sink file opened for reading when a 2xx body went there.
function M.attach_sink(op, result, res, reader)
  local member = op.output and op.output.payload
  if not member then return end
  if reader then
    result[member] = reader
  elseif res.sink then
    result[member] = assert(io.open(res.sink, "rb"))
  end
end

return M
