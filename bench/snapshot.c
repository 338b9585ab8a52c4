/* Snapshot throughput: save and load N objects, the file's bytes per
 * object, and what a background save costs the event loop (the fork).
 *
 *   build/bench/snapshot SHAPE N [DIR]
 *
 * SHAPE "ints": one list of N distinct ints. SHAPE "records": a list of
 * N/7 records [int, str, float, (int, int)], 7 objects each (the shape of
 * bench/snapshot_python.py). The file goes to DIR (default /tmp), and is
 * removed after. Output is one "key value" per line, for
 * bench/snapshot_compare.py.
 */
#include "check.h"
#include "cont.h"
#include "heap.h"
#include "ns.h"
#include "snapshot.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static hobj *build_ints(heap *h, uint64_t n)
{
    hobj *l = heap_list(h, (uint32_t)n);
    for (uint64_t i = 0; i < n; i++)
        cont_list_append(h, l, heap_int(h, 1000 + (int64_t)i));
    return l;
}

static hobj *build_records(heap *h, uint64_t n)
{
    uint64_t r = n / 7;
    hobj *root = heap_list(h, (uint32_t)r);
    for (uint64_t i = 0; i < r; i++) {
        char s[32];
        int len = snprintf(s, sizeof s, "item %" PRIu64, i);
        hobj *pair[2] = {heap_int(h, 1000 + 2 * (int64_t)i), heap_int(h, 1001 + 2 * (int64_t)i)};
        hobj *rec = heap_list(h, 4);
        cont_list_append(h, rec, heap_int(h, 1000 + (int64_t)i));
        cont_list_append(h, rec, heap_str(h, s, (size_t)len));
        cont_list_append(h, rec, heap_float(h, (double)i * 0.5));
        cont_list_append(h, rec, heap_tuple(h, pair, 2));
        cont_list_append(h, root, rec);
    }
    return root;
}

/* The loop's stall when a background save starts: fork() in the parent
 * (best of three; the child exits at once). */
static uint64_t fork_us(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        uint64_t dt = now_ns() - t0;
        waitpid(pid, NULL, 0);
        best = dt < best ? dt : best;
    }
    return best / 1000;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "ints") && strcmp(argv[1], "records"))) {
        fprintf(stderr, "usage: snapshot ints|records N [DIR]\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], NULL, 10);
    char path[512];
    snprintf(path, sizeof path, "%s/heapd-bench-%d.snap", argc > 3 ? argv[3] : "/tmp",
             (int)getpid());
    heap_config cfg = {.intern = INTERN_PYTHON};
    heap *h = heap_new(&cfg);
    hns *ns = ns_new(h, 10);
    hobj *root = strcmp(argv[1], "ints") == 0 ? build_ints(h, n) : build_records(h, n);
    ns_bind(ns, NULL, "root", 4, root, true);
    printf("fork_us %" PRIu64 "\n", fork_us());

    snap_info saved, loaded;
    herr err;
    if (snapshot_write(h, ns, path, &saved, &err)) {
        fprintf(stderr, "snapshot_write: %s\n", err.msg);
        return 1;
    }
    heap *h2 = heap_new(&cfg);
    hns *ns2 = ns_new(h2, 10);
    if (snapshot_load(h2, ns2, path, &loaded, &err)) {
        fprintf(stderr, "snapshot_load: %s\n", err.msg);
        return 1;
    }
    unlink(path);
    if (loaded.objects != saved.objects || heap_live_total(h2) != heap_live_total(h)) {
        fprintf(stderr, "loaded %" PRIu64 " objects, saved %" PRIu64 "\n", loaded.objects,
                saved.objects);
        return 1;
    }
    printf("objects %" PRIu64 "\n", saved.objects);
    printf("bytes %" PRIu64 "\n", saved.bytes);
    printf("save_ms %.1f\n", saved.duration_us / 1000.0);
    printf("load_ms %.1f\n", loaded.duration_us / 1000.0);
    ns_free(ns2);
    heap_drain_all(h2);
    heap_free(h2);
    ns_free(ns);
    heap_drain_all(h);
    heap_free(h);
    return 0;
}
