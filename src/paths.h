/* paths.h: finds the luaws data directory (Lua library and recipes) at run time. */
#ifndef LUAWS_PATHS_H
#define LUAWS_PATHS_H

#include <stddef.h>

/* Writes into `out` the directory holding lua/ and recipes/: the install tree
 * (<exe>/../share/luaws) when the binary runs from one, else the source tree it was built
 * from. Always NUL-terminates `out`. */
void luaws_find_data_dir(const char *argv0, char *out, size_t size);

#endif
