/* bytecode_names.h: rewrites a Lua 5.4 binary chunk without its local variable and upvalue names. */
#ifndef LUACOMPILE_BYTECODE_NAMES_H
#define LUACOMPILE_BYTECODE_NAMES_H

#include <stddef.h>
#include <stdio.h>

/* Writes dump[0..len) (lua_dump output with debug info, from this Lua 5.4 build) to out with
 * every function's local variable and upvalue names dropped, keeping its source name and line
 * info. Returns 0, or 1 when the chunk is not in the format this understands or a write fails
 * (out then holds a partial chunk). */
int drop_local_names(const unsigned char *dump, size_t len, FILE *out);

#endif
