/* The heap's insides, shared by heap.c, the checker (check.c) and the
 * collector; nothing else includes this. */
#ifndef HEAPD_HEAP_PRIV_H
#define HEAPD_HEAP_PRIV_H

#include "heap.h"
#include "htab.h"
#include "gc.h"
#include "intern.h"
#include "effects.h"

struct heffect;

#define SMALL_INT_MIN  (-5)
#define SMALL_INT_MAX  256
#define INTERN_STR_MAX 64

#define GC_PAUSE_RING 1024
#define GC_UNLIMITED  UINT64_MAX

/* One generation (gc.h): its list and its numbers. */
struct gc_gen {
    hcont head;       /* sentinel of its list */
    uint64_t count;   /* gc.get_count()'s */
    uint64_t objects; /* containers tagged with this generation, wherever listed */
    uint64_t collections, collected;
    uint64_t max_pause_ns, total_pause_ns;
};

/* The young collection under way (gc_young.c). */
struct gc_young {
    int gen;       /* the generation being collected, or -1 */
    hcont pending; /* what it has yet to examine */
    hobj **chunk;  /* the chunk being examined */
    size_t chunk_cap;
    hobj **stack; /* reachability walk */
    size_t stack_cap;
    double ns_per_unit; /* measured cost of a unit of work, for sizing chunks */
    uint64_t start_ns;
    gc_cycle_info cur;
};

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
    struct gc_gen gen[GC_GENERATIONS];
    hcont permanent; /* gc_freeze's generation */
    uint64_t frozen; /* its size */
    struct gc_young young;
    uint64_t long_lived_total;   /* generation 2's size after the last full collection */
    uint64_t long_lived_pending; /* containers promoted to 2 since */
    unsigned debug;              /* GC_DEBUG_* */
    hobj *garbage;               /* gc.garbage, made on first use */
    hcont *perm_cursor;          /* MARK: the next permanent container to shade */
    gc_config *cfg;              /* the settings, read in place: own_cfg or the server's */
    gc_config own_cfg;           /* until gc_use_config points cfg elsewhere */
    gc_phase phase;
    bool roots_done;        /* MARK: the roots have all been scanned */
    bool perm_done;         /* MARK: ... and the permanent generation */
    bool saving;            /* SWEEP: garbage goes to gc.garbage (saveall at the flip) */
    uint8_t garbage_colour; /* SWEEP: the colour of garbage; else 0xFF */
    hobj **gray;            /* the gray stack */
    size_t gray_len, gray_cap;
    unsigned sweep_step;            /* the sweep cursor: slab (in gc.c's sweep_order) ... */
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

/* Weak references (weak.c): each weakly referenced object's weakrefs, by
 * the object's address (open addressing), and the weak-valued dict
 * entries whose values died, waiting for heap_weak_purge. */
struct weak_slot {
    hobj *obj; /* NULL: empty; WEAK_TOMB: deleted */
    hweakref *head;
};
struct weak_state {
    struct weak_slot *slots;
    size_t cap, used, tombs;
    hid *dead; /* weakref ids */
    size_t dead_len, dead_cap;
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
    hfinalize_hook finalize_hook;
    void *finalize_hook_ctx;
    hweak_hook weak_hook;
    void *weak_hook_ctx;
    struct weak_state weak;
    /* effects.h: the effect log's hook, and a replay's deferred frees */
    void (*effect)(void *ctx, const struct heffect *e);
    void *effect_ctx;
    bool defer_frees;
    /* doomed containers not freed yet (heap_doomed_alive): a replay or a
     * load checks that no root reaches one only when there are any */
    uint64_t doomed_alive;
    bool snap_on; /* snap is set (effects.h) */
    hsnap_observer snap;
    struct gc_state gc;
};

/* Marks garbage container o doomed: found by no lookup until it is freed. */
static inline void heap_mark_doomed(heap *h, hobj *o)
{
    o->doomed = 1;
    h->doomed_alive++;
}

/* Moves a container's references to the deferred queue, leaving it empty. */
void heap_queue_contents(heap *h, hobj *o);

/* Weak references (weak.c): clears o's weakrefs, o being garbage the
 * collector found (reported: HEFF_WEAK_CLEAR) or dying (weak_clear_freed:
 * part of its HEFF_FREE); unlinks a dying weakref from its referent's
 * list; frees the table. */
void weak_clear(heap *h, hobj *o);
void weak_clear_freed(heap *h, hobj *o);
void weak_unlink(heap *h, hobj *w);
/* Clears the weakrefs of every object of this colour (the full
 * collection's garbage, at the flip: before any of its finalizers runs, as
 * CPython's handle_weakrefs). O(weakly referenced objects). */
void weak_clear_colour(heap *h, unsigned colour);
void weak_release(heap *h);
/* Every weakly referenced object with its weakrefs (the checker). */
void heap_visit_weakly(heap *h, void (*fn)(hobj *o, hweakref *head, void *arg), void *arg);
/* A weakref with no referent yet (heap.c's constructor, for weak.c). */
hobj *heap_new_weakref_(heap *h);
/* Whether class cls's attributes have a true "__del__" (object.c). */
bool heap_class_has_del(const hobj *cls);
/* An instance is reclaimed: the finalize hook, once (object.c). The
 * collector's finalizing is reported (HEFF_FLAG); a free's is part of
 * its HEFF_FREE. */
void heap_finalize(heap *h, hobj *inst, bool by_collector);

/* Between gc.c and gc_young.c. */
void gc_young_init(heap *h);
void gc_young_release(heap *h);
/* Runs the young collection that is due or under way (or, with force, one
 * of generation 0 or 1 by the counts) for about budget_ns (GC_UNLIMITED:
 * to its end); false if there was none to run. */
bool gc_young_slice(heap *h, uint64_t budget_ns, bool force);
/* The generation whose young collection is due now, or -1. */
int gc_young_due(const heap *h);
/* Garbage the collector found, in CPython's order: its weakrefs are
 * cleared (weak_clear, for a whole set of garbage before any finalizer
 * runs), then finalizers run, then it is cleared (or kept in gc.garbage
 * under saveall) and counted in *collected. */
void gc_finalize_garbage(heap *h, hobj *o);
void gc_dispose_garbage(heap *h, hobj *o, uint64_t *collected);
/* A container the full collection's sweep found alive: a young one moves
 * to generation 2. */
void gc_promote_old(heap *h, hobj *o);
/* gc_collect_generation's young part. */
uint64_t gc_young_collect(heap *h, int gen);
void gc_hook(heap *h, bool start, const gc_cycle_info *info);

#endif
