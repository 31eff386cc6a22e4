/* modules.h: the C modules luaws hands to Lua, preloaded into package.preload by the host. */
#ifndef LUAWS_MODULES_H
#define LUAWS_MODULES_H

#include <lua.h>

/* Each opener follows the lua_CFunction convention: pushes one module table, returns 1. */
int luaopen_luaws_sigv4(lua_State *L);   /* "luaws.sigv4": staged SigV4 signer           */
int luaopen_luaws_crypto(lua_State *L);  /* "luaws.crypto": sha256, hmac, hex, base64     */
int luaopen_luaws_http(lua_State *L);    /* "luaws.http": curl multi transport, scheduler */
int luaopen_luaws_xml(lua_State *L);     /* "luaws.xml": expat decoder                    */
int luaopen_luaws_host(lua_State *L);    /* "luaws.host": paths, versions, terminal, env  */
int luaopen_luaws_fs(lua_State *L);      /* "luaws.fs": private files, listings, modes    */
int luaopen_luaws_cbor(lua_State *L);    /* "luaws.cbor": CBOR decode, encode, writer     */
int luaopen_luaws_eventstream(lua_State *L); /* "luaws.eventstream": AWS event-stream frames */
int luaopen_luaws_literal(lua_State *L);  /* "luaws.literal": data-only table literals  */

/* From liblua5.4-cjson. */
int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

#endif
