/* state.h: the Lua state on luaws's pool allocator, with lauxlib's panic and warning behaviour. */
#ifndef LUAWS_STATE_H
#define LUAWS_STATE_H

#include <lua.h>

/* A new bare state (no libraries) whose heap is a luaws_pool, or NULL when out of memory. */
lua_State *luaws_state_new(void);

/* Closes a state made by luaws_state_new and frees its pool. NULL is allowed. */
void luaws_state_close(lua_State *L);

#endif
