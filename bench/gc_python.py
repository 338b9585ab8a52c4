#!/usr/bin/env python3
"""The CPython side of bench/gc.c: the same graph (root -> n/3 nodes
[i, {"k": []}] plus n/10 garbage pairs a <-> b), timed with gc.collect()."""
import gc
import sys
import time


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    gc.disable()
    root = [[i, {"k": []}] for i in range(n // 3)]
    for _ in range(n // 10):
        a, b = [], []
        a.append(b)
        b.append(a)
    del a, b
    t0 = time.perf_counter()
    found = gc.collect()
    dt = time.perf_counter() - t0
    live = n // 3 * 3 + 1
    print("py_full_collect_ms %.1f" % (dt * 1000))
    print("py_full_collected %d" % found)
    print("py_full_containers_per_s %.0f" % ((live + n // 5) / dt))
    del root


if __name__ == "__main__":
    main()
