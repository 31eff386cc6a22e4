/* measure.c: runs a command and prints its wall time, user+sys CPU and peak RSS as one JSON line.
 * usage: measure OUTPUT_FILE COMMAND [ARGS...]   (the command's exit code is passed on)
 * A fork from a small process: a child forked from the Python runner would report the runner's
 * RSS as its own peak (Linux keeps the pre-exec high-water mark in ru_maxrss).
 * Built by bench/bench.py with `cc -O2`; not part of the build. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: measure OUTPUT_FILE COMMAND [ARGS...]\n");
    return 2;
  }
  double started = now();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) < 0) {
    perror("wait4");
    return 2;
  }
  double wall = now() - started;
  FILE *out = fopen(argv[1], "w");
  if (out == NULL) {
    perror(argv[1]);
    return 2;
  }
  fprintf(out, "{\"wall\": %.6f, \"user\": %.6f, \"sys\": %.6f, \"rss_kb\": %ld}\n", wall,
          (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6,
          (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6, usage.ru_maxrss);
  fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
