-- http_body_test: luaws.http file bodies (file_body, streamed by pread), response sinks, paths as built.
local T = require "testing"
local http = require "luaws.http"
local crypto = require "luaws.crypto"
local fakeserver = require "fakeserver"

local server = fakeserver.start{
  routes = {
    ["/echo"] = { status = 200, echo = true },
    ["/large"] = { body_size = 8 * 1024 * 1024 },
    ["/empty"] = { status = 204 },
    ["/missing"] = { status = 404, body = "<Error><Code>NoSuchKey</Code></Error>" },
  },
}

local dir, write = T.tempdir()
local function read_all(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end
local function last_request()
  local log = server.log()
  return log[#log]
end

local text = ("0123456789abcdef"):rep(4096) .. "tail"  -- 65540 bytes
local text_path = write("body.txt", text)

T.test("file_body: size, ranges and one-pass digests", function()
  local whole = assert(http.file_body(text_path))
  T.eq(whole:size(), #text)
  local sha, md5, crc = whole:digest("sha256", "md5", "crc32")
  T.eq(crypto.hex(sha), crypto.sha256_hex(text))
  T.eq(#md5, 16)
  T.eq(#crc, 4)
  T.eq(whole:digest("sha256"), sha, "cached digests are the same")
  local check = write("check.txt", "123456789")
  T.eq(crypto.hex((assert(http.file_body(check)):digest("crc32"))), "cbf43926", "CRC-32 check value")
  T.eq(crypto.hex((assert(http.file_body(check)):digest("crc32c"))), "e3069283", "CRC-32C check value")
  T.eq(crypto.base64_encode((assert(http.file_body(check)):digest("md5"))), "JfnnlDI7RTiF9RgfG2JNCw==")
  local part = assert(http.file_body(text_path, 10, 100))
  T.eq(part:size(), 100)
  T.eq(crypto.hex(part:digest("sha256")), crypto.sha256_hex(text:sub(11, 110)))
  T.eq(assert(http.file_body(text_path, #text)):size(), 0, "an empty range at the end")
  T.match(tostring(part), "^luaws%.FileBody%(.*body%.txt, 10%+100%)$")
  T.eq(part:read(60), text:sub(11, 70), "a reader over the range")
  T.eq(part:read(60), text:sub(71, 110))
  T.eq(part:read(1), nil)
  part:close()
  T.match(tostring(part), "closed")
  T.raises(function() part:digest("sha256") end)
  T.raises(function() http.file_body(text_path, 10, #text) end, "a range past the end raises")
  T.raises(function() whole:digest("sha512") end)
  local none, err, errno = http.file_body(dir .. "/nope")
  T.eq(none, nil)
  T.match(err, "nope: No such file")
  T.eq(type(errno), "number")
  T.eq((http.file_body(dir)), nil, "a folder is not a body")
end)

T.test("a file body range is streamed as the request body, with Content-Length", function()
  local body = assert(http.file_body(text_path, 16, 40000))
  local res = assert(http.request{ method = "PUT", url = server.url .. "/echo", body = body })
  T.eq(res.status, 200)
  T.eq(res.body, text:sub(17, 40016))
  local seen = last_request()
  T.eq(seen.method, "PUT")
  T.eq(seen.headers["content-length"], "40000")
  T.eq(seen.headers["expect"], nil, "no Expect: 100-continue")
  T.eq(seen.headers["transfer-encoding"], nil)
  T.eq(seen.headers["content-type"], nil)
  -- the same body object can be sent again (a retry) and by other methods
  res = assert(http.request{ method = "POST", url = server.url .. "/echo", body = body })
  T.eq(res.body, text:sub(17, 40016))
  T.eq(last_request().method, "POST")
  local empty = assert(http.file_body(text_path, 0, 0))
  res = assert(http.request{ method = "PUT", url = server.url .. "/echo", body = empty })
  T.eq(res.body, "")
  T.eq(last_request().headers["content-length"], "0")
end)

T.test("an open io file works as a body source and stays usable", function()
  local f = assert(io.open(text_path, "rb"))
  local body = assert(http.file_body(f, 0, 20))
  local res = assert(http.request{ method = "PUT", url = server.url .. "/echo", body = body })
  T.eq(res.body, text:sub(1, 20))
  T.eq(f:read(4), "0123", "the handle's own position is untouched")
  f:close()
  body:close()
  T.match(tostring(T.raises(function()
    http.request{ method = "PUT", url = server.url .. "/echo", body = body }
  end)), "closed")
  T.raises(function() http.request{ method = "PUT", url = server.url, body = {} } end)
end)

T.test("a file that shrinks while sending gives BodyReadError", function()
  local path = write("shrinks.txt", ("z"):rep(100000))
  local body = assert(http.file_body(path))
  assert(io.open(path, "wb")):close()  -- truncate under the body
  local res, err = http.request{ method = "PUT", url = server.url .. "/echo", body = body }
  T.eq(res, nil)
  T.eq(err.code, "BodyReadError")
  T.eq(require("luaws.sdk.retry").classify { transport = true, code = err.code }, nil, "never retried")
end)

T.test("sink: a 2xx body goes to the file, not memory; errors stay in memory", function()
  local sink = dir .. "/large.out"
  local res = assert(http.request{ url = server.url .. "/large", sink = sink, max_body = 1024 })
  T.eq(res.status, 200)
  T.eq(res.body, "", "no body in memory (and max_body does not cap a sink)")
  T.eq(res.sink, sink)
  T.eq(res.sink_bytes, 8 * 1024 * 1024)
  local got = read_all(sink)
  T.eq(#got, 8 * 1024 * 1024)
  T.eq(got:find("[^x]"), nil)
  -- a second download truncates the file first
  local small = assert(http.request{ method = "PUT", url = server.url .. "/echo", body = "abc", sink = sink })
  T.eq(small.sink_bytes, 3)
  T.eq(read_all(sink), "abc")
  local missing_sink = dir .. "/missing.out"
  local miss = assert(http.request{ url = server.url .. "/missing", sink = missing_sink })
  T.eq(miss.status, 404)
  T.match(miss.body, "NoSuchKey")
  T.eq(miss.sink, nil)
  T.eq(io.open(missing_sink, "rb"), nil, "no file for an error response")
end)

T.test("sink: an empty 2xx body still creates the file; unwritable sinks fail clearly", function()
  local sink = write("empty.out", "old content")
  local res = assert(http.request{ url = server.url .. "/empty", sink = sink })
  T.eq(res.status, 204)
  T.eq(res.sink_bytes, 0)
  T.eq(read_all(sink), "")
  local none, err = http.request{ url = server.url .. "/large", sink = dir .. "/no/such/dir/x" }
  T.eq(none, nil)
  T.eq(err.code, "SinkWriteError")
  T.eq(require("luaws.sdk.retry").classify { transport = true, code = err.code }, nil, "never retried")
  T.match(err.message, "No such file or directory")
  T.raises(function() http.request{ url = server.url, sink = 42 } end)
end)

T.test("sink: memory stays bounded for a download far larger than max_body", function()
  local function hwm_kb()
    for line in io.lines("/proc/self/status") do
      local kb = line:match("^VmHWM:%s+(%d+)")
      if kb then return tonumber(kb) end
    end
  end
  server.script{ routes = { ["/huge"] = { body_size = 96 * 1024 * 1024 } } }
  local before = hwm_kb()
  local res = assert(http.request{ url = server.url .. "/huge", sink = dir .. "/huge.out", timeout = 120 })
  T.eq(res.sink_bytes, 96 * 1024 * 1024)
  local grew_mb = (hwm_kb() - before) / 1024
  T.ok(grew_mb < 16, string.format("peak RSS grew %.1f MB for a 96 MB download", grew_mb))
  os.remove(dir .. "/huge.out")
end)

T.test("the URL path is sent exactly as built (no dot-segment or slash normalisation)", function()
  server.script{ default = { status = 200, body = "ok" } }
  assert(http.request{ url = server.url .. "/bucket/a/../b/./c//d%20e" })
  T.eq(last_request().path, "/bucket/a/../b/./c//d%20e")
  assert(http.request{ url = server.url .. "/bucket/.." })
  T.eq(last_request().path, "/bucket/..")
end)

server.stop()
os.execute("rm -rf '" .. dir .. "'")
T.done()
