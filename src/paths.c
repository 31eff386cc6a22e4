/* paths.c: locates the Lua library and recipes for a build-tree or installed binary. */
#include "paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_readable(const char *path) { return access(path, R_OK) == 0; }

void luaws_find_data_dir(const char *argv0, char *out, size_t size) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0 && argv0 != NULL) {
    snprintf(exe, sizeof exe, "%s", argv0);
    n = (ssize_t)strlen(exe);
  }
  if (n > 0) {
    exe[n] = '\0';
    char installed[PATH_MAX + 64];
    snprintf(installed, sizeof installed, "%s/../share/luaws", dirname(exe));
    char probe[PATH_MAX + 96];
    snprintf(probe, sizeof probe, "%s/lua/luaws/init.lua", installed);
    if (is_readable(probe)) {
      char resolved[PATH_MAX];
      snprintf(out, size, "%s", realpath(installed, resolved) ? resolved : installed);
      return;
    }
  }
  snprintf(out, size, "%s", LUAWS_SOURCE_DIR);
}
