/* The heap's insides, shared by heap.c, the checker (check.c) and the
 * collector; nothing else includes this. */
#ifndef HEAPD_HEAP_PRIV_H
#define HEAPD_HEAP_PRIV_H

#include "heap.h"
#include "htab.h"
#include "intern.h"

#define SMALL_INT_MIN  (-5)
#define SMALL_INT_MAX  256
#define INTERN_STR_MAX 64

/* One stretch of references left by a finalized container: its item array
 * (refs) or its detached table (tb), released from position pos on. */
struct dq_item {
    hobj **refs;
    htab_block *tb;
    uint32_t n, pos;
    size_t bytes;
};

struct heap {
    struct heap_hot hot; /* first: the inline refcount functions reach it */
    heap_config cfg;
    slab slabs[T__COUNT];
    itab interned;
    hobj *none, *bools[2];
    hobj *small_ints[SMALL_INT_MAX - SMALL_INT_MIN + 1];
    struct dq_item *dq;
    size_t dq_len, dq_cap;
    bool draining;
    uint64_t ext_bytes; /* charged by heap_account_ext: not objects */
    enum free_cause cause;
    hroots_fn roots;
    void *roots_ctx;
    hfree_hook free_hook;
    void *free_hook_ctx;
};

#endif
