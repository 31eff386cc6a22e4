/* eventstream.c: AWS event-stream framing: an incremental, CRC-checked decoder and an encoder. */
#include "eventstream.h"

#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];
static bool crc_ready = false;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  crc_ready = true;
}

uint32_t luaws_es_crc32(uint32_t crc, const void *data, size_t n) {
  if (!crc_ready)
    crc_init();
  const uint8_t *p = data;
  crc = ~crc;
  for (size_t i = 0; i < n; i++)
    crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be_n(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

void luaws_es_decoder_init(luaws_es_decoder *d) {
  memset(d, 0, sizeof *d);
}

void luaws_es_decoder_free(luaws_es_decoder *d) {
  free(d->buf);
  memset(d, 0, sizeof *d);
}

bool luaws_es_feed(luaws_es_decoder *d, const void *data, size_t n) {
  if (d->error)
    return false;
  if (n == 0)
    return true;
  if (d->start > 0 && d->start + d->len + n > d->cap) {  /* compact first */
    memmove(d->buf, d->buf + d->start, d->len);
    d->start = 0;
  }
  if (d->start + d->len + n > d->cap) {
    size_t need = d->len + n, cap = d->cap ? d->cap : 4096;
    while (cap < need)
      cap *= 2;
    uint8_t *grown = realloc(d->buf, cap);
    if (grown == NULL) {
      d->error = "out of memory buffering the event stream";
      return false;
    }
    d->buf = grown;
    d->cap = cap;
  }
  memcpy(d->buf + d->start + d->len, data, n);
  d->len += n;
  return true;
}

bool luaws_es_pending(const luaws_es_decoder *d) {
  return d->len > 0;
}

bool luaws_es_header_next(const uint8_t *block, size_t len, size_t *pos, luaws_es_header *h) {
  size_t p = *pos;
  if (p >= len)
    return false;
  memset(h, 0, sizeof *h);
  h->name_len = block[p++];
  if (h->name_len == 0 || len - p < h->name_len + 1)
    return false;
  h->name = block + p;
  p += h->name_len;
  h->type = (luaws_es_type)block[p++];
  static const int widths[] = {0, 0, 1, 2, 4, 8};
  switch (h->type) {
  case LUAWS_ES_TRUE:
  case LUAWS_ES_FALSE:
    h->integer = h->type == LUAWS_ES_TRUE;
    break;
  case LUAWS_ES_BYTE:
  case LUAWS_ES_SHORT:
  case LUAWS_ES_INTEGER:
  case LUAWS_ES_LONG:
  case LUAWS_ES_TIMESTAMP: {
    int n = h->type == LUAWS_ES_TIMESTAMP ? 8 : widths[h->type];
    if (len - p < (size_t)n)
      return false;
    uint64_t raw = be_n(block + p, n);
    if (n < 8 && (raw >> (8 * n - 1)) & 1)  /* sign-extend */
      raw |= ~(uint64_t)0 << (8 * n);
    memcpy(&h->integer, &raw, sizeof raw);
    p += (size_t)n;
    break;
  }
  case LUAWS_ES_BYTES:
  case LUAWS_ES_STRING:
    if (len - p < 2)
      return false;
    h->len = (size_t)be_n(block + p, 2);
    p += 2;
    if (len - p < h->len)
      return false;
    h->bytes = block + p;
    p += h->len;
    break;
  case LUAWS_ES_UUID:
    if (len - p < 16)
      return false;
    h->bytes = block + p;
    h->len = 16;
    p += 16;
    break;
  default:
    return false;
  }
  *pos = p;
  return true;
}

static int fail(luaws_es_decoder *d, const char *message) {
  d->error = message;
  return -1;
}

int luaws_es_next(luaws_es_decoder *d, luaws_es_message *m) {
  if (d->error)
    return -1;
  if (d->len < LUAWS_ES_PRELUDE)
    return 0;
  const uint8_t *p = d->buf + d->start;
  uint32_t total = be32(p), headers_len = be32(p + 4);
  if (luaws_es_crc32(0, p, 8) != be32(p + 8))
    return fail(d, "event stream prelude CRC mismatch");
  if (total < LUAWS_ES_MIN_MESSAGE || headers_len > LUAWS_ES_MAX_HEADERS ||
      headers_len > total - LUAWS_ES_MIN_MESSAGE ||
      total - LUAWS_ES_MIN_MESSAGE - headers_len > LUAWS_ES_MAX_PAYLOAD)
    return fail(d, "event stream message lengths out of bounds");
  if (d->len < total)
    return 0;
  if (luaws_es_crc32(0, p, total - 4) != be32(p + total - 4))
    return fail(d, "event stream message CRC mismatch");
  const uint8_t *block = p + LUAWS_ES_PRELUDE;
  size_t pos = 0;
  luaws_es_header h;
  while (pos < headers_len) {
    if (!luaws_es_header_next(block, headers_len, &pos, &h))
      return fail(d, "malformed event stream header block");
  }
  m->headers = block;
  m->headers_len = headers_len;
  m->payload = block + headers_len;
  m->payload_len = total - LUAWS_ES_MIN_MESSAGE - headers_len;
  d->start += total;
  d->len -= total;
  d->offset += total;
  if (d->len == 0)
    d->start = 0;  /* the message stays readable: nothing overwrites it until the next feed */
  return 1;
}

static bool grow(uint8_t **out, size_t *len, size_t *cap, size_t need) {
  if (*len + need <= *cap)
    return true;
  size_t c = *cap ? *cap : 256;
  while (c < *len + need)
    c *= 2;
  uint8_t *g = realloc(*out, c);
  if (g == NULL)
    return false;
  *out = g;
  *cap = c;
  return true;
}

static void put_be(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

bool luaws_es_encode(const luaws_es_header *headers, size_t nheaders, const void *payload,
                     size_t payload_len, uint8_t **out, size_t *out_len, size_t *out_cap) {
  static const int widths[] = {0, 0, 1, 2, 4, 8, 0, 0, 8, 16};
  size_t hlen = 0;
  for (size_t i = 0; i < nheaders; i++) {
    const luaws_es_header *h = &headers[i];
    if (h->name_len == 0 || h->name_len > 255 || (unsigned)h->type > LUAWS_ES_UUID)
      return false;
    hlen += 2 + h->name_len;
    if (h->type == LUAWS_ES_BYTES || h->type == LUAWS_ES_STRING) {
      if (h->len > 0xffff)
        return false;
      hlen += 2 + h->len;
    } else {
      hlen += (size_t)widths[h->type];
    }
  }
  if (hlen > LUAWS_ES_MAX_HEADERS || payload_len > LUAWS_ES_MAX_PAYLOAD)
    return false;
  size_t total = LUAWS_ES_MIN_MESSAGE + hlen + payload_len;
  if (!grow(out, out_len, out_cap, total))
    return false;
  uint8_t *start = *out + *out_len, *p = start;
  put_be(p, total, 4);
  put_be(p + 4, hlen, 4);
  put_be(p + 8, luaws_es_crc32(0, p, 8), 4);
  p += LUAWS_ES_PRELUDE;
  for (size_t i = 0; i < nheaders; i++) {
    const luaws_es_header *h = &headers[i];
    *p++ = (uint8_t)h->name_len;
    memcpy(p, h->name, h->name_len);
    p += h->name_len;
    *p++ = (uint8_t)h->type;
    if (h->type == LUAWS_ES_BYTES || h->type == LUAWS_ES_STRING) {
      put_be(p, h->len, 2);
      if (h->len)
        memcpy(p + 2, h->bytes, h->len);
      p += 2 + h->len;
    } else if (h->type == LUAWS_ES_UUID) {
      memcpy(p, h->bytes, 16);
      p += 16;
    } else if (widths[h->type]) {
      uint64_t raw;
      memcpy(&raw, &h->integer, sizeof raw);
      put_be(p, raw, widths[h->type]);
      p += widths[h->type];
    }
  }
  if (payload_len)
    memcpy(p, payload, payload_len);
  p += payload_len;
  put_be(p, luaws_es_crc32(0, start, total - 4), 4);
  *out_len += total;
  return true;
}
