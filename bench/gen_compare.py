#!/usr/bin/env python3
"""Issue 14's benchmark: for each old-heap size N, runs side by side
  - heapd, generational (build/bench/gen N),
  - heapd, gc.generational = false (build/bench/gen N --no-gen),
  - CPython's own gc (bench/gen_python.py N, under /usr/bin/python3),
  - and, with no old heap, "today": the collector before generations
    (bench/gen.c built against commit 7fa32b0: $BUILD_DIR/bench/gen-today,
    made by `make bench-gen BENCH_TODAY=DIR`), plus that commit's own
    bench/gc binary ($BENCH_TODAY/build/bench/gc 0) against this one's;
then prints a table, the ratios and PASS/FAIL per target.

    python3 bench/gen_compare.py [N ...]     (default 0 100000 1000000 10000000)

BENCH_GEN_REPEAT=R runs each configuration R times (interleaved) and keeps
each figure's median (default 1). Collector time is this thread's CPU time
spent in slices (CPython: between gc.callbacks' start and stop); pauses are
wall time, "quiet" ones leave out slices during which the process was
preempted (the machines are shared: see bench/README.md).
"""
import os
import statistics
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
build = os.environ.get("BUILD_DIR", "build")
today_dir = os.environ.get("BENCH_TODAY", "")
repeat = int(os.environ.get("BENCH_GEN_REPEAT", "1"))
python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
sizes = [int(a) for a in sys.argv[1:]] or [0, 100000, 1000000, 10000000]
SLICE_US = 1000

gen_bin = os.path.join(build, "bench", "gen")
today_bin = os.path.join(build, "bench", "gen-today")
have_today = os.path.exists(today_bin)


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    vals = {}
    for line in out.splitlines():
        key, _, rest = line.partition(" ")
        vals[key] = rest
    return vals


def median_of(runs):
    out = {}
    for k in runs[0]:
        try:
            out[k] = statistics.median(float(r[k]) for r in runs)
        except ValueError:
            out[k] = runs[0][k]
    return out


def configs(n):
    c = [("heapd gen", [gen_bin, str(n)]),
         ("heapd no-gen", [gen_bin, str(n), "--no-gen"]),
         ("CPython " + subprocess.run([python, "-c", "import sys;print(sys.version.split()[0])"],
                                      capture_output=True, text=True).stdout.strip(),
          [python, os.path.join(here, "gen_python.py"), str(n)])]
    if n == 0 and have_today:
        c.append(("today (7fa32b0)", [today_bin, "0"]))
    return c


results = {}
for n in sizes:
    runs = {}
    for _ in range(repeat):
        for name, cmd in configs(n):
            print("running: %s" % " ".join(cmd), file=sys.stderr, flush=True)
            runs.setdefault(name, []).append(run(cmd))
    results[n] = {name: median_of(r) for name, r in runs.items()}


def f(v, fmt="%.1f"):
    return fmt % float(v) if v not in (None, "") else "-"


print("Old heap of N long-lived containers; a mutator makes a garbage cycle and")
print("acyclic garbage per iteration (4 containers), slice budget %d us." % SLICE_US)
print("gc ns/alloc: collector CPU (slices; CPython: its collections) per container")
print("allocated; +free: with freeing what the slices cleared (CPython frees inside")
print("its collections). Pauses in us, wall; quiet = slices not preempted.")
print()
hdr = ("%10s %-16s %8s %8s %9s %9s %8s %8s %8s %8s %6s %11s %6s" %
       ("N", "collector", "gc ns/a", "+free", "alloc/s", "cpu al/s", "max", "p99",
        "q max", "q p99", "preem", "reclaim/s", "fulls"))
print(hdr)
for n in sizes:
    for name, r in results[n].items():
        gc_cpu = float(r["gc_cpu_ns_per_alloc"])
        plus = gc_cpu + float(r.get("gc_drain_cpu_ns_per_alloc", 0))
        print("%10d %-16s %8.1f %8.1f %8.2fM %8.2fM %8s %8s %8s %8s %6s %10.2fM %6s" % (
            n, name, gc_cpu, plus, float(r["allocs_per_s"]) / 1e6,
            float(r["cpu_allocs_per_s"]) / 1e6, f(r["max_pause_us"], "%.0f"),
            f(r["p99_pause_us"], "%.0f"), f(r["quiet_max_pause_us"], "%.0f"),
            f(r["quiet_p99_pause_us"], "%.0f"), f(r["preempted_slices"], "%.0f"),
            float(r["reclaimed_per_s"]) / 1e6, f(r["full_collections"], "%.0f")))
    print()

verdicts = []


def target(desc, ok, detail):
    verdicts.append(ok)
    print("%-4s %s: %s" % ("PASS" if ok else "FAIL", desc, detail))


print("Targets:")
big = max(sizes)
small = min((s for s in sizes if s >= 100000), default=None)
py_name = [k for k in results[big] if k.startswith("CPython")][0]
if big > 0:
    g = float(results[big]["heapd gen"]["gc_cpu_ns_per_alloc"])
    ng = float(results[big]["heapd no-gen"]["gc_cpu_ns_per_alloc"])
    py = float(results[big][py_name]["gc_cpu_ns_per_alloc"])
    gplus = g + float(results[big]["heapd gen"]["gc_drain_cpu_ns_per_alloc"])
    target("at N=%d, gen >= 5x less collector time per alloc than no-gen" % big, g * 5 <= ng,
           "%.1f vs %.1f ns/alloc (%.1fx)" % (g, ng, ng / g if g else float("inf")))
    target("at N=%d, gen collector time per alloc <= CPython's" % big, g <= py,
           "%.1f vs %.1f ns/alloc (%.2fx CPython)" % (g, py, g / py))
    print("     (with freeing what its slices cleared, as CPython counts it: %.1f ns/alloc, "
          "%.2fx CPython)" % (gplus, gplus / py))
    if small is not None and small != big:
        s = float(results[small]["heapd gen"]["gc_cpu_ns_per_alloc"])
        target("gen collector time per alloc within 2x from N=%d to N=%d" % (small, big),
               g <= 2 * s and s <= 2 * g, "%.1f -> %.1f ns/alloc (%.2fx)" % (s, g, g / s))
limit = SLICE_US * 1.1
worst = max(float(results[n]["heapd gen"]["quiet_max_pause_us"]) for n in sizes)
raw = max(float(results[n]["heapd gen"]["max_pause_us"]) for n in sizes)
target("gen max pause (slices not preempted) <= slice_us + 10%% = %.0f us" % limit, worst <= limit,
       "%.0f us at worst over all N (with preempted slices: %.0f us)" % (worst, raw))
if 0 in sizes and "today (7fa32b0)" in results[0]:
    r, t = results[0]["heapd gen"], results[0]["today (7fa32b0)"]
    for key, what in (("allocs_per_s", "throughput, wall"), ("cpu_allocs_per_s", "throughput, CPU")):
        a, b = float(r[key]), float(t[key])
        target("no old heap, %s >= 0.9x today" % what, a >= 0.9 * b,
               "%.2fM vs %.2fM allocs/s (%.2fx)" % (a / 1e6, b / 1e6, a / b))
    a, b = float(r["gc_cpu_ns_per_alloc"]), float(t["gc_cpu_ns_per_alloc"])
    target("no old heap, collector ns/alloc <= 1.1x today", a <= 1.1 * b,
           "%.1f vs %.1f ns/alloc (%.2fx)" % (a, b, a / b))
else:
    print("SKIP no old heap vs today: build bench/gen.c against 7fa32b0 "
          "(make bench-gen BENCH_TODAY=DIR) and include N=0")

old_gc = os.path.join(today_dir, "build", "bench", "gc") if today_dir else ""
if old_gc and os.path.exists(old_gc):
    print()
    print("bench/gc.c's own incremental run with no old heap (N=0; its live data grows),")
    print("7fa32b0's binary vs this commit's (wall time, as that bench measures):")
    print("%-22s %12s %12s %14s %10s" % ("binary", "gc ns/alloc", "free ns/al", "mutator share",
                                          "max us"))
    rows = []
    for _ in range(repeat):
        for name, b in (("today (7fa32b0)", old_gc), ("this commit", os.path.join(build, "bench", "gc"))):
            rows.append((name, run([b, "0"])))
    for name in ("today (7fa32b0)", "this commit"):
        m = median_of([v for k, v in rows if k == name])
        print("%-22s %12.1f %12.1f %14.2f %10.0f" % (
            name, float(m["inc_gc_ns_per_alloc"]), float(m["inc_free_ns_per_alloc"]),
            float(m["inc_mutator_share"]), float(m["inc_max_pause_us"])))
print()
print("%d of %d targets met" % (sum(verdicts), len(verdicts)))
