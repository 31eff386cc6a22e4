/* lua_cbor.h: what the two halves of the luaws.cbor binding (lua_cbor.c, lua_cbor_encode.c) share. */
#ifndef LUAWS_LUA_CBOR_H
#define LUAWS_LUA_CBOR_H

#include <lua.h>
#include <lauxlib.h>

/* Its address is cbor.null, the light userdata decode gives for null and encode takes for it. */
extern char luaws_cbor_null;

/* encode, writer, bytes, float32, array, map, tag: for luaL_setfuncs on the module table. */
extern const luaL_Reg luaws_cbor_encode_functions[];

/* Creates the writer and marker metatables (once per state). Stack: unchanged. */
void luaws_cbor_encode_register(lua_State *L);

#endif
