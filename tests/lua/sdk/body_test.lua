-- body_test: luaws.sdk.body: what the client hands the transport (file bodies, io files, readers),
-- checksums and payload hashes of file bodies, and response sinks.
local T = require "testing"
local bodies = require "luaws.sdk.body"
local crypto = require "luaws.crypto"
local http = require "luaws.http"

local dir, write = T.tempdir()
local path = write("body.txt", "0123456789")

T.test("sendable: strings and file bodies pass, io files from their position, readers read whole", function()
  T.eq(bodies.sendable(nil), nil)
  T.eq(bodies.sendable("abc"), "abc")
  local fb = assert(http.file_body(path))
  T.eq(bodies.sendable(fb), fb)
  local f = assert(io.open(path, "rb"))
  f:read(3)
  local from_file = bodies.sendable(f)
  T.ok(bodies.is_file_body(from_file), "an io file becomes a file body")
  T.eq(from_file:size(), 7)
  T.eq(from_file:read(100), "3456789")
  f:close()
  local chunks = { "ab", "cd", "" }
  local reader = { read = function() return table.remove(chunks, 1) end }
  T.eq(bodies.sendable(reader), "abcd")
  T.eq(bodies.is_file_body("x"), false)
  T.eq(bodies.is_file_body(io.stdout), false)
end)

T.test("add_checksum: x-amz-checksum-<algorithm> from a file body's one read in C", function()
  local request = { url = "http://127.0.0.1:1/b/k", headers = {}, body = assert(http.file_body(path)) }
  bodies.add_checksum(request, "crc32")
  T.eq(request.headers[1][1], "x-amz-checksum-crc32")
  T.eq(request.headers[1][2], crypto.base64_encode(request.body:digest("crc32")))
  T.eq(bodies.payload_hash(request.body), crypto.sha256_hex("0123456789"))
  request = { url = "http://x/", headers = {}, body = assert(http.file_body(path)) }
  bodies.add_checksum(request, nil)
  T.eq(#request.headers, 0, "no algorithm, no header")
  request = { url = "http://x/", headers = {} }
  bodies.add_checksum(request, "crc32")
  T.eq(#request.headers, 0, "no body, no header")
  T.eq(bodies.payload_hash("string"), nil, "strings are the signer's to hash")
end)

local blob_op = { output = { payload = "Body", by_name = { Body = { shape = { type = "blob" } } } } }
local struct_op = { output = { by_name = {} } }

T.test("sink_path: only for operations whose result is a body", function()
  T.eq(bodies.sink_path { call_opts = {}, op = struct_op }, nil)
  T.eq(bodies.sink_path { call_opts = { sink = "/tmp/x" }, op = blob_op }, "/tmp/x")
  local e = T.raises(function()
    bodies.sink_path { call_opts = { sink = "/tmp/x" }, op = struct_op, service_name = "s3", op_name = "ListBuckets" }
  end)
  T.eq(e.code, "InvalidParameter")
  T.match(e.message, "s3:ListBuckets: sink")
  T.raises(function() bodies.sink_path { call_opts = { sink = 1 }, op = blob_op } end)
end)

T.test("attach_sink: the payload member becomes the sink opened for reading", function()
  local result = { Body = "" }
  bodies.attach_sink(blob_op, result, { sink = path })
  T.eq(io.type(result.Body), "file")
  T.eq(result.Body:read("a"), "0123456789")
  result.Body:close()
  result = { Body = "kept" }
  bodies.attach_sink(blob_op, result, {})
  T.eq(result.Body, "kept", "no sink, nothing changes")
end)

T.test("take_stream: a reader over the chunks of a streamed body, in any read sizes", function()
  local chunks = { "abc", "defgh", "ij" }
  local closed = false
  local res = { body = function() return table.remove(chunks, 1) end, close = function() closed = true end }
  local reader = bodies.take_stream(res)
  T.eq(res.body, "", "the protocol parses only the head")
  T.eq(reader:read(2), "ab")
  T.eq(reader:read(4), "cdef")
  local rest = {}
  for chunk in reader:chunks() do rest[#rest + 1] = chunk end
  T.eq(table.concat(rest), "ghij")
  T.eq(reader:read(1), nil)
  T.eq(reader:read("a"), "")
  reader:close()
  T.ok(closed, "close reaches the transfer")
  local result = {}
  bodies.attach_sink(blob_op, result, {}, reader)
  T.eq(result.Body, reader)
  local e = T.raises(function()
    bodies.stream_wanted { call_opts = { stream = true }, op = struct_op, service_name = "s3", op_name = "ListBuckets" }
  end)
  T.eq(e.code, "InvalidParameter")
  T.raises(function() bodies.stream_wanted { call_opts = { stream = true, sink = "/x" }, op = blob_op } end)
  T.eq(bodies.stream_wanted { call_opts = { stream = true }, op = blob_op }, true)
end)

os.execute("rm -rf '" .. dir .. "'")
T.done()
