/* cbor.h: RFC 8949 CBOR: a bounds-checked pull reader and a growable writer (no Lua). */
#ifndef LUAWS_CBOR_H
#define LUAWS_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LUAWS_CBOR_MAX_DEPTH 128
#define LUAWS_CBOR_MAX_SIZE ((size_t)64 << 20)

typedef enum luaws_cbor_kind {
  LUAWS_CBOR_UINT,      /* u = value */
  LUAWS_CBOR_NEGINT,    /* value is -1 - u */
  LUAWS_CBOR_BYTES,     /* ptr/len, or indefinite (chunks follow: luaws_cbor_chunk) */
  LUAWS_CBOR_TEXT,      /* as BYTES; definite text and each chunk are checked UTF-8 */
  LUAWS_CBOR_ARRAY,     /* u = item count, or indefinite (items until BREAK) */
  LUAWS_CBOR_MAP,       /* u = pair count, or indefinite (pairs until BREAK) */
  LUAWS_CBOR_TAG,       /* u = tag number; the tagged item follows */
  LUAWS_CBOR_FALSE,
  LUAWS_CBOR_TRUE,
  LUAWS_CBOR_NULL,
  LUAWS_CBOR_UNDEFINED,
  LUAWS_CBOR_SIMPLE,    /* u = other simple value (0..19, 32..255) */
  LUAWS_CBOR_FLOAT,     /* f = value (from a half, single or double) */
  LUAWS_CBOR_BREAK,     /* the 0xff stop code */
} luaws_cbor_kind;

typedef struct luaws_cbor_item {
  luaws_cbor_kind kind;
  bool indefinite;
  uint64_t u;
  double f;
  const uint8_t *ptr;
  size_t len;
} luaws_cbor_item;

typedef struct luaws_cbor_reader {
  const uint8_t *data;
  size_t len, pos;
  const char *error;    /* static message of the first error, NULL while fine */
  size_t error_pos;     /* byte offset of that error */
} luaws_cbor_reader;

/* Starts reading len bytes at data (not copied). */
void luaws_cbor_reader_init(luaws_cbor_reader *r, const void *data, size_t len);

/* Reads the head of the next data item (and a definite string's bytes) into *it. Returns
 * false with r->error set on malformed or truncated input (reserved additional info 28-30,
 * an indefinite length on a major type that has none, invalid UTF-8 text, a declared length
 * or count larger than the bytes left could hold). */
bool luaws_cbor_next(luaws_cbor_reader *r, luaws_cbor_item *it);

/* Reads the next chunk of an indefinite string of kind `kind` into *it. Returns 1 with a
 * chunk, 0 at the break code, -1 with r->error set (a chunk of another type, truncation). */
int luaws_cbor_chunk(luaws_cbor_reader *r, luaws_cbor_kind kind, luaws_cbor_item *it);

/* Whether the next byte is the break code; consumes it when it is. */
bool luaws_cbor_at_break(luaws_cbor_reader *r);

/* Records an error (the first one wins) at the current position; returns false. */
bool luaws_cbor_fail(luaws_cbor_reader *r, const char *message);

/* Whether len bytes of s are well-formed UTF-8 (no surrogates, no overlongs). */
bool luaws_cbor_utf8_valid(const uint8_t *s, size_t len);

typedef struct luaws_cbor_writer {
  uint8_t *data;
  size_t len, cap;
  bool failed;          /* an allocation failed; the output is incomplete */
} luaws_cbor_writer;

/* Frees the writer's buffer and zeroes it (safe more than once). */
void luaws_cbor_writer_free(luaws_cbor_writer *w);

/* Writes a head: major type (0-7) and argument in the shortest form. */
void luaws_cbor_put_head(luaws_cbor_writer *w, int major, uint64_t arg);
/* Writes an indefinite-length head for major 2-5 (0x5f, 0x7f, 0x9f, 0xbf). */
void luaws_cbor_put_indefinite(luaws_cbor_writer *w, int major);
void luaws_cbor_put_break(luaws_cbor_writer *w);
/* Writes an integer as major 0 or 1. */
void luaws_cbor_put_int(luaws_cbor_writer *w, int64_t v);
/* Writes a byte (major 2) or text (major 3) string. */
void luaws_cbor_put_string(luaws_cbor_writer *w, int major, const void *s, size_t len);
void luaws_cbor_put_simple(luaws_cbor_writer *w, unsigned v); /* 20 false, 21 true, 22 null */
/* Floats: NaN and +-Infinity are always written as half floats (0x7e00, 0x7c00, 0xfc00), as
 * botocore does. put_float32 rounds to single precision; put_float_shortest picks the shortest
 * of half/single/double that holds v exactly (RFC 8949 preferred serialisation). */
void luaws_cbor_put_float64(luaws_cbor_writer *w, double v);
void luaws_cbor_put_float32(luaws_cbor_writer *w, double v);
void luaws_cbor_put_float_shortest(luaws_cbor_writer *w, double v);

/* Half-precision bits -> double (RFC 8949 appendix D). */
double luaws_cbor_half_to_double(uint16_t h);

#endif
