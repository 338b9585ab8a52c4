/* The incremental mark-and-sweep cycle collector.
 *
 * Reference counting frees everything but cycles; this finds containers
 * that no root reaches and clears them, in slices of bounded time.
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

typedef struct gc_config {
    bool enabled;
    uint64_t threshold;   /* gc.threshold: allocations - frees that start a cycle */
    double heap_fraction; /* ... or this fraction of the live objects, if larger */
    uint64_t interval_ms; /* gc.interval_ms: start anyway after this, if anything was allocated */
    uint64_t slice_us;    /* gc.slice_us: the time budget of one slice */
} gc_config;

#define GC_DEFAULT_CONFIG                                                                          \
    {                                                                                              \
        true, 700, 0.25, 1000, 1000                                                                \
    }

/* What one cycle did, for the "gc" event and stats. */
typedef struct gc_cycle_info {
    uint64_t collected; /* unreachable containers found and cleared */
    uint64_t traced;    /* references followed while marking */
    uint64_t slices;
    uint64_t duration_us; /* from start to end, slices and the gaps between */
    uint64_t pause_us;    /* time spent in this cycle's slices */
} gc_cycle_info;

typedef void (*gc_cycle_hook)(void *ctx, const gc_cycle_info *info);

typedef struct gc_stats {
    bool enabled;
    gc_phase phase;
    uint64_t threshold;
    int64_t count; /* allocations minus frees since the last cycle */
    uint64_t cycles, collected, slices;
    uint64_t last_pause_us, max_pause_us, total_pause_us, p99_pause_us;
    uint64_t last_cycle_us;       /* duration of the last cycle, slices and gaps */
    uint64_t last_cycle_pause_us; /* time spent in its slices */
    uint64_t last_traced;         /* references it followed */
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
void gc_set_threshold(heap *h, uint64_t threshold);
int64_t gc_count(const heap *h);
gc_phase gc_get_phase(const heap *h);
void gc_get_stats(const heap *h, gc_stats *out);

/* True when an automatic slice should run now: collection is enabled and a
 * cycle is under way, or its start condition holds (count over the larger
 * of threshold and heap_fraction * live objects, or interval_ms passed
 * since the last cycle with something allocated). now_ms: monotonic. */
bool gc_due(const heap *h, uint64_t now_ms);

/* One slice of at most budget_us microseconds (starting a cycle if none
 * runs); leftover time drains the deferred-free queue. Returns the phase
 * after the slice. */
gc_phase gc_step(heap *h, uint64_t budget_us);

/* A paced slice, for the request path: does the work that allocation since
 * the last slice has made owing (at least a few thousand units, so a cycle
 * always moves), within budget_us; unpaid work carries over. gc_step is for
 * idle time and runs the whole budget. */
gc_phase gc_step_paced(heap *h, uint64_t budget_us);

/* One slice bounded by work units (references traced or slots swept)
 * instead of time: for tests that need to stop at an exact point. */
gc_phase gc_step_work(heap *h, uint64_t max_work);

/* Completes any running cycle, then runs a full one, synchronously, and
 * drains the deferred queue. Returns the unreachable containers found. */
uint64_t gc_collect(heap *h);

/* A garbage container died by the cascade of a container the collector
 * cleared (heap_dispose calls this): it counts as collected, as those the
 * sweep clears itself do, in this cycle or (after it ended) in the total. */
void gc_note_collected(heap *h);

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
