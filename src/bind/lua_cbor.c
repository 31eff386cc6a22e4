/* lua_cbor.c: the "luaws.cbor" module: decode(bytes) to Lua values over src/mech/cbor.c; opens the module. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "cbor.h"
#include "lua_cbor.h"
#include "modules.h"

#define ERROR_MT "luaws.CBORError"
#define PUSH_NULL(L) lua_pushlightuserdata(L, &luaws_cbor_null)

char luaws_cbor_null;

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
    if (lua_touserdata(L, -1) == &luaws_cbor_null)
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

static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "CBORError"), luaL_optstring(L, -1, "?"));
  return 1;
}


static const luaL_Reg cbor_functions[] = {
  {"decode", cbor_decode}, {NULL, NULL},
};

int luaopen_luaws_cbor(lua_State *L) {
  luaws_cbor_encode_register(L);
  if (luaL_newmetatable(L, ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  luaL_newlib(L, cbor_functions);
  luaL_setfuncs(L, luaws_cbor_encode_functions, 0);
  PUSH_NULL(L);
  lua_setfield(L, -2, "null");
  return 1;
}
