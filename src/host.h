/* host.h: creates the embedded Lua state and runs chunks in it protected, lua.c style. */
#ifndef LUAWS_HOST_H
#define LUAWS_HOST_H

#include <stdbool.h>
#include <lua.h>

/* Registry keys shared by the host and the "luaws.host" module. */
#define LUAWS_DEBUG_KEY "luaws.debug"
#define LUAWS_DATA_DIR_KEY "luaws.data_dir"

typedef struct luaws_host_options {
  const char *argv0;   /* used to locate the installed data directory */
  bool debug;          /* --debug: tracebacks on errors, request logging */
} luaws_host_options;

/* Returns a fresh state with the standard libraries, every luaws C module preloaded,
 * package.path pointing at LUAWS_PATH, then the build tree or install tree, and the
 * global `aws` bound to require "luaws". Returns NULL (message on stderr) on failure. */
lua_State *luaws_host_new(const luaws_host_options *options);

/* Calls the function below `narg` arguments on the stack in protected mode with a
 * traceback message handler. Pops the function and arguments; pushes `nres` results on
 * success or one error value on failure. Returns the lua_pcall status. */
int luaws_host_docall(lua_State *L, int narg, int nres);

/* Prints the error value on top of the stack as one line on stderr (the traceback too when
 * debugging) and pops it. Returns the process exit code the error asks for: an error table
 * may carry `exit = 2` for usage errors; everything else is 1. */
int luaws_host_report(lua_State *L, int status);

/* Whether --debug is on for this state. */
bool luaws_host_debug(lua_State *L);

#endif
