/* host.h: creates the embedded Lua state and runs chunks in it protected, lua.c style. */
#ifndef LUAWS_HOST_H
#define LUAWS_HOST_H

#include <stdbool.h>
#include <lua.h>

/* Registry keys shared by the host and the "luaws.host" module. */
#define LUAWS_DEBUG_KEY "luaws.debug"
#define LUAWS_DATA_DIR_KEY "luaws.data_dir"

/* Metatable of the error raised when Ctrl-C interrupts a chunk. */
#define LUAWS_INTERRUPTED_MT "luaws.Interrupted"

/* Exit code of a script stopped by Ctrl-C (128 + SIGINT, as shells report it). */
#define LUAWS_EXIT_INTERRUPTED 130

typedef struct luaws_host_options {
  const char *argv0;   /* used to locate the installed data directory */
  bool debug;          /* --debug: tracebacks on errors, request logging */
} luaws_host_options;

/* Returns a fresh state with the standard libraries, every luaws C module preloaded,
 * package.path pointing at LUAWS_PATH, then the build tree or install tree, and the
 * global `aws` bound to require "luaws". Returns NULL (message on stderr) on failure. Its heap
 * is a pool (state.h): close it with luaws_state_close, not lua_close. */
lua_State *luaws_host_new(const luaws_host_options *options);

/* Calls the function below `narg` arguments on the stack in protected mode with a
 * traceback message handler, with Ctrl-C turned into an "interrupted" error while it runs
 * (a second Ctrl-C kills the process, as in lua.c). Pops the function and arguments; pushes
 * `nres` results on success or one error value on failure. Returns the lua_pcall status. */
int luaws_host_docall(lua_State *L, int narg, int nres);

/* Prints the error value on top of the stack as one line on stderr, "luaws: <message>" (the
 * traceback instead when debugging), and pops it. Never raises. Returns the process exit code
 * the error asks for: an error table may carry `exit` (2 for usage errors, 130 for Ctrl-C);
 * everything else is 1. Returns 0 without touching the stack when status is LUA_OK. */
int luaws_host_report(lua_State *L, int status);

/* Pushes a one-line description of the error value at `idx`: the string itself, its
 * __tostring, its `message` field, or "(error object is a T value)". Never raises (a failing
 * __tostring is caught). Returns the pushed string. */
const char *luaws_host_error_message(lua_State *L, int idx);

/* Pushes the traceback recorded for the last failed luaws_host_docall (nil if none). */
void luaws_host_push_traceback(lua_State *L);

/* Pushes a new Ctrl-C error table {code="Interrupted", message="interrupted", exit=130,
 * retryable=false} with metatable "luaws.Interrupted". C code that notices an interrupt
 * (the HTTP poll loop) can raise it so scripts see the same error. */
void luaws_host_push_interrupted(lua_State *L);

/* Whether the value at `idx` is a Ctrl-C error made by luaws_host_push_interrupted. */
bool luaws_host_is_interrupted(lua_State *L, int idx);

/* Whether --debug is on for this state. */
bool luaws_host_debug(lua_State *L);

#endif
