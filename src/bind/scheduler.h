/* scheduler.h: the coroutine scheduler: tasks, their waits (transfers, timers, other tasks), the event loop. */
#ifndef LUAWS_SCHEDULER_H
#define LUAWS_SCHEDULER_H

#include <lua.h>
#include <lauxlib.h>

#include <stdbool.h>

#include "http.h"

typedef struct luaws_sched luaws_sched;

/* Metatable name of task handles. */
#define LUAWS_TASK_MT "luaws.Task"

/* The scheduler of this Lua state, created on first use (kept in the registry; freed with the
 * state). Raises a Lua error if curl cannot start. Stack: unchanged. */
luaws_sched *luaws_sched_get(lua_State *L);

/* The transport every task and blocking call of this state shares. */
luaws_http *luaws_sched_http(luaws_sched *s);

/* Submits t and waits for it to finish. In a task that can yield, this yields (other tasks
 * run) and Lua later calls k(L, LUA_YIELD, ctx); elsewhere it blocks while driving the event
 * loop and then returns k(L, LUA_OK, ctx). Either way the result is k's. Raises "interrupted"
 * when luaws_http_interrupted is set while blocked (t stays with the caller to release).
 * Use as `return luaws_sched_wait_transfer(L, t, ctx, k);`. */
int luaws_sched_wait_transfer(lua_State *L, luaws_transfer *t, lua_KContext ctx, lua_KFunction k);

/* Predicate of luaws_sched_wait_stream: whether what the caller waits for is there. */
typedef bool (*luaws_stream_ready_fn)(const luaws_transfer *t);

/* For stream-mode transfers: submits t when it is new, then waits until ready(t) or t has
 * finished (DONE or DETACHED), yielding in a task that can yield (other tasks run; Lua later
 * calls k(L, LUA_YIELD, ctx)) and driving the event loop elsewhere (then returns
 * k(L, LUA_OK, ctx)). Any task or the main thread may wait, one at a time; the wake-up is
 * one-shot, so t keeps no pointer to the waiter afterwards. Raises "interrupted" like
 * luaws_sched_wait_transfer. Use as `return luaws_sched_wait_stream(L, t, ready, ctx, k);`. */
int luaws_sched_wait_stream(lua_State *L, luaws_transfer *t, luaws_stream_ready_fn ready,
                            lua_KContext ctx, lua_KFunction k);

/* The Lua functions spawn, wait, parallel, sleep and now (see lua_http.c for the contract),
 * for luaL_setfuncs. */
extern const luaL_Reg luaws_sched_functions[];

#endif
