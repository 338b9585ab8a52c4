/* The collector's slice pauses as a histogram (gc.h: gc_pause_histogram).
 * Apart from gc.c so that the collector only counts (one call in
 * record_pause) and the buckets can change without touching it. */
#include "gc.h"
#include "heap_priv.h"

/* From 10 µs to 1 s: slices are bounded by gc.slice_us (1000 µs by
 * default, 10 µs at least), so most buckets sit around it; gc_collect's
 * whole cycles land in the last ones. */
const uint64_t gc_pause_bounds_us[GC_PAUSE_BUCKETS] = {
    10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000,
};

void gc_pause_hist_add(gc_pause_hist *ph, uint64_t ns)
{
    size_t i = 0;
    while (i < GC_PAUSE_BUCKETS && ns > gc_pause_bounds_us[i] * 1000)
        i++;
    ph->counts[i]++;
    ph->sum_ns += ns;
}

void gc_pause_histogram(const heap *h, uint64_t counts[GC_PAUSE_BUCKETS + 1], uint64_t *sum_ns)
{
    const gc_pause_hist *ph = &h->gc.pause_hist;
    uint64_t run = 0;
    for (size_t i = 0; i <= GC_PAUSE_BUCKETS; i++)
        counts[i] = run += ph->counts[i];
    *sum_ns = ph->sum_ns;
}
