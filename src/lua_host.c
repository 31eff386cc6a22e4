/* lua_host.c: the "luaws.host" module: where luaws lives, versions, debug flag, terminals. */
#include <stdio.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <openssl/crypto.h>

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

/* host.versions() -> {luaws=, lua=, curl=, openssl=} */
static int host_versions(lua_State *L) {
  lua_createtable(L, 0, 4);
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

static const luaL_Reg host_functions[] = {
  {"debug", host_debug},
  {"isatty", host_isatty},
  {"versions", host_versions},
  {NULL, NULL},
};

int luaopen_luaws_host(lua_State *L) {
  luaL_newlib(L, host_functions);
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_DATA_DIR_KEY);
  lua_setfield(L, -2, "data_dir");
  return 1;
}
