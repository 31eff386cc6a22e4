/* lua_cbor_encode.c: luaws.cbor's writing half: encode(value), writer() and the type markers. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "cbor.h"
#include "lua_cbor.h"

#define WRITER_MT "luaws.CBORWriter"
#define BYTES_MT "luaws.CBOR.bytes"
#define ARRAY_MT "luaws.CBOR.array"
#define MAP_MT "luaws.CBOR.map"
#define TAG_MT "luaws.CBOR.tag"
#define FLOAT32_MT "luaws.CBOR.float32"

static luaws_cbor_writer *check_writer(lua_State *L) {
  return luaL_checkudata(L, 1, WRITER_MT);
}

static int writer_gc(lua_State *L) {
  luaws_cbor_writer_free(check_writer(L));
  return 0;
}

static void encode_value(lua_State *L, luaws_cbor_writer *w, int idx, int depth, bool shortest);

static bool has_mt(lua_State *L, int idx, const char *name) {
  if (!lua_getmetatable(L, idx))
    return false;
  luaL_getmetatable(L, name);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

static void encode_number(luaws_cbor_writer *w, lua_State *L, int idx, bool shortest) {
  if (lua_isinteger(L, idx))
    luaws_cbor_put_int(w, (int64_t)lua_tointeger(L, idx));
  else if (shortest)
    luaws_cbor_put_float_shortest(w, lua_tonumber(L, idx));
  else
    luaws_cbor_put_float64(w, lua_tonumber(L, idx));
}

/* Whether the table at idx is a sequence 1..n (n >= 1); sets *n. */
static bool is_sequence(lua_State *L, int idx, lua_Integer *n) {
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > len) {
      lua_pop(L, 1);
      return false;
    }
  }
  *n = len;
  return len > 0 && count == len;
}

static void encode_table(lua_State *L, luaws_cbor_writer *w, int idx, int depth, bool shortest) {
  if (has_mt(L, idx, BYTES_MT) || has_mt(L, idx, FLOAT32_MT)) {
    lua_rawgeti(L, idx, 1);
    if (has_mt(L, idx, FLOAT32_MT)) {
      luaws_cbor_put_float32(w, luaL_checknumber(L, -1));
    } else {
      size_t len;
      const char *s = luaL_checklstring(L, -1, &len);
      luaws_cbor_put_string(w, 2, s, len);
    }
    lua_pop(L, 1);
    return;
  }
  if (has_mt(L, idx, TAG_MT)) {
    lua_getfield(L, idx, "tag");
    lua_Integer tag = luaL_checkinteger(L, -1);
    luaL_argcheck(L, tag >= 0, 1, "negative CBOR tag");
    luaws_cbor_put_head(w, 6, (uint64_t)tag);
    lua_getfield(L, idx, "value");
    encode_value(L, w, lua_gettop(L), depth + 1, shortest);
    lua_pop(L, 2);
    return;
  }
  lua_Integer n = 0;
  bool array = has_mt(L, idx, ARRAY_MT) ||
               (!has_mt(L, idx, MAP_MT) && is_sequence(L, idx, &n));
  if (array) {
    n = (lua_Integer)lua_rawlen(L, idx);
    luaws_cbor_put_head(w, 4, (uint64_t)n);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      encode_value(L, w, lua_gettop(L), depth + 1, shortest);
      lua_pop(L, 1);
    }
    return;
  }
  uint64_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
  }
  luaws_cbor_put_head(w, 5, count);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int key = lua_gettop(L) - 1;
    if (lua_type(L, key) == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, key, &len);
      luaws_cbor_put_string(w, luaws_cbor_utf8_valid((const uint8_t *)s, len) ? 3 : 2, s, len);
    } else if (lua_isinteger(L, key)) {
      luaws_cbor_put_int(w, (int64_t)lua_tointeger(L, key));
    } else {
      luaL_error(L, "cannot encode a %s map key as CBOR", luaL_typename(L, key));
    }
    encode_value(L, w, key + 1, depth + 1, shortest);
    lua_pop(L, 1);
  }
}

/* Writes the Lua value at idx (see encode for the mapping). Raises on unencodable values. */
static void encode_value(lua_State *L, luaws_cbor_writer *w, int idx, int depth, bool shortest) {
  if (depth > LUAWS_CBOR_MAX_DEPTH)
    luaL_error(L, "cannot encode as CBOR: nested deeper than %d (a cycle?)", LUAWS_CBOR_MAX_DEPTH);
  luaL_checkstack(L, 6, "CBOR encoding");
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    luaws_cbor_put_simple(w, 22);
    break;
  case LUA_TBOOLEAN:
    luaws_cbor_put_simple(w, lua_toboolean(L, idx) ? 21 : 20);
    break;
  case LUA_TNUMBER:
    encode_number(w, L, idx, shortest);
    break;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    bool text = luaws_cbor_utf8_valid((const uint8_t *)s, len);
    luaws_cbor_put_string(w, text ? 3 : 2, s, len);  /* not UTF-8: a byte string, still valid */
    break;
  }
  case LUA_TTABLE:
    encode_table(L, w, idx, depth, shortest);
    break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == &luaws_cbor_null) {
      luaws_cbor_put_simple(w, 22);
      break;
    }
    /* fallthrough */
  default:
    luaL_error(L, "cannot encode a %s as CBOR", luaL_typename(L, idx));
  }
}

/* Pushes the writer's bytes; raises when memory ran out while writing. */
static void push_output(lua_State *L, luaws_cbor_writer *w) {
  if (w->failed)
    luaL_error(L, "not enough memory for the CBOR output");
  lua_pushlstring(L, (const char *)w->data, w->len);
}

/* encode(value [, {floats="double"|"shortest"}]) -> bytes. Strings are text when they are UTF-8
 * and byte strings otherwise (cbor.bytes(s) forces a byte string), integers major 0/1, floats doubles (or the shortest exact form), NaN and
 * Infinity half floats, tables arrays when sequences (cbor.array(t) for an empty one) and maps
 * otherwise (cbor.map(t) forces a map; key order is table order), nil and cbor.null null,
 * cbor.tag(n, v) a tag, cbor.float32(x) a single float. Raises on functions, cycles and the like. */
static int cbor_encode(lua_State *L) {
  luaL_checkany(L, 1);
  bool shortest = false;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "floats");
    const char *floats = luaL_optstring(L, -1, "double");
    shortest = strcmp(floats, "shortest") == 0;
    luaL_argcheck(L, shortest || strcmp(floats, "double") == 0, 2, "floats must be double or shortest");
    lua_pop(L, 1);
  }
  lua_settop(L, 1);
  luaws_cbor_writer *w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  luaL_setmetatable(L, WRITER_MT);
  encode_value(L, w, 1, 1, shortest);
  push_output(L, w);
  luaws_cbor_writer_free(w);
  return 1;
}

/* writer() -> a writer whose methods append one item (or head) each and return the writer:
 * w:int(i) w:float64(x) w:float32(x) w:text(s) w:bytes(s) w:bool(b) w:null()
 * w:array(n) w:map(n) w:tag(n) (heads: the n items, pairs or the tagged item follow)
 * w:begin(kind) (indefinite "array"|"map"|"bytes"|"text") w:finish() (the break code)
 * w:value(v) (anything encode takes); w:result() -> the bytes so far. */
static int cbor_writer(lua_State *L) {
  luaws_cbor_writer *w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  luaL_setmetatable(L, WRITER_MT);
  return 1;
}

static int w_int(lua_State *L) {
  luaws_cbor_put_int(check_writer(L), (int64_t)luaL_checkinteger(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int w_float64(lua_State *L) {
  luaws_cbor_put_float64(check_writer(L), luaL_checknumber(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int w_float32(lua_State *L) {
  luaws_cbor_put_float32(check_writer(L), luaL_checknumber(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int w_string(lua_State *L, int major) {
  luaws_cbor_writer *w = check_writer(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  luaws_cbor_put_string(w, major, s, len);
  lua_settop(L, 1);
  return 1;
}

static int w_text(lua_State *L) { return w_string(L, 3); }
static int w_bytes(lua_State *L) { return w_string(L, 2); }

static int w_bool(lua_State *L) {
  luaws_cbor_put_simple(check_writer(L), lua_toboolean(L, 2) ? 21 : 20);
  lua_settop(L, 1);
  return 1;
}

static int w_null(lua_State *L) {
  luaws_cbor_put_simple(check_writer(L), 22);
  lua_settop(L, 1);
  return 1;
}

static int w_head(lua_State *L, int major) {
  luaws_cbor_writer *w = check_writer(L);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "must not be negative");
  luaws_cbor_put_head(w, major, (uint64_t)n);
  lua_settop(L, 1);
  return 1;
}

static int w_array(lua_State *L) { return w_head(L, 4); }
static int w_map(lua_State *L) { return w_head(L, 5); }
static int w_tag(lua_State *L) { return w_head(L, 6); }

static int w_begin(lua_State *L) {
  luaws_cbor_writer *w = check_writer(L);
  static const char *const kinds[] = {"bytes", "text", "array", "map", NULL};
  luaws_cbor_put_indefinite(w, 2 + luaL_checkoption(L, 2, NULL, kinds));
  lua_settop(L, 1);
  return 1;
}

static int w_finish(lua_State *L) {
  luaws_cbor_put_break(check_writer(L));
  lua_settop(L, 1);
  return 1;
}

static int w_value(lua_State *L) {
  luaws_cbor_writer *w = check_writer(L);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  encode_value(L, w, 2, 1, false);
  lua_settop(L, 1);
  return 1;
}

static int w_result(lua_State *L) {
  push_output(L, check_writer(L));
  return 1;
}

/* Sets metatable `name` on the value at 1 (a new one-slot table when `wrap`). Returns it. */
static int mark(lua_State *L, const char *name, bool wrap) {
  if (wrap) {
    luaL_checkany(L, 1);
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
  }
  luaL_setmetatable(L, name);
  return 1;
}

/* bytes(s) -> a marker encoding s as a byte string. */
static int cbor_bytes(lua_State *L) {
  luaL_checkstring(L, 1);
  return mark(L, BYTES_MT, true);
}
/* float32(x) -> a marker encoding x as a single-precision float. */
static int cbor_float32(lua_State *L) {
  luaL_checknumber(L, 1);
  return mark(L, FLOAT32_MT, true);
}
/* array(t) -> t, marked to encode as an array (even when empty). */
static int cbor_array(lua_State *L) { return mark(L, ARRAY_MT, false); }
/* map(t) -> t, marked to encode as a map (even when it is a sequence). */
static int cbor_map(lua_State *L) { return mark(L, MAP_MT, false); }

/* tag(n, v) -> a marker encoding v under tag n. */
static int cbor_tag(lua_State *L) {
  luaL_checkinteger(L, 1);
  luaL_checkany(L, 2);
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "tag");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "value");
  luaL_setmetatable(L, TAG_MT);
  return 1;
}

static const luaL_Reg writer_methods[] = {
  {"int", w_int}, {"float64", w_float64}, {"float32", w_float32}, {"text", w_text},
  {"bytes", w_bytes}, {"bool", w_bool}, {"null", w_null}, {"array", w_array}, {"map", w_map},
  {"tag", w_tag}, {"begin", w_begin}, {"finish", w_finish}, {"value", w_value},
  {"result", w_result}, {NULL, NULL},
};

const luaL_Reg luaws_cbor_encode_functions[] = {
  {"encode", cbor_encode}, {"writer", cbor_writer}, {"bytes", cbor_bytes}, {"float32", cbor_float32},
  {"array", cbor_array}, {"map", cbor_map}, {"tag", cbor_tag}, {NULL, NULL},
};

void luaws_cbor_encode_register(lua_State *L) {
  if (luaL_newmetatable(L, WRITER_MT)) {
    luaL_newlib(L, writer_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, writer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const char *markers[] = {BYTES_MT, ARRAY_MT, MAP_MT, TAG_MT, FLOAT32_MT};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
    luaL_newmetatable(L, markers[i]);
    lua_pop(L, 1);
  }
}
