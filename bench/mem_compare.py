#!/usr/bin/env python3
"""Runs bench/mem (heapd), bench/mem_python.py (CPython) and
bench/mem_redis.sh (Redis) side by side and prints resident bytes per object
with heapd's ratio to each peer (lower is better for heapd)."""
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
build = os.environ.get("BUILD_DIR", "build")
args = sys.argv[1:] + ["10000000", "1000000", "1000000"][len(sys.argv[1:]):]

def rows(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(out.rstrip() + "\n")
    got = {}
    for line in out.splitlines():
        m = re.match(r"\s*(?:Redis \S+: )?(\d+) (.*?)\s{2,}([\d.]+)", line)
        if m:
            shape = "names" if ("names" in m.group(2) or "keys" in m.group(2)) else m.group(2).split("(")[0].strip()
            got[shape] = float(m.group(3))
    return got

heapd = rows([os.path.join(build, "bench", "mem")] + args)
cpython = rows([sys.executable, os.path.join(here, "mem_python.py")] + args)
redis = rows(["sh", os.path.join(here, "mem_redis.sh"), args[1]])

print("%-32s %8s %8s %8s %12s %12s" % ("RSS bytes per object", "heapd", "CPython", "Redis", "heapd/CPy", "heapd/Redis"))
for shape, v in heapd.items():
    c, r = cpython.get(shape), redis.get(shape)
    fmt = lambda x: "%8.1f" % x if x else "%8s" % "-"
    ratio = lambda x: "%12.2f" % (v / x) if x else "%12s" % "-"
    print("%-32s %s %s %s %s %s" % (shape, fmt(v), fmt(c), fmt(r), ratio(c), ratio(r)))
