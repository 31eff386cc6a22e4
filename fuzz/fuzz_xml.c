/* fuzz_xml.c: libFuzzer target for the expat-based XML decoder (src/xml.c) through its C API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "xml.h"
#include "lua_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what) {
  fuzz_finding("xml", what);
}

/* Checks the element at `idx` and its subtree: {name=string, attrs=nil|{string=string},
 * text=nil|string, [1..n]=elements}, at most max_depth deep. Stack: unchanged. */
static void check_element(lua_State *L, int idx, int depth, int max_depth) {
  idx = lua_absindex(L, idx);
  if (depth > max_depth)
    finding("tree deeper than the depth limit");
  if (!lua_istable(L, idx))
    finding("element is not a table");
  luaL_checkstack(L, 4, "check_element");
  if (lua_getfield(L, idx, "name") != LUA_TSTRING)
    finding("element without a string name");
  int text_type = lua_getfield(L, idx, "text");
  if (text_type != LUA_TNIL && text_type != LUA_TSTRING)
    finding("element text is not a string");
  int attrs_type = lua_getfield(L, idx, "attrs");
  if (attrs_type == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        finding("attribute is not string = string");
      lua_pop(L, 1);
    }
  } else if (attrs_type != LUA_TNIL) {
    finding("attrs is not a table");
  }
  lua_pop(L, 3);
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    check_element(L, -1, depth + 1, max_depth);
    lua_pop(L, 1);
  }
}

/* Decodes under the given limits and checks the outcome. Stack: unchanged. */
static void decode_and_check(lua_State *L, const char *s, size_t len, int max_depth,
                             size_t max_size) {
  int top = lua_gettop(L);
  int n = luaws_xml_decode(L, s, len, max_depth, max_size);
  if (lua_gettop(L) != top + n)
    finding("decode pushed a different number of values than it returned");
  if (n == 1) {
    if (len > max_size)
      finding("a document over the size limit decoded");
    check_element(L, -1, 1, max_depth);
  } else if (n == 2) {
    if (!lua_isnil(L, -2) || lua_type(L, -1) != LUA_TSTRING)
      finding("failure is not nil, message");
    const char *msg = lua_tostring(L, -1);
    if (strncmp(msg, "XML parse error at line ", 24) != 0 &&
        strncmp(msg, "XML document too large", 22) != 0)
      finding("failure message does not say where");
  } else {
    finding("decode returned neither 1 nor 2 values");
  }
  lua_settop(L, top);
}

/* Raw bytes as an XML document, under the production limits, then a tight depth limit and a
 * size limit just under the input (which must be refused). The state lives for the process;
 * a full collection after each input frees what the input allocated, so libFuzzer's leak
 * check (which runs a costly LSan pass when an input ends with more mallocs than frees) stays
 * quiet unless the decoder itself leaks. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = NULL;
  if (L == NULL) {
    L = luaL_newstate();
    if (L == NULL)
      abort();
    luaws_xml_register(L);
  }
  const char *s = (const char *)data;
  decode_and_check(L, s, size, LUAWS_XML_MAX_DEPTH, LUAWS_XML_MAX_SIZE);
  decode_and_check(L, s, size, 1 + (size ? data[0] % 4 : 0), LUAWS_XML_MAX_SIZE);
  if (size > 0)
    decode_and_check(L, s, size, LUAWS_XML_MAX_DEPTH, size - 1);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
