/* test_pool.c: the pool allocator keeps every block's bytes through random allocate, resize and
 * free sequences across small and large sizes, aligns blocks, reuses freed ones, and runs Lua. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "pool.h"
#include "state.h"
#include "check.h"


typedef struct {
  unsigned char *ptr;
  size_t size;
  unsigned char seed;
} live_block;

static void fill(live_block *b) {
  for (size_t i = 0; i < b->size; i++)
    b->ptr[i] = (unsigned char)(b->seed + i * 7);
}

/* Whether the first n bytes still hold b's pattern. */
static int intact(const live_block *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b->ptr[i] != (unsigned char)(b->seed + i * 7))
      return 0;
  return 1;
}

static size_t random_size(void) {
  switch (rand() % 4) {
  case 0: return 1 + (size_t)(rand() % 16);
  case 1: return 1 + (size_t)(rand() % LUAWS_POOL_MAX_SMALL);
  case 2: return LUAWS_POOL_MAX_SMALL - 8 + (size_t)(rand() % 16); /* around the boundary */
  default: return 1 + (size_t)(rand() % 5000);
  }
}

static void random_sequences(void) {
  luaws_pool *pool = luaws_pool_new();
  enum { SLOTS = 512, STEPS = 200000 };
  live_block blocks[SLOTS] = {{0}};
  srand(12345);
  for (int step = 0; step < STEPS && failures == 0; step++) {
    live_block *b = &blocks[rand() % SLOTS];
    if (b->ptr == NULL) {
      b->size = random_size();
      b->seed = (unsigned char)rand();
      b->ptr = luaws_pool_alloc(pool, NULL, (size_t)(rand() % 9), b->size); /* osize: a type tag */
      CHECK(b->ptr != NULL, "allocation of %zu bytes failed", b->size);
      CHECK(((uintptr_t)b->ptr % 16) == 0, "block of %zu bytes not 16-aligned", b->size);
      fill(b);
    } else if (rand() % 3 == 0) {
      CHECK(intact(b, b->size), "block of %zu bytes changed before free", b->size);
      CHECK(luaws_pool_alloc(pool, b->ptr, b->size, 0) == NULL, "free returned a block");
      b->ptr = NULL;
    } else {
      size_t nsize = random_size();
      unsigned char *moved = luaws_pool_alloc(pool, b->ptr, b->size, nsize);
      CHECK(moved != NULL, "resize %zu -> %zu failed", b->size, nsize);
      b->ptr = moved;
      CHECK(intact(b, b->size < nsize ? b->size : nsize), "resize %zu -> %zu lost bytes", b->size,
            nsize);
      b->size = nsize;
      fill(b);
    }
  }
  for (int i = 0; i < SLOTS; i++)
    if (blocks[i].ptr != NULL) {
      CHECK(intact(&blocks[i], blocks[i].size), "block %d changed", i);
      luaws_pool_alloc(pool, blocks[i].ptr, blocks[i].size, 0);
    }
  CHECK(luaws_pool_slab_bytes(pool) > 0, "no slab was ever used");
  luaws_pool_free(pool);
}

static void reuse_and_in_place(void) {
  luaws_pool *pool = luaws_pool_new();
  void *a = luaws_pool_alloc(pool, NULL, 0, 40);
  luaws_pool_alloc(pool, a, 40, 0);
  void *b = luaws_pool_alloc(pool, NULL, 0, 36); /* the same 48-byte class: the freed block */
  CHECK(a == b, "a freed block of the same size class is not reused");
  void *c = luaws_pool_alloc(pool, b, 36, 44); /* still within the class: stays in place */
  CHECK(c == b, "a resize within a size class moved the block");
  size_t before = luaws_pool_slab_bytes(pool);
  void *big = luaws_pool_alloc(pool, NULL, 0, 100000); /* large: malloc, not a slab */
  CHECK(big != NULL && luaws_pool_slab_bytes(pool) == before, "a large block came from a slab");
  void *shrunk = luaws_pool_alloc(pool, big, 100000, 20);
  CHECK(shrunk != NULL, "shrinking a large block to a small one failed");
  luaws_pool_alloc(pool, shrunk, 20, 0);
  luaws_pool_alloc(pool, c, 44, 0);
  luaws_pool_free(pool);
}

static void lua_on_the_pool(void) {
  lua_State *L = luaws_state_new();
  CHECK(L != NULL, "no state");
  luaL_openlibs(L);
  const char *chunk = "local t = {} for i = 1, 20000 do t[i] = ('x'):rep(i % 700) .. i end "
                      "local n = 0 for i = 1, #t do n = n + #t[i] end "
                      "collectgarbage() return n, #t[19999]";
  CHECK(luaL_dostring(L, chunk) == LUA_OK, "chunk failed: %s", lua_tostring(L, -1));
  long long expected = 0;
  for (int i = 1; i <= 20000; i++)
    expected += i % 700 + snprintf(NULL, 0, "%d", i);
  CHECK(lua_tointeger(L, -2) == expected, "sum %lld, expected %lld", (long long)lua_tointeger(L, -2),
        expected);
  CHECK(lua_tointeger(L, -1) == 19999 % 700 + 5, "last string has the wrong length");
  luaws_state_close(L);
}

int main(void) {
  random_sequences();
  reuse_and_in_place();
  lua_on_the_pool();
  if (failures == 0)
    printf("test_pool: all passed\n");
  return failures ? 1 : 0;
}
