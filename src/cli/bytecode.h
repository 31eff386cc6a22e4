/* bytecode.h: loads luaws's own Lua modules from the build's bytecode when it is fresh. */
#ifndef LUAWS_BYTECODE_H
#define LUAWS_BYTECODE_H

#include <stddef.h>
#include <sys/stat.h>

#include <lua.h>

/* Replaces package.searchers[2] (Lua files) with one that finds a module on package.path as
 * usual and, when the file found is data_dir's own lua/<rel> and lib_dir/<rel>c is at least as
 * new, loads that bytecode instead. Everything else (LUAWS_PATH overrides, edited sources, user
 * modules) loads from source exactly as before. Stack: unchanged. */
void luaws_bytecode_install(lua_State *L, const char *data_dir, const char *lib_dir);

/* Loads the bytecode file `compiled` (one read) when it is a regular file at least as new as
 * the stat `source`. Pushes the chunk and returns its size in bytes; returns 0 and pushes
 * nothing when it is missing, stale, unreadable or not loadable bytecode. */
size_t luaws_bytecode_load_fresh(lua_State *L, const char *compiled, const struct stat *source);

#endif
