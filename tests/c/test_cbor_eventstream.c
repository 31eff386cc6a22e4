/* test_cbor_eventstream.c: the C APIs of src/mech/cbor.c and src/mech/eventstream.c, without Lua. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "eventstream.h"
#include "check.h"


static size_t unhex(const char *hex, uint8_t *out) {
  size_t n = 0;
  for (; hex[0] && hex[1]; hex += 2)
    sscanf(hex, "%2hhx", &out[n++]);
  return n;
}

static void test_reader(void) {
  uint8_t buf[64];
  luaws_cbor_reader r;
  luaws_cbor_item it;
  size_t n = unhex("bf6346756ef563416d7421ff", buf);  /* {_ "Fun": true, "Amt": -2} */
  luaws_cbor_reader_init(&r, buf, n);
  CHECK(luaws_cbor_next(&r, &it) && it.kind == LUAWS_CBOR_MAP && it.indefinite, "indefinite map");
  CHECK(luaws_cbor_next(&r, &it) && it.kind == LUAWS_CBOR_TEXT && it.len == 3 &&
        memcmp(it.ptr, "Fun", 3) == 0, "key Fun");
  CHECK(luaws_cbor_next(&r, &it) && it.kind == LUAWS_CBOR_TRUE, "true");
  CHECK(luaws_cbor_next(&r, &it) && it.kind == LUAWS_CBOR_TEXT, "key Amt");
  CHECK(luaws_cbor_next(&r, &it) && it.kind == LUAWS_CBOR_NEGINT && it.u == 1, "-2");
  CHECK(luaws_cbor_at_break(&r) && r.pos == n, "break at the end");

  n = unhex("7f657374726561646d696e67ff", buf);
  luaws_cbor_reader_init(&r, buf, n);
  CHECK(luaws_cbor_next(&r, &it) && it.kind == LUAWS_CBOR_TEXT && it.indefinite, "indefinite text");
  size_t total = 0;
  luaws_cbor_item chunk;
  int rc;
  while ((rc = luaws_cbor_chunk(&r, LUAWS_CBOR_TEXT, &chunk)) == 1)
    total += chunk.len;
  CHECK(rc == 0 && total == 9, "two chunks, 9 bytes (rc %d, %zu)", rc, total);

  const char *bad[] = {"1c", "5bffffffffffffffff", "9bffffffffffffffff", "62c0ae", "5f01ff", "f818", "19", NULL};
  for (int i = 0; bad[i]; i++) {
    n = unhex(bad[i], buf);
    luaws_cbor_reader_init(&r, buf, n);
    bool ok = luaws_cbor_next(&r, &it);
    if (ok && it.indefinite)
      ok = luaws_cbor_chunk(&r, it.kind, &chunk) >= 0;
    CHECK(!ok && r.error != NULL, "%s must be an error", bad[i]);
  }
  CHECK(luaws_cbor_half_to_double(0x7bff) == 65504.0, "half max");
  CHECK(isnan(luaws_cbor_half_to_double(0x7e00)), "half NaN");
  CHECK(luaws_cbor_half_to_double(0x0001) == 5.960464477539063e-8, "half subnormal");
}

static void expect_bytes(const luaws_cbor_writer *w, const char *hex, const char *what) {
  uint8_t want[64];
  size_t n = unhex(hex, want);
  CHECK(!w->failed && w->len == n && memcmp(w->data, want, n) == 0, "%s", what);
}

static void test_writer(void) {
  struct { double v; const char *hex; } floats[] = {
    {0.0, "f90000"}, {-0.0, "f98000"}, {1.5, "f93e00"}, {65504.0, "f97bff"}, {100000.0, "fa47c35000"},
    {1.1, "fb3ff199999999999a"}, {5.960464477539063e-8, "f90001"}, {INFINITY, "f97c00"}, {NAN, "f97e00"},
  };
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
    luaws_cbor_writer w = {0};
    luaws_cbor_put_float_shortest(&w, floats[i].v);
    expect_bytes(&w, floats[i].hex, floats[i].hex);
    luaws_cbor_writer_free(&w);
  }
  luaws_cbor_writer w = {0};
  luaws_cbor_put_head(&w, 5, 2);
  luaws_cbor_put_string(&w, 3, "a", 1);
  luaws_cbor_put_int(&w, INT64_MIN);
  luaws_cbor_put_string(&w, 3, "t", 1);
  luaws_cbor_put_head(&w, 6, 1);
  luaws_cbor_put_int(&w, 1363896240);
  expect_bytes(&w, "a261613b7fffffffffffffff6174c11a514b67b0", "map, int64 min, tag 1");
  luaws_cbor_writer_free(&w);
  luaws_cbor_put_float32(&w, 1e300);
  expect_bytes(&w, "f97c00", "a double beyond single precision becomes Infinity");
  luaws_cbor_writer_free(&w);
}

static void test_eventstream(void) {
  luaws_es_header hs[2] = {
    {.name = (const uint8_t *)":event-type", .name_len = 11, .type = LUAWS_ES_STRING,
     .bytes = (const uint8_t *)"Tick", .len = 4},
    {.name = (const uint8_t *)"n", .name_len = 1, .type = LUAWS_ES_SHORT, .integer = -2},
  };
  uint8_t *out = NULL;
  size_t len = 0, cap = 0;
  CHECK(luaws_es_encode(hs, 2, "{}", 2, &out, &len, &cap), "encode");
  CHECK(luaws_es_encode(hs, 1, "", 0, &out, &len, &cap), "encode a second frame");
  luaws_es_decoder d;
  luaws_es_decoder_init(&d);
  int messages = 0;
  for (size_t i = 0; i < len; i++) {  /* a byte at a time */
    CHECK(luaws_es_feed(&d, out + i, 1), "feed");
    luaws_es_message m;
    int rc = luaws_es_next(&d, &m);
    CHECK(rc >= 0, "no error: %s", d.error ? d.error : "");
    if (rc == 1) {
      messages++;
      size_t pos = 0;
      luaws_es_header h;
      CHECK(luaws_es_header_next(m.headers, m.headers_len, &pos, &h) && h.len == 4 &&
            memcmp(h.bytes, "Tick", 4) == 0, "first header");
      if (messages == 1) {
        CHECK(luaws_es_header_next(m.headers, m.headers_len, &pos, &h) && h.integer == -2, "short -2");
        CHECK(m.payload_len == 2 && memcmp(m.payload, "{}", 2) == 0, "payload");
      }
    }
  }
  CHECK(messages == 2 && !luaws_es_pending(&d), "two messages, nothing left");
  luaws_es_decoder_free(&d);

  out[len - 1] ^= 1;  /* message CRC of the second frame */
  luaws_es_decoder_init(&d);
  luaws_es_feed(&d, out, len);
  luaws_es_message m;
  CHECK(luaws_es_next(&d, &m) == 1, "the first frame is fine");
  CHECK(luaws_es_next(&d, &m) == -1 && strstr(d.error, "message CRC"), "bad CRC");
  CHECK(luaws_es_next(&d, &m) == -1 && !luaws_es_feed(&d, "x", 1), "stays broken");
  luaws_es_decoder_free(&d);
  free(out);
  CHECK(luaws_es_crc32(0, "123456789", 9) == 0xCBF43926u, "CRC-32 check value");
}

int main(void) {
  test_reader();
  test_writer();
  test_eventstream();
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("test_cbor_eventstream: ok\n");
  return 0;
}
