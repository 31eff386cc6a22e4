/* paths.h: finds the luaws data directory (Lua library and recipes) at run time. */
#ifndef LUAWS_PATHS_H
#define LUAWS_PATHS_H

#include <stddef.h>

/* Writes into `out` the directory holding lua/ and recipes/, the first of: the install tree
 * next to the running binary (<exe dir>/LUAWS_BIN_TO_DATA, ../share/luaws by default, so a
 * moved or DESTDIR-staged tree works), the source tree the binary was built from, the
 * configured install prefix's share/luaws. A candidate counts when it holds
 * lua/luaws/init.lua; with none, the source tree. Always NUL-terminates `out`. */
void luaws_find_data_dir(const char *argv0, char *out, size_t size);

#endif
