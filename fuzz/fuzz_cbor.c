/* fuzz_cbor.c: libFuzzer target for the CBOR decoder (src/mech/cbor.c, src/bind/lua_cbor.c) and the
 * smithy-rpc-v2-cbor reply parsers, through fuzz/harness/cbor.lua. */
#include <stddef.h>
#include <stdint.h>

#include "lua_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs fuzz/harness/cbor.lua's run(data); its checks abort on a finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(fuzz_lua_state("cbor"), data, size);
  return 0;
}
