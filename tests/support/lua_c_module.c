/* lua_c_module.c: a Lua C module built as Debian builds them (not linked to liblua), for
 * tests/lua/bind/c_module_test.lua: luaws links Lua statically and must export its API. */
#include <lauxlib.h>
#include <lua.h>

/* add(a, b) -> a + b (integers). */
static int add(lua_State *L) {
  lua_pushinteger(L, luaL_checkinteger(L, 1) + luaL_checkinteger(L, 2));
  return 1;
}

int luaopen_luaws_test_c_module(lua_State *L);

int luaopen_luaws_test_c_module(lua_State *L) {
  static const luaL_Reg functions[] = {{"add", add}, {NULL, NULL}};
  luaL_newlib(L, functions);
  return 1;
}
