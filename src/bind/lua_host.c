/* lua_host.c: the "luaws.host" module: where luaws lives, versions, debug flag, terminals. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <expat.h>
#include <lauxlib.h>
#include <openssl/crypto.h>

#include "bytecode.h"
#include "host.h"
#include "modules.h"

/* host.debug([on]) -> boolean: reads, or sets and returns, the --debug flag. */
static int host_debug(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_pushboolean(L, lua_toboolean(L, 1));
    lua_setfield(L, LUA_REGISTRYINDEX, LUAWS_DEBUG_KEY);
  }
  lua_pushboolean(L, luaws_host_debug(L));
  return 1;
}

/* host.isatty(fd) -> boolean, for fd 0, 1 or 2. */
static int host_isatty(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd <= 2, 1, "expected 0, 1 or 2");
  lua_pushboolean(L, isatty((int)fd));
  return 1;
}

/* host.versions() -> {luaws=, lua=, curl=, openssl=, expat=} */
static int host_versions(lua_State *L) {
  lua_createtable(L, 0, 5);
  XML_Expat_Version expat = XML_ExpatVersionInfo();
  lua_pushfstring(L, "%d.%d.%d", expat.major, expat.minor, expat.micro);
  lua_setfield(L, -2, "expat");
  lua_pushstring(L, LUAWS_VERSION);
  lua_setfield(L, -2, "luaws");
  lua_pushstring(L, LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "." LUA_VERSION_RELEASE);
  lua_setfield(L, -2, "lua");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl");
  lua_pushstring(L, OpenSSL_version(OPENSSL_VERSION_STRING));
  lua_setfield(L, -2, "openssl");
  return 1;
}

/* Pushes the folder of precompiled service models (string), or nil without a data dir: the
 * build tree's share/luaws/models when the data dir is the source tree this binary was built
 * from, else <data dir>/models (installed: <prefix>/share/luaws/models). */
static void push_models_dir(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_DATA_DIR_KEY);
  const char *data_dir = lua_tostring(L, -1);
  if (data_dir == NULL)
    return;
  if (strcmp(data_dir, LUAWS_SOURCE_DIR) == 0)
    lua_pushstring(L, LUAWS_BUILD_MODELS_DIR);
  else
    lua_pushfstring(L, "%s/models", data_dir);
  lua_remove(L, -2);
}

/* host.load_compiled(compiled, source[, env]) -> chunk, size | nil: the bytecode file compiled,
 * read in one go, when it is at least as new as the file source (nil when either is missing,
 * the bytecode is stale or it does not load); env, when given, becomes the chunk's _ENV. */
static int host_load_compiled(lua_State *L) {
  const char *compiled = luaL_checkstring(L, 1);
  const char *source = luaL_checkstring(L, 2);
  struct stat st;
  size_t size = stat(source, &st) == 0 ? luaws_bytecode_load_fresh(L, compiled, &st) : 0;
  if (size == 0) {
    lua_pushnil(L);
    return 1;
  }
  if (!lua_isnoneornil(L, 3)) {
    lua_pushvalue(L, 3);
    if (lua_setupvalue(L, -2, 1) == NULL)
      lua_pop(L, 1); /* a chunk without upvalues uses no globals */
  }
  lua_pushinteger(L, (lua_Integer)size);
  return 2;
}

static const luaL_Reg host_functions[] = {
  {"debug", host_debug},
  {"isatty", host_isatty},
  {"load_compiled", host_load_compiled},
  {"versions", host_versions},
  {NULL, NULL},
};

int luaopen_luaws_host(lua_State *L) {
  luaL_newlib(L, host_functions);
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_DATA_DIR_KEY);
  lua_setfield(L, -2, "data_dir");
  push_models_dir(L);
  lua_setfield(L, -2, "models_dir");
  return 1;
}
