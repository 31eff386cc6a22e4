/* lua_crypto.c: the "luaws.crypto" module: SHA-256, HMAC, MD5/SHA-1/CRC32(C), hex, base64, UUIDs. */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "modules.h"
#include "sigv4.h"

/* crypto.sha256(data) -> 32 raw bytes. */
static int l_sha256(lua_State *L) {
  size_t n;
  const char *data = luaL_checklstring(L, 1, &n);
  unsigned char digest[32];
  if (!luaws_sha256(data, n, digest))
    return luaL_error(L, "crypto.sha256: OpenSSL failed");
  lua_pushlstring(L, (const char *)digest, 32);
  return 1;
}

/* crypto.sha256_hex(data) -> 64 lowercase hex digits. */
static int l_sha256_hex(lua_State *L) {
  size_t n;
  const char *data = luaL_checklstring(L, 1, &n);
  unsigned char digest[32];
  char hex[65];
  if (!luaws_sha256(data, n, digest))
    return luaL_error(L, "crypto.sha256_hex: OpenSSL failed");
  luaws_hex_encode(digest, 32, hex);
  lua_pushlstring(L, hex, 64);
  return 1;
}

/* crypto.hmac_sha256(key, data) -> 32 raw bytes. */
static int l_hmac_sha256(lua_State *L) {
  size_t key_len, n;
  const char *key = luaL_checklstring(L, 1, &key_len);
  const char *data = luaL_checklstring(L, 2, &n);
  unsigned char mac[32];
  if (!luaws_hmac_sha256(key, key_len, data, n, mac))
    return luaL_error(L, "crypto.hmac_sha256: OpenSSL failed");
  lua_pushlstring(L, (const char *)mac, 32);
  OPENSSL_cleanse(mac, sizeof mac);
  return 1;
}

/* crypto.hex(raw) -> lowercase hex. */
static int l_hex(lua_State *L) {
  size_t n;
  const unsigned char *raw = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, 2 * n + 1);
  luaws_hex_encode(raw, n, out);
  luaL_pushresultsize(&b, 2 * n);
  return 1;
}

/* crypto.unhex(hex) -> raw bytes, or nil, message for odd length or a non-hex digit. */
static int l_unhex(lua_State *L) {
  size_t n;
  const unsigned char *hex = (const unsigned char *)luaL_checklstring(L, 1, &n);
  if (n % 2 != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "crypto.unhex: odd number of hex digits");
    return 2;
  }
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, n / 2);
  for (size_t i = 0; i < n; i += 2) {
    int hi = luaws_hex_value(hex[i]), lo = luaws_hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      lua_pushnil(L);
      lua_pushfstring(L, "crypto.unhex: not a hex digit at position %d", (int)(hi < 0 ? i + 1 : i + 2));
      return 2;
    }
    out[i / 2] = (char)(hi * 16 + lo);
  }
  luaL_pushresultsize(&b, n / 2);
  return 1;
}

/* crypto.base64_encode(raw) -> standard base64 with padding, no newlines. */
static int l_base64_encode(lua_State *L) {
  size_t n;
  const unsigned char *raw = (const unsigned char *)luaL_checklstring(L, 1, &n);
  if (n > (size_t)INT32_MAX / 4 * 3 - 3)
    return luaL_error(L, "crypto.base64_encode: input too large");
  size_t out_len = 4 * ((n + 2) / 3);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, out_len + 1);
  int written = n ? EVP_EncodeBlock((unsigned char *)out, raw, (int)n) : 0;
  luaL_pushresultsize(&b, (size_t)written);
  return 1;
}

static bool is_base64_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

static bool is_base64_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* crypto.base64_decode(text) -> raw bytes, or nil, message. Standard alphabet, padded to a
 * multiple of four; spaces and line breaks (wrapped base64) are skipped, nothing else is. */
static int l_base64_decode(lua_State *L) {
  size_t n;
  const unsigned char *text = (const unsigned char *)luaL_checklstring(L, 1, &n);
  size_t spaces = 0;
  for (size_t i = 0; i < n; i++)
    spaces += is_base64_space(text[i]);
  if (spaces > 0) {
    luaL_Buffer stripped;
    char *out = luaL_buffinitsize(L, &stripped, n - spaces);
    for (size_t i = 0, k = 0; i < n; i++)
      if (!is_base64_space(text[i]))
        out[k++] = (char)text[i];
    luaL_pushresultsize(&stripped, n - spaces);
    text = (const unsigned char *)lua_tolstring(L, -1, &n); /* stays on the stack */
  }
  size_t pad = 0;
  if (n % 4 != 0 || n > (size_t)INT32_MAX)
    goto bad;
  if (n >= 1 && text[n - 1] == '=')
    pad++;
  if (n >= 2 && text[n - 2] == '=')
    pad++;
  for (size_t i = 0; i < n - pad; i++)
    if (!is_base64_char(text[i]))
      goto bad;
  if (n == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, n / 4 * 3);
  int written = EVP_DecodeBlock((unsigned char *)out, text, (int)n);
  if (written < 0 || (size_t)written < pad)
    goto bad;
  luaL_pushresultsize(&b, (size_t)written - pad);
  return 1;
bad:
  lua_pushnil(L);
  lua_pushliteral(L, "crypto.base64_decode: not valid base64");
  return 2;
}

/* crypto.random_bytes(n) -> n bytes from the OpenSSL CSPRNG (0 <= n <= 1 MiB). */
static int l_random_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 1048576, 1, "must be 0 to 1048576");
  luaL_Buffer b;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, (size_t)n + 1);
  if (n > 0 && RAND_bytes(out, (int)n) != 1)
    return luaL_error(L, "crypto.random_bytes: the random generator failed");
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}

/* crypto.uuid4() -> random RFC 4122 version 4 UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx". */
static int l_uuid4(lua_State *L) {
  unsigned char r[16];
  if (RAND_bytes(r, sizeof r) != 1)
    return luaL_error(L, "crypto.uuid4: the random generator failed");
  r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
  r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
  char hex[33], out[36];
  luaws_hex_encode(r, 16, hex);
  memcpy(out, hex, 8);
  out[8] = '-';
  memcpy(out + 9, hex + 8, 4);
  out[13] = '-';
  memcpy(out + 14, hex + 12, 4);
  out[18] = '-';
  memcpy(out + 19, hex + 16, 4);
  out[23] = '-';
  memcpy(out + 24, hex + 20, 12);
  lua_pushlstring(L, out, 36);
  return 1;
}

/* Pushes the digest of data under OpenSSL's algorithm md (raw bytes); raises on failure. */
static int push_evp_digest(lua_State *L, const EVP_MD *md, const char *what) {
  size_t n;
  const char *data = luaL_checklstring(L, 1, &n);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!md || !EVP_Digest(data, n, digest, &len, md, NULL))
    return luaL_error(L, "crypto.%s: OpenSSL failed", what);
  lua_pushlstring(L, (const char *)digest, len);
  return 1;
}

/* crypto.md5(data) -> 16 raw bytes (Content-MD5). */
static int l_md5(lua_State *L) { return push_evp_digest(L, EVP_md5(), "md5"); }

/* crypto.sha1(data) -> 20 raw bytes. */
static int l_sha1(lua_State *L) { return push_evp_digest(L, EVP_sha1(), "sha1"); }

/* crypto.sha512(data) -> 64 raw bytes. */
static int l_sha512(lua_State *L) { return push_evp_digest(L, EVP_sha512(), "sha512"); }

/* CRC-32 of data with the reflected polynomial poly (bitwise: checksums are small next to I/O). */
static uint32_t crc32_reflected(const unsigned char *data, size_t n, uint32_t poly) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (poly & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

/* Pushes crc as 4 big-endian bytes (the form AWS base64-encodes into x-amz-checksum-*). */
static int push_crc(lua_State *L, uint32_t crc) {
  unsigned char out[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                          (unsigned char)(crc >> 8), (unsigned char)crc};
  lua_pushlstring(L, (const char *)out, 4);
  return 1;
}

/* crypto.crc32(data) -> 4 raw bytes, big-endian (zlib's CRC-32). */
static int l_crc32(lua_State *L) {
  size_t n;
  const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 1, &n);
  return push_crc(L, crc32_reflected(data, n, 0xedb88320u));
}

/* crypto.crc32c(data) -> 4 raw bytes, big-endian (Castagnoli). */
static int l_crc32c(lua_State *L) {
  size_t n;
  const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 1, &n);
  return push_crc(L, crc32_reflected(data, n, 0x82f63b78u));
}

/* crypto.crc64nvme(data) -> 8 raw bytes, big-endian (CRC-64/NVME, S3's CRC64NVME checksum). */
static int l_crc64nvme(lua_State *L) {
  size_t n;
  const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 1, &n);
  uint64_t crc = ~(uint64_t)0;
  for (size_t i = 0; i < n; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (UINT64_C(0x9a6c9329ac4bc9b5) & (0 - (crc & 1)));
  }
  crc = ~crc;
  unsigned char out[8];
  for (int i = 0; i < 8; i++)
    out[i] = (unsigned char)(crc >> (56 - 8 * i));
  lua_pushlstring(L, (const char *)out, 8);
  return 1;
}

int luaopen_luaws_crypto(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"sha256", l_sha256},
    {"sha256_hex", l_sha256_hex},
    {"hmac_sha256", l_hmac_sha256},
    {"hex", l_hex},
    {"unhex", l_unhex},
    {"base64_encode", l_base64_encode},
    {"base64_decode", l_base64_decode},
    {"random_bytes", l_random_bytes},
    {"uuid4", l_uuid4},
    {"md5", l_md5},
    {"sha1", l_sha1},
    {"crc32", l_crc32},
    {"crc32c", l_crc32c},
    {"crc64nvme", l_crc64nvme},
    {"sha512", l_sha512},
    {NULL, NULL},
  };
  luaL_newlib(L, functions);
  return 1;
}
