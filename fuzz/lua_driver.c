/* lua_driver.c: luaws Lua state for Lua-side fuzz harnesses, with Lua line coverage for libFuzzer. */
#include "lua_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"

/* liblua is not instrumented, so libFuzzer cannot see which Lua code an input reached. A line
 * hook hashes (previous line, this line, chunk) into libFuzzer's extra counters: edge coverage
 * of the Lua code under test, which is what steers the mutator through the parsers. */
#define LUA_COUNTERS (1u << 16)
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_counters[LUA_COUNTERS];
static uintptr_t previous_location;

static void coverage_hook(lua_State *L, lua_Debug *ar) {
  if (!lua_getinfo(L, "S", ar))
    return;
  uintptr_t location = ((uintptr_t)ar->source * 2654435761u) ^ ((uintptr_t)ar->currentline * 40503u);
  uintptr_t edge = (location ^ (previous_location >> 1)) & (LUA_COUNTERS - 1);
  previous_location = location;
  if (lua_counters[edge] != 255)
    lua_counters[edge]++;
}

static const char RUN_KEY[] = "luaws.fuzz.run";

/* Message handler: appends a traceback to the error's description. Pushes one string. */
static int traceback_handler(lua_State *L) {
  luaL_traceback(L, L, luaws_host_error_message(L, 1), 1);
  return 1;
}

/* The harness's scratch directory (config files); removed at exit. */
static char scratch_dir[] = "/tmp/luaws-fuzz-XXXXXX";

static void remove_scratch(void) {
  static const char *const files[] = {"config", "credentials"};
  char path[sizeof scratch_dir + 16];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", scratch_dir, files[i]);
    remove(path);
  }
  rmdir(scratch_dir);
}

_Noreturn void fuzz_finding(const char *target, const char *what) {
  fprintf(stderr, "FUZZ ORACLE: %s: %s\n", target, what);
  abort();
}

static void die(lua_State *L, const char *what) {
  fprintf(stderr, "fuzz: %s: %s\n", what, lua_tostring(L, -1));
  abort();
}

lua_State *fuzz_lua_state(const char *name) {
  static lua_State *L = NULL;
  if (L != NULL)
    return L;
  luaws_host_options options = {.argv0 = "luaws-fuzz", .debug = false};
  L = luaws_host_new(&options);
  if (L == NULL)
    abort();
  lua_pushcfunction(L, traceback_handler);
  int handler = lua_gettop(L);
  /* package.path = fuzz/harness/?.lua;... so harnesses can require "oracle". */
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/harness/?.lua;", LUAWS_FUZZ_DIR);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);

  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  if (lua_pcall(L, 1, 1, handler) != LUA_OK)
    die(L, "loading the harness");
  lua_getfield(L, -1, "setup");
  if (lua_isfunction(L, -1)) {
    if (mkdtemp(scratch_dir) == NULL) {
      perror("fuzz: mkdtemp");
      abort();
    }
    atexit(remove_scratch);
    lua_pushstring(L, scratch_dir);
    if (lua_pcall(L, 1, 0, handler) != LUA_OK)
      die(L, "harness setup");
  } else {
    lua_pop(L, 1);
  }
  lua_getfield(L, -1, "run");
  if (!lua_isfunction(L, -1)) {
    lua_pushfstring(L, "harness %s has no run function", name);
    die(L, "loading the harness");
  }
  lua_setfield(L, LUA_REGISTRYINDEX, RUN_KEY);
  lua_settop(L, 0);
  return L;
}

void fuzz_lua_run(lua_State *L, const uint8_t *data, size_t size) {
  int top = lua_gettop(L);
  lua_pushcfunction(L, traceback_handler);
  lua_getfield(L, LUA_REGISTRYINDEX, RUN_KEY);
  lua_pushlstring(L, (const char *)data, size);
  previous_location = 0;
  lua_sethook(L, coverage_hook, LUA_MASKLINE, 0);
  int status = lua_pcall(L, 1, 0, top + 1);
  lua_sethook(L, NULL, 0, 0);
  if (status != LUA_OK)
    die(L, "finding");
  lua_settop(L, top);
}
