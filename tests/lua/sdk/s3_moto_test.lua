-- s3_moto_test: S3 through aws.client against the local cloud with SigV4 checking on: buckets in two
-- regions, waiters, put/get/list with pagination, a 20 MB multipart upload read from disk and
-- downloaded to a sink file, error tables, and keys with special characters.
local T = require "testing"
local cjson = require "cjson"
local localcloud = require "localcloud"


local BOOTSTRAP_REQUESTS = 3
local cloud = localcloud.start { auth = BOOTSTRAP_REQUESTS }
local dir = T.tempdir()

local function client(service, credentials, region)
  return aws.client(service, { region = region or "us-east-1", endpoint_url = cloud.url,
    credentials = credentials, max_attempts = 1 })
end

local CREDS
do
  local boot = { access_key = "AKIABOOTSTRAPEXAMPLE", secret_key = "bootstrapbootstrapbootstrapbootstrap" }
  local iam = client("iam", boot)
  iam:CreateUser { UserName = "s3-tester" }
  iam:PutUserPolicy { UserName = "s3-tester", PolicyName = "everything",
    PolicyDocument = cjson.encode { Version = "2012-10-17",
      Statement = { { Effect = "Allow", Action = "*", Resource = "*" } } } }
  local key = iam:CreateAccessKey { UserName = "s3-tester" }.AccessKey
  CREDS = { access_key = key.AccessKeyId, secret_key = key.SecretAccessKey }
end

local s3 = client("s3", CREDS)
local BUCKET, EU_BUCKET = "luaws-east", "luaws-europe"

local function sha256_of_file(path)
  local body = assert(aws.file_body(path))
  local hex = require("luaws.crypto").hex(body:digest("sha256"))
  body:close()
  return hex
end

T.test("a wrong secret is refused: signature checking is on", function()
  local bad = client("s3", { access_key = CREDS.access_key, secret_key = "wrong" .. CREDS.secret_key })
  local e = T.raises(function() bad:ListBuckets {} end)
  T.eq(e.code, "SignatureDoesNotMatch")
  T.eq(e.status, 403)
end)

T.test("CreateBucket in us-east-1 and in eu-west-1 (LocationConstraint from the region)", function()
  s3:CreateBucket { Bucket = BUCKET }
  client("s3", CREDS, "eu-west-1"):CreateBucket { Bucket = EU_BUCKET }
  T.eq(s3:GetBucketLocation { Bucket = BUCKET }.LocationConstraint, nil, "us-east-1 has no constraint")
  T.eq(s3:GetBucketLocation { Bucket = EU_BUCKET }.LocationConstraint, "eu-west-1")
  local names = {}
  for _, b in ipairs(s3:ListBuckets {}.Buckets) do names[b.Name] = true end
  T.ok(names[BUCKET] and names[EU_BUCKET], "both buckets listed")
end)

T.test("the BucketExists and BucketNotExists waiters (client:wait, botocore's waiters-2)", function()
  s3:wait("BucketExists", { Bucket = BUCKET }, { delay = 0.1, max_attempts = 5 })
  s3:wait("BucketNotExists", { Bucket = "luaws-no-such-bucket" }, { delay = 0.1, max_attempts = 5 })
  local failed = T.raises(function()
    s3:wait("BucketExists", { Bucket = "luaws-no-such-bucket" }, { delay = 0.05, max_attempts = 2 })
  end)
  T.match(tostring(failed), "BucketExists")
  local e = T.raises(function() s3:HeadBucket { Bucket = "luaws-no-such-bucket" } end)
  T.eq(e.code, "NotFound")
  T.eq(e.status, 404)
end)

T.test("PutObject and GetObject with a string body; HeadObject metadata", function()
  local put = s3:PutObject { Bucket = BUCKET, Key = "hello.txt", Body = "hello, S3",
    ContentType = "text/plain", Metadata = { owner = "luaws" } }
  T.match(put.ETag, '^"%x+"$')
  local got = s3:GetObject { Bucket = BUCKET, Key = "hello.txt" }
  T.eq(got.Body, "hello, S3")
  T.eq(got.ContentType, "text/plain")
  T.eq(got.Metadata.owner, "luaws")
  local head = s3:HeadObject { Bucket = BUCKET, Key = "hello.txt" }
  T.eq(head.ContentLength, 9)
  T.eq(head.ETag, put.ETag)
end)

T.test("NoSuchKey is an error table; HeadObject's bodiless 404 is NotFound", function()
  local e = T.raises(function() s3:GetObject { Bucket = BUCKET, Key = "missing.txt" } end)
  T.eq(e.code, "NoSuchKey")
  T.eq(e.status, 404)
  T.eq(e.service, "s3")
  T.eq(e.operation, "GetObject")
  T.eq(e.retryable, false)
  T.ok(e.request_id, "request id")
  T.match(tostring(e), "^s3 GetObject: NoSuchKey: ")
  e = T.raises(function() s3:HeadObject { Bucket = BUCKET, Key = "missing.txt" } end)
  T.eq(e.code, "NotFound")
  T.eq(e.message, "Not Found")
  T.eq(e.status, 404)
end)

-- The prefix has no "/": moto's signature check rejects prefix=page%2F from boto3 as well.
T.test("ListObjectsV2 pages with MaxKeys through client:paginate", function()
  for i = 1, 5 do s3:PutObject { Bucket = BUCKET, Key = ("page-%02d"):format(i), Body = tostring(i) } end
  local pages, keys = 0, {}
  for page in s3:paginate("ListObjectsV2", { Bucket = BUCKET, Prefix = "page-" }, { page_size = 2 }) do
    pages = pages + 1
    T.ok(#page.Contents <= 2, "at most MaxKeys per page")
    for _, o in ipairs(page.Contents) do keys[#keys + 1] = o.Key end
  end
  T.eq(pages, 3)
  T.same(keys, { "page-01", "page-02", "page-03", "page-04", "page-05" })
  local items = {}
  for o in s3:paginate("ListObjectsV2", { Bucket = BUCKET, Prefix = "page-", MaxKeys = 2 }, { items = true }) do
    items[#items + 1] = o.Key
  end
  T.eq(#items, 5)
end)

local SOURCE = dir .. "/twenty.bin"
local MB = 1024 * 1024
local PART = 8 * MB

T.test("multipart upload of a 20 MB file from disk, parts as file ranges", function()
  local f = assert(io.open(SOURCE, "wb"))
  for i = 1, 20 do f:write((("%07d\n"):format(i)):rep(MB // 8)) end
  f:close()
  local upload = s3:CreateMultipartUpload { Bucket = BUCKET, Key = "big/twenty.bin" }
  T.ok(upload.UploadId, "upload id")
  local parts, offset, number = {}, 0, 0
  while offset < 20 * MB do
    number = number + 1
    local length = math.min(PART, 20 * MB - offset)
    local body <close> = assert(aws.file_body(SOURCE, offset, length))
    local part = s3:UploadPart { Bucket = BUCKET, Key = "big/twenty.bin", UploadId = upload.UploadId,
      PartNumber = number, Body = body }
    parts[#parts + 1] = { ETag = part.ETag, PartNumber = number }
    offset = offset + length
  end
  T.eq(#parts, 3)
  local done = s3:CompleteMultipartUpload { Bucket = BUCKET, Key = "big/twenty.bin",
    UploadId = upload.UploadId, MultipartUpload = { Parts = parts } }
  T.match(done.ETag, '%-3"$')
  T.eq(s3:HeadObject { Bucket = BUCKET, Key = "big/twenty.bin" }.ContentLength, 20 * MB)
end)

T.test("GetObject of the 20 MB object to a sink file: same bytes, Body a reader", function()
  local out = dir .. "/twenty.out"
  local got = s3:GetObject({ Bucket = BUCKET, Key = "big/twenty.bin" }, { sink = out })
  T.eq(got.ContentLength, 20 * MB)
  T.eq(io.type(got.Body), "file")
  T.eq(got.Body:read(8), "0000001\n")
  got.Body:close()
  T.eq(sha256_of_file(out), sha256_of_file(SOURCE))
  local ranged = s3:GetObject { Bucket = BUCKET, Key = "big/twenty.bin", Range = "bytes=8388608-8388615" }
  T.eq(ranged.Body, "0000009\n", "a ranged get lands in the second part")
end)

T.test("PutObject from a file body sends its sha256 and a CRC32 computed in C", function()
  local path = dir .. "/small.txt"
  local f = assert(io.open(path, "wb"))
  f:write("file body contents\n")
  f:close()
  s3:PutObject { Bucket = BUCKET, Key = "from-file.txt", Body = assert(aws.file_body(path)) }
  T.eq(s3:GetObject { Bucket = BUCKET, Key = "from-file.txt" }.Body, "file body contents\n")
  local f2 = assert(io.open(path, "rb"))
  f2:read(5)
  s3:PutObject { Bucket = BUCKET, Key = "from-io-file.txt", Body = f2 }
  f2:close()
  T.eq(s3:GetObject { Bucket = BUCKET, Key = "from-io-file.txt" }.Body, "body contents\n",
    "an io file is sent from its position")
end)

-- Keys moto's signature check rejects for boto3 too (measured with boto3 1.43 / moto 5.2.1: its
-- server re-signs the path it decoded). They are sent exactly as botocore sends them.
local MOTO_REJECTS = { "plus+sign", "unicode-é中文", "percent%20", "star*", "amp&eq=" }
local KEYS = { "space key.txt", "tilde~x", "dots/../x", "a//b", "question?mark", "hash#x",
  "./lead", "..", "trailing/" }

local function round_trip(keys)
  for _, key in ipairs(keys) do
    s3:PutObject { Bucket = EU_BUCKET, Key = key, Body = "value of " .. key }
    T.eq(s3:GetObject { Bucket = EU_BUCKET, Key = key }.Body, "value of " .. key, key)
  end
end

T.test("keys with spaces, ~, .., //, ?, # round-trip with signature checking on", function()
  round_trip(KEYS)
end)

T.test("keys with +, unicode, %, *, & round-trip (signature checking off: moto rejects boto3 too)", function()
  localcloud.set_auth(cloud, "inf")
  local ok, err = pcall(round_trip, MOTO_REJECTS)
  localcloud.set_auth(cloud, 0)
  if not ok then error(err, 0) end
end)

T.test("ListObjectsV2 gives every special key back decoded", function()
  local listed = {}
  for o in s3:paginate("ListObjectsV2", { Bucket = EU_BUCKET }, { items = true }) do listed[o.Key] = true end
  for _, key in ipairs(KEYS) do T.ok(listed[key], "listed: " .. key) end
  for _, key in ipairs(MOTO_REJECTS) do T.ok(listed[key], "listed: " .. key) end
end)

T.test("CopyObject with a CopySource table whose key needs encoding", function()
  s3:CopyObject { Bucket = BUCKET, Key = "copied.txt", CopySource = { Bucket = EU_BUCKET, Key = "space key.txt" } }
  T.eq(s3:GetObject { Bucket = BUCKET, Key = "copied.txt" }.Body, "value of space key.txt")
end)

cloud.stop()
os.execute("rm -rf '" .. dir .. "'")
T.done()
