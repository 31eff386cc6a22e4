/* lua_body.h: luaws.FileBody (a byte range of a file as a request body) for luaws.http. */
#ifndef LUAWS_LUA_BODY_H
#define LUAWS_LUA_BODY_H

#include <stdbool.h>
#include <sys/types.h>

#include <lua.h>

/* file_body(path | io file[, offset[, length]]) -> FileBody | nil, err, errno (a lua_CFunction;
 * see lua_body.c). Pushes one value or three. */
int luaws_file_body_new(lua_State *L);

/* When the value at idx is a FileBody, stores its descriptor and range and returns true (raises
 * when it is closed); false for anything else. Stack: unchanged. The descriptor stays valid as
 * long as the userdata is alive and not closed. */
bool luaws_file_body_range(lua_State *L, int idx, int *fd, off_t *offset, off_t *length);

/* Creates the luaws.FileBody metatable (methods size, digest, read, close). Stack: unchanged. */
void luaws_file_body_register(lua_State *L);

#endif
