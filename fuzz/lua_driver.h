/* lua_driver.h: runs a Lua fuzz harness (fuzz/harness/NAME.lua) inside a luaws Lua state. */
#ifndef LUAWS_FUZZ_LUA_DRIVER_H
#define LUAWS_FUZZ_LUA_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

/* Returns the process's Lua state with harness `name` loaded (made on first call: the luaws
 * host state, fuzz/harness on package.path, the harness's setup(tmpdir) called when it has
 * one). Aborts with a message when any of that fails. Stack: unchanged. */
lua_State *fuzz_lua_state(const char *name);

/* Reports a finding of a C target's own checks ("FUZZ ORACLE: target: what") and aborts, which
 * libFuzzer records with the input. */
_Noreturn void fuzz_finding(const char *target, const char *what);

/* Calls the harness's run(data) with Lua line coverage fed to libFuzzer. A raised error is a
 * finding: prints it with a traceback and aborts. Stack: unchanged. */
void fuzz_lua_run(lua_State *L, const uint8_t *data, size_t size);

#endif
