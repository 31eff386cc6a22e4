/* pool.c: a size-class allocator with lua_Alloc's contract. Lua hands each block's size back on
 * resize and free, so small blocks need no header: they are carved from 64 KB slabs and kept on
 * one free list per 16-byte size class, which makes a one-call process's ~20,000 allocations
 * several times cheaper than glibc's malloc (bench/README.md). Large blocks go to malloc. */
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif

#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
/* Under ASan every block ends in a poisoned red zone and free blocks are poisoned, so overruns
 * and use after free inside a slab are reported as they are for malloc'd memory. */
#define POOL_REDZONE 16
#define POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POOL_REDZONE 0
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define GRAIN 16 /* size-class step, and the alignment of every block */
#define CLASSES ((LUAWS_POOL_MAX_SMALL + POOL_REDZONE) / GRAIN)
#define SLAB_BYTES (64 * 1024)

typedef struct free_block {
  struct free_block *next;
} free_block;

typedef struct slab {
  struct slab *next;
  _Alignas(GRAIN) unsigned char data[];
} slab;

struct luaws_pool {
  free_block *free_lists[CLASSES];
  unsigned char *bump, *bump_end; /* the uncarved rest of the newest slab */
  slab *slabs;
  size_t slab_bytes;
};

luaws_pool *luaws_pool_new(void) {
  return calloc(1, sizeof(luaws_pool));
}

void luaws_pool_free(luaws_pool *pool) {
  if (pool == NULL)
    return;
  for (slab *s = pool->slabs, *next; s != NULL; s = next) {
    next = s->next;
    POOL_UNPOISON(s, SLAB_BYTES);
    free(s);
  }
  free(pool);
}

size_t luaws_pool_slab_bytes(const luaws_pool *pool) {
  return pool->slab_bytes;
}

static int is_small(size_t size) {
  return size <= LUAWS_POOL_MAX_SMALL;
}

/* Size class of a small block of size bytes (size >= 1): 0 for 1..16 bytes, 1 for 17..32, ... */
static size_t class_of(size_t size) {
  return (size + POOL_REDZONE - 1) / GRAIN;
}

static void *carve(luaws_pool *pool, size_t klass) {
  size_t bytes = (klass + 1) * GRAIN;
  if ((size_t)(pool->bump_end - pool->bump) < bytes) {
    slab *s = malloc(SLAB_BYTES);
    if (s == NULL)
      return NULL;
    s->next = pool->slabs;
    pool->slabs = s;
    pool->slab_bytes += SLAB_BYTES;
    pool->bump = s->data;
    pool->bump_end = (unsigned char *)s + SLAB_BYTES;
    POOL_POISON(pool->bump, (size_t)(pool->bump_end - pool->bump));
  }
  void *block = pool->bump;
  pool->bump += bytes;
  return block;
}

static void *small_get(luaws_pool *pool, size_t size) {
  size_t klass = class_of(size);
  free_block *block = pool->free_lists[klass];
  if (block != NULL) {
    POOL_UNPOISON(block, sizeof *block);
    pool->free_lists[klass] = block->next;
  } else {
    block = carve(pool, klass);
    if (block == NULL)
      return NULL;
  }
  POOL_UNPOISON(block, size);
  return block;
}

static void small_put(luaws_pool *pool, void *ptr, size_t size) {
  size_t klass = class_of(size);
  free_block *block = ptr;
  POOL_POISON(block, (klass + 1) * GRAIN);
  POOL_UNPOISON(block, sizeof *block);
  block->next = pool->free_lists[klass];
  POOL_POISON(block, sizeof *block);
  pool->free_lists[klass] = block;
}

void *luaws_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  luaws_pool *pool = ud;
  if (ptr == NULL) { /* a new object (osize is its type, not a size): most calls */
    if (nsize - 1 < LUAWS_POOL_MAX_SMALL) /* 1..MAX_SMALL (0 wraps around) */
      return small_get(pool, nsize);
    return nsize == 0 ? NULL : malloc(nsize);
  }
  if (nsize == 0) {
    if (is_small(osize))
      small_put(pool, ptr, osize);
    else
      free(ptr);
    return NULL;
  }
  if (is_small(osize) && is_small(nsize) && class_of(osize) == class_of(nsize)) {
    POOL_POISON(ptr, (class_of(osize) + 1) * GRAIN);
    POOL_UNPOISON(ptr, nsize);
    return ptr;
  }
  if (!is_small(osize) && !is_small(nsize)) {
    void *grown = realloc(ptr, nsize);
    return grown != NULL || nsize > osize ? grown : ptr;
  }
  void *fresh = is_small(nsize) ? small_get(pool, nsize) : malloc(nsize);
  if (fresh == NULL)
    /* Lua relies on shrinking never failing: the old block is big enough. A malloc'd block
     * kept this way is later free-listed by its smaller size, which is safe (it is larger). */
    return nsize <= osize ? ptr : NULL;
  memcpy(fresh, ptr, osize < nsize ? osize : nsize);
  if (is_small(osize))
    small_put(pool, ptr, osize);
  else
    free(ptr);
  return fresh;
}

void *luaws_pool_alloc_closing(void *ud, void *ptr, size_t osize, size_t nsize) {
  if (ptr != NULL && nsize == 0) {
    if (!is_small(osize))
      free(ptr);
    return NULL; /* small blocks go with their slabs in luaws_pool_free */
  }
  return luaws_pool_alloc(ud, ptr, osize, nsize);
}
