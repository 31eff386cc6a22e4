/* scheduler_api.c: the scheduler's Lua functions: spawn, wait, parallel, sleep, now. */
#include "host.h"
#include "scheduler_internal.h"
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Lua functions ---- */

/* spawn(fn, ...) -> task. Queues fn(...) to run as a task. */
static int sched_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaws_sched *s = luaws_sched_get(L);
  int n = lua_gettop(L);
  task *t = lua_newuserdatauv(L, sizeof *t, 2);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, LUAWS_TASK_MT);
  int handle = n + 1;
  t->sched = s;
  t->co = lua_newthread(L);
  lua_setiuservalue(L, handle, 1);
  if (!lua_checkstack(t->co, n))
    luaL_error(L, "too many arguments to spawn");
  for (int i = 1; i <= n; i++)
    lua_pushvalue(L, i);
  lua_xmove(L, t->co, n);
  t->nargs = n - 1;

  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_TASKS_KEY);
  lua_pushvalue(L, handle);
  lua_rawsetp(L, -2, t);
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_THREADS_KEY);
  lua_getiuservalue(L, handle, 1);
  lua_pushvalue(L, handle);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  sched_make_ready(s, t);
  return 1;
}

/* The task handle at list[i] (list at stack index 2). */
static task *list_task(lua_State *L, lua_Integer i) {
  lua_rawgeti(L, 2, i);
  task *t = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return t;
}

/* Waits until every task in the list at stack index 2 has finished, scanning from position
 * `cursor`: yields with continuation `again` in a task that can yield, blocks elsewhere;
 * then returns finish(L, LUA_OK, 0). */
static int await_list(lua_State *L, lua_KContext cursor, lua_KFunction again, lua_KFunction finish) {
  luaws_sched *s = luaws_sched_get(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
  task *me = sched_current_task(L);
  for (lua_Integer i = cursor; i <= n; i++) {
    task *t = list_task(L, i);
    if (t == me)
      return luaL_error(L, "a task cannot wait for itself");
    if (t->state == TASK_DONE)
      continue;
    if (me != NULL && lua_isyieldable(L)) {
      me->next_waiter = t->waiters;
      t->waiters = me;
      me->state = TASK_WAITING;
      me->wait = WAIT_TASK;
      return lua_yieldk(L, 0, (lua_KContext)i, again);
    }
    if (t->state == TASK_RUNNING)
      return luaL_error(L, "deadlock: waiting (without yielding) for a task that is running this code");
    sched_drive(L, s, sched_task_finished, t, -1);
  }
  return finish(L, LUA_OK, 0);
}

/* wait finish: the results of the task at 1, or its error re-raised. */
static int wait_finish(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  task *t = luaL_checkudata(L, 1, LUAWS_TASK_MT);
  sched_observe(t);
  lua_getiuservalue(L, 1, 2);
  if (t->failed)
    return lua_error(L);
  int results = lua_gettop(L);
  luaL_checkstack(L, t->nresults, "too many results to wait");
  for (int i = 1; i <= t->nresults; i++)
    lua_rawgeti(L, results, i);
  return t->nresults;
}

static int wait_again(lua_State *L, int status, lua_KContext cursor) {
  (void)status;
  return await_list(L, cursor, wait_again, wait_finish);
}

/* wait(task) -> its results, or raises its error. */
static int sched_wait(lua_State *L) {
  luaL_checkudata(L, 1, LUAWS_TASK_MT);
  lua_settop(L, 1);
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, 2, 1);
  return await_list(L, 1, wait_again, wait_finish);
}

/* parallel finish: results[i] = first result of task i, errs[i] = its error. */
static int parallel_finish(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
  lua_settop(L, 2);
  lua_createtable(L, (int)n, 0);
  lua_newtable(L);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    task *t = lua_touserdata(L, -1);
    sched_observe(t);
    lua_getiuservalue(L, -1, 2);
    if (t->failed) {
      lua_rawseti(L, 4, i);
    } else {
      lua_rawgeti(L, -1, 1);
      lua_rawseti(L, 3, i);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return 2;
}

static int parallel_again(lua_State *L, int status, lua_KContext cursor) {
  (void)status;
  return await_list(L, cursor, parallel_again, parallel_finish);
}

/* parallel{fn1, fn2, ...} -> results, errs. Runs every function as a task and waits for all. */
static int sched_parallel(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, 1, i) != LUA_TFUNCTION)
      return luaL_error(L, "bad argument #1 to 'parallel' (item %d is not a function)", (int)i);
    lua_pop(L, 1);
  }
  lua_settop(L, 1);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_pushcfunction(L, sched_spawn);
    lua_geti(L, 1, i);
    lua_call(L, 1, 1);
    lua_rawseti(L, 2, i);
  }
  return await_list(L, 1, parallel_again, parallel_finish);
}

static int sleep_done(lua_State *L, int status, lua_KContext ctx) {
  (void)L;
  (void)status;
  (void)ctx;
  return 0;
}

/* sleep(seconds): yields in a task; elsewhere blocks while driving the event loop. */
static int sched_sleep(lua_State *L) {
  double seconds = luaL_checknumber(L, 1);
  if (!(seconds > 0))
    seconds = 0;
  luaws_sched *s = luaws_sched_get(L);
  task *me = sched_current_task(L);
  double deadline = luaws_http_now() + seconds;
  if (me != NULL && lua_isyieldable(L)) {
    me->wake_at = deadline;
    me->state = TASK_WAITING;
    me->wait = WAIT_SLEEP;
    sched_add_sleeper(s, me);
    return lua_yieldk(L, 0, 0, sleep_done);
  }
  sched_drive(L, s, sched_deadline_passed, &deadline, deadline);
  return 0;
}

/* now() -> monotonic seconds. */
static int sched_now(lua_State *L) {
  lua_pushnumber(L, luaws_http_now());
  return 1;
}

const luaL_Reg luaws_sched_functions[] = {
  {"spawn", sched_spawn},
  {"wait", sched_wait},
  {"parallel", sched_parallel},
  {"sleep", sched_sleep},
  {"now", sched_now},
  {NULL, NULL},
};
