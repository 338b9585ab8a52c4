#!/usr/bin/env python3
"""Runs bench/snapshot (heapd) and bench/snapshot_python.py (CPython's
pickle) on the same shapes for each N and prints save and load throughput,
bytes per object, and what a background save costs the event loop: its
start and longest step (written in steps while serving), against the fork
that started one before (and that starts Redis's BGSAVE).

    snapshot_compare.py [N ...]     (default 1000000 10000000)
"""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
build = os.environ.get("BUILD_DIR", "build")
sizes = [int(a) for a in sys.argv[1:]] or [1000000, 10000000]


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, _, v in (line.partition(" ") for line in out.splitlines())}


print("Save (to a file, fsync'd) and load (into a new heap), N objects;")
print("CPython: pickle.dump with fsync and pickle.load of the same shape:")
print("%-8s %10s %9s %10s %9s %10s %9s %8s %9s %9s %9s %9s %9s %9s %8s" % (
    "shape", "objects", "save ms", "save Mo/s", "load ms", "load Mo/s", "B/object", "fork ms",
    "bg start", "bg step", "bg ms", "py dump", "py load", "py B/obj", "py/heapd"))
for n in sizes:
    for shape in ("ints", "records"):
        h = run([os.path.join(build, "bench", "snapshot"), shape, str(n)])
        p = run([sys.executable, os.path.join(here, "snapshot_python.py"), shape, str(n)])
        o = h["objects"]
        print("%-8s %10d %9.0f %10.1f %9.0f %10.1f %9.1f %8.1f %9.2f %9.2f %9.0f %9.0f %9.0f %9.1f %7.1fx" % (
            shape, o, h["save_ms"], o / h["save_ms"] / 1000, h["load_ms"],
            o / h["load_ms"] / 1000, h["bytes"] / o, h["fork_us"] / 1000,
            h["live_start_us"] / 1000, h["live_max_step_us"] / 1000, h["live_ms"],
            p["py_dump_ms"], p["py_load_ms"], p["py_bytes"] / o,
            (p["py_dump_ms"] + p["py_load_ms"]) / (h["save_ms"] + h["load_ms"])))
