/* fuzz_restxml.c: libFuzzer target for the rest-xml reply and error readers (harness/rest.lua). */
#include <stddef.h>
#include <stdint.h>

#include "lua_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs fuzz/harness/restxml.lua's run(data); its checks abort on a finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(fuzz_lua_state("restxml"), data, size);
  return 0;
}
