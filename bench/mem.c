/* Memory per object in heapd's heap, measured as resident memory growth
 * (so the id table, slab slack and malloc overhead all count) and as the
 * heap's own accounting. Run by `make bench`; see bench/README.md.
 *
 *   build/bench/mem [N_INTS] [N_NAMES] [N_EMPTY]
 */
#include "heap.h"
#include "cont.h"
#include "ns.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

struct mark {
    uint64_t rss, bytes;
};

static struct mark mark_now(heap *h)
{
    malloc_trim(0);
    return (struct mark){rss_bytes(), heap_get_stats(h)->bytes};
}

static void report(const char *what, heap *h, struct mark m0, uint64_t n, const char *peer)
{
    struct mark m1 = mark_now(h);
    printf("%-44s %10.1f %10.1f   %s\n", what, (double)(m1.rss - m0.rss) / (double)n,
           (double)(m1.bytes - m0.bytes) / (double)n, peer);
}

/* n distinct ints (none of them interned) held in one list, appended one
 * by one as list(range(...)) would be filled. */
static void bench_ints(hns *ns, hsession *s, uint64_t n)
{
    heap *h = ns_heap(ns);
    struct mark m0 = mark_now(h);
    hobj *list = heap_list(h, 0);
    for (uint64_t i = 0; i < n; i++) {
        cont_list_reserve(h, list, 1);
        cont_list_append(h, list, heap_int(h, 1000 + (int64_t)i));
    }
    ns_bind(ns, s, "ints", 4, list, true);
    char what[64];
    snprintf(what, sizeof what, "%" PRIu64 " distinct ints in one list", n);
    report(what, h, m0, n, "CPython 40.1; target <= 40, aim 32");
    ns_unbind(ns, s, "ints", 4, true, NULL);
    heap_drain_all(h);
}

static void bench_names(hns *ns, hsession *s, uint64_t n)
{
    heap *h = ns_heap(ns);
    struct mark m0 = mark_now(h);
    char name[32];
    for (uint64_t i = 0; i < n; i++) {
        int len = snprintf(name, sizeof name, "key:%" PRIu64, i);
        ns_bind(ns, s, name, (size_t)len, heap_int(h, (int64_t)(i % 257)), true);
    }
    char what[64];
    snprintf(what, sizeof what, "%" PRIu64 " names bound to small ints", n);
    report(what, h, m0, n, "Redis 72-88; target <= 72");
    for (uint64_t i = 0; i < n; i++) {
        int len = snprintf(name, sizeof name, "key:%" PRIu64, i);
        ns_unbind(ns, s, name, (size_t)len, true, NULL);
    }
}

static void bench_empty(hns *ns, hsession *s, uint64_t n, htype t)
{
    heap *h = ns_heap(ns);
    struct mark m0 = mark_now(h); /* the holder's slots count, as in CPython's */
    hobj *holder = heap_list(h, (uint32_t)n);
    for (uint64_t i = 0; i < n; i++) {
        hobj *o = t == T_LIST ? heap_list(h, 0) : t == T_DICT ? heap_dict(h) : heap_set(h);
        cont_list_append(h, holder, o);
    }
    ns_bind(ns, s, "holder", 6, holder, true);
    char what[64], peer[64];
    snprintf(what, sizeof what, "%" PRIu64 " empty %ss (incl. 8 B list slot)", n, htype_name(t));
    snprintf(peer, sizeof peer, "getsizeof = %zu", heap_objsize(t));
    report(what, h, m0, n, peer);
    ns_unbind(ns, s, "holder", 6, true, NULL);
    heap_drain_all(h);
}

int main(int argc, char **argv)
{
    uint64_t n_ints = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    uint64_t n_names = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    uint64_t n_empty = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
    heap_config cfg = {.intern = INTERN_PYTHON};
    heap *h = heap_new(&cfg);
    hns *ns = ns_new(h, 1000);
    hsession *s = ns_session_new(ns);
    printf("%-44s %10s %10s   %s\n", "heapd", "RSS B/obj", "heap B/obj", "reference");
    bench_ints(ns, s, n_ints);
    bench_names(ns, s, n_names);
    bench_empty(ns, s, n_empty, T_LIST);
    bench_empty(ns, s, n_empty, T_DICT);
    bench_empty(ns, s, n_empty, T_SET);
    ns_free(ns);
    heap_drain_all(h);
    heap_free(h);
    return 0;
}
