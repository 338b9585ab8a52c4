/* Snapshot throughput: save and load N objects, the file's bytes per
 * object, and what a background save costs the event loop: the start and
 * the longest step of a save written while serving (snap_live.h, steps
 * of 1 ms as gc.slice_us's default), against the fork() the saves of
 * earlier heapd versions (and Redis's BGSAVE) start with.
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
#include "snap_live.h"
#include "snap_out.h"
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

static void on_live_done(void *ctx)
{
    (void)ctx; /* snap_live_written says it */
}

/* A background save as heapd runs it: its start, then steps of 1 ms (the
 * loop would serve clients between them) while its writer thread writes;
 * prints the start, the longest step and the whole save. */
static void live_save(heap *h, hns *ns, const char *path)
{
    herr err;
    uint64_t t0 = now_ns();
    snap_live *s = snap_live_start(h, ns, path, 0, true, on_live_done, NULL, &err);
    if (!s) {
        fprintf(stderr, "snap_live_start: %s\n", err.msg);
        exit(1);
    }
    uint64_t start = now_ns() - t0, steps = 0, over = 0;
    for (bool done = false; !done; steps++) {
        uint64_t t1 = now_ns();
        done = snap_live_step(s, 1000 * 1000);
        over += now_ns() - t1 > 2000 * 1000; /* twice the budget: preempted, or a unit too big */
    }
    while (!snap_live_written(s))
        usleep(1000);
    if (snap_live_result(s, NULL, &err)) {
        fprintf(stderr, "live save: %s\n", err.msg);
        exit(1);
    }
    printf("live_start_us %" PRIu64 "\nlive_max_step_us %" PRIu64 "\n", start / 1000,
           snap_live_max_step_ns(s) / 1000);
    printf("live_steps %" PRIu64 "\nlive_steps_over_2ms %" PRIu64 "\nlive_ms %" PRIu64 "\n", steps,
           over, (now_ns() - t0) / 1000000);
    snap_live_close(s);
    snap_out_reap();
    unlink(path);
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
    live_save(h, ns, path);

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
