#!/usr/bin/env python3
"""The CPython side of bench/snapshot.c: the same shapes, written with
pickle (protocol 5) to a file with fsync, and read back.

    snapshot_python.py ints|records N [DIR]
"""
import os
import pickle
import sys
import time


def build(shape, n):
    if shape == "ints":
        return [1000 + i for i in range(n)]
    return [[1000 + i, "item %d" % i, i * 0.5, (1000 + 2 * i, 1001 + 2 * i)]
            for i in range(n // 7)]


def main():
    shape, n = sys.argv[1], int(sys.argv[2])
    path = os.path.join(sys.argv[3] if len(sys.argv) > 3 else "/tmp",
                        "heapd-bench-%d.pickle" % os.getpid())
    root = build(shape, n)
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        pickle.dump(root, f, protocol=5)
        f.flush()
        os.fsync(f.fileno())
    dump = time.perf_counter() - t0
    size = os.path.getsize(path)
    del root
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        root = pickle.load(f)
    load = time.perf_counter() - t0
    os.unlink(path)
    print("py_dump_ms %.1f" % (dump * 1000))
    print("py_load_ms %.1f" % (load * 1000))
    print("py_bytes %d" % size)


if __name__ == "__main__":
    main()
