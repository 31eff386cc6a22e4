/* test_http_interrupt.c: luaws_http_interrupted stops blocking sleeps, requests and waits with the Interrupted error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "http.h"
#include "modules.h"
#include "check.h"


static lua_State *new_state(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_luaws_http);
  lua_setfield(L, -2, "luaws.http");
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  lua_pop(L, 1);
  const char *source = getenv("LUAWS_SOURCE_DIR");
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/tests/lib/?.lua", source ? source : ".");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  return L;
}

/* Runs chunk; returns its error message (static copy) or NULL. */
static const char *run(lua_State *L, const char *chunk) {
  static char message[512];
  if (luaL_dostring(L, chunk) == LUA_OK)
    return NULL;
  /* Errors may be tables (the host's Interrupted error): take their __tostring. */
  snprintf(message, sizeof message, "%s", luaL_tolstring(L, -1, NULL));
  lua_pop(L, 2);
  return message;
}

static void *interrupt_later(void *arg) {
  (void)arg;
  struct timespec pause = {0, 150 * 1000 * 1000};
  nanosleep(&pause, NULL);
  luaws_http_interrupted = 1;
  return NULL;
}

/* Sets the flag from another thread (as a signal handler would) while chunk blocks. */
static const char *run_interrupted(lua_State *L, const char *chunk) {
  pthread_t thread;
  pthread_create(&thread, NULL, interrupt_later, NULL);
  const char *err = run(L, chunk);
  pthread_join(thread, NULL);
  return err;
}

int main(void) {
  lua_State *L = new_state();
  const char *err = run(L, "http = require 'luaws.http'; fakeserver = require 'fakeserver'");
  CHECK(err == NULL, "setup: %s", err);

  luaws_http_interrupted = 1;
  double started = luaws_http_now();
  err = run(L, "http.sleep(5)");
  CHECK(err && strstr(err, "interrupted"), "a pending interrupt stops sleep: %s", err ? err : "no error");
  CHECK(luaws_http_now() - started < 2.5, "sleep stopped early");
  CHECK(luaws_http_interrupted == 0, "the flag is cleared once acted on");

  err = run_interrupted(L, "http.sleep(30)");
  CHECK(err && strstr(err, "interrupted"), "sleep interrupted from outside: %s", err ? err : "no error");

  err = run(L, "hole = fakeserver.start(nil, {blackhole = true})");
  CHECK(err == NULL, "blackhole: %s", err);
  started = luaws_http_now();
  err = run_interrupted(L, "http.request{url = hole.url, connect_timeout = 30, timeout = 30}");
  CHECK(err && strstr(err, "interrupted"), "request interrupted: %s", err ? err : "no error");
  CHECK(luaws_http_now() - started < 10, "the request stopped long before its timeout");
  err = run(L, "collectgarbage(); assert(http.stats().in_flight == 0, 'transfer left in flight')");
  CHECK(err == NULL, "the interrupted transfer was released: %s", err);

  err = run_interrupted(L, "local t = http.spawn(function() return http.request{url = hole.url, "
                           "connect_timeout = 30} end); http.wait(t)");
  CHECK(err && strstr(err, "interrupted"), "wait interrupted: %s", err ? err : "no error");

  err = run(L, "hole.stop()");
  CHECK(err == NULL, "stop: %s", err);
  lua_close(L);
  printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
