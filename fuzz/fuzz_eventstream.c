/* fuzz_eventstream.c: libFuzzer target for the event-stream frame decoder (src/mech/eventstream.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventstream.h"
#include "lua_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what) {
  fuzz_finding("eventstream", what);
}

/* Re-encodes message m and checks it equals the frame it came from (stream bytes [from, to)). */
static void check_roundtrip(const luaws_es_message *m, const uint8_t *frame, size_t frame_len) {
  luaws_es_header headers[256];
  size_t n = 0, pos = 0;
  luaws_es_header h;
  while (pos < m->headers_len) {
    if (!luaws_es_header_next(m->headers, m->headers_len, &pos, &h))
      finding("a validated header block does not parse");
    if (n == sizeof headers / sizeof headers[0])
      return;  /* more headers than this check keeps: skip the round trip */
    headers[n++] = h;
  }
  uint8_t *out = NULL;
  size_t len = 0, cap = 0;
  if (!luaws_es_encode(headers, n, m->payload, m->payload_len, &out, &len, &cap))
    finding("a decoded message does not encode");
  if (len != frame_len || memcmp(out, frame, len) != 0)
    finding("encode(decode(frame)) differs from the frame");
  free(out);
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Rewrites the prelude and message CRCs of every frame the stream's lengths describe, so the
 * mutator reaches the length checks and the header parser behind the CRCs. */
static void fix_crcs(uint8_t *s, size_t len) {
  size_t at = 0;
  while (len - at >= LUAWS_ES_MIN_MESSAGE) {
    uint8_t *f = s + at;
    uint32_t total = ((uint32_t)f[0] << 24) | ((uint32_t)f[1] << 16) | ((uint32_t)f[2] << 8) | f[3];
    put_be32(f + 8, luaws_es_crc32(0, f, 8));
    if (total < LUAWS_ES_MIN_MESSAGE || total > len - at)
      return;
    put_be32(f + total - 4, luaws_es_crc32(0, f, total - 4));
    at += total;
  }
}

/* Byte 0 picks the feeding pattern: bits 0-6 the piece size (1..128), bit 7 "fix the CRCs"; the
 * rest is the stream. Every message the decoder returns must re-encode to exactly its bytes;
 * after an error the decoder stays broken. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t piece = (size_t)(data[0] & 0x7f) + 1;
  size_t len = size - 1, fed = 0;
  uint8_t *stream = malloc(len ? len : 1);
  if (stream == NULL)
    return 0;
  memcpy(stream, data + 1, len);
  if (data[0] & 0x80)
    fix_crcs(stream, len);
  uint64_t consumed = 0;
  luaws_es_decoder d;
  luaws_es_decoder_init(&d);
  bool broken = false;
  while (!broken) {
    luaws_es_message m;
    int rc = luaws_es_next(&d, &m);
    if (rc == 1) {
      size_t frame_len = LUAWS_ES_MIN_MESSAGE + m.headers_len + m.payload_len;
      if (consumed + frame_len > fed)
        finding("a message longer than the bytes fed");
      check_roundtrip(&m, stream + consumed, frame_len);
      consumed += frame_len;
      if (d.offset != consumed)
        finding("decoder offset out of step");
      continue;
    }
    if (rc < 0) {
      if (d.error == NULL)
        finding("error without a message");
      luaws_es_message again;
      if (luaws_es_next(&d, &again) != -1 || luaws_es_feed(&d, "x", 1))
        finding("a broken stream recovered");
      broken = true;
      break;
    }
    if (fed == len)
      break;
    size_t n = len - fed < piece ? len - fed : piece;
    if (!luaws_es_feed(&d, stream + fed, n))
      finding("feed failed without an earlier error");
    fed += n;
  }
  if (!broken && luaws_es_pending(&d) != (consumed < len))
    finding("pending() disagrees with the bytes left");
  luaws_es_decoder_free(&d);
  free(stream);
  return 0;
}
