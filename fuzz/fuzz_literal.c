/* fuzz_literal.c: libFuzzer target for luaws.literal.decode (src/bind/lua_literal.c): whatever it
 * accepts, Lua's own compiler must accept as `return <text>` and evaluate to an equal value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "modules.h"
#include "lua_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what) {
  fuzz_finding("literal", what);
}

/* Whether the values at a and b are equal: numbers by value (Lua compiles -9223372036854775808
 * as a float), tables key by key. Stack: unchanged. */
static int same(lua_State *L, int a, int b, int depth) {
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  if (lua_type(L, a) != LUA_TTABLE || lua_type(L, b) != LUA_TTABLE) {
    if (lua_type(L, a) == LUA_TNUMBER && lua_type(L, b) == LUA_TNUMBER)
      return lua_compare(L, a, b, LUA_OPEQ);
    return lua_rawequal(L, a, b);
  }
  if (depth > 100 || !lua_checkstack(L, 4))
    finding("tables deeper than the decoder allows");
  for (int pass = 0; pass < 2; pass++) { /* every key of a in b, then every key of b in a */
    int from = pass ? b : a, to = pass ? a : b;
    lua_pushnil(L);
    while (lua_next(L, from)) {
      lua_pushvalue(L, -2);
      lua_rawget(L, to);
      int ok = pass ? !lua_isnil(L, -1) : same(L, -2, -1, depth + 1);
      lua_pop(L, 2);
      if (!ok) {
        lua_pop(L, 1);
        return 0;
      }
    }
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = NULL;
  if (L == NULL) {
    L = luaL_newstate();
    if (L == NULL)
      abort();
    luaL_requiref(L, "luaws.literal", luaopen_luaws_literal, 0);
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  luaL_requiref(L, "luaws.literal", luaopen_luaws_literal, 0);
  lua_getfield(L, -1, "decode");
  lua_pushlstring(L, (const char *)data, size);
  lua_call(L, 1, LUA_MULTRET);
  int results = lua_gettop(L) - 1;
  if (results == 2) {
    if (!lua_isnil(L, 2) || lua_type(L, 3) != LUA_TSTRING ||
        strncmp(lua_tostring(L, 3), "literal: ", 9) != 0 || strstr(lua_tostring(L, 3), " at byte ") == NULL)
      finding("a failure is not nil, \"literal: <problem> at byte N\"");
  } else if (results == 1) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "return ");
    luaL_addlstring(&b, (const char *)data, size);
    luaL_pushresult(&b);
    size_t len;
    const char *chunk = lua_tolstring(L, -1, &len);
    if (luaL_loadbufferx(L, chunk, len, "=input", "t") != LUA_OK)
      finding("decode accepted text that Lua does not compile");
    lua_newtable(L);
    lua_setupvalue(L, -2, 1); /* an empty _ENV: accepted text names no globals */
    if (lua_pcall(L, 0, 1, 0) != LUA_OK)
      finding("decode accepted text that fails in Lua");
    if (!same(L, 2, -1, 0))
      finding("decode and Lua built different values");
  } else {
    finding("decode returned neither 1 nor 2 values");
  }
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
