/* lua_fs.c: the "luaws.fs" module: owner-only files and folders, directory listings, file modes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "modules.h"

/* Pushes nil, "<path>: <strerror>" and the errno, and returns 3: the io library's convention. */
static int push_failure(lua_State *L, const char *path, int err) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, strerror(err));
  lua_pushinteger(L, err);
  return 3;
}

/* fs.write_private(path, content) -> true | nil, err, errno. Creates a new file readable only by its
 * owner (0600, whatever the umask) and refuses to replace an existing one: backups and secrets
 * are never briefly world-readable and never overwritten. */
static int fs_write_private(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *content = luaL_checklstring(L, 2, &len);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0)
    return push_failure(L, path, errno);
  size_t written = 0;
  while (written < len) {
    ssize_t n = write(fd, content + written, len - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      unlink(path);
      return push_failure(L, path, err);
    }
    written += (size_t)n;
  }
  if (fsync(fd) != 0 || close(fd) != 0)
    return push_failure(L, path, errno);
  lua_pushboolean(L, 1);
  return 1;
}

/* fs.mkdir_private(path) -> true | nil, err. Creates the folder and missing parents; folders it
 * creates are 0700. An existing folder is fine. */
static int fs_mkdir_private(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf)
    return push_failure(L, path, ENAMETOOLONG);
  strcpy(buf, path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, S_IRWXU) != 0 && errno != EEXIST)
      return push_failure(L, buf, errno);
    *p = '/';
  }
  if (mkdir(buf, S_IRWXU) != 0 && errno != EEXIST)
    return push_failure(L, buf, errno);
  lua_pushboolean(L, 1);
  return 1;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fs.list(path) -> sorted array of entry names (without . and ..) | nil, err. */
static int fs_list(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *dir = opendir(path);
  if (dir == NULL)
    return push_failure(L, path, errno);
  lua_newtable(L);
  lua_Integer n = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    lua_pushstring(L, entry->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(dir);
  /* Sort in C on borrowed pointers: the strings stay anchored in the table meanwhile. */
  const char **names = n > 0 ? lua_newuserdatauv(L, (size_t)n * sizeof *names, 0) : NULL;
  for (lua_Integer i = 0; i < n; i++) {
    lua_rawgeti(L, -2, i + 1);
    names[i] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  if (n > 0) {
    qsort(names, (size_t)n, sizeof *names, compare_names);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
      lua_pushstring(L, names[i]);
      lua_rawseti(L, -2, i + 1);
    }
  }
  return 1;
}

/* fs.stat(path) -> {type="file"|"directory"|"other", mode=<permission bits>, size=, mtime=,
 * mtime_ns=} | nil, err. mtime is seconds since the epoch with a fraction (as Python's
 * st_mtime); mtime_ns the same instant as an exact integer of nanoseconds, for comparing two
 * files' ages without rounding. */
static int fs_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0)
    return push_failure(L, path, errno);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, st.st_mode & 07777);
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (lua_Number)st.st_mtim.tv_sec + (lua_Number)st.st_mtim.tv_nsec / 1e9);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
  lua_setfield(L, -2, "mtime_ns");
  return 1;
}

/* fs.realpath(path) -> absolute path without symlinks | nil, err. */
static int fs_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char buf[PATH_MAX];
  if (realpath(path, buf) == NULL)
    return push_failure(L, path, errno);
  lua_pushstring(L, buf);
  return 1;
}

static const luaL_Reg fs_functions[] = {
  {"write_private", fs_write_private},
  {"mkdir_private", fs_mkdir_private},
  {"list", fs_list},
  {"stat", fs_stat},
  {"realpath", fs_realpath},
  {NULL, NULL},
};

int luaopen_luaws_fs(lua_State *L) {
  luaL_newlib(L, fs_functions);
  lua_pushinteger(L, EEXIST); /* fs.EEXIST: write_private's errno when the name is taken */
  lua_setfield(L, -2, "EEXIST");
  return 1;
}
