/* fuzz_json.c: libFuzzer target for the JSON boundary (cjson.safe, KMS JSON replies, key policies). */
#include <stddef.h>
#include <stdint.h>

#include "lua_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs fuzz/harness/json.lua's run(data); its checks abort on a finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(fuzz_lua_state("json"), data, size);
  return 0;
}
