-- s3_wire_test: what aws.client("s3") puts on the wire (paths, x-amz-content-sha256, checksums,
-- Expect) and how it treats S3's odd replies, against tests/lib/fakeserver.py; expected paths are
-- botocore 1.43's for the same keys (path-style endpoint http://127.0.0.1:PORT).
local T = require "testing"
local fakeserver = require "fakeserver"
local crypto = require "luaws.crypto"


local server = fakeserver.start { default = { status = 200, body = "" } }
local client_module = require "luaws.sdk.client"
client_module.hooks.sleep = function() end

local function s3(max_attempts)
  return aws.client("s3", { region = "us-east-1", endpoint_url = server.url, max_attempts = max_attempts or 1,
    credentials = { access_key = "AKIAEXAMPLEEXAMPLE12", secret_key = "secret" } })
end
local function last_request()
  local log = server.log()
  return log[#log]
end

-- botocore 1.43: client.put_object(Bucket="bkt", Key=key) -> URL path
local BOTOCORE_PATHS = {
  ["space key.txt"] = "/bkt/space%20key.txt",
  ["plus+sign"] = "/bkt/plus%2Bsign",
  ["tilde~x"] = "/bkt/tilde~x",
  ["unicode-é中文"] = "/bkt/unicode-%C3%A9%E4%B8%AD%E6%96%87",
  ["dots/../x"] = "/bkt/dots/../x",
  ["a//b"] = "/bkt/a//b",
  ["pct%20x"] = "/bkt/pct%2520x",
  ["q?mark"] = "/bkt/q%3Fmark",
  ["hash#x"] = "/bkt/hash%23x",
  ["star*"] = "/bkt/star%2A",
  ["eq=&"] = "/bkt/eq%3D%26",
  ["./lead"] = "/bkt/./lead",
  [".."] = "/bkt/..",
  ["trailing/"] = "/bkt/trailing/",
  ["semi;colon:at@"] = "/bkt/semi%3Bcolon%3Aat%40",
  ["(paren)!'$,"] = "/bkt/%28paren%29%21%27%24%2C",
}

T.test("object keys are encoded as botocore encodes them and sent unnormalised", function()
  local client = s3()
  for key, path in pairs(BOTOCORE_PATHS) do
    client:PutObject { Bucket = "bkt", Key = key, Body = "x" }
    local seen = last_request()
    T.eq(seen.method, "PUT")
    T.eq(seen.path, path, key)
  end
end)

T.test("x-amz-content-sha256 on every request: the body's hash, the empty hash for GET", function()
  local client = s3()
  client:PutObject { Bucket = "bkt", Key = "k", Body = "hello" }
  local seen = last_request()
  T.eq(seen.headers["x-amz-content-sha256"], crypto.sha256_hex("hello"))
  T.match(seen.headers["authorization"], "SignedHeaders=[^,]*x%-amz%-content%-sha256")
  T.eq(seen.headers["x-amz-checksum-crc32"], "NhCmhg==", "CRC32 of hello, as botocore sends")
  server.script { default = { status = 200, body = "" } }
  client:GetObject { Bucket = "bkt", Key = "k" }
  T.eq(last_request().headers["x-amz-content-sha256"],
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
end)

T.test("a file body: hashed in C, streamed, Expect: 100-continue", function()
  local dir, write = T.tempdir()
  local path = write("body.bin", ("abc"):rep(100000))
  local client = s3()
  client:PutObject { Bucket = "bkt", Key = "file", Body = assert(aws.file_body(path, 3, 299994)) }
  local seen = last_request()
  local expected = ("abc"):rep(99998)
  T.eq(seen.headers["content-length"], tostring(#expected))
  T.eq(#seen.body, #expected)
  T.eq(seen.body == expected, true, "the range went out")
  T.eq(seen.headers["x-amz-content-sha256"], crypto.sha256_hex(expected))
  T.eq(seen.headers["expect"], "100-continue")
  T.ok(seen.headers["x-amz-checksum-crc32"], "a flexible checksum header")
  os.execute("rm -rf '" .. dir .. "'")
end)

local ERROR_200 = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
  .. '<Message>We encountered an internal error. Please try again.</Message>'
  .. '<RequestId>R1</RequestId></Error>'
local COMPLETE_OK = '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult '
  .. 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://x/bkt/obj</Location>'
  .. '<Bucket>bkt</Bucket><Key>obj</Key><ETag>"abc-2"</ETag></CompleteMultipartUploadResult>'

local function complete(client)
  return client:CompleteMultipartUpload { Bucket = "bkt", Key = "obj", UploadId = "u1",
    MultipartUpload = { Parts = { { ETag = '"e1"', PartNumber = 1 }, { ETag = '"e2"', PartNumber = 2 } } } }
end

T.test("CompleteMultipartUpload: a 200 with an <Error> body is retried, then succeeds", function()
  server.script { routes = { ["POST /bkt/obj"] = { { status = 200, body = ERROR_200 },
    { status = 200, body = COMPLETE_OK } } } }
  local done = complete(s3(3))
  T.eq(done.ETag, '"abc-2"')
  T.eq(done.ResponseMetadata.RetryAttempts, 1)
  T.eq(#server.log(), 2)
end)

T.test("CopyObject: a 200 with an <Error> body raises an error table when retries run out", function()
  server.script { routes = { ["PUT /bkt/copy"] = { status = 200, body = ERROR_200 } } }
  local e = T.raises(function()
    s3(1):CopyObject { Bucket = "bkt", Key = "copy", CopySource = "src/key" }
  end)
  T.eq(e.code, "InternalError")
  T.eq(e.status, 500)
  T.eq(e.operation, "CopyObject")
  T.eq(e.retryable, true)
  T.eq(last_request().headers["x-amz-copy-source"], "src/key")
end)

T.test("GetObject of an object that is itself an <Error> document is not an error", function()
  server.script { routes = { ["GET /bkt/doc.xml"] = { status = 200, body = ERROR_200 } } }
  T.eq(s3(1):GetObject { Bucket = "bkt", Key = "doc.xml" }.Body, ERROR_200)
end)

T.test("bodiless HEAD errors: NotFound, Forbidden, with the status", function()
  server.script { routes = { ["HEAD /bkt/gone"] = { status = 404 }, ["HEAD /bkt/secret"] = { status = 403 } } }
  local e = T.raises(function() s3(1):HeadObject { Bucket = "bkt", Key = "gone" } end)
  T.eq(e.code, "NotFound")
  T.eq(e.status, 404)
  e = T.raises(function() s3(1):HeadObject { Bucket = "bkt", Key = "secret" } end)
  T.eq(e.code, "Forbidden")
  T.eq(e.status, 403)
end)

T.test("GetObject with a sink: Body is the file opened for reading; errors raise without a file", function()
  local dir = T.tempdir()
  server.script { routes = { ["GET /bkt/big"] = { body_size = 3 * 1024 * 1024,
    headers = { ["Content-Type"] = "application/octet-stream" } },
    ["GET /bkt/nokey"] = { status = 404, body = "<Error><Code>NoSuchKey</Code><Message>none</Message></Error>" } } }
  local got = s3(1):GetObject({ Bucket = "bkt", Key = "big" }, { sink = dir .. "/big" })
  T.eq(io.type(got.Body), "file")
  T.eq(#got.Body:read("a"), 3 * 1024 * 1024)
  got.Body:close()
  T.eq(got.ContentType, "application/octet-stream")
  local e = T.raises(function() s3(1):GetObject({ Bucket = "bkt", Key = "nokey" }, { sink = dir .. "/nokey" }) end)
  T.eq(e.code, "NoSuchKey")
  T.eq(io.open(dir .. "/nokey"), nil)
  e = T.raises(function() s3(1):ListObjectsV2({ Bucket = "bkt" }, { sink = dir .. "/list" }) end)
  T.eq(e.code, "InvalidParameter")
  T.match(e.message, "sink")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("GetObject with stream=true: Body is a reader fed while the body arrives", function()
  server.script { routes = { ["GET /bkt/big"] = { body_size = 2 * 1024 * 1024 + 5,
    headers = { ["Content-Type"] = "application/octet-stream" } },
    ["GET /bkt/nokey"] = { status = 404, body = "<Error><Code>NoSuchKey</Code><Message>none</Message></Error>" } } }
  local got = s3(1):GetObject({ Bucket = "bkt", Key = "big" }, { stream = true })
  T.eq(got.ContentType, "application/octet-stream")
  T.eq(got.Body:read(5), "xxxxx")
  local total = 5
  for chunk in got.Body:chunks() do total = total + #chunk end
  T.eq(total, 2 * 1024 * 1024 + 5)
  T.eq(got.Body:read(1), nil)
  local e = T.raises(function() s3(1):GetObject({ Bucket = "bkt", Key = "nokey" }, { stream = true }) end)
  T.eq(e.code, "NoSuchKey")
  T.eq(e.status, 404)
  got = s3(1):GetObject({ Bucket = "bkt", Key = "big" }, { stream = true })
  T.eq(#got.Body:read("a"), 2 * 1024 * 1024 + 5)
  got = s3(1):GetObject({ Bucket = "bkt", Key = "big" }, { stream = true })
  got.Body:close()
  T.eq(got.Body:read(10), nil, "closed early")
  T.raises(function() s3(1):ListObjectsV2({ Bucket = "bkt" }, { stream = true }) end)
end)

T.test("GetBucketLocation and CreateBucket's LocationConstraint on the wire", function()
  server.script { routes = { ["GET /bkt"] = { status = 200, body = '<?xml version="1.0" encoding="UTF-8"?>\n'
    .. '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-central-1</LocationConstraint>' } } }
  T.eq(s3(1):GetBucketLocation { Bucket = "bkt" }.LocationConstraint, "eu-central-1")
  T.eq(last_request().query, "location")
  server.script { default = { status = 200, body = "" } }
  aws.client("s3", { region = "eu-central-1", endpoint_url = server.url, max_attempts = 1,
    credentials = { access_key = "AKIAEXAMPLEEXAMPLE12", secret_key = "secret" } }):CreateBucket { Bucket = "bkt" }
  T.match(last_request().body, "<LocationConstraint>eu%-central%-1</LocationConstraint>")
  s3(1):CreateBucket { Bucket = "bkt2" }
  T.eq(last_request().body, "", "us-east-1: no configuration body")
end)

server.stop()
T.done()
