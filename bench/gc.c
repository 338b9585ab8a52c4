/* The cycle collector under load: N live containers plus garbage cycles.
 *
 *   build/bench/gc N [SLICE_US]
 *
 * Prints, for the graph of bench/gc_python.py (so the two can be compared):
 *  - full collection: time, containers traced per second;
 *  - incremental: a mutator allocating (live data and garbage cycles) as
 *    fast as it can, with a slice run whenever gc_due says so: max and p99
 *    slice pause, cycle duration, collector time per allocation.
 * Output is one "key value" per line, for bench/gc_compare.py.
 */
#include "cont.h"
#include "gc.h"
#include "heap.h"
#include "ns.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static void append(heap *h, hobj *list, hobj *item)
{
    cont_list_reserve(h, list, 1);
    cont_list_append(h, list, item);
}

/* The graph: root -> n nodes, each node = [i, {"k": [ ]}] (3 containers),
 * so n/3 nodes make n live containers; plus n/10 garbage pairs a <-> b. */
static hobj *build_live(heap *h, uint64_t n)
{
    hobj *root = heap_list(h, 0);
    for (uint64_t i = 0; i < n / 3; i++) {
        hobj *node = heap_list(h, 2), *d = heap_dict(h), *key = heap_str(h, "k", 1);
        uint64_t hash;
        cont_hash(key, &hash, NULL);
        cont_table_reserve(h, d, 1);
        cont_dict_set(h, d, key, hash, heap_list(h, 0));
        cont_list_append(h, node, heap_int(h, (int64_t)i));
        cont_list_append(h, node, d);
        append(h, root, node);
    }
    return root;
}

static void make_garbage_pair(heap *h)
{
    hobj *a = heap_list(h, 1), *b = heap_list(h, 1);
    cont_list_append(h, a, b);
    cont_list_append(h, b, heap_incref(h, a));
    heap_decref(h, a);
}

static void full_collection(heap *h, uint64_t n)
{
    for (uint64_t i = 0; i < n / 10; i++)
        make_garbage_pair(h);
    uint64_t t0 = now_ns();
    uint64_t found = gc_collect(h);
    uint64_t ns = now_ns() - t0;
    gc_stats st;
    gc_get_stats(h, &st);
    printf("full_collect_ms %.1f\n", (double)ns / 1e6);
    printf("full_collected %" PRIu64 "\n", found);
    printf("full_traced %" PRIu64 "\n", st.last_traced);
    printf("full_containers_per_s %.0f\n", (double)(n + n / 5) / ((double)ns / 1e9));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The mutator allocates as fast as it can, like a server answering a batch
 * of requests; after each batch, the deferred frees and a paced slice run,
 * as heapd's loop does. Pauses are measured here, per slice. */
static void incremental(heap *h, hobj *root, uint64_t n, uint64_t slice_us)
{
    gc_stats before, st;
    gc_get_stats(h, &before);
    const heap_stats *hs = heap_get_stats(h);
    uint64_t alloc0 = hs->allocated, t0 = now_ns(), batches = 0, gc_ns = 0, free_ns = 0;
    size_t npause = 0, cap = 1 << 16;
    uint64_t *pauses = xmalloc(cap * sizeof *pauses);
    /* Run until three more cycles end (and at least 2 M allocations). */
    do {
        for (int i = 0; i < 100; i++) {
            make_garbage_pair(h);
            hobj *l = heap_list(h, 0);
            append(h, l, heap_int(h, i));
            append(h, root, l); /* live data grows too */
        }
        batches++;
        uint64_t t = now_ns();
        heap_drain(h, slice_us * 1000);
        uint64_t t1 = now_ns();
        free_ns += t1 - t;
        if (!gc_due(h, t1 / 1000000))
            continue;
        gc_step_paced(h, slice_us);
        uint64_t pause = now_ns() - t1;
        gc_ns += pause;
        if (npause == cap)
            pauses = xrealloc(pauses, (cap *= 2) * sizeof *pauses);
        pauses[npause++] = pause;
    } while (gc_get_stats(h, &st),
             st.cycles < before.cycles + 3 || hs->allocated - alloc0 < 2000000);
    uint64_t allocs = hs->allocated - alloc0, wall = now_ns() - t0;
    qsort(pauses, npause, sizeof *pauses, cmp_u64);
    printf("inc_cycles %" PRIu64 "\n", st.cycles - before.cycles);
    printf("inc_slices %" PRIu64 "\n", st.slices - before.slices);
    printf("inc_max_pause_us %.0f\n", (double)pauses[npause - 1] / 1000);
    printf("inc_p99_pause_us %.0f\n", (double)pauses[(npause * 99) / 100] / 1000);
    printf("inc_p999_pause_us %.0f\n", (double)pauses[(npause * 999) / 1000] / 1000);
    printf("inc_top_pauses_us");
    for (size_t i = npause > 5 ? npause - 5 : 0; i < npause; i++)
        printf(" %.0f", (double)pauses[i] / 1000);
    printf("\n");
    printf("inc_last_cycle_ms %.1f\n", (double)st.last_cycle_us / 1000);
    printf("inc_traced_per_s %.0f\n",
           (double)st.last_traced / ((double)(st.last_cycle_pause_us + 1) / 1e6));
    printf("inc_allocations %" PRIu64 "\n", allocs);
    printf("inc_gc_ns_per_alloc %.1f\n", (double)gc_ns / (double)allocs);
    printf("inc_free_ns_per_alloc %.1f\n", (double)free_ns / (double)allocs);
    printf("inc_mutator_share %.2f\n", 1 - (double)(gc_ns + free_ns) / (double)wall);
    free(pauses);
    (void)n, (void)batches;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint64_t slice_us = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000;
    heap_config cfg = {.intern = INTERN_PYTHON};
    heap *h = heap_new(&cfg);
    gc_config gcfg = GC_DEFAULT_CONFIG;
    gcfg.slice_us = slice_us;
    gc_use_config(h, &gcfg);
    hns *ns = ns_new(h, 1000);
    hsession *s = ns_session_new(ns);
    printf("live_containers %" PRIu64 "\n", n);
    ns_bind(ns, s, "root", 4, build_live(h, n), true);
    full_collection(h, n);
    incremental(h, ns_lookup(ns, s, "root", 4), n, slice_us);
    ns_free(ns);
    gc_collect(h);
    heap_free(h);
    return 0;
}
