/* lua_eventstream.c: the "luaws.eventstream" module: an incremental frame decoder and an encoder. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "eventstream.h"
#include "modules.h"

#define DECODER_MT "luaws.EventStreamDecoder"
#define ERROR_MT "luaws.EventStreamError"

static const char *const type_names[] = {"bool", "bool", "byte", "short", "integer", "long",
                                         "bytes", "string", "timestamp", "uuid", NULL};

/* Pushes nil and {code="EventStreamError", message=}. Returns 2. */
static int push_error(lua_State *L, const char *message) {
  lua_pushnil(L);
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "EventStreamError");
  lua_setfield(L, -2, "code");
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, ERROR_MT);
  return 2;
}

static luaws_es_decoder *check_decoder(lua_State *L) {
  return luaL_checkudata(L, 1, DECODER_MT);
}

/* decoder() -> a decoder: d:feed(bytes) -> true | nil, err; d:next() -> message, or nil when
 * more bytes are needed, or nil, err for a broken stream; d:pending() -> whether a partial
 * message is buffered. message = {headers={name=value}, types={name=type name}, payload=bytes}:
 * booleans, integers (timestamps as milliseconds since the epoch), strings, bytes, and UUIDs
 * as canonical 8-4-4-4-12 hex text. */
static int es_decoder(lua_State *L) {
  luaws_es_decoder *d = lua_newuserdatauv(L, sizeof *d, 0);
  luaws_es_decoder_init(d);
  luaL_setmetatable(L, DECODER_MT);
  return 1;
}

static int decoder_gc(lua_State *L) {
  luaws_es_decoder_free(check_decoder(L));
  return 0;
}

static int decoder_feed(lua_State *L) {
  luaws_es_decoder *d = check_decoder(L);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  if (!luaws_es_feed(d, s, n))
    return push_error(L, d->error);
  lua_pushboolean(L, 1);
  return 1;
}

static void push_uuid(lua_State *L, const uint8_t *b) {
  char text[37];
  static const char hex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      text[o++] = '-';
    text[o++] = hex[b[i] >> 4];
    text[o++] = hex[b[i] & 15];
  }
  lua_pushlstring(L, text, (size_t)o);
}

static void push_header_value(lua_State *L, const luaws_es_header *h) {
  switch (h->type) {
  case LUAWS_ES_TRUE:
  case LUAWS_ES_FALSE:
    lua_pushboolean(L, h->type == LUAWS_ES_TRUE);
    break;
  case LUAWS_ES_BYTES:
  case LUAWS_ES_STRING:
    lua_pushlstring(L, (const char *)h->bytes, h->len);
    break;
  case LUAWS_ES_UUID:
    push_uuid(L, h->bytes);
    break;
  default:
    lua_pushinteger(L, (lua_Integer)h->integer);
  }
}

static int decoder_next(lua_State *L) {
  luaws_es_decoder *d = check_decoder(L);
  luaws_es_message m;
  int rc = luaws_es_next(d, &m);
  if (rc < 0)
    return push_error(L, d->error);
  if (rc == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 3);
  lua_newtable(L);
  lua_newtable(L);
  size_t pos = 0;
  luaws_es_header h;
  while (luaws_es_header_next(m.headers, m.headers_len, &pos, &h)) {
    lua_pushlstring(L, (const char *)h.name, h.name_len);
    push_header_value(L, &h);
    lua_rawset(L, -4);
    lua_pushlstring(L, (const char *)h.name, h.name_len);
    lua_pushstring(L, type_names[h.type]);
    lua_rawset(L, -3);
  }
  lua_setfield(L, -3, "types");
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, (const char *)m.payload, m.payload_len);
  lua_setfield(L, -2, "payload");
  return 1;
}

static int decoder_pending(lua_State *L) {
  lua_pushboolean(L, luaws_es_pending(check_decoder(L)));
  return 1;
}

/* Parses canonical UUID text or 16 raw bytes into out. */
static bool parse_uuid(const char *s, size_t len, uint8_t out[16]) {
  if (len == 16) {
    memcpy(out, s, 16);
    return true;
  }
  int n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '-')
      continue;
    if (n >= 32)
      return false;
    char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0)
      return false;
    out[n / 2] = (uint8_t)(n % 2 ? (out[n / 2] | v) : v << 4);
    n++;
  }
  return n == 32;
}

/* encode(headers, payload) -> one framed message. headers = {{name, type, value}, ...} with
 * type one of bool byte short integer long bytes string timestamp (ms) uuid; payload bytes. */
static int es_encode(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t payload_len = 0;
  const char *payload = luaL_optlstring(L, 2, "", &payload_len);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  luaL_argcheck(L, n <= 4096, 1, "too many headers");
  luaws_es_header *hs = lua_newuserdatauv(L, sizeof *hs * (size_t)(n ? n : 1), 0);
  uint8_t (*uuids)[16] = lua_newuserdatauv(L, 16 * (size_t)(n ? n : 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    luaws_es_header *h = &hs[i - 1];
    memset(h, 0, sizeof *h);
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
      return luaL_error(L, "bad header #%d (a {name, type, value} triple expected)", (int)i);
    int entry = lua_gettop(L);
    lua_rawgeti(L, entry, 1);
    h->name = (const uint8_t *)luaL_checklstring(L, -1, &h->name_len);  /* anchored by arg 1 */
    lua_rawgeti(L, entry, 2);
    int type = luaL_checkoption(L, -1, NULL, type_names);
    lua_rawgeti(L, entry, 3);
    int value = lua_gettop(L);
    if (type <= 1) {
      h->type = lua_toboolean(L, value) ? LUAWS_ES_TRUE : LUAWS_ES_FALSE;
    } else if (type == LUAWS_ES_BYTES || type == LUAWS_ES_STRING || type == LUAWS_ES_UUID) {
      h->type = (luaws_es_type)type;
      size_t len;
      const char *s = luaL_checklstring(L, value, &len);
      if (type == LUAWS_ES_UUID) {
        if (!parse_uuid(s, len, uuids[i - 1]))
          return luaL_error(L, "bad uuid in header #%d", (int)i);
        h->bytes = uuids[i - 1];
        h->len = 16;
      } else {
        h->bytes = (const uint8_t *)s;
        h->len = len;
      }
    } else {
      h->type = (luaws_es_type)type;
      h->integer = (int64_t)luaL_checkinteger(L, value);
    }
    lua_settop(L, entry - 1);
  }
  uint8_t *out = NULL;
  size_t out_len = 0, out_cap = 0;
  bool ok = luaws_es_encode(hs, (size_t)n, payload, payload_len, &out, &out_len, &out_cap);
  if (ok)
    lua_pushlstring(L, (const char *)out, out_len);
  free(out);
  if (!ok)
    return luaL_error(L, "cannot encode the event stream message (sizes out of bounds)");
  return 1;
}

/* crc32(bytes [, crc]) -> the CRC-32 used by event-stream frames. */
static int es_crc32(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_Integer crc = luaL_optinteger(L, 2, 0);
  lua_pushinteger(L, (lua_Integer)luaws_es_crc32((uint32_t)crc, s, n));
  return 1;
}

static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "EventStreamError"), luaL_optstring(L, -1, "?"));
  return 1;
}

static const luaL_Reg decoder_methods[] = {
  {"feed", decoder_feed}, {"next", decoder_next}, {"pending", decoder_pending}, {NULL, NULL},
};

static const luaL_Reg es_functions[] = {
  {"decoder", es_decoder}, {"encode", es_encode}, {"crc32", es_crc32}, {NULL, NULL},
};

int luaopen_luaws_eventstream(lua_State *L) {
  if (luaL_newmetatable(L, DECODER_MT)) {
    luaL_newlib(L, decoder_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, decoder_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  luaL_newlib(L, es_functions);
  return 1;
}
