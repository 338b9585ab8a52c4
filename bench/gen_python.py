#!/usr/bin/env python3
"""The CPython side of bench/gen.c: the same old heap (root -> N/3 nodes
[i, {"k": []}], made old by one gc.collect()) while the same mutator makes
a garbage cycle a <-> b and acyclic garbage [i, {"k": i}] per iteration
(four containers), with CPython's gc enabled at its defaults. Time spent
in collections is measured with gc.callbacks (start/stop), as wall time
and as this thread's CPU time (less what the timing itself costs); a
collection during which the thread was preempted is left out of the
"quiet" pause figures. Prints "key value" lines with bench/gen.c's
keys.

    python3 bench/gen_python.py N [--allocs A]
"""
import gc
import resource
import sys
import time

BATCH = 100
CONTAINERS_PER_ITER = 4


def main():
    args = sys.argv[1:]
    n, min_allocs = 0, 0
    while args:
        a = args.pop(0)
        if a == "--allocs":
            min_allocs = int(args.pop(0))
        else:
            n = int(a)
    if not min_allocs:
        min_allocs = max(4000000, 3 * n)

    gc.disable()
    t0 = time.perf_counter()
    root = [[i, {"k": []}] for i in range(n // 3)]
    gc.collect()
    setup = time.perf_counter() - t0
    print("api cpython")
    print("python %s" % sys.version.split()[0])
    print("old_containers %d" % n)
    print("setup_s %.2f" % setup)

    pauses, quiet, cpu_pauses = [], [], []
    collected = [0, 0, 0]
    collections = [0, 0, 0]
    mark = [0, 0, 0]
    perf, thread_time = time.perf_counter_ns, time.thread_time_ns
    getrusage, thread = resource.getrusage, resource.RUSAGE_THREAD

    # What the timing adds to a collection's CPU time (the thread clock is
    # a system call), subtracted per collection, as bench/gen.c does.
    k, overhead = 20000, 0
    for _ in range(k):
        c1 = thread_time()
        perf()
        perf()
        overhead += thread_time() - c1
    overhead /= k

    def on_gc(phase, info):
        if phase == "start":
            mark[2] = getrusage(thread).ru_nivcsw
            mark[1] = thread_time()
            mark[0] = perf()
        else:
            t = perf()
            c = thread_time()
            pauses.append(t - mark[0])
            cpu_pauses.append(c - mark[1])
            if getrusage(thread).ru_nivcsw == mark[2]:  # not preempted
                quiet.append(t - mark[0])
            g = info["generation"]
            collections[g] += 1
            collected[g] += info["collected"]

    def mutate(i):
        for _ in range(BATCH):
            a, b = [], []
            a.append(b)
            b.append(a)
            del a, b
            l = [i, {"k": i}]
            del l
            i = (i + 1) & 0xFFFF
        return i

    iters = (min_allocs + CONTAINERS_PER_ITER - 1) // CONTAINERS_PER_ITER
    batches = (iters + BATCH - 1) // BATCH
    gc.callbacks.append(on_gc)
    gc.enable()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = thread_time()
    t0 = perf()
    i = 0
    for _ in range(batches):
        i = mutate(i)
    wall = perf() - t0
    cpu_all = thread_time() - c0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    gc.callbacks.remove(on_gc)

    allocs = batches * BATCH * CONTAINERS_PER_ITER
    gc_ns, gc_cpu = sum(pauses), max(0, sum(cpu_pauses) - overhead * len(pauses))
    slices = len(pauses)
    pauses.sort()
    quiet.sort()
    np, nq = len(pauses) or 1, len(quiet) or 1
    pauses = pauses or [0]
    quiet = quiet or [0]
    total = sum(collected)
    print("allocations %d" % allocs)
    print("wall_s %.3f" % (wall / 1e9))
    print("allocs_per_s %.0f" % (allocs / (wall / 1e9)))
    print("cpu_allocs_per_s %.0f" % (allocs / (cpu_all / 1e9)))
    print("gc_ns_per_alloc %.2f" % (gc_ns / allocs))
    print("timing_overhead_ns %.0f" % overhead)
    print("gc_cpu_ns_per_alloc %.2f" % (gc_cpu / allocs))
    print("slices %d" % slices)
    print("max_pause_us %.1f" % (pauses[-1] / 1000))
    print("p99_pause_us %.1f" % (pauses[np * 99 // 100] / 1000))
    print("p999_pause_us %.1f" % (pauses[np * 999 // 1000] / 1000))
    print("preempted_slices %d" % (slices - len(quiet)))
    print("quiet_max_pause_us %.1f" % (quiet[-1] / 1000))
    print("quiet_p99_pause_us %.1f" % (quiet[nq * 99 // 100] / 1000))
    print("quiet_p999_pause_us %.1f" % (quiet[nq * 999 // 1000] / 1000))
    print("top_pauses_us " + " ".join("%.0f" % (p / 1000) for p in pauses[-5:]))
    print("involuntary_switches %d" % (ru1.ru_nivcsw - ru0.ru_nivcsw))
    print("mean_pause_us %.1f" % (gc_ns / np / 1000))
    print("collected %d" % total)
    print("reclaimed_per_s %.0f" % (total / (wall / 1e9)))
    print("full_collections %d" % collections[2])
    for g in range(3):
        print("gen%d_collections %d" % (g, collections[g]))
        print("gen%d_collected %d" % (g, collected[g]))
    print("peak_rss_mb %.0f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    del root


if __name__ == "__main__":
    main()
