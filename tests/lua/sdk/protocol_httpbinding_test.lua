-- protocol_httpbinding_test: URI labels, query strings, headers, host prefixes and request checksums.
-- luacheck: no max line length (fixtures: wire forms read best unbroken)
local T = require "testing"
local cjson = require "cjson"
local crypto = require "luaws.crypto"
local F = require "rest_fixtures"
local uri = require "luaws.core.uri"
local rj, rx, RJ, RX, build, headers_of = F.rj, F.rx, F.RJ, F.RX, F.build, F.headers_of

T.test("URI labels: percent-encoded; '/' kept only in greedy {Key+}", function()
  local req = build(rj, RJ, "GetObject", { Bucket = "a/b c", Key = "dir one/x+y/../ü~.txt" })
  T.eq(req.method, "GET")
  T.eq(req.path, "/buckets/a%2Fb%20c/objects/dir%20one/x%2By/../%C3%BC~.txt")
  T.eq(req.body, nil, "a GET with no body members sends no body")
  T.eq(uri.encode("a/b", true), "a/b")
  T.eq(uri.encode("a/b"), "a%2Fb")
  T.eq(uri.encode("-._~ *"), "-._~%20%2A")
end)

T.test("an empty or absent URI label is a validation error, not a different path", function()
  local e = T.raises(function() build(rj, RJ, "GetObject", { Bucket = "", Key = "k" }) end)
  T.eq(e.code, "ParamValidation")
  T.match(e.message, "URI label Bucket")
  e = T.raises(function() build(rj, RJ, "GetObject", { Key = "k" }) end)
  T.match(e.message, 'Missing required parameter in input: "Bucket"')
end)

T.test("query string: scalars, lists repeat the name, maps add their keys, booleans and timestamps", function()
  local req = build(rj, RJ, "GetObject", { Bucket = "b", Key = "k", VersionId = "v 1", Tags = { "x", "y&z" },
    Filters = { versionId = "ignored: the named member wins", color = "red" }, Flag = true, When = 0 })
  local pairs_ = uri.split_query(req.query)
  local seen = {}
  for _, kv in ipairs(pairs_) do seen[#seen + 1] = kv[1] .. "=" .. kv[2] end
  table.sort(seen)
  T.same(seen, { "color=red", "flag=true", "tag=x", "tag=y&z", "versionId=v 1", "when=1970-01-01T00:00:00Z" })
  T.match(req.query, "versionId=v%%201")
  T.match(req.query, "tag=y%%26z")
end)

T.test("a literal query in the request URI stays first (\"?mode=plain\")", function()
  local req = build(rj, RJ, "PutText", { Text = "hello" })
  T.eq(req.path, "/text")
  T.eq(req.query, "mode=plain")
end)

T.test("header bindings: RFC 1123 timestamps, lists quoted, prefix maps, jsonvalue base64, doubles", function()
  local req = build(rj, RJ, "GetObject", { Bucket = "b", Key = "k", IfModifiedSince = "2015-10-21T07:28:00Z",
    Ids = { "a", "b,c", 'say "hi"' }, Meta = { color = "red", size = "L" }, Doc = { a = { 1, 2 } }, Ratio = 0.5,
    Epoch = 1445412480 })
  local h = headers_of(req)
  T.eq(h["if-modified-since"], "Wed, 21 Oct 2015 07:28:00 GMT")
  T.eq(h["x-ids"], 'a,"b,c","say \\"hi\\""')
  T.eq(h["x-meta-color"], "red")
  T.eq(h["x-meta-size"], "L")
  T.same(cjson.decode(crypto.base64_decode(h["x-doc"])), { a = { 1, 2 } })
  T.eq(h["x-ratio"], "0.5")
  T.eq(h["x-epoch"], "1445412480", "timestampFormat unixTimestamp in a header")
  local empty = headers_of(build(rj, RJ, "GetObject", { Bucket = "b", Key = "k", Ids = {} }))
  T.eq(empty["x-ids"], nil, "an empty header list sends no header")
end)

T.test("hostPrefix with hostLabel members; a bad label is refused before sending", function()
  local req = build(rj, RJ, "PutConfig", { AccountId = "123456789012", Name = "n", ClientToken = "t" })
  T.eq(req.host_prefix, "123456789012.data-")
  local e = T.raises(function() build(rj, RJ, "PutConfig", { AccountId = "evil.com/", Name = "n" }) end)
  T.match(e.message, "AccountId")
end)

T.test("httpChecksumRequired: CRC32 of the body; httpChecksum algorithm member honoured", function()
  local req = build(rj, RJ, "PutConfig", { AccountId = "1", Name = "n", ClientToken = "t", Config = { Enabled = true } })
  T.eq(headers_of(req)["x-amz-checksum-crc32"], crypto.base64_encode(crypto.crc32('{"Enabled":true}')))
  local tagging = { Bucket = "b", Tagging = { TagSet = { { Key = "k", Value = "v" } } } }
  req = build(rx, RX, "PutTagging", tagging)
  local h = headers_of(req)
  T.eq(h["x-amz-sdk-checksum-algorithm"], "CRC32")
  T.eq(h["x-amz-checksum-crc32"], crypto.base64_encode(crypto.crc32(req.body)))
  tagging.ChecksumAlgorithm = "SHA256"
  h = headers_of(build(rx, RX, "PutTagging", tagging))
  T.eq(h["x-amz-checksum-sha256"], crypto.base64_encode(crypto.sha256(req.body)))
  T.eq(h["x-amz-checksum-crc32"], nil)
  tagging.ChecksumAlgorithm = "MD5X"
  T.eq(T.raises(function() build(rx, RX, "PutTagging", tagging) end).code, "ParamValidation")
  T.eq(crypto.hex(crypto.md5("")), "d41d8cd98f00b204e9800998ecf8427e", "Content-MD5 is available")
  T.eq(crypto.hex(crypto.crc32c("hello")), "9a71bb4c")
  T.eq(crypto.hex(crypto.crc64nvme("123456789")), "ae8b14860a799888")
end)

T.test("checksums when supported by default; AWS_REQUEST_CHECKSUM_CALCULATION=when_required skips optional ones", function()
  local params = { Bucket = "b", Tagging = { TagSet = {} } }
  T.ok(headers_of(build(rx, RX, "PutTaggingOptional", params))["x-amz-checksum-crc32"], "when_supported")
  local saved = os.getenv
  os.getenv = function(name) -- luacheck: ignore 122
    if name == "AWS_REQUEST_CHECKSUM_CALCULATION" then return "WHEN_REQUIRED" end
    return saved(name)
  end
  local ok, err = pcall(function()
    T.eq(headers_of(build(rx, RX, "PutTaggingOptional", params))["x-amz-checksum-crc32"], nil)
    T.ok(headers_of(build(rx, RX, "PutTagging", params))["x-amz-checksum-crc32"], "a required one stays")
  end)
  os.getenv = saved -- luacheck: ignore 122
  if not ok then error(err, 0) end
end)

T.done()
