/* fuzz_config.c: libFuzzer target for the AWS config/credentials file parser (lua/luaws/sdk/config.lua). */
#include <stddef.h>
#include <stdint.h>

#include "lua_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs fuzz/harness/config.lua's run(data); its checks abort on a finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(fuzz_lua_state("config"), data, size);
  return 0;
}
