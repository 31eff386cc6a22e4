/* sigv4.c: AWS Signature Version 4 signer over OpenSSL EVP, staged like aws-c-auth (no Lua). */
#include "sigv4.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char ALGORITHM[] = "AWS4-HMAC-SHA256";
static const char EMPTY_SHA256[] =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char HEX_LOWER[] = "0123456789abcdef";
static const char HEX_UPPER[] = "0123456789ABCDEF";

/* A growable byte buffer. Appends after a failed allocation are dropped and `failed` stays
 * set, so builders check once at the end instead of after every append. */
typedef struct sbuf {
  char *data;
  size_t len, cap;
  bool failed;
} sbuf;

typedef struct header_item {
  const char *name; /* lowercase */
  size_t name_len;
  size_t name_off;  /* offset in signer->lower, or SIZE_MAX when `name` is a literal */
  const char *value;
  size_t value_len;
  size_t order;     /* input position: keeps duplicate values in the caller's order */
} header_item;

typedef struct query_item {
  size_t key_off, key_len, value_off, value_len; /* offsets into signer->qbuf while building */
  const char *key, *value;                       /* fixed up once qbuf stops growing */
} query_item;

typedef struct cache_entry {
  unsigned long last_use; /* 0: empty slot */
  size_t secret_len, scope_len;
  char date[8];
  unsigned char secret[LUAWS_SIGV4_CACHE_SECRET_MAX];
  char scope[LUAWS_SIGV4_CACHE_SCOPE_MAX]; /* region '\0' service */
  unsigned char key[32];
} cache_entry;

struct luaws_sigv4_signer {
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  sbuf canonical, headers_block, signed_headers, string_to_sign, authorization, query_out,
       lower, qbuf, path_tmp, scope;
  header_item *hitems;
  size_t hcap;
  query_item *qitems;
  size_t qcap;
  char payload_hash[65];
  cache_entry cache[LUAWS_SIGV4_CACHE_SLOTS];
  unsigned long clock, derived, hits;
  char error[160];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static bool sbuf_reserve(sbuf *b, size_t extra) {
  if (b->failed)
    return false;
  if (b->len + extra + 1 <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (p == NULL) {
    b->failed = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

static void sbuf_add(sbuf *b, const char *s, size_t n) {
  if (n == 0 || !sbuf_reserve(b, n))
    return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

static void sbuf_adds(sbuf *b, const char *s) { sbuf_add(b, s, strlen(s)); }

static void sbuf_addc(sbuf *b, char c) {
  if (!sbuf_reserve(b, 1))
    return;
  b->data[b->len++] = c;
}

/* Empties the buffer, keeping its memory. */
static void sbuf_reset(sbuf *b) {
  b->len = 0;
  b->failed = false;
}

/* NUL-terminates (reserve always leaves room) and reports whether every append succeeded. */
static bool sbuf_finish(sbuf *b) {
  if (!sbuf_reserve(b, 0))
    return false;
  b->data[b->len] = '\0';
  return true;
}

static void sbuf_wipe(sbuf *b) {
  if (b->data) {
    OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
  }
  b->data = NULL;
  b->len = b->cap = 0;
}

static bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int luaws_hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static unsigned char to_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Whether a[0..n) equals the lowercase NUL-terminated `lower`, ignoring ASCII case. */
static bool equals_ci(const char *a, size_t n, const char *lower) {
  for (size_t i = 0; i < n; i++)
    if (lower[i] == '\0' || to_lower((unsigned char)a[i]) != (unsigned char)lower[i])
      return false;
  return lower[n] == '\0';
}

static int fail(luaws_sigv4_signer *s, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap);
  va_end(ap);
  return code;
}

static int out_of_memory(luaws_sigv4_signer *s) {
  return fail(s, LUAWS_SIGV4_ENOMEM, "sigv4: out of memory");
}

/* Percent-encodes every byte but the unreserved ones (and '/' when keep_slash). */
static void uri_encode(sbuf *b, const char *in, size_t n, bool keep_slash) {
  if (!sbuf_reserve(b, n * 3))
    return;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = HEX_UPPER[c >> 4];
      *o++ = HEX_UPPER[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
}

/* Decodes %XX escapes (a stray '%' stays literal) and encodes the result canonically, in one
 * pass: "a%2fb c" -> "a%2Fb%20c". */
static void uri_reencode(sbuf *b, const char *in, size_t n) {
  if (!sbuf_reserve(b, n * 3))
    return;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '%' && i + 2 < n) {
      int hi = luaws_hex_value((unsigned char)in[i + 1]);
      int lo = luaws_hex_value((unsigned char)in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = (unsigned char)(hi * 16 + lo);
        i += 2;
      }
    }
    if (is_unreserved(c)) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = HEX_UPPER[c >> 4];
      *o++ = HEX_UPPER[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
}

/* S3-style path: already encoded once; keep '/' and valid %XX (hex uppercased), encode the
 * rest that is not unreserved. */
static void uri_encode_once(sbuf *b, const char *in, size_t n) {
  if (!sbuf_reserve(b, n * 3))
    return;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '%' && i + 2 < n && luaws_hex_value((unsigned char)in[i + 1]) >= 0 &&
        luaws_hex_value((unsigned char)in[i + 2]) >= 0) {
      *o++ = '%';
      *o++ = HEX_UPPER[luaws_hex_value((unsigned char)in[i + 1])];
      *o++ = HEX_UPPER[luaws_hex_value((unsigned char)in[i + 2])];
      i += 2;
    } else if (is_unreserved(c) || c == '/') {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = HEX_UPPER[c >> 4];
      *o++ = HEX_UPPER[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
}

/* RFC 9110 token characters, the only ones a header name may hold. */
static bool is_token_char(unsigned char c) {
  if (is_unreserved(c))
    return true;
  switch (c) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '^':
  case '`': case '|':
    return true;
  default:
    return false;
  }
}

static bool valid_header_name(const char *name, size_t n) {
  if (name == NULL || n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_token_char((unsigned char)name[i]))
      return false;
  return true;
}

/* No NUL, and every line break is a fold (followed by a space or tab), so a value can never
 * start a header of its own on the wire. */
static bool valid_header_value(const char *v, size_t n) {
  if (v == NULL)
    return n == 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c == '\0')
      return false;
    if (c == '\r' || c == '\n') {
      while (i < n && (v[i] == '\r' || v[i] == '\n'))
        i++;
      if (i == n || (v[i] != ' ' && v[i] != '\t'))
        return false;
    }
  }
  return true;
}

/* Appends a header value trimmed, with every run of whitespace (folded lines included)
 * collapsed to one space. */
static void append_header_value(sbuf *b, const char *v, size_t n) {
  if (!sbuf_reserve(b, n))
    return;
  char *o = b->data + b->len;
  bool any = false, pending_space = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (is_space(c)) {
      pending_space = any;
    } else {
      if (pending_space)
        *o++ = ' ';
      pending_space = false;
      *o++ = (char)c;
      any = true;
    }
  }
  b->len = (size_t)(o - b->data);
}

void luaws_hex_encode(const unsigned char *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = HEX_LOWER[in[i] >> 4];
    out[2 * i + 1] = HEX_LOWER[in[i] & 15];
  }
  out[2 * n] = '\0';
}

bool luaws_sigv4_valid_amz_date(const char *d) {
  if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
    return false;
  for (int i = 0; i < 15; i++)
    if (i != 8 && (d[i] < '0' || d[i] > '9'))
      return false;
#define FIELD(at) ((d[at] - '0') * 10 + (d[(at) + 1] - '0'))
  int month = FIELD(4), day = FIELD(6), hour = FIELD(9), minute = FIELD(11), second = FIELD(13);
#undef FIELD
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
         second <= 60;
}

/* ---- OpenSSL ---------------------------------------------------------------------------- */

bool luaws_sha256(const void *data, size_t len, unsigned char out[32]) {
  unsigned int n = 0;
  return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

bool luaws_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[32]) {
  static const unsigned char no_key = 0;
  unsigned int n = 0;
  return HMAC(EVP_sha256(), key_len ? key : &no_key, (int)key_len, data, len, out, &n) != NULL &&
         n == 32;
}

static bool signer_sha256(luaws_sigv4_signer *s, const void *data, size_t len,
                          unsigned char out[32]) {
  unsigned int n = 0;
  return EVP_DigestInit_ex2(s->md, s->sha256, NULL) == 1 &&
         EVP_DigestUpdate(s->md, data, len) == 1 && EVP_DigestFinal_ex(s->md, out, &n) == 1;
}

/* HMAC-SHA256 (RFC 2104) over the signer's reused digest context. OpenSSL 3.0's EVP_MAC_init
 * copies the key into secure memory and sets up three digest contexts on every call, which
 * costs three times the hashing itself for SigV4's short messages; the construction over a
 * fetched EVP_MD is the same HMAC at a third of the cost (checked against HMAC() in tests). */
static bool signer_hmac(luaws_sigv4_signer *s, const unsigned char *key, size_t key_len,
                        const void *data, size_t len, unsigned char out[32]) {
  unsigned char block[64] = {0}, pad[64], inner[32];
  bool ok = true;
  if (key_len > sizeof block)
    ok = signer_sha256(s, key, key_len, block);
  else
    memcpy(block, key, key_len);
  for (size_t i = 0; i < sizeof pad; i++)
    pad[i] = block[i] ^ 0x36;
  ok = ok && EVP_DigestInit_ex2(s->md, s->sha256, NULL) == 1 &&
       EVP_DigestUpdate(s->md, pad, sizeof pad) == 1 && EVP_DigestUpdate(s->md, data, len) == 1 &&
       EVP_DigestFinal_ex(s->md, inner, NULL) == 1;
  for (size_t i = 0; i < sizeof pad; i++)
    pad[i] = block[i] ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(s->md, s->sha256, NULL) == 1 &&
       EVP_DigestUpdate(s->md, pad, sizeof pad) == 1 &&
       EVP_DigestUpdate(s->md, inner, sizeof inner) == 1 &&
       EVP_DigestFinal_ex(s->md, out, NULL) == 1;
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
  return ok;
}

luaws_sigv4_signer *luaws_sigv4_signer_new(void) {
  luaws_sigv4_signer *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->md = EVP_MD_CTX_new();
  if (s->sha256 == NULL || s->md == NULL) {
    luaws_sigv4_signer_free(s);
    return NULL;
  }
  return s;
}

void luaws_sigv4_signer_clear_cache(luaws_sigv4_signer *s) {
  OPENSSL_cleanse(s->cache, sizeof s->cache);
}

void luaws_sigv4_signer_free(luaws_sigv4_signer *s) {
  if (s == NULL)
    return;
  luaws_sigv4_signer_clear_cache(s);
  sbuf *buffers[] = {&s->canonical, &s->headers_block, &s->signed_headers, &s->string_to_sign,
                     &s->authorization, &s->query_out, &s->lower, &s->qbuf, &s->path_tmp,
                     &s->scope};
  for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
    sbuf_wipe(buffers[i]);
  free(s->hitems);
  free(s->qitems);
  EVP_MD_CTX_free(s->md);
  EVP_MD_free(s->sha256);
  free(s);
}

void luaws_sigv4_signer_stats(const luaws_sigv4_signer *s, unsigned long *derived,
                              unsigned long *hits) {
  if (derived)
    *derived = s->derived;
  if (hits)
    *hits = s->hits;
}

const char *luaws_sigv4_error(const luaws_sigv4_signer *s) { return s->error; }

/* ---- stage 1: canonical request --------------------------------------------------------- */

static bool has_token(const luaws_sigv4_request *req) {
  return req->session_token != NULL && req->session_token[0] != '\0';
}

typedef struct known_header {
  const char *name; /* lowercase */
  size_t len;
} known_header;
#define KNOWN(literal) {literal, sizeof(literal) - 1}

/* Hop-by-hop and SDK-layer headers that proxies rewrite; botocore leaves the same unsigned. */
static const known_header UNSIGNED_HEADERS[] = {
  KNOWN("connection"), KNOWN("expect"), KNOWN("keep-alive"), KNOWN("proxy-authenticate"),
  KNOWN("proxy-authorization"), KNOWN("te"), KNOWN("trailer"), KNOWN("transfer-encoding"),
  KNOWN("upgrade"), KNOWN("user-agent"), KNOWN("x-amzn-trace-id"),
};

static bool is_known(const char *name, size_t len, const known_header *h) {
  return len == h->len && equals_ci(name, len, h->name);
}

enum luaws_sigv4_header_role luaws_sigv4_header_role(const luaws_sigv4_request *req,
                                                     const char *name, size_t name_len) {
  static const known_header authorization = KNOWN("authorization"), date = KNOWN("x-amz-date"),
                            token = KNOWN("x-amz-security-token"),
                            content = KNOWN("x-amz-content-sha256");
  bool header_mode = req->mode == LUAWS_SIGV4_HEADER;
  if (is_known(name, name_len, &authorization) ||
      (header_mode && is_known(name, name_len, &date)) ||
      (has_token(req) && is_known(name, name_len, &token)) ||
      (header_mode && (req->flags & LUAWS_SIGV4_SIGN_BODY) && is_known(name, name_len, &content)))
    return LUAWS_SIGV4_REPLACED;
  for (size_t i = 0; i < sizeof UNSIGNED_HEADERS / sizeof UNSIGNED_HEADERS[0]; i++)
    if (is_known(name, name_len, &UNSIGNED_HEADERS[i]))
      return LUAWS_SIGV4_UNSIGNED;
  return LUAWS_SIGV4_SIGNED;
}

static int check_request(luaws_sigv4_signer *s, const luaws_sigv4_request *req) {
  if (req->method == NULL || req->method[0] == '\0')
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: method is required");
  if (req->access_key == NULL || req->access_key[0] == '\0')
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: access_key is required");
  if (req->secret_key == NULL || req->secret_key[0] == '\0')
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: secret_key is required");
  if (req->region == NULL || req->region[0] == '\0')
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: region is required");
  if (req->service == NULL || req->service[0] == '\0')
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: service is required");
  if (!luaws_sigv4_valid_amz_date(req->amz_date))
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: time must be YYYYMMDDTHHMMSSZ (UTC)");
  if (req->path == NULL && req->path_len != 0)
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: path is missing");
  if (req->mode != LUAWS_SIGV4_HEADER && req->mode != LUAWS_SIGV4_QUERY)
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: mode must be header or query");
  if (req->mode == LUAWS_SIGV4_QUERY && (req->expires < 1 || req->expires > 604800))
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: expires must be 1 to 604800 seconds");
  if (req->header_count > 0 && req->headers == NULL)
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: headers are missing");
  return LUAWS_SIGV4_OK;
}

/* Returns an array of at least `need` items (the same or a larger one), NULL when out of
 * memory (the old array is then kept). */
static void *grow_items(void *items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return items;
  size_t n = *cap ? *cap : 16;
  while (n < need)
    n *= 2;
  void *p = realloc(items, n * size);
  if (p != NULL)
    *cap = n;
  return p;
}

/* Picks the payload hash: the caller's, an x-amz-content-sha256 header's, or sha256(body). */
static int choose_payload_hash(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                               luaws_sigv4_result *out) {
  if (req->payload_hash != NULL) {
    out->payload_hash = req->payload_hash;
    out->payload_hash_len = strlen(req->payload_hash);
    return LUAWS_SIGV4_OK;
  }
  for (size_t i = 0; i < req->header_count; i++) {
    const luaws_sigv4_header *h = &req->headers[i];
    if (equals_ci(h->name, h->name_len, "x-amz-content-sha256")) {
      const char *v = h->value;
      size_t n = h->value_len;
      while (n > 0 && is_space((unsigned char)*v))
        v++, n--;
      while (n > 0 && is_space((unsigned char)v[n - 1]))
        n--;
      out->payload_hash = v;
      out->payload_hash_len = n;
      return LUAWS_SIGV4_OK;
    }
  }
  if (req->payload_len == 0) {
    out->payload_hash = EMPTY_SHA256;
    out->payload_hash_len = 64;
    return LUAWS_SIGV4_OK;
  }
  unsigned char digest[32];
  if (req->payload == NULL)
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: payload is missing");
  if (!signer_sha256(s, req->payload, req->payload_len, digest))
    return fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: SHA-256 failed");
  luaws_hex_encode(digest, 32, s->payload_hash);
  out->payload_hash = s->payload_hash;
  out->payload_hash_len = 64;
  return LUAWS_SIGV4_OK;
}

/* Sorts small arrays (a request has a handful of headers and parameters) by insertion, which
 * is stable and allocation-free; large ones go to qsort. */
static void sort_items(void *items, size_t count, size_t size,
                       int (*compare)(const void *, const void *)) {
  unsigned char tmp[64];
  if (count > 24 || size > sizeof tmp) {
    qsort(items, count, size, compare);
    return;
  }
  unsigned char *base = items;
  for (size_t i = 1; i < count; i++) {
    size_t j = i;
    if (compare(base + (j - 1) * size, base + j * size) <= 0)
      continue;
    memcpy(tmp, base + i * size, size);
    while (j > 0 && compare(base + (j - 1) * size, tmp) > 0) {
      memcpy(base + j * size, base + (j - 1) * size, size);
      j--;
    }
    memcpy(base + j * size, tmp, size);
  }
}

static int compare_headers(const void *pa, const void *pb) {
  const header_item *a = pa, *b = pb;
  size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
  int c = memcmp(a->name, b->name, n);
  if (c != 0)
    return c;
  if (a->name_len != b->name_len)
    return a->name_len < b->name_len ? -1 : 1;
  return a->order < b->order ? -1 : (a->order > b->order);
}

/* Builds s->headers_block ("name:value\n" lines) and s->signed_headers. */
static int build_headers(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                         const luaws_sigv4_result *out) {
  size_t count = 0;
  bool have_host = false;
  bool header_mode = req->mode == LUAWS_SIGV4_HEADER;
  header_item *items = grow_items(s->hitems, &s->hcap, req->header_count + 4, sizeof *items);
  if (items == NULL)
    return out_of_memory(s);
  s->hitems = items;
  sbuf_reset(&s->lower);
  for (size_t i = 0; i < req->header_count; i++) {
    const luaws_sigv4_header *h = &req->headers[i];
    if (!valid_header_name(h->name, h->name_len))
      return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: headers[%zu] has an invalid name (not an HTTP token)",
                  i + 1);
    if (!valid_header_value(h->value, h->value_len))
      return fail(s, LUAWS_SIGV4_EINVAL,
                  "sigv4: headers[%zu] has an invalid value (NUL or an unfolded line break)", i + 1);
    if (luaws_sigv4_header_role(req, h->name, h->name_len) != LUAWS_SIGV4_SIGNED)
      continue;
    header_item *item = &s->hitems[count++];
    item->name_off = s->lower.len;
    item->name_len = h->name_len;
    item->value = h->value ? h->value : "";
    item->value_len = h->value_len;
    item->order = i;
    if (sbuf_reserve(&s->lower, h->name_len)) {
      for (size_t k = 0; k < h->name_len; k++)
        s->lower.data[s->lower.len++] = (char)to_lower((unsigned char)h->name[k]);
    }
    if (equals_ci(h->name, h->name_len, "host"))
      have_host = true;
  }
  if (s->lower.failed)
    return out_of_memory(s);
  for (size_t i = 0; i < count; i++)
    s->hitems[i].name = s->lower.data + s->hitems[i].name_off;

  size_t order = req->header_count;
#define ADD_ITEM(literal, v, vlen)                                                                 \
  do {                                                                                             \
    header_item *item_ = &s->hitems[count++];                                                      \
    item_->name = (literal);                                                                       \
    item_->name_len = sizeof(literal) - 1;                                                         \
    item_->name_off = SIZE_MAX;                                                                    \
    item_->value = (v);                                                                            \
    item_->value_len = (vlen);                                                                     \
    item_->order = order++;                                                                        \
  } while (0)
  if (!have_host) {
    if (req->host == NULL || req->host_len == 0)
      return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: host is required (no Host header)");
    ADD_ITEM("host", req->host, req->host_len);
  }
  if (header_mode) {
    ADD_ITEM("x-amz-date", req->amz_date, 16);
    if (has_token(req) && !(req->flags & LUAWS_SIGV4_OMIT_SESSION_TOKEN))
      ADD_ITEM("x-amz-security-token", req->session_token, strlen(req->session_token));
    if (req->flags & LUAWS_SIGV4_SIGN_BODY)
      ADD_ITEM("x-amz-content-sha256", out->payload_hash, out->payload_hash_len);
  }
#undef ADD_ITEM
  sort_items(s->hitems, count, sizeof(header_item), compare_headers);

  sbuf_reset(&s->headers_block);
  sbuf_reset(&s->signed_headers);
  for (size_t i = 0; i < count;) {
    const header_item *first = &s->hitems[i];
    if (i > 0)
      sbuf_addc(&s->signed_headers, ';');
    sbuf_add(&s->signed_headers, first->name, first->name_len);
    sbuf_add(&s->headers_block, first->name, first->name_len);
    sbuf_addc(&s->headers_block, ':');
    size_t j = i;
    for (; j < count && s->hitems[j].name_len == first->name_len &&
           memcmp(s->hitems[j].name, first->name, first->name_len) == 0;
         j++) {
      if (j > i)
        sbuf_addc(&s->headers_block, ',');
      append_header_value(&s->headers_block, s->hitems[j].value, s->hitems[j].value_len);
    }
    sbuf_addc(&s->headers_block, '\n');
    i = j;
  }
  if (!sbuf_finish(&s->headers_block) || !sbuf_finish(&s->signed_headers))
    return out_of_memory(s);
  return LUAWS_SIGV4_OK;
}

/* Appends the canonical URI of req->path to s->canonical. */
static void append_canonical_path(luaws_sigv4_signer *s, const luaws_sigv4_request *req) {
  const char *path = req->path;
  size_t len = req->path_len;
  if (len == 0) {
    sbuf_addc(&s->canonical, '/');
    return;
  }
  if (req->flags & LUAWS_SIGV4_NORMALIZE_PATH) {
    /* RFC 3986 remove_dot_segments plus merged slashes, exactly as botocore does it: each kept
     * segment is stored as "/seg" so ".." truncates back to the previous '/'. */
    sbuf *t = &s->path_tmp;
    sbuf_reset(t);
    size_t start = 0;
    while (start <= len) {
      size_t end = start;
      while (end < len && path[end] != '/')
        end++;
      size_t n = end - start;
      const char *seg = path + start;
      if (n == 2 && seg[0] == '.' && seg[1] == '.') {
        while (t->len > 0 && t->data[--t->len] != '/')
          ;
      } else if (n > 0 && !(n == 1 && seg[0] == '.')) {
        sbuf_addc(t, '/');
        sbuf_add(t, seg, n);
      }
      start = end + 1;
    }
    bool any = t->len > 0;
    const char *norm = t->data;
    size_t norm_len = t->len;
    if (path[0] != '/' && any)
      norm++, norm_len--;
    if (!any && path[0] == '/')
      sbuf_addc(&s->canonical, '/');
    if (s->canonical.failed || t->failed) {
      s->canonical.failed = true;
      return;
    }
    if (req->flags & LUAWS_SIGV4_DOUBLE_ENCODE)
      uri_encode(&s->canonical, norm, norm_len, true);
    else
      uri_encode_once(&s->canonical, norm, norm_len);
    if (any && path[len - 1] == '/')
      sbuf_addc(&s->canonical, '/');
    return;
  }
  if (req->flags & LUAWS_SIGV4_DOUBLE_ENCODE)
    uri_encode(&s->canonical, path, len, true);
  else
    uri_encode_once(&s->canonical, path, len);
}

static int compare_query(const void *pa, const void *pb) {
  const query_item *a = pa, *b = pb;
  size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
  int c = memcmp(a->key, b->key, n);
  if (c != 0)
    return c;
  if (a->key_len != b->key_len)
    return a->key_len < b->key_len ? -1 : 1;
  n = a->value_len < b->value_len ? a->value_len : b->value_len;
  c = memcmp(a->value, b->value, n);
  if (c != 0)
    return c;
  return a->value_len < b->value_len ? -1 : (a->value_len > b->value_len);
}

/* Starts a query item whose key and value the caller appends to s->qbuf next. */
static query_item *begin_item(luaws_sigv4_signer *s, size_t *count) {
  query_item *items = grow_items(s->qitems, &s->qcap, *count + 1, sizeof *items);
  if (items == NULL)
    return NULL;
  s->qitems = items;
  query_item *item = &s->qitems[(*count)++];
  item->key_off = s->qbuf.len;
  return item;
}

static void mark_value(luaws_sigv4_signer *s, query_item *item) {
  item->key_len = s->qbuf.len - item->key_off;
  item->value_off = s->qbuf.len;
}

static void end_item(luaws_sigv4_signer *s, query_item *item) {
  item->value_len = s->qbuf.len - item->value_off;
}

/* Appends the canonical query string (the request's parameters decoded and re-encoded, plus
 * the X-Amz-* parameters in query mode, sorted by key then value) to s->canonical. */
static int append_canonical_query(luaws_sigv4_signer *s, const luaws_sigv4_request *req) {
  size_t count = 0;
  sbuf_reset(&s->qbuf);
  const char *q = req->query;
  size_t qlen = q ? req->query_len : 0;
  for (size_t start = 0; start < qlen;) {
    size_t end = start;
    while (end < qlen && q[end] != '&')
      end++;
    if (end > start) {
      size_t eq = start;
      while (eq < end && q[eq] != '=')
        eq++;
      query_item *item = begin_item(s, &count);
      if (item == NULL)
        return out_of_memory(s);
      uri_reencode(&s->qbuf, q + start, eq - start);
      mark_value(s, item);
      if (eq < end)
        uri_reencode(&s->qbuf, q + eq + 1, end - eq - 1);
      end_item(s, item);
    }
    start = end + 1;
  }
  if (req->mode == LUAWS_SIGV4_QUERY) {
    char expires[24];
    snprintf(expires, sizeof expires, "%ld", req->expires);
    struct {
      const char *key;
      const char *value;
    } fixed[] = {
      {"X-Amz-Algorithm", ALGORITHM},
      {"X-Amz-Date", req->amz_date},
      {"X-Amz-Expires", expires},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
      query_item *item = begin_item(s, &count);
      if (item == NULL)
        return out_of_memory(s);
      sbuf_adds(&s->qbuf, fixed[i].key);
      mark_value(s, item);
      sbuf_adds(&s->qbuf, fixed[i].value);
      end_item(s, item);
    }
    query_item *item = begin_item(s, &count);
    if (item == NULL)
      return out_of_memory(s);
    sbuf_adds(&s->qbuf, "X-Amz-Credential");
    mark_value(s, item);
    uri_encode(&s->qbuf, req->access_key, strlen(req->access_key), false);
    sbuf_adds(&s->qbuf, "%2F");
    uri_encode(&s->qbuf, s->scope.data, s->scope.len, false);
    end_item(s, item);

    if ((item = begin_item(s, &count)) == NULL)
      return out_of_memory(s);
    sbuf_adds(&s->qbuf, "X-Amz-SignedHeaders");
    mark_value(s, item);
    uri_encode(&s->qbuf, s->signed_headers.data, s->signed_headers.len, false);
    end_item(s, item);

    if (has_token(req) && !(req->flags & LUAWS_SIGV4_OMIT_SESSION_TOKEN)) {
      if ((item = begin_item(s, &count)) == NULL)
        return out_of_memory(s);
      sbuf_adds(&s->qbuf, "X-Amz-Security-Token");
      mark_value(s, item);
      uri_encode(&s->qbuf, req->session_token, strlen(req->session_token), false);
      end_item(s, item);
    }
  }
  if (!sbuf_finish(&s->qbuf))
    return out_of_memory(s);
  for (size_t i = 0; i < count; i++) {
    s->qitems[i].key = s->qbuf.data + s->qitems[i].key_off;
    s->qitems[i].value = s->qbuf.data + s->qitems[i].value_off;
  }
  sort_items(s->qitems, count, sizeof(query_item), compare_query);
  for (size_t i = 0; i < count; i++) {
    if (i > 0)
      sbuf_addc(&s->canonical, '&');
    sbuf_add(&s->canonical, s->qitems[i].key, s->qitems[i].key_len);
    sbuf_addc(&s->canonical, '=');
    sbuf_add(&s->canonical, s->qitems[i].value, s->qitems[i].value_len);
  }
  return LUAWS_SIGV4_OK;
}

/* s->scope = "YYYYMMDD/region/service/aws4_request". */
static int build_scope(luaws_sigv4_signer *s, const char *amz_date, const char *region,
                       const char *service) {
  sbuf_reset(&s->scope);
  sbuf_add(&s->scope, amz_date, 8);
  sbuf_addc(&s->scope, '/');
  sbuf_adds(&s->scope, region);
  sbuf_addc(&s->scope, '/');
  sbuf_adds(&s->scope, service);
  sbuf_adds(&s->scope, "/aws4_request");
  return sbuf_finish(&s->scope) ? LUAWS_SIGV4_OK : out_of_memory(s);
}

int luaws_sigv4_canonical_request(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                                  luaws_sigv4_result *out) {
  s->error[0] = '\0';
  int rc = check_request(s, req);
  if (rc == LUAWS_SIGV4_OK)
    rc = choose_payload_hash(s, req, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = build_headers(s, req, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = build_scope(s, req->amz_date, req->region, req->service);
  if (rc != LUAWS_SIGV4_OK)
    return rc;
  sbuf *c = &s->canonical;
  sbuf_reset(c);
  sbuf_adds(c, req->method);
  sbuf_addc(c, '\n');
  append_canonical_path(s, req);
  sbuf_addc(c, '\n');
  if ((rc = append_canonical_query(s, req)) != LUAWS_SIGV4_OK)
    return rc;
  sbuf_addc(c, '\n');
  sbuf_add(c, s->headers_block.data, s->headers_block.len);
  sbuf_addc(c, '\n');
  sbuf_add(c, s->signed_headers.data, s->signed_headers.len);
  sbuf_addc(c, '\n');
  sbuf_add(c, out->payload_hash, out->payload_hash_len);
  if (!sbuf_finish(c))
    return out_of_memory(s);
  out->canonical_request = c->data;
  out->canonical_request_len = c->len;
  out->signed_headers = s->signed_headers.data;
  out->signed_headers_len = s->signed_headers.len;
  return LUAWS_SIGV4_OK;
}

/* ---- stage 2: string to sign ------------------------------------------------------------ */

int luaws_sigv4_string_to_sign(luaws_sigv4_signer *s, const char *amz_date, const char *region,
                               const char *service, const char *canonical_request,
                               size_t canonical_request_len, luaws_sigv4_result *out) {
  s->error[0] = '\0';
  if (!luaws_sigv4_valid_amz_date(amz_date))
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: time must be YYYYMMDDTHHMMSSZ (UTC)");
  if (region == NULL || service == NULL || canonical_request == NULL)
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: region, service and canonical request are required");
  unsigned char digest[32];
  char hex[65];
  if (!signer_sha256(s, canonical_request, canonical_request_len, digest))
    return fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: SHA-256 failed");
  luaws_hex_encode(digest, 32, hex);
  sbuf *b = &s->string_to_sign;
  sbuf_reset(b);
  sbuf_add(b, ALGORITHM, sizeof ALGORITHM - 1);
  sbuf_addc(b, '\n');
  sbuf_add(b, amz_date, 16);
  sbuf_addc(b, '\n');
  sbuf_add(b, amz_date, 8);
  sbuf_addc(b, '/');
  sbuf_adds(b, region);
  sbuf_addc(b, '/');
  sbuf_adds(b, service);
  sbuf_adds(b, "/aws4_request\n");
  sbuf_add(b, hex, 64);
  if (!sbuf_finish(b))
    return out_of_memory(s);
  out->string_to_sign = b->data;
  out->string_to_sign_len = b->len;
  return LUAWS_SIGV4_OK;
}

/* ---- stage 3: signing key and signature ------------------------------------------------- */

/* Derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request") into key. Intermediate keys are wiped. */
static int derive_key(luaws_sigv4_signer *s, const char *secret, size_t secret_len,
                      const char *date, const char *region, const char *service,
                      unsigned char key[32]) {
  unsigned char stack_secret[4 + LUAWS_SIGV4_CACHE_SECRET_MAX];
  unsigned char *k_secret = stack_secret;
  if (secret_len > LUAWS_SIGV4_CACHE_SECRET_MAX) {
    k_secret = OPENSSL_malloc(4 + secret_len);
    if (k_secret == NULL)
      return out_of_memory(s);
  }
  memcpy(k_secret, "AWS4", 4);
  memcpy(k_secret + 4, secret, secret_len);
  unsigned char k[32];
  bool ok = signer_hmac(s, k_secret, 4 + secret_len, date, 8, k) &&
            signer_hmac(s, k, 32, region, strlen(region), k) &&
            signer_hmac(s, k, 32, service, strlen(service), k) &&
            signer_hmac(s, k, 32, "aws4_request", 12, key);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(k_secret, 4 + secret_len);
  if (k_secret != stack_secret)
    OPENSSL_free(k_secret);
  s->derived++;
  return ok ? LUAWS_SIGV4_OK : fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: HMAC-SHA256 failed");
}

/* Finds or derives the signing key; the least recently used slot is wiped and reused. */
static int signing_key(luaws_sigv4_signer *s, const char *secret, const char *date,
                       const char *region, const char *service, unsigned char key[32]) {
  size_t secret_len = strlen(secret), region_len = strlen(region),
         service_len = strlen(service);
  size_t scope_len = region_len + 1 + service_len;
  if (secret_len > LUAWS_SIGV4_CACHE_SECRET_MAX || scope_len > LUAWS_SIGV4_CACHE_SCOPE_MAX)
    return derive_key(s, secret, secret_len, date, region, service, key);
  cache_entry *victim = &s->cache[0];
  for (size_t i = 0; i < LUAWS_SIGV4_CACHE_SLOTS; i++) {
    cache_entry *e = &s->cache[i];
    if (e->last_use != 0 && e->secret_len == secret_len && e->scope_len == scope_len &&
        memcmp(e->date, date, 8) == 0 && memcmp(e->secret, secret, secret_len) == 0 &&
        memcmp(e->scope, region, region_len) == 0 && e->scope[region_len] == '\0' &&
        memcmp(e->scope + region_len + 1, service, service_len) == 0) {
      e->last_use = ++s->clock;
      s->hits++;
      memcpy(key, e->key, 32);
      return LUAWS_SIGV4_OK;
    }
    if (e->last_use < victim->last_use)
      victim = e;
  }
  int rc = derive_key(s, secret, secret_len, date, region, service, key);
  if (rc != LUAWS_SIGV4_OK)
    return rc;
  OPENSSL_cleanse(victim, sizeof *victim);
  victim->last_use = ++s->clock;
  victim->secret_len = secret_len;
  victim->scope_len = scope_len;
  memcpy(victim->date, date, 8);
  memcpy(victim->secret, secret, secret_len);
  memcpy(victim->scope, region, region_len);
  victim->scope[region_len] = '\0';
  memcpy(victim->scope + region_len + 1, service, service_len);
  memcpy(victim->key, key, 32);
  return LUAWS_SIGV4_OK;
}

int luaws_sigv4_signature(luaws_sigv4_signer *s, const char *secret_key, const char *amz_date,
                          const char *region, const char *service, const char *string_to_sign,
                          size_t string_to_sign_len, char signature[65]) {
  s->error[0] = '\0';
  if (secret_key == NULL || secret_key[0] == '\0')
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: secret_key is required");
  if (!luaws_sigv4_valid_amz_date(amz_date))
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: time must be YYYYMMDDTHHMMSSZ (UTC)");
  if (region == NULL || service == NULL || string_to_sign == NULL)
    return fail(s, LUAWS_SIGV4_EINVAL, "sigv4: region, service and string to sign are required");
  unsigned char key[32], mac[32];
  int rc = signing_key(s, secret_key, amz_date, region, service, key);
  if (rc != LUAWS_SIGV4_OK)
    return rc;
  bool ok = signer_hmac(s, key, 32, string_to_sign, string_to_sign_len, mac);
  OPENSSL_cleanse(key, sizeof key);
  if (!ok)
    return fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: HMAC-SHA256 failed");
  luaws_hex_encode(mac, 32, signature);
  return LUAWS_SIGV4_OK;
}

/* ---- all stages ------------------------------------------------------------------------- */

int luaws_sigv4_sign(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                     luaws_sigv4_result *out) {
  memset(out, 0, sizeof *out);
  int rc = luaws_sigv4_canonical_request(s, req, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = luaws_sigv4_string_to_sign(s, req->amz_date, req->region, req->service,
                                    out->canonical_request, out->canonical_request_len, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = luaws_sigv4_signature(s, req->secret_key, req->amz_date, req->region, req->service,
                               out->string_to_sign, out->string_to_sign_len, out->signature);
  if (rc != LUAWS_SIGV4_OK)
    return rc;

  if (req->mode == LUAWS_SIGV4_QUERY) {
    sbuf *q = &s->query_out;
    sbuf_reset(q);
    sbuf_adds(q, "X-Amz-Algorithm=");
    sbuf_adds(q, ALGORITHM);
    sbuf_adds(q, "&X-Amz-Credential=");
    uri_encode(q, req->access_key, strlen(req->access_key), false);
    sbuf_adds(q, "%2F");
    uri_encode(q, s->scope.data, s->scope.len, false);
    sbuf_adds(q, "&X-Amz-Date=");
    sbuf_add(q, req->amz_date, 16);
    char expires[24];
    snprintf(expires, sizeof expires, "&X-Amz-Expires=%ld", req->expires);
    sbuf_adds(q, expires);
    sbuf_adds(q, "&X-Amz-SignedHeaders=");
    uri_encode(q, s->signed_headers.data, s->signed_headers.len, false);
    if (has_token(req)) {
      sbuf_adds(q, "&X-Amz-Security-Token=");
      uri_encode(q, req->session_token, strlen(req->session_token), false);
    }
    sbuf_adds(q, "&X-Amz-Signature=");
    sbuf_add(q, out->signature, 64);
    if (!sbuf_finish(q))
      return out_of_memory(s);
    out->query_params = q->data;
    out->query_params_len = q->len;
    return LUAWS_SIGV4_OK;
  }

  sbuf *a = &s->authorization;
  sbuf_reset(a);
  sbuf_adds(a, ALGORITHM);
  sbuf_adds(a, " Credential=");
  sbuf_adds(a, req->access_key);
  sbuf_addc(a, '/');
  sbuf_add(a, s->scope.data, s->scope.len);
  sbuf_adds(a, ", SignedHeaders=");
  sbuf_add(a, s->signed_headers.data, s->signed_headers.len);
  sbuf_adds(a, ", Signature=");
  sbuf_add(a, out->signature, 64);
  if (!sbuf_finish(a))
    return out_of_memory(s);
  out->authorization = a->data;
  out->authorization_len = a->len;

  size_t n = 0;
  out->added[n++] = (luaws_sigv4_added_header){"X-Amz-Date", req->amz_date, 16};
  if (has_token(req))
    out->added[n++] = (luaws_sigv4_added_header){"X-Amz-Security-Token", req->session_token,
                                                 strlen(req->session_token)};
  if (req->flags & LUAWS_SIGV4_SIGN_BODY)
    out->added[n++] = (luaws_sigv4_added_header){"X-Amz-Content-SHA256", out->payload_hash,
                                                 out->payload_hash_len};
  out->added[n++] = (luaws_sigv4_added_header){"Authorization", a->data, a->len};
  out->added_count = n;
  return LUAWS_SIGV4_OK;
}
