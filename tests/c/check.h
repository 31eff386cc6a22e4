/* check.h: CHECK(cond, fmt, ...) for the C unit tests: counts a failure in `failures` and says
 * where on stderr, then goes on (each test's main returns failures != 0). */
#ifndef LUAWS_TEST_CHECK_H
#define LUAWS_TEST_CHECK_H

#include <stdio.h>

static int failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      failures++;                                          \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
    }                                                      \
  } while (0)

#endif
