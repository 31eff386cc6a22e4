-- http_test: luaws.http against tests/lib/fakeserver.py: requests, concurrency, reuse, transport errors.
local T = require "testing"
local http = require "luaws.http"
local retry = require "luaws.sdk.retry"
local fakeserver = require "fakeserver"

local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")

local server = fakeserver.start{
  routes = {
    ["/hello"] = { status = 200, body = "hello", headers = { ["X-Test"] = "a", ["Content-Type"] = "text/plain" } },
    ["/echo"] = { status = 201, echo = true },
    ["/missing"] = { status = 404, body = "<Error><Code>NoSuchThing</Code></Error>" },
    ["/broken"] = { status = 500, body = "oops" },
    ["/repeated"] = { headers = { { "X-Rep", "a" }, { "X-Rep", "b" }, { "Set-Cookie", "c=1" } }, body = "" },
    ["/large"] = { body_size = 5 * 1024 * 1024 },
    ["/slow"] = { delay = 0.2, body = "slow" },
    ["/lingering"] = { linger = 1.5, body = "bye" },
    ["/stall"] = { stall = 5 },
    ["/reset"] = { close = true, body_size = 100000 },
    ["/sequence"] = { { status = 503 }, { status = 200, body = "second" } },
  },
}

local function last_request()
  local log = server.log()
  return log[#log]
end

T.test("GET with a map of headers", function()
  local res, err = http.request{ url = server.url .. "/hello", headers = { ["X-Custom"] = "v1", ["X-Empty"] = "" } }
  T.eq(err, nil)
  T.eq(res.status, 200)
  T.eq(res.body, "hello")
  T.eq(res.headers["x-test"], "a")
  T.eq(res.headers["content-type"], "text/plain")
  T.eq(res.headers["content-length"], "5")
  T.eq(type(res.elapsed), "number")
  local seen = last_request()
  T.eq(seen.method, "GET")
  T.eq(seen.headers["x-custom"], "v1")
  T.eq(seen.headers["x-empty"], "")
end)

T.test("the path goes out exactly as given: no dot-segment removal, no merged slashes", function()
  local raw = "/bucket/a/./b/../c//d%2Fe"
  local res = http.request{ url = server.url .. raw .. "?x=1" }
  T.ok(res, "answered")
  T.eq(last_request().path, raw, "S3 keys with .. and // are signed and sent as built")
end)

T.test("POST with a list of headers sends the body as is", function()
  local body = "Action=GetCallerIdentity&Version=2011-06-15"
  local res = assert(http.request{
    method = "POST", url = server.url .. "/echo", body = body,
    headers = {
      { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
      { "X-Amz-Date", "20150830T123600Z" },
    },
  })
  T.eq(res.status, 201)
  T.eq(res.body, body)
  local seen = last_request()
  T.eq(seen.method, "POST")
  T.eq(seen.body, body)
  T.eq(seen.headers["content-type"], "application/x-www-form-urlencoded; charset=utf-8")
  T.eq(seen.headers["content-length"], tostring(#body))
  T.eq(seen.headers["x-amz-date"], "20150830T123600Z")
  T.eq(seen.headers["expect"], nil, "no Expect: 100-continue")
end)

T.test("no default Content-Type, and empty POST bodies say Content-Length: 0", function()
  assert(http.request{ method = "POST", url = server.url .. "/echo", body = "{}" })
  T.eq(last_request().headers["content-type"], nil)
  assert(http.request{ method = "POST", url = server.url .. "/echo" })
  T.eq(last_request().headers["content-length"], "0")
end)

T.test("PUT, DELETE and HEAD", function()
  local res = assert(http.request{ method = "PUT", url = server.url .. "/echo", body = "put-body" })
  T.eq(res.body, "put-body")
  T.eq(last_request().method, "PUT")
  res = assert(http.request{ method = "DELETE", url = server.url .. "/hello" })
  T.eq(last_request().method, "DELETE")
  T.eq(res.body, "hello")
  res = assert(http.request{ method = "HEAD", url = server.url .. "/hello" })
  T.eq(last_request().method, "HEAD")
  T.eq(res.body, "")
end)

T.test("HTTP errors are normal responses", function()
  local res, err = http.request{ url = server.url .. "/missing" }
  T.eq(err, nil)
  T.eq(res.status, 404)
  T.match(res.body, "NoSuchThing")
  res = assert(http.request{ url = server.url .. "/broken" })
  T.eq(res.status, 500)
  T.eq(res.body, "oops")
  T.eq(assert(http.request{ url = server.url .. "/sequence" }).status, 503)
  T.eq(assert(http.request{ url = server.url .. "/sequence" }).body, "second")
end)

T.test("repeated response headers are joined", function()
  local res = assert(http.request{ url = server.url .. "/repeated" })
  T.eq(res.headers["x-rep"], "a, b")
  T.eq(res.headers["set-cookie"], "c=1")
end)

T.test("bad headers and arguments raise", function()
  local function with_headers(headers)
    return tostring(T.raises(function() http.request{ url = server.url, headers = headers } end))
  end
  T.match(with_headers{ ["Bad\nName"] = "x" }, "bad header name")
  T.match(with_headers{ X = "a\r\nInjected: 1" }, "line breaks")
  T.raises(function() http.request{ headers = {} } end)
  T.raises(function() http.request("http://x") end)
end)

T.test("large bodies arrive whole; max_body caps them", function()
  local res = assert(http.request{ url = server.url .. "/large" })
  T.eq(#res.body, 5 * 1024 * 1024)
  T.eq(res.body:sub(1, 3), "xxx")
  local none, err = http.request{ url = server.url .. "/large", max_body = 1024 * 1024 }
  T.eq(none, nil)
  T.eq(err.code, "ResponseTooLarge")
  T.eq(err.retryable, nil, "retrying is the SDK's decision, not the transport's")
end)

T.test("50 delayed requests overlap", function()
  local before = http.stats()
  local fns = {}
  for i = 1, 50 do
    fns[i] = function()
      return assert(http.request{ url = server.url .. "/slow?i=" .. i }).body
    end
  end
  local started = http.now()
  local results, errs = http.parallel(fns)
  local wall = http.now() - started
  T.eq(next(errs), nil)
  for i = 1, 50 do T.eq(results[i], "slow") end
  local sum = 50 * 0.2
  T.ok(wall < sum / 4, string.format("wall %.2fs should be well under the serial %.1fs", wall, sum))
  local after = http.stats()
  T.eq(after.requests - before.requests, 50)
  T.ok(after.max_in_flight_seen >= 10, "max_in_flight_seen " .. after.max_in_flight_seen)
  T.eq(after.in_flight, 0)
end)

T.test("the in-flight limit is respected; extra requests queue", function()
  local previous = http.set_max_in_flight(5)
  T.eq(previous, 64)
  local most_in_flight, most_queued, finished = 0, 0, false
  local watcher = http.spawn(function()
    while not finished do
      local s = http.stats()
      most_in_flight = math.max(most_in_flight, s.in_flight)
      most_queued = math.max(most_queued, s.queued)
      http.sleep(0.01)
    end
  end)
  local fns = {}
  for i = 1, 20 do
    fns[i] = function() return assert(http.request{ url = server.url .. "/slow?limit=" .. i }).status end
  end
  local results, errs = http.parallel(fns)
  finished = true
  http.wait(watcher)
  http.set_max_in_flight(previous)
  T.eq(next(errs), nil)
  T.eq(#results, 20)
  T.eq(most_in_flight, 5)
  T.ok(most_queued >= 10, "requests beyond the limit queue: " .. most_queued)
end)

T.test("connections are reused", function()
  server.reset()
  local before = http.stats().connections
  for i = 1, 10 do
    T.eq(assert(http.request{ url = server.url .. "/hello?n=" .. i }).status, 200)
  end
  local new_connections = http.stats().connections - before
  T.ok(new_connections <= 1, "new connections: " .. new_connections)
  local log = server.log()
  T.eq(#log, 10)
  for i = 2, 10 do T.eq(log[i].conn, log[1].conn, "request " .. i .. " on the first connection") end
end)

T.test("Connection: close with a lingering server does not wait for the close", function()
  local started = http.now()
  local res = assert(http.request{ url = server.url .. "/lingering" })
  local wall = http.now() - started
  T.eq(res.body, "bye")
  T.eq(res.headers.connection, "close")
  -- the server keeps the socket open 1.5 s after the response; we stop at Content-Length
  T.ok(res.elapsed < 0.75, string.format("elapsed %.3fs", res.elapsed))
  T.ok(wall < 0.75, string.format("wall %.3fs", wall))
  T.eq(assert(http.request{ url = server.url .. "/hello" }).body, "hello", "the next request still works")
end)

local function expect_error(spec, code, retryable)
  local res, err = http.request(spec)
  T.eq(res, nil)
  T.eq(type(err), "table")
  T.eq(err.code, code, "error code (" .. tostring(err and err.message) .. ")")
  T.eq(retry.classify { transport = true, code = err.code } ~= nil, retryable)
  T.eq(math.type(err.curl_code), "integer")
  T.eq(getmetatable(err).__name, "luaws.TransportError")
  T.match(tostring(err), "^" .. code .. ": .+")
  return err
end

T.test("transport errors: refused, DNS, read timeout, reset, TLS", function()
  local gone = fakeserver.start{}
  local port = gone.port
  gone.stop()
  expect_error({ url = "http://127.0.0.1:" .. port .. "/" }, "ConnectionRefused", true)
  expect_error({ url = "http://luaws-test.invalid/" }, "DNSFailure", true)
  local started = http.now()
  expect_error({ url = server.url .. "/stall", timeout = 0.5 }, "ReadTimeout", true)
  T.ok(http.now() - started < 4, "the timeout cut the stall short")
  expect_error({ url = server.url .. "/reset" }, "ConnectionReset", true)
  local blackhole = fakeserver.start(nil, { blackhole = true })
  expect_error({ url = blackhole.url .. "/", connect_timeout = 0.3 }, "ConnectTimeout", true)
  blackhole.stop()
  expect_error({ url = "https://127.0.0.1:" .. server.port .. "/hello" }, "TLSError", false)
end)

T.test("transport errors inside tasks come back as nil, err too", function()
  local results = http.parallel{
    function() local _, err = http.request{ url = server.url .. "/reset" } return err.code end,
    function() local _, err = http.request{ url = server.url .. "/stall", timeout = 0.3 } return err.code end,
    function() return assert(http.request{ url = server.url .. "/hello" }).body end,
  }
  T.same(results, { "ConnectionReset", "ReadTimeout", "hello" })
end)

T.test("TLS is verified; ca_bundle (AWS_CA_BUNDLE through the config) adds a trusted certificate", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local cert, key = dir .. "/cert.pem", dir .. "/key.pem"
  local ok = os.execute(string.format(
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 2 -subj /CN=127.0.0.1 " ..
    "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", key, cert))
  T.ok(ok, "openssl made a certificate")
  local tls = fakeserver.start({ routes = { ["/"] = { body = "secure" } } }, { tls = { cert, key } })
  local err = expect_error({ url = tls.url .. "/" }, "TLSError", false)
  T.match(err.message, "certificate")
  local res = assert(http.request { url = tls.url .. "/", ca_bundle = cert })
  T.eq(res.status .. " " .. res.body, "200 secure")
  -- A client reaches the same server only because AWS_CA_BUNDLE names the certificate: the reply
  -- is no STS document, so the error is about parsing it, not about TLS.
  local p = io.popen(string.format([[AWS_CA_BUNDLE=%s AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=x %s -e '
    local ok, e = pcall(function()
      return aws.client("sts", {endpoint_url = "%s", region = "us-east-1", max_attempts = 1}):GetCallerIdentity{}
    end)
    io.write(ok and "ok" or e.code)' 2>&1]], cert, bin, tls.url))
  local out = p:read("a")
  p:close()
  tls.stop()
  os.execute("rm -rf " .. dir)
  T.ok(out ~= "TLSError" and out ~= "", out)
end)

T.test("requests from plain code drive spawned tasks", function()
  local progressed = false
  local t = http.spawn(function() progressed = true return "ran" end)
  assert(http.request{ url = server.url .. "/hello" })
  T.ok(progressed, "the task ran while the main chunk waited for its response")
  T.eq(http.wait(t), "ran")
end)

server.stop()
T.done()
