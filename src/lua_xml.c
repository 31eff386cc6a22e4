/* lua_xml.c: placeholder for the "luaws.xml" module (being written). */
#include <lauxlib.h>

#include "modules.h"

int luaopen_luaws_xml(lua_State *L) {
  lua_newtable(L);
  return 1;
}
