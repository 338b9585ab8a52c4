#!/usr/bin/python3
"""Calls per second of the heapd Python library, one by one and pipelined,
beside redis-py against redis-server doing the analogous work, on this
machine in the same run (compare the ratios, not the absolute numbers).

    bind(name, i)     ~ SET key i
    get(name)         ~ GET key
    append(list, i)   ~ RPUSH list i

Both servers are started here on temporary Unix sockets and stopped at the
end; both clients are pure Python (redis-py without hiredis, if it is not
installed). Usage:

    bench/python_client.py [-n CALLS] [-P PIPELINE] [--heapd PATH] [--redis-server PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))

import heapd  # noqa: E402

try:
    import redis
except ImportError:  # the comparison is skipped
    redis = None  # type: ignore[assignment]


def wait_for(connect: Callable[[], Any], proc: subprocess.Popen, what: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            raise SystemExit("%s exited with %d at start" % (what, proc.returncode))
        try:
            return connect()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def start_heapd(binary: str, directory: str) -> Tuple[subprocess.Popen, str]:
    path = os.path.join(directory, "heapd.sock")
    proc = subprocess.Popen([binary, "--socket", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for(lambda: heapd.connect(path, timeout=5).close(), proc, "heapd")
    return proc, path


def start_redis(binary: str, directory: str) -> Tuple[subprocess.Popen, str]:
    path = os.path.join(directory, "redis.sock")
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", path, "--save", "",
                             "--appendonly", "no", "--dir", directory],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: redis.Redis(unix_socket_path=path).ping(), proc, "redis-server")
    return proc, path


def rate(n: int, fn: Callable[[], None]) -> float:
    """Calls per second of fn, which makes n calls (best of 3 runs)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def heapd_workloads(c: heapd.Client, n: int, depth: int) -> Dict[str, float]:
    c.bind("bench_list", [])

    def one(op: Callable[[Any, int], Any]) -> Callable[[], None]:
        def run() -> None:
            for i in range(n):
                op(c, i)
        return run

    def piped(op: Callable[[Any, int], Any]) -> Callable[[], None]:
        def run() -> None:
            for start in range(0, n, depth):
                with c.pipeline() as p:
                    for i in range(start, min(n, start + depth)):
                        op(p, i)
        return run

    ops = {
        "bind/SET": lambda x, i: x.bind("bench_key", i),
        "get/GET": lambda x, i: x.get("bench_key"),
        "append/RPUSH": lambda x, i: x.append("bench_list", i),
    }
    out = {}
    for name, op in ops.items():
        out[name + " 1by1"] = rate(n, one(op))
        c.clear("bench_list")
        out[name + " piped"] = rate(n, piped(op))
        c.clear("bench_list")
    return out


def redis_workloads(r: Any, n: int, depth: int) -> Dict[str, float]:
    def one(op: Callable[[Any, int], Any]) -> Callable[[], None]:
        def run() -> None:
            for i in range(n):
                op(r, i)
        return run

    def piped(op: Callable[[Any, int], Any]) -> Callable[[], None]:
        def run() -> None:
            for start in range(0, n, depth):
                p = r.pipeline(transaction=False)
                for i in range(start, min(n, start + depth)):
                    op(p, i)
                p.execute()
        return run

    ops = {
        "bind/SET": lambda x, i: x.set("bench_key", i),
        "get/GET": lambda x, i: x.get("bench_key"),
        "append/RPUSH": lambda x, i: x.rpush("bench_list", i),
    }
    out = {}
    for name, op in ops.items():
        out[name + " 1by1"] = rate(n, one(op))
        r.delete("bench_list")
        out[name + " piped"] = rate(n, piped(op))
        r.delete("bench_list")
    return out


def report(n: int, depth: int, h: Dict[str, float], r: Optional[Dict[str, float]],
           mode: str) -> None:
    print("heapd Python library vs redis-py, %d calls per run, pipelines of %d, "
          "best of 3 (%s)" % (n, depth, mode))
    print("%-22s %14s %14s %12s" % ("calls/s", "heapd", "redis-py", "heapd/redis"))
    for key, value in h.items():
        other = r.get(key) if r else None
        print("%-22s %14.0f %14s %12s" % (
            key, value, "%.0f" % other if other else "-",
            "%.2fx" % (value / other) if other else "-"))


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20000, help="calls per run (default 20000)")
    ap.add_argument("-P", type=int, default=100, help="calls per pipeline (default 100)")
    ap.add_argument("--heapd", default=os.environ.get("HEAPD", os.path.join(REPO, "build", "heapd")))
    ap.add_argument("--redis-server", default=shutil.which("redis-server"))
    args = ap.parse_args(argv)

    directory = tempfile.mkdtemp(prefix="bench-py-")
    procs: List[subprocess.Popen] = []
    try:
        proc, path = start_heapd(args.heapd, directory)
        procs.append(proc)
        with heapd.connect(path) as c:
            mode = "ref-handle mode" if c.ref_handles else "server without ref-handle mode"
            h = heapd_workloads(c, args.n, args.P)
        r = None
        if redis is not None and args.redis_server:
            rproc, rpath = start_redis(args.redis_server, directory)
            procs.append(rproc)
            client = redis.Redis(unix_socket_path=rpath)
            r = redis_workloads(client, args.n, args.P)
            client.close()
        else:
            print("(redis-py or redis-server missing: heapd alone)")
        report(args.n, args.P, h, r, mode)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
