/* editline.c: libedit's readline API loaded with dlopen on the REPL's first terminal session.
 * Linked in, libedit and the libraries it needs (tinfo, bsd, md) were mapped and relocated at
 * the start of every luaws process: ~1.2M instructions, a twentieth of a one-call script
 * (bench/README.md), for an editor that only the REPL on a terminal uses. */
#include "editline.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* The library, unless LUAWS_LIBEDIT names another (a libedit of another soname elsewhere). */
#define EDITLINE_LIBRARY "libedit.so.2"

const luaws_editline *luaws_editline_get(const char **why) {
  static luaws_editline api;
  static int state; /* 0: not tried yet, 1: loaded, -1: failed */
  static char reason[300];
  if (state == 0) {
    state = -1;
    const char *library = getenv("LUAWS_LIBEDIT");
    if (library == NULL || *library == '\0')
      library = EDITLINE_LIBRARY;
    void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
      snprintf(reason, sizeof reason, "%s", dlerror());
    } else {
      const struct {
        const char *name;
        void *slot; /* a field of api: a function pointer or a pointer to a variable */
      } symbols[] = {
        {"readline", &api.readline},
        {"using_history", &api.using_history},
        {"add_history", &api.add_history},
        {"clear_history", &api.clear_history},
        {"stifle_history", &api.stifle_history},
        {"history_get", &api.history_get},
        {"read_history", &api.read_history},
        {"write_history", &api.write_history},
        {"rl_completion_matches", &api.rl_completion_matches},
        {"rl_readline_name", &api.rl_readline_name},
        {"rl_line_buffer", &api.rl_line_buffer},
        {"history_base", &api.history_base},
        {"history_length", &api.history_length},
        {"rl_basic_word_break_characters", &api.rl_basic_word_break_characters},
        {"rl_completer_word_break_characters", &api.rl_completer_word_break_characters},
        {"rl_attempted_completion_function", &api.rl_attempted_completion_function},
        {"rl_attempted_completion_over", &api.rl_attempted_completion_over},
        {"rl_completion_append_character", &api.rl_completion_append_character},
        {"rl_catch_signals", &api.rl_catch_signals},
        {"rl_getc_function", &api.rl_getc_function},
      };
      state = 1;
      for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *address = dlsym(lib, symbols[i].name);
        if (address == NULL) {
          snprintf(reason, sizeof reason, "%s has no %s", library, symbols[i].name);
          state = -1;
          break;
        }
        memcpy(symbols[i].slot, &address, sizeof address); /* POSIX: dlsym's functions too */
      }
    }
  }
  if (state < 0) {
    if (why != NULL)
      *why = reason;
    return NULL;
  }
  return &api;
}
