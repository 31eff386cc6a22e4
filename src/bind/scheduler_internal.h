/* scheduler_internal.h: the task and scheduler structures shared by scheduler.c (the run loop) and
 * scheduler_api.c (spawn, wait, parallel, sleep, now); not a public API. */
#ifndef LUAWS_SCHEDULER_INTERNAL_H
#define LUAWS_SCHEDULER_INTERNAL_H

#include "scheduler.h"

#define LUAWS_TASKS_KEY "luaws.sched.tasks"
#define LUAWS_THREADS_KEY "luaws.sched.threads"

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

/* Shared by the run loop and the Lua API; each is documented where it is defined. */
void sched_add_sleeper(luaws_sched *s, task *t);
task *sched_current_task(lua_State *L);
void sched_drive(lua_State *L, luaws_sched *s, done_fn done, void *arg, double deadline);
void sched_make_ready(luaws_sched *s, task *t);
void sched_observe(task *t);
bool sched_task_finished(void *arg);
bool sched_deadline_passed(void *arg);

#endif
