#!/usr/bin/env python3
"""The CPython side of bench/mem.c: resident memory per object for the same
shapes, measured the same way (RSS growth), on this machine, now."""
import gc
import os
import sys


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def per_object(build, n):
    gc.collect()
    before = rss()
    keep = build(n)
    after = rss()
    del keep
    return (after - before) / n


def ints(n):
    out = []
    for i in range(1000, 1000 + n):  # appended one by one, as heapd's bench does
        out.append(i)
    return out


def names(n):
    ns = {}
    for i in range(n):
        ns["key:%d" % i] = i % 257
    return ns


def empties(kind):
    return lambda n: [kind() for _ in range(n)]


def main():
    n_ints, n_names, n_empty = (int(a) for a in (sys.argv[1:] + ["10000000", "1000000", "1000000"])[:3])
    print("%-44s %10s" % ("CPython %d.%d" % sys.version_info[:2], "RSS B/obj"))
    print("%-44s %10.1f" % ("%d distinct ints in one list" % n_ints, per_object(ints, n_ints)))
    print("%-44s %10.1f" % ("%d names bound to small ints (dict)" % n_names, per_object(names, n_names)))
    for kind in (list, dict, set):
        label = "%d empty %ss (incl. 8 B list slot)" % (n_empty, kind.__name__)
        print("%-44s %10.1f" % (label, per_object(empties(kind), n_empty)))


if __name__ == "__main__":
    main()
