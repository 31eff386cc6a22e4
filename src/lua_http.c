/* lua_http.c: placeholder for the "luaws.http" module (being written). */
#include <lauxlib.h>

#include "modules.h"

int luaopen_luaws_http(lua_State *L) {
  lua_newtable(L);
  return 1;
}
