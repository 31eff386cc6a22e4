/* bytecode.c: a package searcher that prefers the build's precompiled bytecode of luaws's own modules. */
#include "bytecode.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

/* Upvalues of the searcher: 1 = "<data_dir>/lua/", 2 = "<lib_dir>/". */

/* Whether `compiled` exists and is at least as new as `source`. */
static int fresh(const char *compiled, const char *source) {
  struct stat c, s;
  if (stat(compiled, &c) != 0 || !S_ISREG(c.st_mode) || stat(source, &s) != 0)
    return 0;
  if (c.st_mtim.tv_sec != s.st_mtim.tv_sec)
    return c.st_mtim.tv_sec > s.st_mtim.tv_sec;
  return c.st_mtim.tv_nsec >= s.st_mtim.tv_nsec;
}

/* package.searchers entry: (name) -> loader, path | error string. Pushes 1 or 2 values. */
static int search(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushvalue(L, 1);
  lua_getfield(L, -3, "path");
  lua_call(L, 2, 2);  /* path or nil, message */
  const char *source = lua_tostring(L, -2);
  if (source == NULL)
    return 1;  /* the "no file ..." lines */
  size_t prefix_len;
  const char *prefix = lua_tolstring(L, lua_upvalueindex(1), &prefix_len);
  if (strncmp(source, prefix, prefix_len) == 0) {
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushstring(L, source + prefix_len);
    lua_pushliteral(L, "c");
    lua_concat(L, 3);
    const char *compiled = lua_tostring(L, -1);
    if (fresh(compiled, source) && luaL_loadfilex(L, compiled, "b") == LUA_OK) {
      lua_pushstring(L, source);  /* the loader's second argument stays the source path */
      return 2;
    }
    lua_settop(L, 4);  /* unreadable or foreign bytecode: the source still works */
  }
  if (luaL_loadfilex(L, source, "t") != LUA_OK)
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, source,
                      lua_tostring(L, -1));
  lua_pushstring(L, source);
  return 2;
}

void luaws_bytecode_install(lua_State *L, const char *data_dir, const char *lib_dir) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_pushfstring(L, "%s/lua/", data_dir);
  lua_pushfstring(L, "%s/", lib_dir);
  lua_pushcclosure(L, search, 2);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
