/* lua_listen.h: luaws.http.listen, the one-shot 127.0.0.1 listener for browser sign-in redirects. */
#ifndef LUAWS_LUA_LISTEN_H
#define LUAWS_LUA_LISTEN_H

#include <lauxlib.h>

/* listen() (see lua_listen.c), for luaL_setfuncs into the luaws.http table. */
extern const luaL_Reg luaws_listen_functions[];

#endif
