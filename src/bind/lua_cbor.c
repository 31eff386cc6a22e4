/* lua_cbor.c: the "luaws.cbor" module: decode(bytes), encode(value), writer() over src/mech/cbor.c. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "cbor.h"
#include "modules.h"

#define ERROR_MT "luaws.CBORError"
#define WRITER_MT "luaws.CBORWriter"
#define BYTES_MT "luaws.CBOR.bytes"
#define ARRAY_MT "luaws.CBOR.array"
#define MAP_MT "luaws.CBOR.map"
#define TAG_MT "luaws.CBOR.tag"
#define FLOAT32_MT "luaws.CBOR.float32"

/* The sentinel decode returns for null/undefined in arrays and at the top (a light userdata). */
static char null_sentinel;
#define PUSH_NULL(L) lua_pushlightuserdata(L, &null_sentinel)

/* Largest preallocation for a declared array/map count (hostile counts cost nothing). */
#define PREALLOC_MAX 1024

typedef struct decode_state {
  lua_State *L;
  luaws_cbor_reader r;
  int max_depth;
} decode_state;

static bool decode_item(decode_state *d, int depth);

/* Pushes the string of item `it` (definite, or the concatenated chunks of an indefinite one). */
static bool push_string(decode_state *d, const luaws_cbor_item *it) {
  if (!it->indefinite) {
    lua_pushlstring(d->L, (const char *)it->ptr, it->len);
    return true;
  }
  luaL_Buffer b;
  luaL_buffinit(d->L, &b);
  luaws_cbor_item chunk;
  int rc;
  while ((rc = luaws_cbor_chunk(&d->r, it->kind, &chunk)) == 1)
    luaL_addlstring(&b, (const char *)chunk.ptr, chunk.len);
  luaL_pushresult(&b);
  if (rc < 0) {
    lua_pop(d->L, 1);
    return false;
  }
  return true;
}

static void push_integer(lua_State *L, const luaws_cbor_item *it) {
  if (it->kind == LUAWS_CBOR_UINT) {
    if (it->u <= (uint64_t)INT64_MAX)
      lua_pushinteger(L, (lua_Integer)it->u);
    else
      lua_pushnumber(L, (lua_Number)it->u);  /* beyond Lua integers: the nearest float */
  } else if (it->u <= (uint64_t)INT64_MAX) {
    lua_pushinteger(L, -1 - (lua_Integer)it->u);
  } else {
    lua_pushnumber(L, -1.0 - (lua_Number)it->u);
  }
}

/* Whether another element follows in a container of `count` items read so far `i`. */
static bool more(decode_state *d, const luaws_cbor_item *it, uint64_t i) {
  if (it->indefinite)
    return !luaws_cbor_at_break(&d->r) && d->r.error == NULL;
  return i < it->u;
}

static bool decode_array(decode_state *d, const luaws_cbor_item *it, int depth) {
  lua_State *L = d->L;
  lua_createtable(L, it->indefinite ? 0 : (int)(it->u < PREALLOC_MAX ? it->u : PREALLOC_MAX), 0);
  lua_Integer n = 0;
  for (uint64_t i = 0; more(d, it, i); i++) {
    if (d->r.pos >= d->r.len)
      return luaws_cbor_fail(&d->r, "truncated CBOR: array cut short");
    if (!decode_item(d, depth + 1))
      return false;
    lua_rawseti(L, -2, ++n);
  }
  return d->r.error == NULL;
}

static bool decode_map(decode_state *d, const luaws_cbor_item *it, int depth) {
  lua_State *L = d->L;
  lua_createtable(L, 0, it->indefinite ? 0 : (int)(it->u < PREALLOC_MAX ? it->u : PREALLOC_MAX));
  for (uint64_t i = 0; more(d, it, i); i++) {
    size_t key_pos = d->r.pos;
    if (!decode_item(d, depth + 1))
      return false;
    int kt = lua_type(L, -1);
    if (kt != LUA_TSTRING && !(kt == LUA_TNUMBER && lua_isinteger(L, -1))) {
      d->r.pos = key_pos;
      return luaws_cbor_fail(&d->r, "unsupported CBOR map key (text, bytes or integer expected)");
    }
    if (!decode_item(d, depth + 1))
      return false;
    if (lua_touserdata(L, -1) == &null_sentinel)
      lua_pop(L, 2);  /* a null member is an absent member */
    else
      lua_rawset(L, -3);
  }
  return d->r.error == NULL;
}

/* Decodes one data item and pushes it; false (nothing pushed) with d->r.error set. */
static bool decode_item(decode_state *d, int depth) {
  lua_State *L = d->L;
  if (depth > d->max_depth)
    return luaws_cbor_fail(&d->r, "CBOR nested deeper than the limit");
  if (!lua_checkstack(L, 4))
    return luaws_cbor_fail(&d->r, "CBOR nested too deeply for the Lua stack");
  size_t start = d->r.pos;
  luaws_cbor_item it;
  if (!luaws_cbor_next(&d->r, &it))
    return false;
  int top = lua_gettop(L);
  bool ok = true;
  switch (it.kind) {
  case LUAWS_CBOR_UINT:
  case LUAWS_CBOR_NEGINT:
    push_integer(L, &it);
    break;
  case LUAWS_CBOR_BYTES:
  case LUAWS_CBOR_TEXT:
    ok = push_string(d, &it);
    break;
  case LUAWS_CBOR_ARRAY:
    ok = decode_array(d, &it, depth);
    break;
  case LUAWS_CBOR_MAP:
    ok = decode_map(d, &it, depth);
    break;
  case LUAWS_CBOR_TAG:
    if (it.u == 2 || it.u == 3) {
      d->r.pos = start;
      return luaws_cbor_fail(&d->r, "CBOR bignums (tags 2 and 3) are not supported");
    }
    if (it.u != 1) {
      d->r.pos = start;
      return luaws_cbor_fail(&d->r, "unsupported CBOR tag (only tag 1, epoch time, is)");
    }
    ok = decode_item(d, depth + 1);
    if (ok && lua_type(L, -1) != LUA_TNUMBER) {
      d->r.pos = start;
      ok = luaws_cbor_fail(&d->r, "CBOR tag 1 (epoch time) on a value that is not a number");
    }
    break;
  case LUAWS_CBOR_FALSE:
  case LUAWS_CBOR_TRUE:
    lua_pushboolean(L, it.kind == LUAWS_CBOR_TRUE);
    break;
  case LUAWS_CBOR_NULL:
  case LUAWS_CBOR_UNDEFINED:
    PUSH_NULL(L);
    break;
  case LUAWS_CBOR_FLOAT:
    lua_pushnumber(L, it.f);
    break;
  case LUAWS_CBOR_SIMPLE:
    d->r.pos = start;
    return luaws_cbor_fail(&d->r, "unsupported CBOR simple value");
  case LUAWS_CBOR_BREAK:
    d->r.pos = start;
    return luaws_cbor_fail(&d->r, "malformed CBOR: break code outside an indefinite item");
  }
  if (!ok) {
    lua_settop(L, top);
    return false;
  }
  return true;
}

/* Pushes nil and an error table {code="CBORError", message=, offset=}. Returns 2. */
static int push_error(lua_State *L, const char *message, size_t offset) {
  lua_pushnil(L);
  lua_createtable(L, 0, 3);
  lua_pushliteral(L, "CBORError");
  lua_setfield(L, -2, "code");
  lua_pushfstring(L, "%s (at byte %I)", message, (lua_Integer)offset);
  lua_setfield(L, -2, "message");
  lua_pushinteger(L, (lua_Integer)offset);
  lua_setfield(L, -2, "offset");
  luaL_setmetatable(L, ERROR_MT);
  return 2;
}

/* decode(bytes [, {max_depth=, max_size=}]) -> value | nil, {code="CBORError", message=, offset=}
 * Integers beyond 64 bits become floats, tag 1 its number, null cbor.null (absent in maps). */
static int cbor_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  decode_state d = {.L = L, .max_depth = LUAWS_CBOR_MAX_DEPTH};
  size_t max_size = LUAWS_CBOR_MAX_SIZE;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "max_depth");
    d.max_depth = (int)luaL_optinteger(L, -1, LUAWS_CBOR_MAX_DEPTH);
    lua_getfield(L, 2, "max_size");
    max_size = (size_t)luaL_optinteger(L, -1, (lua_Integer)LUAWS_CBOR_MAX_SIZE);
    lua_pop(L, 2);
  }
  lua_settop(L, 1);
  if (len > max_size)
    return push_error(L, "CBOR input larger than the limit", 0);
  luaws_cbor_reader_init(&d.r, s, len);
  if (!decode_item(&d, 1))
    return push_error(L, d.r.error, d.r.error_pos);
  if (d.r.pos != len)
    return push_error(L, "malformed CBOR: bytes after the data item", d.r.pos);
  return 1;
}

/* ---- writer ---- */

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
    if (lua_touserdata(L, idx) == &null_sentinel) {
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

static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "CBORError"), luaL_optstring(L, -1, "?"));
  return 1;
}

static const luaL_Reg writer_methods[] = {
  {"int", w_int}, {"float64", w_float64}, {"float32", w_float32}, {"text", w_text},
  {"bytes", w_bytes}, {"bool", w_bool}, {"null", w_null}, {"array", w_array}, {"map", w_map},
  {"tag", w_tag}, {"begin", w_begin}, {"finish", w_finish}, {"value", w_value},
  {"result", w_result}, {NULL, NULL},
};

static const luaL_Reg cbor_functions[] = {
  {"decode", cbor_decode}, {"encode", cbor_encode}, {"writer", cbor_writer},
  {"bytes", cbor_bytes}, {"float32", cbor_float32}, {"array", cbor_array}, {"map", cbor_map},
  {"tag", cbor_tag}, {NULL, NULL},
};

int luaopen_luaws_cbor(lua_State *L) {
  if (luaL_newmetatable(L, WRITER_MT)) {
    luaL_newlib(L, writer_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, writer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  const char *markers[] = {BYTES_MT, ARRAY_MT, MAP_MT, TAG_MT, FLOAT32_MT};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
    luaL_newmetatable(L, markers[i]);
    lua_pop(L, 1);
  }
  luaL_newlib(L, cbor_functions);
  PUSH_NULL(L);
  lua_setfield(L, -2, "null");
  return 1;
}
