-- customizations.s3: S3's quirks, as botocore's s3 handlers and S3SigV4Auth (and the CLI's mb) do them.
-- Hooks: see luaws.sdk.customizations; endpoint_builtins and endpoint_operation serve the rule-set
-- endpoint resolver (botocore's customize_endpoint_resolver_builtins and
-- remove_bucket_from_url_paths_from_model). Nothing here sends requests; the client does.
local uri = require "luaws.core.uri"

local M = {}


-- urllib.parse.unquote_plus: "+" is a space, %XX a byte.
local function unquote_plus(s)
  s = s:gsub("%+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end


---------------------------------------------------------------------------------------------------
-- prepare: parameters
---------------------------------------------------------------------------------------------------

local VALID_BUCKET = "^[%w%.%-_]+$"

-- botocore validate_bucket_name: a bucket that is no name and no ARN would be put in the URL.
local function check_bucket(ctx)
  local bucket = ctx.params.Bucket
  if type(bucket) ~= "string" or bucket:find("^arn:") then return end
  if #bucket > 255 or not bucket:find(VALID_BUCKET) then
    error(require("luaws.core.errors").new { code = "ParamValidation", service = "s3",
      operation = ctx.op_name, message = string.format(
        "Invalid bucket name %q: bucket names match [a-zA-Z0-9.-_]{1,255} or are ARNs", bucket) }, 0)
  end
end

-- The CLI's `s3 mb`: outside us-east-1 a bucket is created where the client points.
local function create_bucket(ctx)
  local region = ctx.region
  if not region or region == "us-east-1" or region == "aws-global" then return end
  local config = ctx.params.CreateBucketConfiguration
  if config == nil then
    ctx.params.CreateBucketConfiguration = { LocationConstraint = region }
  elseif type(config) == "table" and config.LocationConstraint == nil and config.Location == nil then
    local copy = {}
    for k, v in pairs(config) do copy[k] = v end
    copy.LocationConstraint = region
    ctx.params.CreateBucketConfiguration = copy
  end
end

-- botocore handle_copy_source_param: {Bucket=, Key=, VersionId=} or "bucket/key[?versionId=v]",
-- sent with the key percent-encoded (slashes kept).
local function copy_source(ctx)
  local source = ctx.params.CopySource
  if type(source) == "table" then
    local bucket, key = source.Bucket, source.Key
    if bucket == nil or key == nil then
      error(require("luaws.core.errors").new { code = "ParamValidation", service = "s3",
        operation = ctx.op_name, message = "CopySource needs Bucket and Key" }, 0)
    end
    local path = tostring(bucket):find("^arn:") and (bucket .. "/object/" .. key) or (bucket .. "/" .. key)
    local value = uri.encode(path, true)
    if source.VersionId ~= nil then value = value .. "?versionId=" .. tostring(source.VersionId) end
    ctx.params.CopySource = value
  elseif type(source) == "string" then
    local first, version = source:match("^(.-)(%?versionId=%S+)$")
    if first then
      ctx.params.CopySource = uri.encode(first, true) .. version
    else
      ctx.params.CopySource = uri.encode(source, true)
    end
  end
end

-- botocore set_list_objects_encoding_type_url: ask for url-encoded keys (XML 1.0 cannot carry
-- every byte a key may hold) and decode them in result(), unless the caller asked itself.
local function list_encoding(ctx)
  if ctx.params.EncodingType == nil then
    ctx.params.EncodingType = "url"
    ctx.s3_encoding_auto = true
  end
end

-- botocore sse_md5: SSE-C keys are sent base64-encoded with the MD5 of the raw key.
local function sse_md5(ctx, prefix)
  local p = ctx.params
  local key = p[prefix .. "Key"]
  if key == nil or p[prefix .. "KeyMD5"] ~= nil then return end
  local crypto = require "luaws.crypto"
  if not crypto.md5 then return end
  p[prefix .. "Key"] = crypto.base64_encode(key)
  p[prefix .. "KeyMD5"] = crypto.base64_encode(crypto.md5(key))
end

local SSE_OPS = { HeadObject = 1, GetObject = 1, PutObject = 1, CopyObject = 2, CreateMultipartUpload = 1,
  UploadPart = 1, UploadPartCopy = 2, CompleteMultipartUpload = 1, SelectObjectContent = 1 }
local LIST_OPS = { ListObjects = true, ListObjectsV2 = true, ListObjectVersions = true }

function M.prepare(ctx)
  local op = ctx.op_name
  check_bucket(ctx)
  if op == "CreateBucket" then create_bucket(ctx) end
  if op == "CopyObject" or op == "UploadPartCopy" then copy_source(ctx) end
  if LIST_OPS[op] then list_encoding(ctx) end
  local sse = SSE_OPS[op]
  if sse then
    sse_md5(ctx, "SSECustomer")
    if sse == 2 then sse_md5(ctx, "CopySourceSSECustomer") end
  end
end

---------------------------------------------------------------------------------------------------
-- request and signing
---------------------------------------------------------------------------------------------------

local function header(request, name)
  local lower = name:lower()
  for _, h in ipairs(request.headers) do
    if h[1]:lower() == lower then return h[2] end
  end
end

local function has_checksum_header(request)
  for _, h in ipairs(request.headers) do
    local n = h[1]:lower()
    if n == "content-md5" or n:find("^x%-amz%-checksum%-") and n ~= "x-amz-checksum-algorithm"
        and n ~= "x-amz-checksum-type" then
      return true
    end
  end
  return false
end

-- botocore add_expect_header: a file body on PUT/POST waits for 100 Continue, so a request S3
-- refuses (a redirect, a bad signature) is answered before hundreds of MB go out.
function M.request(_, request)
  local body = request.body
  if type(body) == "userdata" and (request.method == "PUT" or request.method == "POST")
      and body:size() > 0 and header(request, "Expect") == nil then
    request.headers[#request.headers + 1] = { "Expect", "100-continue" }
  end
end

-- S3SigV4Auth: the path is signed as sent (no normalisation, encoded once), x-amz-content-sha256
-- is always sent and signed; the payload goes unsigned only over TLS with a checksum header on a
-- streaming upload (botocore's default).
function M.sign_options(ctx, request, opts)
  opts.normalize_path = false
  opts.double_encode = false
  opts.sign_body = true
  local streaming = type(request.body) == "userdata" or ctx.s3_streaming_input
  if streaming and request.url:find("^https:") and has_checksum_header(request) then
    opts.payload_hash = "UNSIGNED-PAYLOAD"
  end
end

---------------------------------------------------------------------------------------------------
-- responses
---------------------------------------------------------------------------------------------------

-- Whether the operation's result is its raw body (GetObject, GetBucketPolicy, ...): such a body
-- may itself be an <Error> document, so it never counts as one.
local function body_is_payload(op)
  local output = op.output
  if not output or not output.payload then return false end
  local ref = output.by_name and output.by_name[output.payload]
  local t = ref and ref.shape and ref.shape.type
  return t == "blob" or t == "string"
end

-- The name of a document's root element (no copy of the body, which may be a large listing).
local function root_element(body)
  local _, decl_end = body:find("^%s*<%?xml.-%?>")
  return body:match("^%s*<([%w_:%-]+)", (decl_end or 0) + 1)
end

-- botocore _handle_200_error: a 200 whose body is an <Error> document (CompleteMultipartUpload,
-- CopyObject, UploadPartCopy fail this way mid-copy) is a 500, so it raises and is retried.
function M.response(ctx, res)
  if res.status ~= 200 or res.sink or type(res.body) ~= "string" or res.body == "" then return end
  if ctx.op.output == nil or body_is_payload(ctx.op) then return end
  local root = root_element(res.body)
  if root == "Error" or root == nil then
    res.status = 500
    ctx.s3_200_error = true
  end
end

local STATUS_CODES = { [301] = "MovedPermanently", [304] = "NotModified", [307] = "TemporaryRedirect",
  [400] = "BadRequest", [403] = "Forbidden", [404] = "NotFound", [405] = "MethodNotAllowed",
  [412] = "PreconditionFailed", [416] = "InvalidRange", [500] = "InternalError",
  [503] = "ServiceUnavailable" }
local STATUS_TEXT = { [301] = "Moved Permanently", [304] = "Not Modified", [307] = "Temporary Redirect",
  [400] = "Bad Request", [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [412] = "Precondition Failed", [416] = "Requested Range Not Satisfiable",
  [500] = "Internal Server Error", [503] = "Service Unavailable" }

-- A bodiless error (HeadObject's and HeadBucket's 404 and 403, a 304) gets its code from the
-- status, as the SDKs name them: NotFound, Forbidden, NotModified, ...
function M.error(_, res, decoded)
  if res.body ~= nil and res.body ~= "" then
    if decoded.code and not decoded.code:find("^HTTP%d") then return end
    local root = root_element(res.body)
    if root == "Error" then return end
  end
  decoded.code = STATUS_CODES[res.status] or tostring(res.status)
  decoded.message = STATUS_TEXT[res.status] or ("HTTP " .. tostring(res.status))
  local region = res.headers and res.headers["x-amz-bucket-region"]
  if region then decoded.bucket_region = region end
end

local function decode_list(result, top_keys, nested)
  for _, k in ipairs(top_keys) do
    if type(result[k]) == "string" then result[k] = unquote_plus(result[k]) end
  end
  for _, pair in ipairs(nested) do
    local list = result[pair[1]]
    if type(list) == "table" then
      for _, item in ipairs(list) do
        if type(item) == "table" and type(item[pair[2]]) == "string" then
          item[pair[2]] = unquote_plus(item[pair[2]])
        end
      end
    end
  end
end

local LIST_DECODE = {
  ListObjects = { { "Delimiter", "Marker", "NextMarker", "Prefix" },
    { { "Contents", "Key" }, { "CommonPrefixes", "Prefix" } } },
  ListObjectsV2 = { { "Delimiter", "Prefix", "StartAfter" },
    { { "Contents", "Key" }, { "CommonPrefixes", "Prefix" } } },
  ListObjectVersions = { { "KeyMarker", "NextKeyMarker", "Prefix", "Delimiter" },
    { { "Versions", "Key" }, { "DeleteMarkers", "Key" }, { "CommonPrefixes", "Prefix" } } },
}

-- botocore parse_get_bucket_location: the body is one element whose text is the region
-- (empty for us-east-1).
local function bucket_location(result, res)
  local ok, root = pcall(require("luaws.xml").decode, res.body or "")
  if not ok or type(root) ~= "table" then return end
  local text = root.text
  if text == "" then text = nil end
  result.LocationConstraint = text
end

function M.result(ctx, result, res)
  local op = ctx.op_name
  if op == "GetBucketLocation" then
    bucket_location(result, res)
  elseif LIST_OPS[op] and ctx.s3_encoding_auto and result.EncodingType == "url" then
    local spec = LIST_DECODE[op]
    decode_list(result, spec[1], spec[2])
  end
end

---------------------------------------------------------------------------------------------------
-- endpoints (read by luaws.sdk.endpoints.resolver)
---------------------------------------------------------------------------------------------------

-- "arn:partition:service:region:account:resource" (botocore's ArnParser.is_arn).
local function is_arn(s)
  if type(s) ~= "string" or s:sub(1, 4) ~= "arn:" then return false end
  local _, colons = s:gsub(":", "")
  return colons >= 5
end

--- s3.endpoint_builtins(builtins, op, params) -> builtins for this call (a copy when changed):
--- GetBucketLocation always uses path style (the bucket's region is unknown to the caller and
--- a virtual host could answer AuthorizationHeaderMalformed); an ARN bucket never does.
function M.endpoint_builtins(builtins, op, params)
  local force
  if op.name == "GetBucketLocation" then
    force = true
  elseif is_arn(params.Bucket) then
    force = false
  end
  if force == nil or builtins["AWS::S3::ForcePathStyle"] == force then return builtins end
  local copy = {}
  for k, v in pairs(builtins) do copy[k] = v end
  copy["AWS::S3::ForcePathStyle"] = force
  return copy
end

--- s3.endpoint_operation(op, static) -> a copy of op whose request URI lacks its leading "/{Bucket}"
--- ("/{Bucket}/{Key+}" -> "/{Key+}", "/{Bucket}?uploads" -> "?uploads"), or nil when it has none.
function M.endpoint_operation(op)
  local path = op.http and op.http.path
  if type(path) ~= "string" or path:sub(1, 9) ~= "/{Bucket}" then return nil end
  local copy, http = {}, {}
  for k, v in pairs(op) do copy[k] = v end
  for k, v in pairs(op.http) do http[k] = v end
  http.path = path:sub(10)
  copy.http = http
  return copy
end

return M
