/* host.c: builds the embedded Lua state (libraries, preloaded C modules, search paths). */
#include "host.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "modules.h"
#include "paths.h"

static const char TRACEBACK_KEY[] = "luaws.traceback";

static const luaL_Reg preloaded_modules[] = {
  {"luaws.sigv4", luaopen_luaws_sigv4},
  {"luaws.crypto", luaopen_luaws_crypto},
  {"luaws.http", luaopen_luaws_http},
  {"luaws.xml", luaopen_luaws_xml},
  {"luaws.host", luaopen_luaws_host},
  {"cjson", luaopen_cjson},
  {"cjson.safe", luaopen_cjson_safe},
  {NULL, NULL},
};

/* Registers the C openers in package.preload. Stack: unchanged. */
static void preload_modules(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *m = preloaded_modules; m->name; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
}

/* Adds "DIR/?.lua;DIR/?/init.lua;" to the buffer (which sits on top of the stack). */
static void add_lua_dir(luaL_Buffer *b, const char *dir, size_t len, const char *sub) {
  static const char *const patterns[] = {"/?.lua;", "/?/init.lua;"};
  for (size_t i = 0; i < 2; i++) {
    luaL_addlstring(b, dir, len);
    luaL_addstring(b, sub);
    luaL_addstring(b, patterns[i]);
  }
}

/* Sets package.path: each LUAWS_PATH entry (and its lua/ subfolder), then the luaws data
 * directory's lua/, then Lua's defaults. Stack: unchanged. */
static void set_package_path(lua_State *L, const char *data_dir) {
  luaL_Buffer b;
  lua_getglobal(L, "package");
  luaL_buffinit(L, &b);
  const char *extra = getenv("LUAWS_PATH");
  while (extra && *extra) {
    size_t len = strcspn(extra, ":");
    if (len > 0) {
      add_lua_dir(&b, extra, len, "");
      add_lua_dir(&b, extra, len, "/lua");
    }
    extra += len + (extra[len] == ':');
  }
  add_lua_dir(&b, data_dir, strlen(data_dir), "/lua");
  lua_getfield(L, -2, "path");
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

/* Message handler: records a traceback in the registry and keeps the error value itself, so
 * error tables (with code, exit, ...) reach the reporter intact. */
static int message_handler(lua_State *L) {
  const char *msg = NULL;
  if (lua_type(L, 1) == LUA_TSTRING)
    msg = lua_tostring(L, 1);
  else if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
    msg = lua_tostring(L, -1);
  else
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
  lua_settop(L, 1);
  return 1;
}

int luaws_host_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, message_handler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

bool luaws_host_debug(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_DEBUG_KEY);
  bool on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return on;
}

int luaws_host_report(lua_State *L, int status) {
  if (status == LUA_OK)
    return 0;
  int top = lua_gettop(L);
  int exit_code = 1;
  if (lua_istable(L, top)) {
    lua_getfield(L, top, "exit");
    if (lua_isinteger(L, -1))
      exit_code = (int)lua_tointeger(L, -1);
  }
  const char *msg = luaL_tolstring(L, top, NULL);
  if (luaws_host_debug(L)) {
    lua_getfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
    if (lua_isstring(L, -1))
      msg = lua_tostring(L, -1);
  }
  fprintf(stderr, "luaws: %s\n", msg);
  fflush(stderr);
  lua_settop(L, top - 1);
  return exit_code;
}

lua_State *luaws_host_new(const luaws_host_options *options) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "luaws: cannot create Lua state: not enough memory\n");
    return NULL;
  }
  luaL_openlibs(L);
  lua_pushboolean(L, options->debug);
  lua_setfield(L, LUA_REGISTRYINDEX, LUAWS_DEBUG_KEY);
  preload_modules(L);

  char data_dir[PATH_MAX];
  luaws_find_data_dir(options->argv0, data_dir, sizeof data_dir);
  set_package_path(L, data_dir);
  lua_pushstring(L, data_dir);
  lua_setfield(L, LUA_REGISTRYINDEX, LUAWS_DATA_DIR_KEY);

  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws");
  int status = luaws_host_docall(L, 1, 1);
  if (status != LUA_OK) {
    luaws_host_report(L, status);
    lua_close(L);
    return NULL;
  }
  lua_setglobal(L, "aws");
  return L;
}
