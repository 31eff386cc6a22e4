/* bytecode.h: loads luaws's own Lua modules from the build's bytecode when it is fresh. */
#ifndef LUAWS_BYTECODE_H
#define LUAWS_BYTECODE_H

#include <lua.h>

/* Replaces package.searchers[2] (Lua files) with one that finds a module on package.path as
 * usual and, when the file found is data_dir's own lua/<rel> and lib_dir/<rel>c is at least as
 * new, loads that bytecode instead. Everything else (LUAWS_PATH overrides, edited sources, user
 * modules) loads from source exactly as before. Stack: unchanged. */
void luaws_bytecode_install(lua_State *L, const char *data_dir, const char *lib_dir);

#endif
