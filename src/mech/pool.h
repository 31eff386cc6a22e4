/* pool.h: a size-class allocator with lua_Alloc's contract, for the Lua heap (no Lua). */
#ifndef LUAWS_POOL_H
#define LUAWS_POOL_H

#include <stddef.h>

typedef struct luaws_pool luaws_pool;

/* A new empty pool, or NULL when out of memory. */
luaws_pool *luaws_pool_new(void);

/* Frees every slab of pool (and pool). Blocks still handed out become invalid: call it after
 * lua_close of the state that used it. NULL is allowed. */
void luaws_pool_free(luaws_pool *pool);

/* lua_Alloc: ud is a luaws_pool. Blocks of up to LUAWS_POOL_MAX_SMALL bytes come from the pool's
 * slabs; larger ones from malloc. osize must be the size the block was last given with (Lua's
 * guarantee), except that when ptr is NULL it is ignored. Returns NULL when nsize is 0 or
 * memory runs out; shrinking a block never fails. */
void *luaws_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* luaws_pool_alloc for a state being closed: freeing a small block does nothing (the slabs go
 * in one piece with luaws_pool_free right after). */
void *luaws_pool_alloc_closing(void *ud, void *ptr, size_t osize, size_t nsize);

/* Bytes of slab memory the pool holds (handed out, free-listed or not yet carved). */
size_t luaws_pool_slab_bytes(const luaws_pool *pool);

#define LUAWS_POOL_MAX_SMALL 512

#endif
