/* The heap's insides, shared by heap.c, the checker (check.c) and the
 * collector; nothing else includes this. */
#ifndef HEAPD_HEAP_PRIV_H
#define HEAPD_HEAP_PRIV_H

#include "heap.h"
#include "htab.h"
#include "gc.h"
#include "intern.h"

#define SMALL_INT_MIN  (-5)
#define SMALL_INT_MAX  256
#define INTERN_STR_MAX 64

#define GC_PAUSE_RING 1024

/* Slice pauses by bucket (gc_pause.c), not cumulative: counts[i] for
 * pauses in (bound[i-1], bound[i]], the last for those past every bound. */
typedef struct gc_pause_hist {
    uint64_t counts[GC_PAUSE_BUCKETS + 1];
    uint64_t sum_ns;
} gc_pause_hist;

/* Counts one slice's pause (record_pause in gc.c). */
void gc_pause_hist_add(gc_pause_hist *ph, uint64_t ns);

/* The collector's state (gc.c); see gc.h for the invariants. */
struct gc_state {
    gc_config *cfg;    /* the settings, read in place: own_cfg or the server's */
    gc_config own_cfg; /* until gc_use_config points cfg elsewhere */
    gc_phase phase;
    bool roots_done; /* MARK: the roots have all been scanned */
    hobj **gray;     /* the gray stack */
    size_t gray_len, gray_cap;
    htype sweep_type;               /* the sweep cursor: slab ... */
    uint32_t sweep_slot;            /* ... and slot */
    uint64_t alloc_mark, free_mark; /* stats.allocated / freed when the last cycle ended */
    uint64_t last_end_ms;
    uint64_t cycle_start_ns;
    double stepmul;      /* work owed per allocation during this cycle */
    double debt;         /* work owed and not yet done */
    uint64_t alloc_seen; /* stats.allocated when the debt was last updated */
    uint64_t last_slice_work;
    uint64_t cur_work;              /* work units of the cycle under way */
    uint64_t last_work, last_slots; /* the last cycle's, for pacing the next */
    gc_cycle_info cur;              /* the cycle under way */
    uint64_t cycles, collected, slices;
    uint64_t last_pause_ns, max_pause_ns, total_pause_ns;
    gc_cycle_info last;
    uint32_t ring[GC_PAUSE_RING]; /* recent slice pauses in µs, for p99 */
    size_t ring_len, ring_pos;
    gc_pause_hist pause_hist; /* every slice's pause, for gc_pause_histogram */
    gc_cycle_hook hook;
    void *hook_ctx;
};

/* One stretch of references left by a finalized container: its item array
 * (refs) or its detached table (tb), released from position pos on. */
struct dq_item {
    hobj **refs;
    htab_block *tb;
    const hholder_ops *ops; /* a holder (heap_queue_holder), else refs or tb */
    void *holder;
    uint32_t n, pos;
    size_t bytes;
    bool gc; /* left by a container the collector cleared: frees report "gc" */
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
    /* objects interned since heap_intern_begin (heap.h) */
    hobj **journal;
    size_t journal_len, journal_cap;
    bool journaling;
    bool draining;
    uint64_t ext_bytes; /* charged by heap_account_ext: not objects */
    enum free_cause cause;
    const hroots_ops *roots;
    void *roots_ctx;
    hfree_hook free_hook;
    void *free_hook_ctx;
    struct gc_state gc;
};

/* Moves a container's references to the deferred queue, leaving it empty. */
void heap_queue_contents(heap *h, hobj *o);

#endif
