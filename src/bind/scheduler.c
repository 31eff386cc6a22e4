/* scheduler.c: the coroutine scheduler: tasks, their waits (transfers, timers, other tasks), the event loop. */
#include "host.h"
#include "scheduler_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registry keys. */
static const char SCHED_KEY[] = "luaws.Scheduler";        /* the scheduler userdata */

static failure *failures = NULL;
static bool failures_hooked = false;

/* ---- unobserved failures ---- */

static void unlink_failure(failure *f) {
  if (f->prev)
    f->prev->next = f->next;
  else
    failures = f->next;
  if (f->next)
    f->next->prev = f->prev;
  free(f->message);
  free(f);
}

static void print_failure(const failure *f) {
  fprintf(stderr, "luaws: a task failed and nothing waited for it: %s\n", f->message);
  fflush(stderr);
}

/* atexit: os.exit() without closing the state still reports lost task errors. */
static void report_all_failures(void) {
  while (failures) {
    print_failure(failures);
    unlink_failure(failures);
  }
}

static void add_failure(task *t, const char *message) {
  failure *f = calloc(1, sizeof *f);
  if (f == NULL)
    return;
  f->message = strdup(message);
  if (f->message == NULL) {
    free(f);
    return;
  }
  f->next = failures;
  if (failures)
    failures->prev = f;
  failures = f;
  t->unobserved = f;
}

void sched_observe(task *t) {
  if (t->unobserved) {
    unlink_failure(t->unobserved);
    t->unobserved = NULL;
  }
}

/* ---- queues ---- */

void sched_make_ready(luaws_sched *s, task *t) {
  t->state = TASK_READY;
  t->wait = WAIT_NONE;
  t->next = NULL;
  if (s->ready.tail)
    s->ready.tail->next = t;
  else
    s->ready.head = t;
  s->ready.tail = t;
  s->ready.count++;
}

static task *pop_ready(luaws_sched *s) {
  task *t = s->ready.head;
  if (t) {
    s->ready.head = t->next;
    if (s->ready.head == NULL)
      s->ready.tail = NULL;
    t->next = NULL;
    s->ready.count--;
  }
  return t;
}

void sched_add_sleeper(luaws_sched *s, task *t) {
  task **at = &s->sleepers;
  while (*at && (*at)->wake_at <= t->wake_at)
    at = &(*at)->next;
  t->next = *at;
  *at = t;
}

static void wake_sleepers(luaws_sched *s) {
  if (s->sleepers == NULL)
    return;
  double now = luaws_http_now();
  while (s->sleepers && s->sleepers->wake_at <= now) {
    task *t = s->sleepers;
    s->sleepers = t->next;
    sched_make_ready(s, t);
  }
}

static void wake_waiters(luaws_sched *s, task *t) {
  task *w = t->waiters;
  t->waiters = NULL;
  while (w) {
    task *next = w->next_waiter;
    w->next_waiter = NULL;
    if (w->state == TASK_WAITING && w->wait == WAIT_TASK)
      sched_make_ready(s, w);
    w = next;
  }
}

/* on_done of a transfer a yielded task waits for. */
static void transfer_done(luaws_transfer *tr, void *data) {
  (void)tr;
  task *t = data;
  if (t && t->state == TASK_WAITING && t->wait == WAIT_TRANSFER)
    sched_make_ready(t->sched, t);
}

/* ---- running tasks ---- */

/* The running task whose coroutine is L, or NULL (main thread, user coroutines). */
task *sched_current_task(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_THREADS_KEY);
  lua_pushthread(L);
  lua_rawget(L, -2);
  task *t = lua_touserdata(L, -1);
  lua_pop(L, 2);
  return (t && t->state == TASK_RUNNING) ? t : NULL;
}

/* Error value (1) -> one-line message; run protected because __tostring is user code. */
static int describe_error(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}

/* Records how a task ended: its results (or error) become uservalue 2 of its handle, it
 * leaves the live set, and its waiters wake. Stack of L: unchanged. */
static void finish_task(lua_State *L, luaws_sched *s, task *t, int status, int nres) {
  lua_State *co = t->co;
  luaL_checkstack(L, nres + 4, "too many results from a task");
  lua_getfield(L, LUA_REGISTRYINDEX, LUAWS_TASKS_KEY);
  lua_rawgetp(L, -1, t);
  int handle = lua_gettop(L);
  if (status == LUA_OK) {
    lua_createtable(L, nres, 0);
    lua_xmove(co, L, nres);
    for (int i = nres; i >= 1; i--)
      lua_rawseti(L, handle + 1, i);
    t->nresults = nres;
  } else {
    t->failed = true;
    lua_xmove(co, L, 1);
    lua_pushcfunction(L, describe_error);
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
      add_failure(t, lua_tostring(L, -1));
    else
      add_failure(t, "(error object cannot be described)");
    lua_pop(L, 1);
    /* Closes the task's pending to-be-closed variables (its transfers, say). */
#if LUA_VERSION_RELEASE_NUM >= 50406
    lua_closethread(co, L);
#else
    lua_resetthread(co);
#endif
  }
  lua_setiuservalue(L, handle, 2);
  lua_pushnil(L);
  lua_setiuservalue(L, handle, 1);  /* the coroutine can go */
  t->co = NULL;
  t->state = TASK_DONE;
  t->wait = WAIT_NONE;
  lua_pushnil(L);
  lua_rawsetp(L, handle - 1, t);
  lua_pop(L, 2);
  wake_waiters(s, t);
}

/* Resumes one ready task until it yields or ends. Stack of L: unchanged. */
static void run_task(lua_State *L, luaws_sched *s, task *t) {
  int nargs = 0;
  if (!t->started) {
    t->started = true;
    nargs = t->nargs;
  }
  t->state = TASK_RUNNING;
  t->wait = WAIT_NONE;
  int nres = 0;
  int status = lua_resume(t->co, L, nargs, &nres);
  if (status == LUA_YIELD) {
    lua_pop(t->co, nres);
    if (t->state == TASK_RUNNING)
      sched_make_ready(s, t);  /* a plain coroutine.yield() in a task: let the others run */
    return;
  }
  finish_task(L, s, t, status, nres);
}

/* Runs the tasks that are ready now (not those made ready meanwhile). Popping one at a time
 * keeps the queue valid for event loops nested inside these tasks. */
static void run_ready(lua_State *L, luaws_sched *s) {
  long n = s->ready.count;
  while (n-- > 0) {
    task *t = pop_ready(s);
    if (t == NULL)
      break;
    run_task(L, s, t);
  }
}

/* The event loop: runs ready tasks, wakes sleepers and drives curl until done(arg). A
 * deadline (>= 0) bounds the wait for the caller's own timer. Raises the host's Interrupted error when
 * luaws_http_interrupted is set and an error when nothing could ever make progress. */
void sched_drive(lua_State *L, luaws_sched *s, done_fn done, void *arg, double deadline) {
  for (;;) {
    if (luaws_http_interrupted) {
      luaws_http_interrupted = 0;
      luaws_host_push_interrupted(L); /* the same error as an interrupted Lua loop */
      lua_error(L);
    }
    run_ready(L, s);
    if (done(arg))
      return;
    wake_sleepers(s);
    int timeout = LUAWS_HTTP_TICK_MS;
    if (s->ready.head) {
      timeout = 0;
    } else {
      double next = deadline;
      if (s->sleepers && (next < 0 || s->sleepers->wake_at < next))
        next = s->sleepers->wake_at;
      if (next >= 0) {
        double ms = ceil((next - luaws_http_now()) * 1000.0);
        if (ms < timeout)
          timeout = ms > 0 ? (int)ms : 0;
      } else if (!luaws_http_busy(s->http)) {
        luaL_error(L, "deadlock: waiting for a task that can never finish");
      }
    }
    luaws_http_pump(s->http, timeout);
    wake_sleepers(s);
  }
}

static bool transfer_finished(void *arg) {
  luaws_transfer_state state = ((luaws_transfer *)arg)->state;
  return state == LUAWS_TRANSFER_DONE || state == LUAWS_TRANSFER_DETACHED;
}

bool sched_task_finished(void *arg) {
  return ((task *)arg)->state == TASK_DONE;
}

bool sched_deadline_passed(void *arg) {
  return luaws_http_now() >= *(double *)arg;
}

/* ---- the scheduler object ---- */

static int sched_gc(lua_State *L) {
  luaws_sched *s = lua_touserdata(L, 1);
  luaws_http_free(s->http);
  s->http = NULL;
  return 0;
}

static int task_gc(lua_State *L) {
  task *t = luaL_checkudata(L, 1, LUAWS_TASK_MT);
  if (t->unobserved) {
    print_failure(t->unobserved);
    sched_observe(t);
  }
  return 0;
}

static int task_tostring(lua_State *L) {
  task *t = luaL_checkudata(L, 1, LUAWS_TASK_MT);
  static const char *const names[] = {"ready", "running", "waiting", "done"};
  const char *state = t->state == TASK_DONE && t->failed ? "failed" : names[t->state];
  lua_pushfstring(L, "%s: %p (%s)", LUAWS_TASK_MT, (void *)t, state);
  return 1;
}

luaws_sched *luaws_sched_get(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, SCHED_KEY) == LUA_TUSERDATA) {
    luaws_sched *s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (s->http == NULL)
      luaL_error(L, "luaws.http: the scheduler is closed");
    return s;
  }
  lua_pop(L, 1);
  luaws_sched *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  if (luaL_newmetatable(L, "luaws.Scheduler")) {
    lua_pushcfunction(L, sched_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  s->http = luaws_http_new();
  if (s->http == NULL)
    luaL_error(L, "luaws.http: cannot start curl");
  lua_setfield(L, LUA_REGISTRYINDEX, SCHED_KEY);

  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LUAWS_TASKS_KEY);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, LUAWS_THREADS_KEY);

  if (luaL_newmetatable(L, LUAWS_TASK_MT)) {
    lua_pushcfunction(L, task_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, task_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  if (!failures_hooked) {
    failures_hooked = true;
    atexit(report_all_failures);
  }
  return s;
}

luaws_http *luaws_sched_http(luaws_sched *s) {
  return s->http;
}

int luaws_sched_wait_transfer(lua_State *L, luaws_transfer *tr, lua_KContext ctx, lua_KFunction k) {
  luaws_sched *s = luaws_sched_get(L);
  task *me = sched_current_task(L);
  bool yield = me != NULL && lua_isyieldable(L);
  luaws_http_submit(tr, yield ? transfer_done : NULL, me);
  if (tr->state == LUAWS_TRANSFER_DONE)
    return k(L, LUA_OK, ctx);
  if (yield) {
    me->state = TASK_WAITING;
    me->wait = WAIT_TRANSFER;
    return lua_yieldk(L, 0, ctx, k);
  }
  sched_drive(L, s, transfer_finished, tr, -1);
  return k(L, LUA_OK, ctx);
}

/* One-shot wake-up of a task waiting for a stream: forgets the waiter, then readies it. */
static void stream_wake(luaws_transfer *tr, void *data) {
  task *t = data;
  tr->on_done = NULL;
  tr->on_progress = NULL;
  tr->on_done_data = NULL;
  if (t && t->state == TASK_WAITING && t->wait == WAIT_TRANSFER)
    sched_make_ready(t->sched, t);
}

typedef struct stream_wait {
  luaws_transfer *t;
  luaws_stream_ready_fn ready;
} stream_wait;

static bool stream_ready(void *arg) {
  stream_wait *w = arg;
  return transfer_finished(w->t) || w->ready(w->t);
}

int luaws_sched_wait_stream(lua_State *L, luaws_transfer *tr, luaws_stream_ready_fn ready,
                            lua_KContext ctx, lua_KFunction k) {
  luaws_sched *s = luaws_sched_get(L);
  task *me = sched_current_task(L);
  bool yield = me != NULL && lua_isyieldable(L);
  if (tr->state == LUAWS_TRANSFER_NEW)
    luaws_http_submit(tr, NULL, NULL);
  stream_wait w = {tr, ready};
  if (stream_ready(&w))
    return k(L, LUA_OK, ctx);
  if (yield) {
    tr->on_done = stream_wake;
    tr->on_progress = stream_wake;
    tr->on_done_data = me;
    me->state = TASK_WAITING;
    me->wait = WAIT_TRANSFER;
    return lua_yieldk(L, 0, ctx, k);
  }
  tr->on_done = NULL;
  tr->on_progress = NULL;
  tr->on_done_data = NULL;
  sched_drive(L, s, stream_ready, &w, -1);
  return k(L, LUA_OK, ctx);
}
