/* The cycle collector: generational, as CPython's, and incremental.
 *
 * Reference counting frees everything but cycles; this finds containers
 * that nothing live reaches and clears them, in slices of bounded time.
 * There are two kinds of collection (SPEC: generations):
 *
 *  - young collections (generations 0 and 1, gc_young.c) examine only the
 *    young containers, by CPython's method: exact refcounts tell which are
 *    referenced from outside the set examined, so no roots are scanned and
 *    no remembered set is kept; their cost grows with the young
 *    generations, not with the heap;
 *  - full collections (generation 2) are the incremental mark and sweep
 *    described below, from the roots, over the whole heap.
 *
 * Generations. Every live container that is not doomed is in exactly one
 * circular list (hcont.gc_prev/gc_next) and carries its generation in the
 * low bits of gc_prev: 0, 1, 2, or GC_PERMANENT (gc_freeze). New
 * containers enter generation 0. A young collection of generation g takes
 * generations 0..g out of their lists into its own `collecting` list (their
 * bits still say 0..g), then examines them in chunks; a chunk is examined
 * atomically, within one slice, so mutators never see one half done.
 *  INVARIANT (chunk): every reference to a container of the chunk from
 *    outside the chunk is counted in its refcount; so a container whose
 *    refcount exceeds the references from inside the chunk is alive, and
 *    so is everything it reaches in the chunk; the rest is garbage (no
 *    reference from outside the chunk reaches it: roots, handles, older
 *    objects and the deferred queue all count in refcounts).
 *  A chunk is bounded by work (its containers plus their references), so
 *  one big literal never makes a long pause: a cycle split between two
 *  chunks survives and is promoted, and a later (older) collection finds
 *  it; a container with more references than a slice can examine goes
 *  straight to generation 2 (the full collection traces it piecewise).
 *  Survivors of a collection of generation g move to g + 1 (2 stays 2).
 *  The full collection's sweep moves the survivors it passes to 2.
 *  Young collections may run while a full collection is under way: they
 *  only free (as refcounting does) and move containers between lists, and
 *  never touch colours.
 *
 * The permanent generation (gc_freeze) is never examined by young
 * collections; the full collection treats its containers as roots (it
 * shades them after the namespace roots, with a cursor that unlinking
 * keeps valid), so what only they reach survives, as in CPython.
 *
 * Counts, as CPython's gc.get_count(): count[0] is container allocations
 * minus deallocations since the last collection of generation 0 (never
 * below 0); count[1] the collections of generation 0 since the last of 1;
 * count[2] those of generation 1 since the last full one.
 *
 * The incremental full collection:
 *
 * Only containers (tuple, list, dict, set) take part: atomic objects hold
 * no references, cannot be in a cycle, and die by refcount when the
 * containers holding them are cleared. The roots come from the heap's root
 * callback (namespaces, frames, handles); the collector knows no sessions.
 *
 * Colours (hobj.colour, containers only): two whites, GRAY and BLACK, as in
 * Lua's lgc.c. Between cycles every live container has the current white.
 *
 * Phases and what each guarantees:
 *  IDLE  -> MARK: one step greys every container a root references.
 *  MARK: pops gray objects and scans them (a large container is scanned a
 *        piece per slice, resuming at a position that list mutations keep
 *        right), shading white children gray, then blackens them.
 *        INVARIANT: no black container points to a white container, and no
 *        root points to a white container that is not gray-queued. Kept by
 *        the barriers:
 *          - store barrier (heap_store_barrier, every store of a reference
 *            into a container): a white child stored into a black (or
 *            partially scanned) container is shaded;
 *          - root barrier (heap_root_barrier, every new binding or handle):
 *            the target is shaded.
 *        Containers made during MARK are born black: they survive the cycle.
 *        So when the gray stack empties, every white container is garbage,
 *        with no root rescan needed.
 *  MARK -> SWEEP (the flip, O(1)): the current white becomes the "doomed"
 *        colour and the other white becomes current. From this instant a
 *        doomed-coloured container no longer resolves by id, so garbage
 *        cannot be resurrected by a client between slices.
 *  SWEEP: walks the container slabs with a cursor. A doomed-coloured
 *        container is marked `doomed` and cleared (its references go to the
 *        deferred queue, and counts fall to zero through the normal refcount
 *        path: there is one way to free an object); a black one becomes the
 *        current white. Containers made during SWEEP get the current white.
 *
 * Objects freed by refcount mid-cycle: their slot is marked dead. A gray
 * stack entry pointing at a dead (or no longer gray) slot is skipped; the
 * partially scanned container, if freed, forgets its position. Slab chunks
 * are never unmapped while the heap lives, so such entries stay readable.
 */
#ifndef HEAPD_GC_H
#define HEAPD_GC_H

#include "heap.h"

typedef enum { GC_IDLE, GC_MARK, GC_SWEEP } gc_phase;

const char *gc_phase_name(gc_phase p);

#define GC_GENERATIONS 3
/* A container's generation as gc_generation_of reports it. */
enum { GC_PERMANENT = 3, GC_UNTRACKED = -1 };

typedef struct gc_config {
    bool enabled;
    bool generational; /* false: no young collections, the full one alone */
    /* gc.threshold: [0] allocations - frees that start a collection of
     * generation 0 (and, when not generational, a full one); [1], [2]: the
     * collections of the younger generation that start one of this */
    uint64_t threshold[GC_GENERATIONS];
    double heap_fraction; /* full collections: at least this fraction of the live objects */
    uint64_t interval_ms; /* gc.interval_ms: start anyway after this, if anything was allocated */
    uint64_t slice_us;    /* gc.slice_us: the time budget of one slice */
} gc_config;

#define GC_DEFAULT_CONFIG                                                                          \
    {                                                                                              \
        true, true, {700, 10, 10}, 0.25, 1000, 1000                                                \
    }

/* gc_set_debug's flags (Python's gc.DEBUG_SAVEALL). */
enum { GC_DEBUG_SAVEALL = 1 };

/* What one collection did, for the "gc" event and stats. */
typedef struct gc_cycle_info {
    int generation;     /* 0, 1 (young) or 2 (full) */
    uint64_t collected; /* unreachable containers found */
    uint64_t traced;    /* references followed */
    uint64_t slices;
    uint64_t duration_us; /* from start to end, slices and the gaps between */
    uint64_t pause_us;    /* time spent in this collection's slices */
} gc_cycle_info;

/* Called as a collection starts (info: only its generation) and as it
 * ends; `start` says which. */
typedef void (*gc_cycle_hook)(void *ctx, bool start, const gc_cycle_info *info);

/* Per generation, as Python's gc.get_stats() (and more). */
typedef struct gc_gen_stats {
    uint64_t threshold;
    uint64_t count;       /* gc.get_count()'s number for this generation */
    uint64_t objects;     /* containers in it now */
    uint64_t collections; /* completed */
    uint64_t collected;   /* unreachable containers they found */
    uint64_t max_pause_us, total_pause_us;
} gc_gen_stats;

typedef struct gc_stats {
    bool enabled, generational;
    gc_phase phase;    /* of the full collection */
    int young_running; /* the young collection under way, or -1 */
    uint64_t threshold;
    int64_t count; /* generation 0's count */
    uint64_t cycles, collected, slices;
    uint64_t last_pause_us, max_pause_us, total_pause_us, p99_pause_us;
    uint64_t last_cycle_us;       /* duration of the last full collection, slices and gaps */
    uint64_t last_cycle_pause_us; /* time spent in its slices */
    uint64_t last_traced;         /* references it followed */
    uint64_t frozen;              /* containers in the permanent generation */
    uint64_t garbage;             /* length of gc.garbage (saveall) */
    gc_gen_stats gen[GC_GENERATIONS];
} gc_stats;

/* The settings have one home: from now on the collector reads them, and
 * gc_enable, gc_disable and gc_set_threshold change them, in *cfg (heapd
 * passes its configuration's gc section, so config_get, config_set, SIGHUP
 * and the gc methods all see one copy). cfg must outlive h's use of it.
 * Until called, a heap uses its own copy of GC_DEFAULT_CONFIG. */
void gc_use_config(heap *h, gc_config *cfg);
const gc_config *gc_get_config(const heap *h);
void gc_set_cycle_hook(heap *h, gc_cycle_hook fn, void *ctx);

void gc_enable(heap *h);
/* Stops automatic slices at once; gc_step and gc_collect still work. */
void gc_disable(heap *h);
bool gc_isenabled(const heap *h);
/* Python's gc.set_threshold(t0, [t1, [t2]]): n values, 1..3. */
void gc_set_threshold(heap *h, const uint64_t *t, int n);
/* Generation 0's count (gc_get_counts for all three); when not
 * generational, all objects allocated minus freed since the last cycle. */
int64_t gc_count(const heap *h);
void gc_get_counts(const heap *h, uint64_t out[GC_GENERATIONS]);
gc_phase gc_get_phase(const heap *h);
void gc_get_stats(const heap *h, gc_stats *out);

void gc_set_debug(heap *h, unsigned flags);
unsigned gc_get_debug(const heap *h);
/* gc.garbage: the list that, under GC_DEBUG_SAVEALL, holds what
 * collections found unreachable instead of freeing it. Borrowed; made on
 * first use. The heap holds one reference to it and it is a root. */
hobj *gc_garbage(heap *h);

/* Python's gc.freeze(): every tracked container moves to the permanent
 * generation, which collections ignore (the full one treats it as roots);
 * gc_unfreeze moves them back to generation 2. O(containers moved). */
void gc_freeze(heap *h);
void gc_unfreeze(heap *h);
uint64_t gc_get_freeze_count(const heap *h);
/* A container's generation (0..2, GC_PERMANENT), or GC_UNTRACKED for an
 * atomic object or garbage being cleared (gc.is_tracked is >= 0). */
int gc_generation_of(const hobj *o);

/* True when an automatic slice should run now: collection is enabled and a
 * collection is under way, or one is due (generation 0's count over its
 * threshold; when not generational, over the larger of threshold and
 * heap_fraction * live objects; or interval_ms passed since the last
 * collection with something allocated). now_ms: monotonic. */
bool gc_due(const heap *h, uint64_t now_ms);

/* One slice of at most budget_us microseconds: the young collection under
 * way, if any, else the full one (starting it if none runs); leftover time
 * drains the deferred-free queue. Returns the full collection's phase
 * after the slice. (gc_step_auto decides what is due.) */
gc_phase gc_step(heap *h, uint64_t budget_us);

/* A paced slice, for the request path (gc_due holds): a young collection
 * that is due or under way runs within budget_us, unless a full one is due
 * to start; then the full collection, if it runs or is due, does the work
 * that allocation since the last slice has made owing (at least a few
 * thousand units, so a cycle always moves), within what is left; unpaid
 * work carries over. gc_step is for idle time and runs the whole budget. */
gc_phase gc_step_paced(heap *h, uint64_t budget_us);

/* An automatic slice for idle time: as gc_step_paced, with the whole
 * budget and no pacing; leftover time drains the deferred-free queue. */
gc_phase gc_step_auto(heap *h, uint64_t budget_us);

/* One slice of the full collection bounded by work units (references
 * traced or slots swept) instead of time: for tests that need to stop at
 * an exact point. */
gc_phase gc_step_work(heap *h, uint64_t max_work);

/* One chunk of a young collection of generation g (starting it if none
 * runs) of at most max_work units: for tests. True when it has ended. */
bool gc_young_step_work(heap *h, int g, uint64_t max_work);

/* Python's gc.collect(generation), synchronously: generation 2 completes
 * any running full collection, then runs a whole one, and drains the
 * deferred queue; 0 and 1 run a young collection of that generation in
 * one piece (any under way is finished first). Returns the unreachable
 * containers found. */
uint64_t gc_collect(heap *h);
uint64_t gc_collect_generation(heap *h, int generation);

/* A garbage container died by the cascade of a container the collector
 * cleared (heap_dispose calls this): it counts as collected, as those the
 * collector clears itself do, in this collection or (after it ended) in the
 * total. */
void gc_note_collected(heap *h);

/* The generation lists' side of a container's birth and death (heap.c). */
void gc_track(heap *h, hobj *o);
void gc_untrack(heap *h, hobj *o);
/* After a snapshot is loaded: every container starts old (generation 2),
 * and the counts start at 0. */
void gc_age_all(heap *h);

/* A young or full collection is under way. */
bool gc_running(const heap *h);
/* Drops the heap's reference to gc.garbage (before a final collection). */
void gc_drop_garbage(heap *h);

/* Slice pauses as a histogram, for Prometheus (server/metrics.c): the
 * upper bounds of the buckets, in µs, increasing; a last bucket, +Inf,
 * is implied. */
#define GC_PAUSE_BUCKETS 13
extern const uint64_t gc_pause_bounds_us[GC_PAUSE_BUCKETS];

/* Every slice's pause since the heap was made, cumulative as Prometheus
 * wants them: counts[i] slices took at most gc_pause_bounds_us[i], and
 * counts[GC_PAUSE_BUCKETS] is every slice (+Inf); *sum_ns their total. */
void gc_pause_histogram(const heap *h, uint64_t counts[GC_PAUSE_BUCKETS + 1], uint64_t *sum_ns);

/* Frees the collector's own memory (called by heap_free). */
void gc_release(heap *h);

#endif
