/* The generational collector under load (issue 14): an old heap of N
 * long-lived containers while a mutator makes short-lived garbage, cyclic
 * and acyclic, as fast as it can.
 *
 *   build/bench/gen N [--no-gen] [--slice-us US] [--allocs A]
 *
 * The old heap is bench/gc.c's graph (root -> N/3 nodes [i, {"k": []}]),
 * built and then made old by one gc_collect. Each iteration of the
 * mutator then makes a garbage cycle (a <-> b, two lists) and a piece of
 * acyclic garbage ([i, {"k": i}], a list and a dict, dropped at once): four
 * containers. As heapd's loop does, every 100 iterations the deferred
 * frees are drained and, when gc_due says so, one paced slice runs; what
 * that slice left in the deferred queue (the garbage it cleared) is
 * drained right after it and counted apart. bench/gen_python.py runs the
 * same workload under CPython.
 *
 * The run lasts at least A container allocations (default the larger of
 * 4 M and 3 N), and, without generations, at least two full collections,
 * and ends with no full collection under way, so the window holds whole
 * collection cycles.
 *
 * Output is one "key value" per line, for bench/gen_compare.py:
 *  - gc_ns_per_alloc: time in collector slices per container allocated
 *    (the figure the targets are about);
 *  - gc_drain_ns_per_alloc: freeing what the slices cleared (CPython's
 *    collections free their garbage inside the collection);
 *  - free_ns_per_alloc: the other drains (the acyclic garbage's frees);
 *  - allocs_per_s: containers allocated per second of the whole loop;
 *  - max/p99 pause: per slice, measured here; stats_*: gc_get_stats's.
 *
 * The file compiles against the collector before generations too (commit
 * 7fa32b0, no GC_GENERATIONS in gc.h), for bench/gen_compare.py's "today"
 * column; it then prints "api today".
 */
#include "cont.h"
#include "gc.h"
#include "heap.h"
#include "ns.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BATCH 100

static void append(heap *h, hobj *list, hobj *item)
{
    cont_list_reserve(h, list, 1);
    cont_list_append(h, list, item);
}

/* d["k"] = val, stealing val. */
static void dict_set_k(heap *h, hobj *d, hobj *val)
{
    hobj *key = heap_str(h, "k", 1);
    uint64_t hash;
    cont_hash(key, &hash, NULL);
    cont_table_reserve(h, d, 1);
    cont_dict_set(h, d, key, hash, val);
}

/* root -> n/3 nodes [i, {"k": []}]: n long-lived containers. */
static hobj *build_old(heap *h, uint64_t n)
{
    hobj *root = heap_list(h, 0);
    for (uint64_t i = 0; i < n / 3; i++) {
        hobj *node = heap_list(h, 2), *d = heap_dict(h);
        dict_set_k(h, d, heap_list(h, 0));
        cont_list_append(h, node, heap_int(h, (int64_t)i));
        cont_list_append(h, node, d);
        append(h, root, node);
    }
    return root;
}

/* One iteration: a garbage cycle a <-> b and acyclic garbage [i, {"k": i}]. */
#define CONTAINERS_PER_ITER 4
static void mutate(heap *h, int64_t i)
{
    hobj *a = heap_list(h, 1), *b = heap_list(h, 1);
    cont_list_append(h, a, b);
    cont_list_append(h, b, heap_incref(h, a));
    heap_decref(h, a);

    hobj *l = heap_list(h, 2), *d = heap_dict(h);
    dict_set_k(h, d, heap_int(h, i));
    cont_list_append(h, l, heap_int(h, i));
    cont_list_append(h, l, d);
    heap_decref(h, l);
}

/* This thread's CPU time: the collector's own cost, without the time
 * another process had the core (these machines are shared). Good in sums
 * over many slices; not for one slice: on this VM it was seen to charge a
 * slice of 21 us wall with 1 ms. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Involuntary context switches of this thread so far: a slice during
 * which this grew was preempted, and its wall time says so, not the
 * collector. */
static long preempted(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nivcsw;
}

/* What the timing around one slice adds to its CPU time (the thread clock
 * is a system call here, about a microsecond): subtracted per slice. */
static double timing_overhead_ns(void)
{
    enum { N = 20000 };
    uint64_t sum = 0, sink = 0;
    for (int i = 0; i < N; i++) {
        uint64_t c1 = cpu_ns(), t1 = now_ns(), t2 = now_ns();
        sum += cpu_ns() - c1;
        sink += t2 - t1;
    }
    return sink ? (double)sum / N : (double)sum / N;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtoull(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void run(heap *h, uint64_t min_allocs, uint64_t min_cycles, uint64_t slice_us)
{
    gc_stats before, st;
    gc_get_stats(h, &before);
    uint64_t allocs = 0, gc_ns = 0, gc_cpu = 0, gc_drain_ns = 0, gc_drain_cpu = 0, free_ns = 0,
             slices = 0;
    size_t npause = 0, cap = 1 << 16;
    uint64_t *pauses = xmalloc(cap * sizeof *pauses), *quiet = xmalloc(cap * sizeof *pauses);
    size_t nquiet = 0;
    int64_t i = 0;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double overhead = timing_overhead_ns();
    uint64_t t0 = now_ns(), cpu0 = cpu_ns();
    for (;;) {
        for (int k = 0; k < BATCH; k++)
            mutate(h, i++ & 0xffff);
        allocs += BATCH * CONTAINERS_PER_ITER;
        uint64_t t = now_ns();
        heap_drain(h, slice_us * 1000);
        uint64_t t1 = now_ns();
        free_ns += t1 - t;
        if (gc_due(h, t1 / 1000000)) {
            long sw = preempted();
            uint64_t c1 = cpu_ns();
            t1 = now_ns();
            gc_step_paced(h, slice_us);
            uint64_t t2 = now_ns(), c2 = cpu_ns(), cpu = c2 - c1;
            bool was_preempted = preempted() != sw;
            heap_drain(h, slice_us * 1000); /* what the slice cleared */
            gc_drain_ns += now_ns() - t2;
            gc_drain_cpu += cpu_ns() - c2;
            uint64_t pause = t2 - t1;
            gc_ns += pause;
            slices++;
            gc_cpu += cpu;
            if (npause == cap) {
                cap *= 2;
                pauses = xrealloc(pauses, cap * sizeof *pauses);
                quiet = xrealloc(quiet, cap * sizeof *pauses);
            }
            pauses[npause++] = pause;
            if (!was_preempted)
                quiet[nquiet++] = pause;
        }
        if (allocs < min_allocs)
            continue;
        gc_get_stats(h, &st);
        if (st.phase == GC_IDLE && st.cycles - before.cycles >= min_cycles)
            break;
    }
    uint64_t wall = now_ns() - t0, cpu_all = cpu_ns() - cpu0;
    getrusage(RUSAGE_SELF, &ru1);
    gc_get_stats(h, &st);
    if (!npause)
        pauses[npause++] = 0;
    if (!nquiet)
        quiet[nquiet++] = 0;
    qsort(pauses, npause, sizeof *pauses, cmp_u64);
    qsort(quiet, nquiet, sizeof *quiet, cmp_u64);
    double a = (double)allocs;
    printf("allocations %" PRIu64 "\n", allocs);
    printf("wall_s %.3f\n", (double)wall / 1e9);
    printf("allocs_per_s %.0f\n", a / ((double)wall / 1e9));
    printf("cpu_allocs_per_s %.0f\n", a / ((double)cpu_all / 1e9));
    printf("gc_ns_per_alloc %.2f\n", (double)gc_ns / a);
    double gc_cpu_net = (double)gc_cpu - overhead * (double)slices;
    printf("timing_overhead_ns %.0f\n", overhead);
    printf("gc_cpu_ns_per_alloc %.2f\n", (gc_cpu_net > 0 ? gc_cpu_net : 0) / a);
    printf("gc_drain_ns_per_alloc %.2f\n", (double)gc_drain_ns / a);
    printf("gc_drain_cpu_ns_per_alloc %.2f\n", (double)gc_drain_cpu / a);
    printf("free_ns_per_alloc %.2f\n", (double)free_ns / a);
    printf("mutator_ns_per_alloc %.2f\n", (double)(wall - gc_ns - gc_drain_ns - free_ns) / a);
    printf("cpu_ns_per_alloc %.2f\n", (double)cpu_all / a);
    printf("slices %" PRIu64 "\n", slices);
    printf("max_pause_us %.1f\n", (double)pauses[npause - 1] / 1000);
    printf("p99_pause_us %.1f\n", (double)pauses[(npause * 99) / 100] / 1000);
    printf("p999_pause_us %.1f\n", (double)pauses[(npause * 999) / 1000] / 1000);
    printf("preempted_slices %zu\n", npause - nquiet);
    printf("quiet_max_pause_us %.1f\n", (double)quiet[nquiet - 1] / 1000);
    printf("quiet_p99_pause_us %.1f\n", (double)quiet[(nquiet * 99) / 100] / 1000);
    printf("quiet_p999_pause_us %.1f\n", (double)quiet[(nquiet * 999) / 1000] / 1000);
    printf("top_pauses_us");
    for (size_t k = npause > 5 ? npause - 5 : 0; k < npause; k++)
        printf(" %.0f", (double)pauses[k] / 1000);
    printf("\n");
    printf("involuntary_switches %ld\n", ru1.ru_nivcsw - ru0.ru_nivcsw);
    printf("mean_pause_us %.1f\n", (double)gc_ns / (double)(slices ? slices : 1) / 1000);
    /* (lifetime figures: the max includes the setup's gc_collect) */
    printf("stats_max_pause_us %" PRIu64 "\n", st.max_pause_us);
    printf("stats_p99_pause_us %" PRIu64 "\n", st.p99_pause_us);
    printf("collected %" PRIu64 "\n", st.collected - before.collected);
    printf("reclaimed_per_s %.0f\n",
           (double)(st.collected - before.collected) / ((double)wall / 1e9));
    printf("full_collections %" PRIu64 "\n", st.cycles - before.cycles);
#ifdef GC_GENERATIONS
    for (int g = 0; g < GC_GENERATIONS; g++) {
        printf("gen%d_collections %" PRIu64 "\n", g,
               st.gen[g].collections - before.gen[g].collections);
        printf("gen%d_collected %" PRIu64 "\n", g, st.gen[g].collected - before.gen[g].collected);
        printf("gen%d_max_pause_us %" PRIu64 "\n", g, st.gen[g].max_pause_us);
        printf("gen%d_objects %" PRIu64 "\n", g, st.gen[g].objects);
    }
#endif
    free(pauses);
    free(quiet);
}

int main(int argc, char **argv)
{
    uint64_t n = 0, slice_us = 1000, min_allocs = 0;
    bool generational = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-gen") == 0)
            generational = false;
        else if (strcmp(argv[i], "--slice-us") == 0 && i + 1 < argc)
            slice_us = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--allocs") == 0 && i + 1 < argc)
            min_allocs = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-')
            n = strtoull(argv[i], NULL, 10);
        else {
            fprintf(stderr, "usage: gen N [--no-gen] [--slice-us US] [--allocs A]\n");
            return 2;
        }
    }
    if (!min_allocs)
        min_allocs = 3 * n > 4000000 ? 3 * n : 4000000;
    heap_config cfg = {.intern = INTERN_PYTHON};
    heap *h = heap_new(&cfg);
    gc_config gcfg = GC_DEFAULT_CONFIG;
    gcfg.slice_us = slice_us;
#ifdef GC_GENERATIONS
    gcfg.generational = generational;
    printf("api generations\n");
    printf("generational %d\n", generational);
#else
    if (generational)
        generational = false; /* the collector before generations */
    printf("api today\n");
    printf("generational 0\n");
#endif
    gc_use_config(h, &gcfg);
    hns *ns = ns_new(h, 1000);
    hsession *s = ns_session_new(ns);
    printf("old_containers %" PRIu64 "\n", n);
    printf("slice_us %" PRIu64 "\n", slice_us);
    uint64_t t0 = now_ns();
    ns_bind(ns, s, "root", 4, build_old(h, n), true);
    gc_collect(h); /* the old heap is old: generation 2 */
    printf("setup_s %.2f\n", (double)(now_ns() - t0) / 1e9);
    run(h, min_allocs, generational ? 0 : 2, slice_us);
    printf("peak_rss_mb %.0f\n", (double)peak_rss_kb() / 1024);
    ns_free(ns);
    gc_collect(h);
    heap_free(h);
    return 0;
}
