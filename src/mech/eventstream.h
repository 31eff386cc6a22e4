/* eventstream.h: AWS event-stream framing (application/vnd.amazon.eventstream): an incremental,
 * CRC-checked decoder and an encoder (no Lua). */
#ifndef LUAWS_EVENTSTREAM_H
#define LUAWS_EVENTSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LUAWS_ES_PRELUDE 12                       /* total, headers length, prelude CRC */
#define LUAWS_ES_MIN_MESSAGE 16                   /* prelude + message CRC */
#define LUAWS_ES_MAX_HEADERS ((size_t)128 << 10)  /* botocore's limits */
#define LUAWS_ES_MAX_PAYLOAD ((size_t)24 << 20)

typedef enum luaws_es_type {
  LUAWS_ES_TRUE = 0, LUAWS_ES_FALSE = 1, LUAWS_ES_BYTE = 2, LUAWS_ES_SHORT = 3,
  LUAWS_ES_INTEGER = 4, LUAWS_ES_LONG = 5, LUAWS_ES_BYTES = 6, LUAWS_ES_STRING = 7,
  LUAWS_ES_TIMESTAMP = 8, LUAWS_ES_UUID = 9,
} luaws_es_type;

typedef struct luaws_es_header {
  const uint8_t *name;
  size_t name_len;
  luaws_es_type type;
  int64_t integer;        /* BYTE, SHORT, INTEGER, LONG, TIMESTAMP (ms since the epoch) */
  const uint8_t *bytes;   /* BYTES, STRING (len bytes), UUID (16 bytes) */
  size_t len;
} luaws_es_header;

/* One decoded message; pointers are into the decoder's buffer, valid until the next call
 * to luaws_es_feed or luaws_es_next. */
typedef struct luaws_es_message {
  const uint8_t *headers;  /* the header block (already validated) */
  size_t headers_len;
  const uint8_t *payload;
  size_t payload_len;
} luaws_es_message;

typedef struct luaws_es_decoder {
  uint8_t *buf;
  size_t start, len, cap;  /* unread bytes are buf[start .. start+len) */
  const char *error;       /* static message once the stream is broken (sticky) */
  uint64_t offset;         /* stream offset of buf[start] */
} luaws_es_decoder;

/* CRC-32 (IEEE 802.3, as zlib's crc32) of n bytes, continuing from crc (0 to start). */
uint32_t luaws_es_crc32(uint32_t crc, const void *data, size_t n);

void luaws_es_decoder_init(luaws_es_decoder *d);
void luaws_es_decoder_free(luaws_es_decoder *d);

/* Appends n received bytes. False when memory runs out (d->error set). */
bool luaws_es_feed(luaws_es_decoder *d, const void *data, size_t n);

/* Takes the next complete message: 1 with *m filled, 0 when more bytes are needed, -1 with
 * d->error set for a broken stream (bad prelude or message CRC, lengths out of bounds, a
 * malformed header block). Once -1, always -1. */
int luaws_es_next(luaws_es_decoder *d, luaws_es_message *m);

/* Whether unread bytes remain (a partial message at the end of a stream is an error). */
bool luaws_es_pending(const luaws_es_decoder *d);

/* Reads the header at *pos of a validated header block into *h and advances *pos. Returns
 * false at the end of the block (or on a malformed block when validating). */
bool luaws_es_header_next(const uint8_t *block, size_t len, size_t *pos, luaws_es_header *h);

/* Appends one encoded message to a malloc'd buffer (*out, *out_len, *out_cap grow). Returns
 * false when the sizes are out of bounds or memory runs out. */
bool luaws_es_encode(const luaws_es_header *headers, size_t nheaders, const void *payload,
                     size_t payload_len, uint8_t **out, size_t *out_len, size_t *out_cap);

#endif
