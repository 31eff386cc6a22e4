/* sigv4_text.c: the signer's byte buffers, character classes, percent-encoders and header checks. */
#include "sigv4_internal.h"

const char SV4_ALGORITHM[17] = "AWS4-HMAC-SHA256";
const char SV4_EMPTY_SHA256[65] =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const char SV4_HEX_LOWER[17] = "0123456789abcdef";
const char SV4_HEX_UPPER[17] = "0123456789ABCDEF";

/* A growable byte buffer. Appends after a failed allocation are dropped and `failed` stays
 * set, so builders check once at the end instead of after every append. */

/* ---- small helpers ---------------------------------------------------------------------- */

bool sv4_sbuf_reserve(sbuf *b, size_t extra) {
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

void sv4_sbuf_add(sbuf *b, const char *s, size_t n) {
  if (n == 0 || !sv4_sbuf_reserve(b, n))
    return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

void sv4_sbuf_adds(sbuf *b, const char *s) { sv4_sbuf_add(b, s, strlen(s)); }

void sv4_sbuf_addc(sbuf *b, char c) {
  if (!sv4_sbuf_reserve(b, 1))
    return;
  b->data[b->len++] = c;
}

/* Empties the buffer, keeping its memory. */
void sv4_sbuf_reset(sbuf *b) {
  b->len = 0;
  b->failed = false;
}

/* NUL-terminates (reserve always leaves room) and reports whether every append succeeded. */
bool sv4_sbuf_finish(sbuf *b) {
  if (!sv4_sbuf_reserve(b, 0))
    return false;
  b->data[b->len] = '\0';
  return true;
}

void sv4_sbuf_wipe(sbuf *b) {
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

bool sv4_is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

unsigned char sv4_to_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Whether a[0..n) equals the lowercase NUL-terminated `lower`, ignoring ASCII case. */
bool sv4_equals_ci(const char *a, size_t n, const char *lower) {
  for (size_t i = 0; i < n; i++)
    if (lower[i] == '\0' || sv4_to_lower((unsigned char)a[i]) != (unsigned char)lower[i])
      return false;
  return lower[n] == '\0';
}

int sv4_fail(luaws_sigv4_signer *s, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap);
  va_end(ap);
  return code;
}

int sv4_out_of_memory(luaws_sigv4_signer *s) {
  return sv4_fail(s, LUAWS_SIGV4_ENOMEM, "sigv4: out of memory");
}

/* Percent-encodes every byte but the unreserved ones (and '/' when keep_slash). */
void sv4_uri_encode(sbuf *b, const char *in, size_t n, bool keep_slash) {
  if (!sv4_sbuf_reserve(b, n * 3))
    return;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = SV4_HEX_UPPER[c >> 4];
      *o++ = SV4_HEX_UPPER[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
}

/* Decodes %XX escapes (a stray '%' stays literal) and encodes the result canonically, in one
 * pass: "a%2fb c" -> "a%2Fb%20c". */
void sv4_uri_reencode(sbuf *b, const char *in, size_t n) {
  if (!sv4_sbuf_reserve(b, n * 3))
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
      *o++ = SV4_HEX_UPPER[c >> 4];
      *o++ = SV4_HEX_UPPER[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
}

/* S3-style path: already encoded once; keep '/' and valid %XX (hex uppercased), encode the
 * rest that is not unreserved. */
void sv4_uri_encode_once(sbuf *b, const char *in, size_t n) {
  if (!sv4_sbuf_reserve(b, n * 3))
    return;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '%' && i + 2 < n && luaws_hex_value((unsigned char)in[i + 1]) >= 0 &&
        luaws_hex_value((unsigned char)in[i + 2]) >= 0) {
      *o++ = '%';
      *o++ = SV4_HEX_UPPER[luaws_hex_value((unsigned char)in[i + 1])];
      *o++ = SV4_HEX_UPPER[luaws_hex_value((unsigned char)in[i + 2])];
      i += 2;
    } else if (is_unreserved(c) || c == '/') {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = SV4_HEX_UPPER[c >> 4];
      *o++ = SV4_HEX_UPPER[c & 15];
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

bool sv4_valid_header_name(const char *name, size_t n) {
  if (name == NULL || n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_token_char((unsigned char)name[i]))
      return false;
  return true;
}

/* No NUL, and every line break is a fold (followed by a space or tab), so a value can never
 * start a header of its own on the wire. */
bool sv4_valid_header_value(const char *v, size_t n) {
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
void sv4_append_header_value(sbuf *b, const char *v, size_t n) {
  if (!sv4_sbuf_reserve(b, n))
    return;
  char *o = b->data + b->len;
  bool any = false, pending_space = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (sv4_is_space(c)) {
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
    out[2 * i] = SV4_HEX_LOWER[in[i] >> 4];
    out[2 * i + 1] = SV4_HEX_LOWER[in[i] & 15];
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
