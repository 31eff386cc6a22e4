/* host.c: builds the embedded Lua state (libraries, preloaded C modules, search paths) and runs
 * chunks in it protected, with tracebacks and Ctrl-C handling as lua.c does. */
#include "host.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "http.h" /* luaws_http_interrupted: set on Ctrl-C so a wait in curl ends promptly */
#include "bytecode.h"
#include "modules.h"
#include "paths.h"
#include "state.h"

static const char TRACEBACK_KEY[] = "luaws.traceback";

static const luaL_Reg preloaded_modules[] = {
  {"luaws.sigv4", luaopen_luaws_sigv4},
  {"luaws.crypto", luaopen_luaws_crypto},
  {"luaws.http", luaopen_luaws_http},
  {"luaws.xml", luaopen_luaws_xml},
  {"luaws.host", luaopen_luaws_host},
  {"luaws.fs", luaopen_luaws_fs},
  {"luaws.cbor", luaopen_luaws_cbor},
  {"luaws.eventstream", luaopen_luaws_eventstream},
  {"luaws.literal", luaopen_luaws_literal},
  {"cjson", luaopen_cjson},
  {"cjson.safe", luaopen_cjson_safe},
  {NULL, NULL},
};

/* Registers the C openers in package.preload. Stack: unchanged. */
static void preload_modules(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *m = preloaded_modules; m->name; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
}

/* Adds "DIR/?.lua;DIR/?/init.lua;" to the buffer (which sits on top of the stack). */
static void add_lua_dir(luaL_Buffer *b, const char *dir, size_t len, const char *sub) {
  static const char *const patterns[] = {"/?.lua;", "/?/init.lua;"};
  for (size_t i = 0; i < 2; i++) {
    luaL_addlstring(b, dir, len);
    luaL_addstring(b, sub);
    luaL_addstring(b, patterns[i]);
  }
}

/* Sets package.path: each LUAWS_PATH entry (and its lua/ subfolder), then the luaws data
 * directory's lua/, then Lua's defaults. Stack: unchanged. */
static void set_package_path(lua_State *L, const char *data_dir) {
  luaL_Buffer b;
  lua_getglobal(L, "package");
  luaL_buffinit(L, &b);
  const char *extra = getenv("LUAWS_PATH");
  while (extra && *extra) {
    size_t len = strcspn(extra, ":");
    if (len > 0) {
      add_lua_dir(&b, extra, len, "");
      add_lua_dir(&b, extra, len, "/lua");
    }
    extra += len + (extra[len] == ':');
  }
  add_lua_dir(&b, data_dir, strlen(data_dir), "/lua");
  lua_getfield(L, -2, "path");
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

/* ---- error values ---------------------------------------------------------------------- */

/* lua_CFunction: describes the value at 1 as a string. May raise (from __tostring), so it is
 * only ever called through lua_pcall. Pushes the string, returns 1. */
static int describe_error(lua_State *L) {
  int type = lua_type(L, 1);
  if (type == LUA_TSTRING) {
    lua_settop(L, 1);
    return 1;
  }
  if (luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL) {
    lua_pop(L, 1);
    luaL_tolstring(L, 1, NULL);
    return 1;
  }
  if (type == LUA_TNUMBER) {
    luaL_tolstring(L, 1, NULL);
    return 1;
  }
  if (type == LUA_TTABLE) {
    lua_pushliteral(L, "message");
    if (lua_rawget(L, 1) == LUA_TSTRING) {
      lua_pushliteral(L, "code");
      if (lua_rawget(L, 1) == LUA_TSTRING)
        lua_pushfstring(L, "%s: %s", lua_tostring(L, -1), lua_tostring(L, -2));
      else
        lua_pop(L, 1);
      return 1;
    }
  }
  lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  return 1;
}

const char *luaws_host_error_message(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  const char *type_name = luaL_typename(L, idx);
  lua_pushcfunction(L, describe_error);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushfstring(L, "(error object is a %s value whose __tostring failed)", type_name);
  }
  return lua_tostring(L, -1);
}

/* __tostring of the Ctrl-C error: its message. Pushes one string. */
static int interrupted_tostring(lua_State *L) {
  lua_pushliteral(L, "message");
  lua_rawget(L, 1);
  if (!lua_isstring(L, -1))
    lua_pushliteral(L, "interrupted");
  return 1;
}

void luaws_host_push_interrupted(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushliteral(L, "Interrupted");
  lua_setfield(L, -2, "code");
  lua_pushliteral(L, "interrupted");
  lua_setfield(L, -2, "message");
  lua_pushinteger(L, LUAWS_EXIT_INTERRUPTED);
  lua_setfield(L, -2, "exit");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "retryable");
  if (luaL_newmetatable(L, LUAWS_INTERRUPTED_MT)) {
    lua_pushcfunction(L, interrupted_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_setmetatable(L, -2);
}

bool luaws_host_is_interrupted(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx))
    return false;
  luaL_getmetatable(L, LUAWS_INTERRUPTED_MT);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

/* Message handler: records a traceback in the registry and keeps the error value itself, so
 * error tables (with code, exit, ...) reach the reporter intact. */
static int message_handler(lua_State *L) {
  const char *msg = luaws_host_error_message(L, 1);
  luaL_traceback(L, L, msg, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
  lua_settop(L, 1);
  return 1;
}

void luaws_host_push_traceback(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
}

/* ---- Ctrl-C ------------------------------------------------------------------------------ */

/* The state the next SIGINT interrupts, and whether one arrived since the chunk started. */
static lua_State *volatile interrupt_target = NULL;
static volatile sig_atomic_t interrupt_pending = 0;

/* Hook installed by the signal handler: runs at the next call, return or instruction of the
 * interrupted state, where raising an error is safe. */
static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaws_host_push_interrupted(L);
  lua_error(L);
}

/* SIGINT while a chunk runs. Only async-signal-safe work: lua_sethook is documented as safe
 * to call from a signal handler (lua.c relies on it). Installed with SA_RESETHAND, so a second
 * Ctrl-C (say, while stuck in C code) ends the process the default way. */
static void on_sigint(int sig) {
  (void)sig;
  interrupt_pending = 1;
  luaws_http_interrupted = 1;
  lua_State *L = interrupt_target;
  if (L != NULL)
    lua_sethook(L, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void clear_interrupt_flags(void) {
  interrupt_pending = 0;
  luaws_http_interrupted = 0;
}

int luaws_host_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, message_handler);
  lua_insert(L, base);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);

  /* Leave SIGINT alone when the parent ignores it (a background job must stay immune). */
  struct sigaction previous;
  sigaction(SIGINT, NULL, &previous);
  bool catch_sigint = previous.sa_handler != SIG_IGN;
  lua_State *previous_target = interrupt_target;
  if (catch_sigint) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND; /* no SA_RESTART: blocking calls return EINTR */
    clear_interrupt_flags();
    interrupt_target = L;
    sigaction(SIGINT, &action, NULL);
  }
  int status = lua_pcall(L, narg, nres, base);
  if (catch_sigint) {
    sigaction(SIGINT, &previous, NULL);
    interrupt_target = previous_target;
    /* A Ctrl-C that came as the chunk ended must not fire in the next one. */
    if (interrupt_pending && lua_gethook(L) == interrupt_hook)
      lua_sethook(L, NULL, 0, 0);
    /* A chunk that failed after a Ctrl-C failed because of it, whatever C code raised (the
     * HTTP wait raises a plain "interrupted"): report it as the interrupt, exit 130. */
    if (status != LUA_OK && interrupt_pending && !luaws_host_is_interrupted(L, -1)) {
      lua_pop(L, 1);
      luaws_host_push_interrupted(L);
    }
    clear_interrupt_flags();
  }
  lua_remove(L, base);
  return status;
}

bool luaws_host_debug(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_DEBUG_KEY);
  bool on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return on;
}

/* The exit code an error value asks for: its integer `exit` field in 0..255, else 1. */
static int error_exit_code(lua_State *L, int idx) {
  int code = 1;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_pushliteral(L, "exit");
    if (lua_rawget(L, idx) == LUA_TNUMBER && lua_isinteger(L, -1)) {
      lua_Integer asked = lua_tointeger(L, -1);
      if (asked >= 0 && asked <= 255)
        code = (int)asked;
    }
    lua_pop(L, 1);
  }
  return code;
}

int luaws_host_report(lua_State *L, int status) {
  if (status == LUA_OK)
    return 0;
  int top = lua_gettop(L);
  int exit_code = error_exit_code(L, top);
  const char *msg = luaws_host_error_message(L, top);
  if (luaws_host_debug(L)) {
    luaws_host_push_traceback(L);
    if (lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
  } else if (strchr(msg, '\n') != NULL) {
    /* One line: the rest (require's list of paths tried, say) is for --debug. */
    size_t len = strcspn(msg, "\n");
    while (len > 0 && (msg[len - 1] == ':' || msg[len - 1] == ' '))
      len--;
    msg = lua_pushfstring(L, "%s (details with --debug)",
                          lua_pushlstring(L, msg, len));
  }
  fflush(stdout);
  fprintf(stderr, "luaws: %s\n", msg);
  fflush(stderr);
  lua_settop(L, top - 1);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
  return exit_code;
}

lua_State *luaws_host_new(const luaws_host_options *options) {
  lua_State *L = luaws_state_new();
  if (L == NULL) {
    fprintf(stderr, "luaws: cannot create Lua state: not enough memory\n");
    return NULL;
  }
  luaL_openlibs(L);
  /* Start a GC cycle when the heap grows by half rather than Lua's default doubling: a recipe run
   * builds large transient tables (service models, responses), and this keeps its peak memory
   * about 0.3 MB lower for about 1 ms more CPU (measured; bench/README.md). */
  lua_gc(L, LUA_GCINC, 150, 0, 0);
  /* ...but not before 1 MB has been allocated: a one-call process allocates less (an S3
   * ListObjectsV2: 0.9 MB) and, pacing from Lua's 36 KB start, ran ~8 cycles re-marking the
   * library it was loading (~1M instructions, 4% of the call). A step of -n KB lowers the
   * collector's debt by n KB (lapi.c since 5.4.0; tests/lua/bind/host_gc_test.lua checks it);
   * after the first cycle the pause above paces it as usual. */
  lua_gc(L, LUA_GCSTEP, -1024);
  lua_pushboolean(L, options->debug);
  lua_setfield(L, LUA_REGISTRYINDEX, LUAWS_DEBUG_KEY);
  preload_modules(L);

  char data_dir[PATH_MAX];
  luaws_find_data_dir(options->argv0, data_dir, sizeof data_dir);
  set_package_path(L, data_dir);
  char lib_dir[PATH_MAX + sizeof "/lib"];
  if (strcmp(data_dir, LUAWS_SOURCE_DIR) == 0)
    snprintf(lib_dir, sizeof lib_dir, "%s", LUAWS_BUILD_LIB_DIR);
  else
    snprintf(lib_dir, sizeof lib_dir, "%s/lib", data_dir);
  luaws_bytecode_install(L, data_dir, lib_dir);
  lua_pushstring(L, data_dir);
  lua_setfield(L, LUA_REGISTRYINDEX, LUAWS_DATA_DIR_KEY);

  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws");
  int status = luaws_host_docall(L, 1, 1);
  if (status != LUA_OK) {
    luaws_host_report(L, status);
    luaws_state_close(L);
    return NULL;
  }
  lua_setglobal(L, "aws");
  return L;
}
