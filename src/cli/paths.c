/* paths.c: locates the Lua library and recipes for a build-tree or installed binary. */
#include "paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether `dir` holds the luaws Lua library. */
static bool is_data_dir(const char *dir) {
  char probe[PATH_MAX + 32];
  int n = snprintf(probe, sizeof probe, "%s/lua/luaws/init.lua", dir);
  return n > 0 && (size_t)n < sizeof probe && access(probe, R_OK) == 0;
}

/* Copies `dir` into `out`, canonical when it resolves, so package.path reads cleanly. */
static void set_out(char *out, size_t size, const char *dir) {
  char resolved[PATH_MAX];
  snprintf(out, size, "%s", realpath(dir, resolved) ? resolved : dir);
}

void luaws_find_data_dir(const char *argv0, char *out, size_t size) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0 && argv0 != NULL && strchr(argv0, '/') != NULL) {
    snprintf(exe, sizeof exe, "%s", argv0);
    n = (ssize_t)strlen(exe);
  }
  if (n > 0) {
    exe[n] = '\0';
    char installed[PATH_MAX + 32];
    snprintf(installed, sizeof installed, "%s/" LUAWS_BIN_TO_DATA, dirname(exe));
    if (is_data_dir(installed)) {
      set_out(out, size, installed);
      return;
    }
  }
  if (!is_data_dir(LUAWS_SOURCE_DIR) && is_data_dir(LUAWS_INSTALL_DATADIR)) {
    set_out(out, size, LUAWS_INSTALL_DATADIR);
    return;
  }
  snprintf(out, size, "%s", LUAWS_SOURCE_DIR);
}
