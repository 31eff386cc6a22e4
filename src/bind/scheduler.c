/* scheduler.c: the coroutine scheduler: tasks, their waits (transfers, timers, other tasks), the event loop. */
#include "host.h"
#include "scheduler.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registry keys. */
static const char SCHED_KEY[] = "luaws.Scheduler";        /* the scheduler userdata */
static const char TASKS_KEY[] = "luaws.sched.tasks";      /* light(task) -> handle, live tasks */
static const char THREADS_KEY[] = "luaws.sched.threads";  /* thread -> handle (weak keys) */

typedef enum { TASK_READY, TASK_RUNNING, TASK_WAITING, TASK_DONE } task_state;
typedef enum { WAIT_NONE, WAIT_TRANSFER, WAIT_SLEEP, WAIT_TASK } task_wait;

/* A failed task's message, kept until someone observes the error (wait/parallel), or
 * printed on stderr when the handle is collected or the process exits. */
typedef struct failure {
  char *message;
  struct failure *prev, *next;
} failure;

typedef struct task {
  lua_State *co;              /* the coroutine (uservalue 1 of the handle); NULL once done */
  luaws_sched *sched;
  task_state state;
  task_wait wait;
  bool started;
  bool failed;
  int nargs;                  /* arguments on co's stack for the first resume */
  int nresults;
  double wake_at;             /* WAIT_SLEEP */
  struct task *next;          /* in the ready queue or the sleeper list */
  struct task *waiters;       /* tasks waiting for this one to finish */
  struct task *next_waiter;
  failure *unobserved;
} task;

typedef struct task_queue {
  task *head, *tail;
  long count;
} task_queue;

struct luaws_sched {
  luaws_http *http;
  task_queue ready;
  task *sleepers;             /* sorted by wake_at */
};

typedef bool (*done_fn)(void *arg);

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

static void observe(task *t) {
  if (t->unobserved) {
    unlink_failure(t->unobserved);
    t->unobserved = NULL;
  }
}

/* ---- queues ---- */

static void make_ready(luaws_sched *s, task *t) {
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

static void add_sleeper(luaws_sched *s, task *t) {
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
    make_ready(s, t);
  }
}

static void wake_waiters(luaws_sched *s, task *t) {
  task *w = t->waiters;
  t->waiters = NULL;
  while (w) {
    task *next = w->next_waiter;
    w->next_waiter = NULL;
    if (w->state == TASK_WAITING && w->wait == WAIT_TASK)
      make_ready(s, w);
    w = next;
  }
}

/* on_done of a transfer a yielded task waits for. */
static void transfer_done(luaws_transfer *tr, void *data) {
  (void)tr;
  task *t = data;
  if (t && t->state == TASK_WAITING && t->wait == WAIT_TRANSFER)
    make_ready(t->sched, t);
}

/* ---- running tasks ---- */

/* The running task whose coroutine is L, or NULL (main thread, user coroutines). */
static task *current_task(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, THREADS_KEY);
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
  lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
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
      make_ready(s, t);  /* a plain coroutine.yield() in a task: let the others run */
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
static void drive(lua_State *L, luaws_sched *s, done_fn done, void *arg, double deadline) {
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

static bool task_finished(void *arg) {
  return ((task *)arg)->state == TASK_DONE;
}

static bool deadline_passed(void *arg) {
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
    observe(t);
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
  lua_setfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, THREADS_KEY);

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
  task *me = current_task(L);
  bool yield = me != NULL && lua_isyieldable(L);
  luaws_http_submit(tr, yield ? transfer_done : NULL, me);
  if (tr->state == LUAWS_TRANSFER_DONE)
    return k(L, LUA_OK, ctx);
  if (yield) {
    me->state = TASK_WAITING;
    me->wait = WAIT_TRANSFER;
    return lua_yieldk(L, 0, ctx, k);
  }
  drive(L, s, transfer_finished, tr, -1);
  return k(L, LUA_OK, ctx);
}

/* One-shot wake-up of a task waiting for a stream: forgets the waiter, then readies it. */
static void stream_wake(luaws_transfer *tr, void *data) {
  task *t = data;
  tr->on_done = NULL;
  tr->on_progress = NULL;
  tr->on_done_data = NULL;
  if (t && t->state == TASK_WAITING && t->wait == WAIT_TRANSFER)
    make_ready(t->sched, t);
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
  task *me = current_task(L);
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
  drive(L, s, stream_ready, &w, -1);
  return k(L, LUA_OK, ctx);
}

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

  lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
  lua_pushvalue(L, handle);
  lua_rawsetp(L, -2, t);
  lua_getfield(L, LUA_REGISTRYINDEX, THREADS_KEY);
  lua_getiuservalue(L, handle, 1);
  lua_pushvalue(L, handle);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  make_ready(s, t);
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
  task *me = current_task(L);
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
    drive(L, s, task_finished, t, -1);
  }
  return finish(L, LUA_OK, 0);
}

/* wait finish: the results of the task at 1, or its error re-raised. */
static int wait_finish(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  task *t = luaL_checkudata(L, 1, LUAWS_TASK_MT);
  observe(t);
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
    observe(t);
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
  task *me = current_task(L);
  double deadline = luaws_http_now() + seconds;
  if (me != NULL && lua_isyieldable(L)) {
    me->wake_at = deadline;
    me->state = TASK_WAITING;
    me->wait = WAIT_SLEEP;
    add_sleeper(s, me);
    return lua_yieldk(L, 0, 0, sleep_done);
  }
  drive(L, s, deadline_passed, &deadline, deadline);
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
