/* cbor.c: RFC 8949 CBOR: a bounds-checked pull reader and a growable writer (no Lua). */
#include "cbor.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void luaws_cbor_reader_init(luaws_cbor_reader *r, const void *data, size_t len) {
  r->data = data;
  r->len = len;
  r->pos = 0;
  r->error = NULL;
  r->error_pos = 0;
}

bool luaws_cbor_fail(luaws_cbor_reader *r, const char *message) {
  if (r->error == NULL) {
    r->error = message;
    r->error_pos = r->pos;
  }
  return false;
}

static size_t left(const luaws_cbor_reader *r) {
  return r->len - r->pos;
}

static uint64_t read_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

double luaws_cbor_half_to_double(uint16_t h) {
  int exp = (h >> 10) & 0x1f;
  int mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = ldexp(mant, -24);
  else if (exp != 31)
    v = ldexp(mant + 1024, exp - 25);
  else
    v = mant == 0 ? INFINITY : NAN;
  return (h & 0x8000) ? -v : v;
}

bool luaws_cbor_utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    int n;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (len - i <= (size_t)n)
      return false;
    for (int k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += (size_t)n + 1;
  }
  return true;
}

/* Reads the argument of a head with additional info ai (< 28). */
static bool read_argument(luaws_cbor_reader *r, int ai, uint64_t *out) {
  if (ai < 24) {
    *out = (uint64_t)ai;
    return true;
  }
  int n = 1 << (ai - 24);
  if (left(r) < (size_t)n)
    return luaws_cbor_fail(r, "truncated CBOR: head argument cut short");
  *out = read_be(r->data + r->pos, n);
  r->pos += (size_t)n;
  return true;
}

static bool read_string_bytes(luaws_cbor_reader *r, luaws_cbor_item *it, bool text) {
  if (it->u > left(r))
    return luaws_cbor_fail(r, "truncated CBOR: string longer than the input");
  it->ptr = r->data + r->pos;
  it->len = (size_t)it->u;
  if (text && !luaws_cbor_utf8_valid(it->ptr, it->len))
    return luaws_cbor_fail(r, "invalid UTF-8 in a CBOR text string");
  r->pos += it->len;
  return true;
}

bool luaws_cbor_next(luaws_cbor_reader *r, luaws_cbor_item *it) {
  memset(it, 0, sizeof *it);
  if (r->error)
    return false;
  if (left(r) < 1)
    return luaws_cbor_fail(r, "truncated CBOR: data item expected");
  uint8_t ib = r->data[r->pos++];
  int major = ib >> 5, ai = ib & 0x1f;
  if (ai >= 28 && ai <= 30) {
    r->pos--;
    return luaws_cbor_fail(r, "malformed CBOR: reserved additional information 28-30");
  }
  if (ai == 31) {
    switch (major) {
    case 2: case 3: case 4: case 5:
      it->kind = (luaws_cbor_kind)(LUAWS_CBOR_BYTES + (major - 2));
      it->indefinite = true;
      return true;
    case 7:
      it->kind = LUAWS_CBOR_BREAK;
      return true;
    default:
      r->pos--;
      return luaws_cbor_fail(r, "malformed CBOR: indefinite length on an integer or tag");
    }
  }
  if (major == 7) {
    if (ai >= 25) {
      int n = 1 << (ai - 24);
      if (left(r) < (size_t)n)
        return luaws_cbor_fail(r, "truncated CBOR: float cut short");
      uint64_t bits = read_be(r->data + r->pos, n);
      r->pos += (size_t)n;
      it->kind = LUAWS_CBOR_FLOAT;
      if (n == 2) {
        it->f = luaws_cbor_half_to_double((uint16_t)bits);
      } else if (n == 4) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof f);
        it->f = f;
      } else {
        memcpy(&it->f, &bits, sizeof it->f);
      }
      return true;
    }
    uint64_t v;
    if (!read_argument(r, ai, &v))
      return false;
    if (ai == 24 && v < 32) {
      r->pos -= 2;
      return luaws_cbor_fail(r, "malformed CBOR: two-byte simple value below 32");
    }
    it->u = v;
    it->kind = v == 20 ? LUAWS_CBOR_FALSE : v == 21 ? LUAWS_CBOR_TRUE : v == 22 ? LUAWS_CBOR_NULL
             : v == 23 ? LUAWS_CBOR_UNDEFINED : LUAWS_CBOR_SIMPLE;
    return true;
  }
  if (!read_argument(r, ai, &it->u))
    return false;
  switch (major) {
  case 0:
    it->kind = LUAWS_CBOR_UINT;
    return true;
  case 1:
    it->kind = LUAWS_CBOR_NEGINT;
    return true;
  case 2:
    it->kind = LUAWS_CBOR_BYTES;
    return read_string_bytes(r, it, false);
  case 3:
    it->kind = LUAWS_CBOR_TEXT;
    return read_string_bytes(r, it, true);
  case 4:
    it->kind = LUAWS_CBOR_ARRAY;
    if (it->u > left(r))  /* every item takes at least one byte */
      return luaws_cbor_fail(r, "truncated CBOR: array count larger than the input");
    return true;
  case 5:
    it->kind = LUAWS_CBOR_MAP;
    if (it->u > left(r) / 2)
      return luaws_cbor_fail(r, "truncated CBOR: map count larger than the input");
    return true;
  default:
    it->kind = LUAWS_CBOR_TAG;
    return true;
  }
}

int luaws_cbor_chunk(luaws_cbor_reader *r, luaws_cbor_kind kind, luaws_cbor_item *it) {
  if (luaws_cbor_at_break(r))
    return 0;
  size_t start = r->pos;
  if (!luaws_cbor_next(r, it))
    return -1;
  if (it->kind != kind || it->indefinite) {
    r->pos = start;
    luaws_cbor_fail(r, "malformed CBOR: an indefinite string chunk of another type");
    return -1;
  }
  return 1;
}

bool luaws_cbor_at_break(luaws_cbor_reader *r) {
  if (r->error == NULL && r->pos < r->len && r->data[r->pos] == 0xff) {
    r->pos++;
    return true;
  }
  return false;
}

/* ---- writer ---- */

void luaws_cbor_writer_free(luaws_cbor_writer *w) {
  free(w->data);
  memset(w, 0, sizeof *w);
}

static void put_bytes(luaws_cbor_writer *w, const void *p, size_t n) {
  if (w->failed)
    return;
  if (n > SIZE_MAX - w->len) {
    w->failed = true;
    return;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
      cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
    uint8_t *grown = realloc(w->data, cap);
    if (grown == NULL) {
      w->failed = true;
      return;
    }
    w->data = grown;
    w->cap = cap;
  }
  if (n)
    memcpy(w->data + w->len, p, n);
  w->len += n;
}

static void put_be(luaws_cbor_writer *w, uint8_t first, uint64_t v, int n) {
  uint8_t buf[9];
  buf[0] = first;
  for (int i = 0; i < n; i++)
    buf[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
  put_bytes(w, buf, (size_t)n + 1);
}

void luaws_cbor_put_head(luaws_cbor_writer *w, int major, uint64_t arg) {
  uint8_t mt = (uint8_t)(major << 5);
  if (arg < 24)
    put_be(w, mt | (uint8_t)arg, 0, 0);
  else if (arg <= 0xff)
    put_be(w, mt | 24, arg, 1);
  else if (arg <= 0xffff)
    put_be(w, mt | 25, arg, 2);
  else if (arg <= 0xffffffffu)
    put_be(w, mt | 26, arg, 4);
  else
    put_be(w, mt | 27, arg, 8);
}

void luaws_cbor_put_indefinite(luaws_cbor_writer *w, int major) {
  uint8_t b = (uint8_t)((major << 5) | 31);
  put_bytes(w, &b, 1);
}

void luaws_cbor_put_break(luaws_cbor_writer *w) {
  uint8_t b = 0xff;
  put_bytes(w, &b, 1);
}

void luaws_cbor_put_int(luaws_cbor_writer *w, int64_t v) {
  if (v >= 0)
    luaws_cbor_put_head(w, 0, (uint64_t)v);
  else
    luaws_cbor_put_head(w, 1, (uint64_t)(-1 - v));
}

void luaws_cbor_put_string(luaws_cbor_writer *w, int major, const void *s, size_t len) {
  luaws_cbor_put_head(w, major, (uint64_t)len);
  put_bytes(w, s, len);
}

void luaws_cbor_put_simple(luaws_cbor_writer *w, unsigned v) {
  if (v < 24) {
    put_be(w, (uint8_t)(0xe0 | v), 0, 0);
  } else {
    put_be(w, 0xf8, v & 0xff, 1);
  }
}

/* NaN and infinities as botocore writes them; true when v was one. */
static bool put_special(luaws_cbor_writer *w, double v) {
  if (isnan(v))
    put_be(w, 0xf9, 0x7e00, 2);
  else if (isinf(v))
    put_be(w, 0xf9, v > 0 ? 0x7c00 : 0xfc00, 2);
  else
    return false;
  return true;
}

void luaws_cbor_put_float64(luaws_cbor_writer *w, double v) {
  if (put_special(w, v))
    return;
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  put_be(w, 0xfb, bits, 8);
}

void luaws_cbor_put_float32(luaws_cbor_writer *w, double v) {
  if (put_special(w, v))
    return;
  if (fabs(v) > FLT_MAX) {  /* beyond single precision: an infinity (botocore refuses) */
    put_special(w, v > 0 ? INFINITY : -INFINITY);
    return;
  }
  float f = (float)v;
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  put_be(w, 0xfa, bits, 4);
}

/* The half-precision bits of v when v converts exactly; false otherwise. */
static bool exact_half(double v, uint16_t *out) {
  double a = fabs(v);
  uint16_t sign = signbit(v) ? 0x8000 : 0;
  if (a == 0) {
    *out = sign;
    return true;
  }
  int exp;
  double m = frexp(a, &exp);  /* a = m * 2^exp, 0.5 <= m < 1 */
  if (exp > 16)
    return false;
  if (exp >= -13) {  /* normal: 11 significant bits */
    double scaled = ldexp(m, 11);
    if (scaled != floor(scaled))
      return false;
    *out = sign | (uint16_t)((exp + 14) << 10) | (uint16_t)((uint32_t)scaled - 1024);
    return true;
  }
  double sub = ldexp(a, 24);  /* subnormal: a = mant * 2^-24 */
  if (sub != floor(sub) || sub >= 1024)
    return false;
  *out = sign | (uint16_t)sub;
  return true;
}

void luaws_cbor_put_float_shortest(luaws_cbor_writer *w, double v) {
  if (put_special(w, v))
    return;
  uint16_t half;
  if (exact_half(v, &half)) {
    put_be(w, 0xf9, half, 2);
    return;
  }
  if (fabs(v) <= FLT_MAX && (double)(float)v == v) {
    luaws_cbor_put_float32(w, v);
    return;
  }
  luaws_cbor_put_float64(w, v);
}
