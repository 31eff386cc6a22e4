-- crypto_test: luaws.crypto against published vectors (FIPS 180, RFC 4231, RFC 4648, RFC 4122).
local T = require "testing"
local crypto = require "luaws.crypto"

local function all_bytes()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

T.test("sha256 and sha256_hex", function()
  T.eq(crypto.sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  T.eq(crypto.sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  T.eq(crypto.sha256_hex(("a"):rep(1000000)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  T.eq(#crypto.sha256("abc"), 32)
  T.eq(crypto.hex(crypto.sha256("abc")), crypto.sha256_hex("abc"))
  T.raises(function() crypto.sha256() end)
end)

T.test("hmac_sha256 (RFC 4231)", function()
  T.eq(crypto.hex(crypto.hmac_sha256("Jefe", "what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  T.eq(crypto.hex(crypto.hmac_sha256(("\170"):rep(131),
    "Test Using Larger Than Block-Size Key - Hash Key First")),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
  T.eq(crypto.hex(crypto.hmac_sha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
  T.raises(function() crypto.hmac_sha256("key") end)
end)

T.test("hex and unhex round-trip every byte", function()
  local bytes = all_bytes()
  local hex = crypto.hex(bytes)
  T.eq(#hex, 512)
  T.eq(hex:sub(1, 8), "00010203")
  T.eq(crypto.unhex(hex), bytes)
  T.eq(crypto.unhex(hex:upper()), bytes)
  T.eq(crypto.hex(""), "")
  T.eq(crypto.unhex(""), "")
end)

T.test("unhex returns nil and a message for bad input", function()
  local v, err = crypto.unhex("abc")
  T.eq(v, nil)
  T.match(err, "odd")
  v, err = crypto.unhex("zz")
  T.eq(v, nil)
  T.match(err, "hex digit")
end)

T.test("base64 (RFC 4648 vectors and binary)", function()
  local vectors = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
    fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
  for plain, encoded in pairs(vectors) do
    T.eq(crypto.base64_encode(plain), encoded)
    T.eq(crypto.base64_decode(encoded), plain)
  end
  local bytes = all_bytes():rep(3)
  T.eq(crypto.base64_decode(crypto.base64_encode(bytes)), bytes)
  T.eq(crypto.base64_encode("\255\254"), "//4=")
  T.eq(crypto.base64_decode("Zm9v\r\nYmFy\n"), "foobar", "line-wrapped base64")
  T.eq(crypto.base64_decode(" Zm 9v "), "foo")
end)

T.test("base64_decode returns nil and a message for bad input", function()
  for _, bad in ipairs({ "Zg=", "Zg", "Z===", "====", "Zm9v!A==", "Zm 9", "=Zg=", "Zg=a", "Zm9v-_==" }) do
    local v, err = crypto.base64_decode(bad)
    T.eq(v, nil, bad)
    T.match(err, "base64", bad)
  end
end)

T.test("random_bytes", function()
  T.eq(crypto.random_bytes(0), "")
  local a, b = crypto.random_bytes(32), crypto.random_bytes(32)
  T.eq(#a, 32)
  T.ok(a ~= b, "two draws differ")
  T.raises(function() crypto.random_bytes(-1) end)
  T.raises(function() crypto.random_bytes(1e9) end)
end)

T.test("uuid4 is a random version 4 UUID", function()
  local seen = {}
  for _ = 1, 200 do
    local id = crypto.uuid4()
    T.match(id, "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$")
    T.ok(not seen[id], "duplicate uuid")
    seen[id] = true
  end
end)

T.test("checksums: md5, sha1, sha512, crc32, crc32c, crc64nvme (known vectors, raw bytes)", function()
  local hex = crypto.hex
  T.eq(hex(crypto.md5("")), "d41d8cd98f00b204e9800998ecf8427e")
  T.eq(hex(crypto.md5("The quick brown fox jumps over the lazy dog")), "9e107d9d372bb6826bd81d3542a419d6")
  T.eq(hex(crypto.sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d")
  T.eq(hex(crypto.sha512("abc")):sub(1, 32), "ddaf35a193617abacc417349ae204131")
  T.eq(#crypto.sha512(""), 64)
  -- The CRC catalogue's check values over "123456789", big-endian raw bytes.
  T.eq(hex(crypto.crc32("123456789")), "cbf43926")
  T.eq(hex(crypto.crc32c("123456789")), "e3069283")
  T.eq(hex(crypto.crc64nvme("123456789")), "ae8b14860a799888")
  T.eq(hex(crypto.crc32("")), "00000000")
  T.eq(crypto.base64_encode(crypto.crc32("hello")), "NhCmhg==", "S3's x-amz-checksum-crc32 of \"hello\"")
  local big = string.rep("\255\0", 50000)
  T.eq(#crypto.crc32c(big), 4)
end)

T.done()
