/* lua_xml.c: the "luaws.xml" module: decode(s) to plain tables, escape(s) for text and attributes. */
#include <lauxlib.h>

#include "modules.h"
#include "xml.h"

/* decode(s) -> root element | nil, "XML parse error at line L, column C: ..." */
static int xml_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  return luaws_xml_decode(L, s, len, LUAWS_XML_MAX_DEPTH, LUAWS_XML_MAX_SIZE);
}

/* escape(s) -> s with & < > " ' as entities, safe in text and attribute values. */
static int xml_escape(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaws_xml_escape(&b, s, len);
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg xml_functions[] = {
  {"decode", xml_decode},
  {"escape", xml_escape},
  {NULL, NULL},
};

int luaopen_luaws_xml(lua_State *L) {
  luaws_xml_register(L);
  luaL_newlib(L, xml_functions);
  return 1;
}
