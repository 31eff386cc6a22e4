/* lua_crypto.c: placeholder for the "luaws.crypto" module (being written). */
#include <lauxlib.h>

#include "modules.h"

int luaopen_luaws_crypto(lua_State *L) {
  lua_newtable(L);
  return 1;
}
