#!/usr/bin/env python3
"""Stop and restart times with the effect log (issue 17), per million
objects: SIGTERM (flush and fsync the log, exit), a restart that replays
the whole log, a restart from a snapshot alone, and from a snapshot plus a
log of as many changes again.

    bench/restart.py [N ...]     (default 1000000 5000000; $HEAPD, default build/heapd)

Each heap is N objects: lists of 1000 distinct ints, made with pipelined
appends (about N/1000 requests), fsync "everysec". Times are wall clock,
from the signal or the exec until heapd answers a ping.
"""
import os
import signal
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
import heapd_client as hc  # noqa: E402

sizes = [int(a) for a in sys.argv[1:]] or [1000000, 5000000]


def fill(c, prefix, n):
    """About n objects: lists of 1000 ints under names prefix0, prefix1, ..."""
    chunks, k = n // 1001, 0
    while k * 1000 < chunks:
        name = "%s%d" % (prefix, k)
        calls = [("bind", name, [])]
        calls += [("append", name, list(range(j * 1000, j * 1000 + 1000)))
                  for j in range(k * 1000, min(chunks, k * 1000 + 1000))]
        for err, _ in c.pipeline(calls):
            assert err is None, err
        k += 1


def stop_secs(srv):
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(120)
    assert rc == 0, srv.stderr_text()
    return time.monotonic() - t0


def start_secs(srv):
    t0 = time.monotonic()
    srv.start()
    return time.monotonic() - t0


def main():
    print("heapd %s; fsync everysec; heaps of lists of 1000 ints" % hc.HEAPD)
    print("%10s %9s %9s %11s %11s %11s %9s" % ("objects", "log MB", "stop s", "replay s",
                                                "snap s", "snap+log s", "s per M"))
    for n in sizes:
        srv = hc.Server()
        srv.config = {"persistence": {"path": os.path.join(srv.dir, "heap.snap"),
                                      "log": os.path.join(srv.dir, "heap.log"),
                                      "fsync": "everysec", "log_max_bytes": 0}}
        try:
            srv.start()
            with srv.client() as c:
                fill(c, "a", n)
                log_mb = c.ok("stats", "persistence")["log_size"] / 1e6
            stop = stop_secs(srv)
            replay = start_secs(srv)  # the whole log, no snapshot
            with srv.client() as c:
                c.ok("save")
            srv.stop()
            snap = start_secs(srv)  # the snapshot, an empty log after it
            with srv.client() as c:
                fill(c, "b", n)
            srv.kill()
            both = start_secs(srv)  # the snapshot, then n objects' worth of log
            srv.stop()
            print("%10d %9.0f %9.2f %11.2f %11.2f %11.2f %9.2f" % (
                n, log_mb, stop, replay, snap, both, replay / (n / 1e6)))
        finally:
            srv.cleanup()
    print("s per M: the whole-log replay's seconds per million objects")


if __name__ == "__main__":
    main()
