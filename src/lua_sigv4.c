/* lua_sigv4.c: placeholder for the "luaws.sigv4" module (being written). */
#include <lauxlib.h>

#include "modules.h"

int luaopen_luaws_sigv4(lua_State *L) {
  lua_newtable(L);
  return 1;
}
