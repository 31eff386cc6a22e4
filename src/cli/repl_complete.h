/* repl_complete.h: the REPL's Tab completion and its link to the Lua side (luaws.repl). */
#ifndef LUAWS_REPL_COMPLETE_H
#define LUAWS_REPL_COMPLETE_H

#include <lua.h>

#include "editline.h"

/* Installs Tab completion over the globals of L in libedit (api). Stack: unchanged. */
void luaws_repl_complete_start(lua_State *L, const luaws_editline *api);

/* Frees what the last completion kept and forgets L. */
void luaws_repl_complete_stop(void);

/* The lines of an incomplete chunk typed before the current one (NULL: none), so completion of
 * a call's parameters works on a continuation line. The string must outlive the line being
 * read. */
void luaws_repl_complete_pending(const char *chunk);

/* Pushes field `name` of require("luaws.repl") (the REPL's Lua side), or nil when it cannot
 * load. Stack: +1. */
void luaws_repl_push_field(lua_State *L, const char *name);

#endif
