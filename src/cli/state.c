/* state.c: the Lua state on luaws's pool allocator (src/mech/pool.c), with the panic and warning
 * functions luaL_newstate would install (lauxlib keeps its own static; these behave the same). */
#include "state.h"

#include <stdio.h>
#include <string.h>

#include "pool.h"

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n",
          msg != NULL ? msg : "error object is not a string");
  fflush(stderr);
  return 0; /* back to Lua, which aborts */
}

static void warn_off(void *ud, const char *message, int tocont);
static void warn_on(void *ud, const char *message, int tocont);

/* "@on" and "@off" (never a continuation) switch warnings; returns whether message was one. */
static int warn_control(lua_State *L, const char *message, int tocont) {
  if (tocont || message[0] != '@')
    return 0;
  if (strcmp(message + 1, "off") == 0)
    lua_setwarnf(L, warn_off, L);
  else if (strcmp(message + 1, "on") == 0)
    lua_setwarnf(L, warn_on, L);
  return 1;
}

static void warn_off(void *ud, const char *message, int tocont) {
  warn_control(ud, message, tocont);
}

static void warn_continue(void *ud, const char *message, int tocont) {
  fputs(message, stderr);
  if (tocont) {
    lua_setwarnf(ud, warn_continue, ud);
  } else {
    fputs("\n", stderr);
    fflush(stderr);
    lua_setwarnf(ud, warn_on, ud);
  }
}

static void warn_on(void *ud, const char *message, int tocont) {
  if (warn_control(ud, message, tocont))
    return;
  fputs("Lua warning: ", stderr);
  warn_continue(ud, message, tocont);
}

lua_State *luaws_state_new(void) {
  luaws_pool *pool = luaws_pool_new();
  if (pool == NULL)
    return NULL;
  lua_State *L = lua_newstate(luaws_pool_alloc, pool);
  if (L == NULL) {
    luaws_pool_free(pool);
    return NULL;
  }
  lua_atpanic(L, panic);
  lua_setwarnf(L, warn_off, L); /* off until a script says "@on", as in lua.c */
  return L;
}

void luaws_state_close(lua_State *L) {
  if (L == NULL)
    return;
  void *pool = NULL;
  lua_getallocf(L, &pool);
  lua_setallocf(L, luaws_pool_alloc_closing, pool);
  lua_close(L);
  luaws_pool_free(pool);
}
