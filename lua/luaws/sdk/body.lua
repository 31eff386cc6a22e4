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

--- attach_sink(op, result, res): when a 2xx body went to a sink file, the payload member
--- (GetObject's Body) becomes that file opened for reading.
function M.attach_sink(op, result, res)
  if not res.sink then return end
  local member = op.output and op.output.payload
  if member then result[member] = assert(io.open(res.sink, "rb")) end
end

return M
