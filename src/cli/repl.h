/* repl.h: the interactive read-eval-print loop, modelled on lua.c. */
#ifndef LUAWS_REPL_H
#define LUAWS_REPL_H

#include <lua.h>

/* Runs the REPL on the terminal until EOF or os.exit. Stack: unchanged. Returns the process
 * exit code (0 on a normal end). */
int luaws_repl(lua_State *L);

#endif
