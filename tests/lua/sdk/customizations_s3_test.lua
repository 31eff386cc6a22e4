-- customizations_s3_test: the S3 hooks of luaws.sdk.customizations.s3, one quirk at a time (no network).
local T = require "testing"
local customizations = require "luaws.sdk.customizations"
local s3 = require "luaws.sdk.customizations.s3"

local function op(fields) return fields or {} end
local function ctx_for(op_name, params, extra)
  local ctx = { op_name = op_name, params = params or {}, region = "us-east-1", op = op(),
    service_name = "s3" }
  for k, v in pairs(extra or {}) do ctx[k] = v end
  return ctx
end

-- Output shapes as luaws.sdk.model decodes them, reduced to what the hooks read.
local STRUCT_OUTPUT = { output = { type = "structure", by_name = {} } }
local BLOB_PAYLOAD = { output = { type = "structure", payload = "Body",
  by_name = { Body = { shape = { type = "blob" } } } } }

T.test("the loader gives S3 its hooks and services without quirks an empty table", function()
  T.eq(customizations.for_service("s3"), s3)
  T.eq(type(s3.prepare), "function")
  T.eq(next(customizations.for_service("sqs")), nil)
  T.eq(customizations.for_service("sqs").prepare, nil)
end)

T.test("CreateBucket: LocationConstraint from the region outside us-east-1 (as `aws s3 mb`)", function()
  local ctx = ctx_for("CreateBucket", { Bucket = "b" })
  s3.prepare(ctx)
  T.eq(ctx.params.CreateBucketConfiguration, nil, "us-east-1 sends no configuration")
  ctx = ctx_for("CreateBucket", { Bucket = "b" }, { region = "eu-west-1" })
  s3.prepare(ctx)
  T.same(ctx.params.CreateBucketConfiguration, { LocationConstraint = "eu-west-1" })
  local given = { ObjectOwnership = "x" }
  ctx = ctx_for("CreateBucket", { Bucket = "b", CreateBucketConfiguration = given }, { region = "ap-south-1" })
  s3.prepare(ctx)
  T.eq(ctx.params.CreateBucketConfiguration.LocationConstraint, "ap-south-1")
  T.eq(given.LocationConstraint, nil, "the caller's table is not modified")
  ctx = ctx_for("CreateBucket", { Bucket = "b",
    CreateBucketConfiguration = { LocationConstraint = "us-west-2" } }, { region = "eu-west-1" })
  s3.prepare(ctx)
  T.eq(ctx.params.CreateBucketConfiguration.LocationConstraint, "us-west-2", "an explicit one wins")
end)

T.test("bucket names that are neither names nor ARNs are refused before sending", function()
  local e = T.raises(function() s3.prepare(ctx_for("GetObject", { Bucket = "a/b", Key = "k" })) end)
  T.eq(e.code, "ParamValidation")
  T.match(tostring(e), "Invalid bucket name")
  s3.prepare(ctx_for("GetObject", { Bucket = "arn:aws:s3:us-west-2:123456789012:accesspoint/x", Key = "k" }))
  s3.prepare(ctx_for("GetObject", { Bucket = "my.bucket-1_x", Key = "k" }))
end)

T.test("CopySource: tables and strings are percent-encoded as botocore does", function()
  local ctx = ctx_for("CopyObject", { CopySource = { Bucket = "src", Key = "a b/c+d~é?.txt", VersionId = "v1" } })
  s3.prepare(ctx)
  T.eq(ctx.params.CopySource, "src/a%20b/c%2Bd~%C3%A9%3F.txt?versionId=v1")
  ctx = ctx_for("UploadPartCopy", { CopySource = "src/dir/key with space?versionId=abc" })
  s3.prepare(ctx)
  T.eq(ctx.params.CopySource, "src/dir/key%20with%20space?versionId=abc")
  ctx = ctx_for("CopyObject", { CopySource = "src/x&y" })
  s3.prepare(ctx)
  T.eq(ctx.params.CopySource, "src/x%26y")
  T.raises(function() s3.prepare(ctx_for("CopyObject", { CopySource = { Bucket = "src" } })) end)
end)

T.test("ListObjects*: EncodingType=url is asked for and the keys decoded, unless the caller asked", function()
  local ctx = ctx_for("ListObjectsV2", { Bucket = "b" })
  s3.prepare(ctx)
  T.eq(ctx.params.EncodingType, "url")
  local result = { EncodingType = "url", Prefix = "a%20b", StartAfter = "x+y",
    Contents = { { Key = "sp%20ace" }, { Key = "plus%2Bsign" }, { Key = "caf%C3%A9" }, { Key = "a+b" } },
    CommonPrefixes = { { Prefix = "dir%2F" } } }
  s3.result(ctx, result, {})
  T.eq(result.Prefix, "a b")
  T.eq(result.StartAfter, "x y")
  T.eq(result.Contents[1].Key, "sp ace")
  T.eq(result.Contents[2].Key, "plus+sign")
  T.eq(result.Contents[3].Key, "café")
  T.eq(result.Contents[4].Key, "a b", "unquote_plus, as botocore")
  T.eq(result.CommonPrefixes[1].Prefix, "dir/")
  ctx = ctx_for("ListObjects", { Bucket = "b", EncodingType = "url" })
  s3.prepare(ctx)
  result = { EncodingType = "url", Contents = { { Key = "a%20b" } } }
  s3.result(ctx, result, {})
  T.eq(result.Contents[1].Key, "a%20b", "the caller's own EncodingType: keys stay encoded")
  ctx = ctx_for("ListObjectVersions", { Bucket = "b" })
  s3.prepare(ctx)
  result = { EncodingType = "url", NextKeyMarker = "k%3D1", Versions = { { Key = "v%20" } },
    DeleteMarkers = { { Key = "d%7E" } } }
  s3.result(ctx, result, {})
  T.eq(result.NextKeyMarker, "k=1")
  T.eq(result.Versions[1].Key, "v ")
  T.eq(result.DeleteMarkers[1].Key, "d~")
end)

T.test("SSE-C keys are base64-encoded with their MD5 when luaws.crypto has md5", function()
  local crypto = require "luaws.crypto"
  local ctx = ctx_for("GetObject", { Bucket = "b", Key = "k", SSECustomerKey = ("k"):rep(32) })
  s3.prepare(ctx)
  if crypto.md5 then
    T.eq(ctx.params.SSECustomerKey, crypto.base64_encode(("k"):rep(32)))
    T.eq(#crypto.base64_decode(ctx.params.SSECustomerKeyMD5), 16)
  else
    T.eq(ctx.params.SSECustomerKey, ("k"):rep(32), "left alone without md5")
  end
end)

T.test("signing: path as sent, encoded once, x-amz-content-sha256 always", function()
  local ctx = ctx_for("PutObject", {})
  local opts = {}
  s3.sign_options(ctx, { url = "http://127.0.0.1:1/b/k", headers = {}, body = "x" }, opts)
  T.eq(opts.normalize_path, false)
  T.eq(opts.double_encode, false)
  T.eq(opts.sign_body, true)
  T.eq(opts.payload_hash, nil, "the client hashes the body")
end)

T.test("signing: UNSIGNED-PAYLOAD only for a file body over TLS with a checksum header", function()
  local http = require "luaws.http"
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write("data")
  f:close()
  local body = assert(http.file_body(path))
  local function hash_for(url, headers)
    local opts = {}
    s3.sign_options(ctx_for("PutObject", {}), { url = url, headers = headers, body = body }, opts)
    return opts.payload_hash
  end
  T.eq(hash_for("https://s3.amazonaws.com/b/k", { { "x-amz-checksum-crc32", "AAAA" } }), "UNSIGNED-PAYLOAD")
  T.eq(hash_for("https://s3.amazonaws.com/b/k", { { "Content-MD5", "AAAA" } }), "UNSIGNED-PAYLOAD")
  T.eq(hash_for("http://127.0.0.1:9/b/k", { { "x-amz-checksum-crc32", "AAAA" } }), nil, "never over plain HTTP")
  T.eq(hash_for("https://s3.amazonaws.com/b/k", {}), nil, "never without a checksum")
  T.eq(hash_for("https://s3.amazonaws.com/b/k", { { "x-amz-checksum-algorithm", "CRC32" } }), nil)
  body:close()
  os.remove(path)
end)

T.test("Expect: 100-continue for non-empty file bodies on PUT and POST", function()
  local http = require "luaws.http"
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write("data")
  f:close()
  local request = { method = "PUT", headers = {}, body = assert(http.file_body(path)) }
  s3.request(ctx_for("PutObject"), request)
  T.same(request.headers, { { "Expect", "100-continue" } })
  request = { method = "PUT", headers = {}, body = "string body" }
  s3.request(ctx_for("PutObject"), request)
  T.same(request.headers, {})
  request = { method = "PUT", headers = {}, body = assert(http.file_body(path, 4)) }
  s3.request(ctx_for("PutObject"), request)
  T.same(request.headers, {}, "not for an empty body")
  os.remove(path)
end)

T.test("a 200 with an <Error> body is a 500 (so it raises and is retried), except raw payloads", function()
  local err_body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    .. '<Message>We encountered an internal error. Please try again.</Message></Error>'
  local ctx = ctx_for("CompleteMultipartUpload", {}, { op = STRUCT_OUTPUT })
  local res = { status = 200, headers = {}, body = err_body }
  s3.response(ctx, res)
  T.eq(res.status, 500)
  res = { status = 200, headers = {}, body = '<?xml version="1.0"?><CompleteMultipartUploadResult>'
    .. '<ETag>"x"</ETag></CompleteMultipartUploadResult>' }
  s3.response(ctx, res)
  T.eq(res.status, 200)
  res = { status = 200, headers = {}, body = "<CopyObjectResult><ETag>" }
  s3.response(ctx_for("CopyObject", {}, { op = STRUCT_OUTPUT }), res)
  T.eq(res.status, 200, "a truncated success is left to the parser")
  res = { status = 200, headers = {}, body = "garbage" }
  s3.response(ctx_for("CopyObject", {}, { op = STRUCT_OUTPUT }), res)
  T.eq(res.status, 500, "an unreadable 200 counts as an error, as in botocore")
  res = { status = 200, headers = {}, body = err_body }
  s3.response(ctx_for("GetObject", {}, { op = BLOB_PAYLOAD }), res)
  T.eq(res.status, 200, "an object may hold an <Error> document")
  res = { status = 200, headers = {}, body = "" }
  s3.response(ctx_for("PutObject", {}, { op = STRUCT_OUTPUT }), res)
  T.eq(res.status, 200)
end)

T.test("bodiless errors get their code from the status (NotFound, Forbidden, ...)", function()
  local decoded = { code = "HTTP404", message = "HTTP 404 with an unreadable error body" }
  s3.error(ctx_for("HeadObject"), { status = 404, headers = {}, body = "" }, decoded)
  T.eq(decoded.code, "NotFound")
  T.eq(decoded.message, "Not Found")
  decoded = { code = "403" }
  s3.error(ctx_for("HeadBucket"), { status = 403, headers = { ["x-amz-bucket-region"] = "eu-west-1" },
    body = "" }, decoded)
  T.eq(decoded.code, "Forbidden")
  T.eq(decoded.bucket_region, "eu-west-1")
  decoded = {}
  s3.error(ctx_for("GetObject"), { status = 304, headers = {} }, decoded)
  T.eq(decoded.code, "NotModified")
  decoded = { code = "NoSuchKey", message = "The specified key does not exist." }
  s3.error(ctx_for("GetObject"), { status = 404, headers = {},
    body = "<Error><Code>NoSuchKey</Code></Error>" }, decoded)
  T.eq(decoded.code, "NoSuchKey", "a decoded <Error> body is kept")
end)

T.test("GetBucketLocation reads the region from the root element's text", function()
  local result = {}
  s3.result(ctx_for("GetBucketLocation"), result, { status = 200, body = '<?xml version="1.0" encoding="UTF-8"?>\n'
    .. '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>' })
  T.eq(result.LocationConstraint, "eu-west-1")
  result = { LocationConstraint = "junk" }
  s3.result(ctx_for("GetBucketLocation"), result, { status = 200,
    body = '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>' })
  T.eq(result.LocationConstraint, nil, "us-east-1 is an empty element")
end)

T.test("endpoint_operation drops the leading /{Bucket} (the rule set's endpoint holds it)", function()
  local get = { name = "GetObject", http = { method = "GET", path = "/{Bucket}/{Key+}" } }
  local stripped = s3.endpoint_operation(get)
  T.eq(stripped.http.path, "/{Key+}")
  T.eq(stripped.http.method, "GET")
  T.eq(get.http.path, "/{Bucket}/{Key+}", "the model's operation is untouched")
  T.eq(s3.endpoint_operation({ http = { path = "/{Bucket}?location" } }).http.path, "?location")
  T.eq(s3.endpoint_operation({ http = { path = "/" } }), nil, "ListBuckets has no bucket")
end)

T.done()
