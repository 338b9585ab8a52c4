#!/usr/bin/env python3
"""Runs bench/gc (heapd) and bench/gc_python.py (CPython) on the same graph
for each N and prints the collector figures side by side, with ratios."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
build = os.environ.get("BUILD_DIR", "build")
sizes = [int(a) for a in sys.argv[1:]] or [100000, 1000000, 10000000]


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    vals = {}
    for line in out.splitlines():
        key, _, rest = line.partition(" ")
        vals[key] = rest
    return vals


rows = []
for n in sizes:
    h = run([os.path.join(build, "bench", "gc"), str(n)])
    p = run([sys.executable, os.path.join(here, "gc_python.py"), str(n)])
    rows.append((n, h, p))

print("Full collection of N live containers + N/5 garbage (gc_collect vs CPython gc.collect):")
print("%12s %12s %12s %14s %14s %9s" % ("N", "heapd ms", "CPython ms", "heapd cont/s", "CPython cont/s", "speedup"))
for n, h, p in rows:
    hm, pm = float(h["full_collect_ms"]), float(p["py_full_collect_ms"])
    print("%12d %12.1f %12.1f %14.0f %14.0f %8.2fx" % (
        n, hm, pm, float(h["full_containers_per_s"]), float(p["py_full_containers_per_s"]), pm / hm))
print()
print("Incremental, mutator allocating as fast as it can, slice budget 1000 us:")
print("%12s %10s %10s %10s %12s %14s %12s %10s" % (
    "N", "max us", "p99 us", "p99.9 us", "cycle ms", "traced/s", "gc ns/alloc", "vs 100k"))
base = float(rows[0][1]["inc_gc_ns_per_alloc"])
for n, h, _ in rows:
    per = float(h["inc_gc_ns_per_alloc"])
    print("%12d %10s %10s %10s %12s %14s %12.1f %9.2fx" % (
        n, h["inc_max_pause_us"], h["inc_p99_pause_us"], h["inc_p999_pause_us"],
        h["inc_last_cycle_ms"], h["inc_traced_per_s"], per, per / base))
