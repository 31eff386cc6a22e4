/* repl.c: placeholder REPL (being written). */
#include "repl.h"

#include <stdio.h>

int luaws_repl(lua_State *L) {
  (void)L;
  fprintf(stderr, "luaws: the REPL is not built yet\n");
  return 1;
}
