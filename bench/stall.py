#!/usr/bin/python3
"""The stall benchmark (SPEC section 9, issue 12): how long one client waits
while another client, or simply a big heap, makes heapd work.

For each workload a fresh heapd (release build: $HEAPD, default build/heapd)
starts on a temporary socket with default settings (gc.slice_us 1000) unless
the workload needs a setting. The heap is built first, the server is left to
settle (no cascade pending, collector idle), then a pinging client starts:
a separate process with its own connection, sending `ping` one at a time
and timing each round trip with time.perf_counter_ns. The workload runs on
other connections, and the window ends when its effect is complete (the
object count has dropped, the cascade is drained, the answer has arrived).
The table gives the pinger's count, p50, p99 and max (nearest rank) beside
SPEC section 9's budget: no answer later than 10 ms, p99 under 2 ms.

    bench/stall.py [--small] [--only W,...] [--skip W,...] [--strict] [sizes]

Workloads (names for --only/--skip):
  idle        nothing else happens for 1 s: the noise floor of this machine
              (the pinger, the kernel, other jobs on the cores)
  gc          automatic collector cycles over --names global names (each
              bound to a new empty list) and a bulk of lists of ints, --objects
              objects in all; a client allocating a little every 2 ms keeps the
              cycles coming (the interval rule). gc_collect is not used: it
              is O(n) by nature.
  unbind      `unbind` of one list holding lists of 1000 ints, --objects
              objects in all
  pop_scope   `pop_scope` of a frame holding --frame-names names
  disconnect  a client holding --handles handles (`new`) disconnects
  names       `names("global")` with --list-names names (O(n) by nature,
              exempt), then `scan` over them if the server has it (else n/a)
  encode      `get` of L3 (and L4), L0 = [1]*100, Lk = [L(k-1)]*100: should
              answer MemoryError at limits.max_output_bytes; RSS before,
              peak (VmHWM) and after
  pipeline    --gets pipelined `get`s of a --list-kb KB list in one write,
              never read, limits.max_output_bytes 1 MiB: peak RSS growth and
              whether heapd drops the client
  watches     a client sets up --watches watches (pipelined), then idles
              holding them while another unbinds a list of --watch-frees
              distinct floats; the cascade's wall time
  save        `save` with persistence on, heaps of --save-objects objects
              (budget owned by issue 17, the effect log)

Exit status 0 whatever the rows say (it is a measurement); --strict exits
1 when any row is OVER. --rss-cap stops (SIGKILL) a heapd whose resident
memory passes it, to protect a shared machine: the row then says so.
"""

import argparse
import math
import os
import platform
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import heapd_client as hc  # noqa: E402  (python3-msgpack client and Server)

# Waits here are for heavy work (a 10 GB answer takes minutes): one recv may
# wait long, and the workloads' own deadlines bound the whole.
hc.TIMEOUT = 900.0

BUDGET_MAX_MS = 10.0
BUDGET_P99_MS = 2.0
MiB = 1 << 20

WORKLOADS = ["idle", "gc", "unbind", "pop_scope", "disconnect", "names", "encode", "pipeline",
             "watches", "save"]


# ---- the pinging client (a process of its own: no GIL shared with the driver) ----

def pinger_main(sock_path, timeout_s):
    """Runs as `stall.py --pinger SOCK`: pings until SIGUSR1, then writes
    its status line and the latencies (int64 ns) to stdout."""
    import gc
    gc.disable()
    stop = [False]
    signal.signal(signal.SIGUSR1, lambda *_: stop.__setitem__(0, True))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.settimeout(timeout_s)
    req = hc.request(1, "ping")
    want = len(hc.packb([hc.RESPONSE, 1, None, "pong"]))
    lat = array("q")
    status = "ok"
    out = sys.stdout.buffer
    clock = time.perf_counter_ns
    first = True
    while not stop[0]:
        t0 = clock()
        try:
            s.sendall(req)
            got = 0
            while got < want:
                d = s.recv(4096)
                if not d:
                    status = "heapd closed the pinger's connection"
                    break
                got += len(d)
        except socket.timeout:
            status = "a ping went unanswered for %.0f s" % timeout_s
        except OSError as e:
            status = "pinger: %s" % e
        t1 = clock()
        if status != "ok":
            lat.append(t1 - t0)  # the wait so far counts
            break
        lat.append(t1 - t0)
        if first:
            out.write(b"ready\n")
            out.flush()
            first = False
    if first:
        out.write(b"ready\n")
    if status == "ok":
        # a failed ping breaks out before waiting for SIGUSR1; wait here so
        # the driver's stop signal always finds us
        pass
    else:
        while not stop[0]:
            time.sleep(0.01)
    data = lat.tobytes()
    out.write(("%s\n%d\n" % (status, len(data))).encode())
    out.write(data)
    out.flush()


class Pinger:
    def __init__(self, srv, timeout_s):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--pinger", srv.sock_path,
             "--ping-timeout", str(timeout_s)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if line != b"ready\n":
            raise RuntimeError("the pinger did not start: %r" % line)
        self.t0 = time.monotonic()

    def stop(self):
        """(status, latencies in ns, window seconds)"""
        window = time.monotonic() - self.t0
        self.proc.send_signal(signal.SIGUSR1)
        status = self.proc.stdout.readline().decode().strip()
        n = int(self.proc.stdout.readline())
        data = self.proc.stdout.read(n)
        self.proc.wait()
        lat = array("q")
        lat.frombytes(data)
        return status, sorted(lat), window

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def pct(sorted_ns, q):
    """Nearest-rank percentile, in ms."""
    if not sorted_ns:
        return float("nan")
    k = max(1, math.ceil(q * len(sorted_ns)))
    return sorted_ns[k - 1] / 1e6


# ---- heapd helpers ----

class Died(Exception):
    pass


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows = []
        self.srv = None
        self.rss_seen = 0

    # -- servers --

    def start(self, config=None):
        self.srv = hc.Server(config)
        self.srv.start()
        self.rss_seen = 0
        self.ctl = self.srv.client()
        return self.srv

    def stop(self):
        if self.srv is None:
            return
        try:
            if self.srv.alive():
                self.srv.stop()
        finally:
            self.srv.cleanup()
            self.srv = None

    def proc_status(self):
        d = {}
        try:
            with open("/proc/%d/status" % self.srv.proc.pid) as f:
                for line in f:
                    if line.startswith(("VmRSS:", "VmHWM:")):
                        k, v = line.split(":")
                        d[k] = int(v.split()[0]) * 1024
        except OSError:
            pass
        return d

    def rss(self):
        return self.proc_status().get("VmRSS", 0)

    def hwm(self):
        return self.proc_status().get("VmHWM", 0)

    def reset_hwm(self):
        with open("/proc/%d/clear_refs" % self.srv.proc.pid, "w") as f:
            f.write("5")  # resets VmHWM to the current RSS

    def check_alive(self):
        if not self.srv.alive():
            rc = self.srv.proc.returncode
            how = ("killed by signal %d" % -rc) if rc < 0 else ("exit status %d" % rc)
            tail = self.srv.stderr_text().strip().splitlines()[-3:]
            raise Died("heapd died (%s): %s" % (how, " | ".join(tail)))
        r = self.rss()
        self.rss_seen = max(self.rss_seen, r)
        if r > self.args.rss_cap:
            self.srv.kill()
            raise Died("heapd's RSS passed --rss-cap (%s > %s): the bench killed it"
                       % (fmt_bytes(r), fmt_bytes(self.args.rss_cap)))

    def stats(self, section):
        return self.ctl.ok("stats", section)

    def wait_until(self, pred, what, timeout=1800.0, interval=0.02):
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            v = pred()
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("gave up after %.0f s waiting for %s" % (timeout, what))
            time.sleep(interval)

    def settle(self):
        """Nothing pending and the collector idle, so a window starts clean."""
        def quiet():
            rc, g = self.stats("refcount"), self.stats("gc")
            return rc["pending"] == 0 and g["phase"] == "idle"
        self.wait_until(quiet, "the server to settle")

    def live(self):
        return self.stats("objects")["live"]

    # -- pipelined building --

    def batched(self, client, calls, batch=10000, results=False):
        """Sends (method, *params) calls in pipelined batches of `batch`,
        raising on the first error; returns the results if asked."""
        packer = hc.msgpack.Packer(use_bin_type=True)
        out = []
        buf = []

        def flush():
            client.send_raw(b"".join(buf))
            need = len(buf)
            buf.clear()
            while need:
                for msg in client.unpacker:
                    if msg[0] == hc.NOTIFY:
                        client.events.append(msg)
                        continue
                    if msg[2] is not None:
                        raise RuntimeError("a pipelined request failed: %r" % (msg[2],))
                    if results:
                        out.append(msg[3])
                    need -= 1
                    if not need:
                        break
                if need:
                    data = client.sock.recv(1 << 20)
                    if not data:
                        raise hc.Closed()
                    client.unpacker.feed(data)

        for call in calls:
            buf.append(packer.pack([hc.REQUEST, client._msgid(), call[0], list(call[1:])]))
            if len(buf) >= batch:
                flush()
                self.check_alive()
        if buf:
            flush()
        return out

    def build_bulk(self, client, name, objects, scope=None):
        """A list bound to `name` holding lists of 1000 distinct ints:
        about `objects` objects (each chunk is one list and its ints)."""
        opts = [{"scope": scope}] if scope else []
        client.ok("bind", name, [], *opts)
        chunks = objects // 1001
        calls = (("append", name, list(range(1000 + i * 1000, 2000 + i * 1000)))
                 for i in range(chunks))
        self.batched(client, calls, batch=100)
        return chunks * 1001 + 1  # the chunks and the outer list

    # -- windows --

    def window(self, run):
        """Pings while run() makes the workload happen and waits for its
        effect; returns (pinger result, run's notes, error text or None)."""
        log0 = len(self.srv.stderr_text())
        p = Pinger(self.srv, self.args.ping_timeout)
        err = None
        notes = None
        try:
            notes = run()
        except Died as e:
            err = str(e)
        except (TimeoutError, hc.Closed, OSError, AssertionError, RuntimeError) as e:
            err = "%s: %s" % (type(e).__name__, e)
        finally:
            res = p.stop()
        notes = list(notes or [])
        # what heapd logged meanwhile (a dropped client, a limit hit)
        log = [line for line in self.srv.stderr_text()[log0:].splitlines() if line.strip()]
        for line in log[:3]:
            notes.append("heapd log: " + line.split(">", 1)[-1].strip())
        if len(log) > 3:
            notes.append("heapd log: ... %d more lines" % (len(log) - 3))
        return res, notes, err

    def row(self, workload, heap, res, budget="max 10, p99 2", notes=(), err=None,
            exempt=False, extra_ok=True):
        status, lat, window = res
        n = len(lat)
        p50, p99, mx = pct(lat, 0.50), pct(lat, 0.99), (lat[-1] / 1e6 if lat else float("nan"))
        if err or status != "ok":
            verdict = "FAIL"
        elif exempt:
            verdict = "O(n)"
        else:
            ok = mx <= BUDGET_MAX_MS and p99 < BUDGET_P99_MS and extra_ok
            verdict = "OK" if ok else "OVER"
        notes = list(notes)
        notes.append("window %.2f s" % window)
        if status != "ok":
            notes.append("pinger: " + status)
        if err:
            notes.append(err)
        r = dict(workload=workload, heap=heap, n=n, p50=p50, p99=p99, max=mx, budget=budget,
                 verdict=verdict, notes=notes)
        self.rows.append(r)
        print_row(r, len(self.rows))
        sys.stdout.flush()
        return r

    def na_row(self, workload, heap, why):
        r = dict(workload=workload, heap=heap, n=0, p50=None, p99=None, max=None,
                 budget="max 10, p99 2", verdict="n/a", notes=[why])
        self.rows.append(r)
        print_row(r, len(self.rows))

    def fail_row(self, workload, heap, err, budget="max 10, p99 2"):
        r = dict(workload=workload, heap=heap, n=0, p50=None, p99=None, max=None,
                 budget=budget, verdict="FAIL", notes=[err])
        self.rows.append(r)
        print_row(r, len(self.rows))


def fmt_count(n):
    for div, suf in ((1000000, "M"), (1000, "k")):
        if n >= div and n % (div // 10) == 0:
            s = "%g" % (n / div)
            return s + " " + suf
    return "{:,}".format(n)


def fmt_bytes(b):
    if b >= 1 << 30:
        return "%.2f GiB" % (b / (1 << 30))
    return "%.1f MiB" % (b / MiB)


HEAD = "%-3s %-34s %-24s %7s %8s %8s %9s  %-27s %s" % (
    "#", "workload", "heap", "pings", "p50 ms", "p99 ms", "max ms", "budget", "result")


def ms(v):
    return "-" if v is None or v != v else ("%.3f" % v if v < 100 else "%.0f" % v)


def print_row(r, i, out=sys.stdout, notes=True):
    if i == 1:
        print(HEAD, file=out)
    print("%-3d %-34s %-24s %7d %8s %8s %9s  %-27s %s" % (
        i, r["workload"], r["heap"], r["n"], ms(r["p50"]), ms(r["p99"]), ms(r["max"]),
        r["budget"], r["verdict"]), file=out)
    for n in r["notes"] if notes else ():
        print("      %s" % n, file=out)


# ---- the workloads ----

def w_idle(b):
    b.start()
    try:
        b.settle()
        res, notes, err = b.window(lambda: time.sleep(1.0))
        b.row("idle server (noise floor)", "empty", res, notes=notes, err=err)
    except Died as e:
        b.fail_row("idle server (noise floor)", "empty", str(e))
    finally:
        b.stop()


def w_gc(b):
    a = b.args
    heap = "%s names, %s obj" % (fmt_count(a.names), fmt_count(a.objects))
    b.start()
    try:
        t0 = time.monotonic()
        b.batched(b.ctl, (("bind", "n:%d" % i, []) for i in range(a.names)))
        bulk = b.build_bulk(b.ctl, "bulk", max(0, a.objects - a.names))
        built = time.monotonic() - t0
        b.settle()
        live0 = b.live()

        def run():
            c0 = b.stats("gc")["cycles"]
            i = 0
            deadline = time.monotonic() + 1800
            last_poll = 0.0
            while True:
                # a little allocation (and garbage) every 2 ms: the interval
                # rule (gc.interval_ms) starts the next cycle
                b.ctl.ok("bind", "garbage", [float(i)])
                i += 1
                now = time.monotonic()
                if now - last_poll > 0.05:
                    last_poll = now
                    b.check_alive()
                    g = b.stats("gc")
                    if g["cycles"] >= c0 + a.cycles:
                        break
                    if now > deadline:
                        raise TimeoutError("the cycles did not come")
                time.sleep(0.002)
            return ["%d automatic cycles; last cycle %.0f ms, traced %s; heapd's own "
                    "last/max slice %.1f/%.1f ms (max over the whole run)"
                    % (g["cycles"] - c0, g["last_cycle_us"] / 1000,
                       "{:,}".format(g["last_traced"]), g["last_pause_us"] / 1000,
                       g["max_pause_us"] / 1000)]

        res, notes, err = b.window(run)
        notes.insert(0, "built in %.0f s (%s live objects, bulk %s), RSS %s"
                     % (built, "{:,}".format(live0), "{:,}".format(bulk), fmt_bytes(b.rss())))
        b.row("gc cycles (automatic)", heap, res, notes=notes, err=err)
    except Died as e:
        b.fail_row("gc cycles (automatic)", heap, str(e))
    finally:
        b.stop()


def w_unbind(b):
    a = b.args
    heap = "%s obj" % fmt_count(a.objects)
    b.start()
    try:
        n = b.build_bulk(b.ctl, "big", a.objects)
        b.settle()
        live0 = b.live()

        def run():
            t0 = time.monotonic()
            b.ctl.ok("unbind", "big")
            answered = time.monotonic() - t0
            b.wait_until(lambda: b.stats("refcount")["pending"] == 0 and b.live() <= live0 - n,
                         "the cascade")
            wall = time.monotonic() - t0
            rc = b.stats("refcount")
            return ["unbind answered in %.1f ms; %s objects freed in %.0f ms "
                    "(longest_cascade %s)" % (answered * 1000, "{:,}".format(n), wall * 1000,
                                              "{:,}".format(rc["longest_cascade"]))]

        res, notes, err = b.window(run)
        b.row("unbind of a list of lists", heap, res, notes=notes, err=err)
    except Died as e:
        b.fail_row("unbind of a list of lists", heap, str(e))
    finally:
        b.stop()


def w_pop_scope(b):
    a = b.args
    heap = "%s local names" % fmt_count(a.frame_names)
    b.start()
    try:
        c = b.srv.client()
        c.ok("push_scope")
        b.batched(c, (("bind", "f:%d" % i, 1000 + i) for i in range(a.frame_names)))
        b.settle()
        live0 = b.live()

        def run():
            t0 = time.monotonic()
            popped = c.ok("pop_scope")
            answered = time.monotonic() - t0
            b.wait_until(lambda: b.stats("refcount")["pending"] == 0
                         and b.live() <= live0 - a.frame_names, "the frame's objects")
            wall = time.monotonic() - t0
            return ["pop_scope answered %r in %.0f ms; its %s ints freed after %.0f ms"
                    % (popped, answered * 1000, fmt_count(a.frame_names), wall * 1000)]

        res, notes, err = b.window(run)
        c.close()
        b.row("pop_scope of a big frame", heap, res, notes=notes, err=err)
    except Died as e:
        b.fail_row("pop_scope of a big frame", heap, str(e))
    finally:
        b.stop()


def w_disconnect(b):
    a = b.args
    heap = "%s handles" % fmt_count(a.handles)
    b.start()
    try:
        c = b.srv.client()
        b.batched(c, (("new", 1000 + i) for i in range(a.handles)))
        b.settle()
        live0 = b.live()

        def run():
            conn0 = b.stats("clients")["connected"]  # the pinger's included
            t0 = time.monotonic()
            c.close()
            b.wait_until(lambda: b.stats("clients")["connected"] < conn0
                         and b.stats("refcount")["pending"] == 0
                         and b.live() <= live0 - a.handles, "the session's end")
            return ["the session's %s objects freed %.0f ms after the close"
                    % (fmt_count(a.handles), (time.monotonic() - t0) * 1000)]

        res, notes, err = b.window(run)
        b.row("disconnect holding handles", heap, res, notes=notes, err=err)
    except Died as e:
        b.fail_row("disconnect holding handles", heap, str(e))
    finally:
        b.stop()


def server_has(b, method):
    methods = b.ctl.ok("api_info")["methods"]
    if isinstance(methods, dict):
        return method in methods
    return any((m.get("name") if isinstance(m, dict) else m) == method for m in methods)


def w_names(b):
    a = b.args
    heap = "%s global names" % fmt_count(a.list_names)
    b.start()
    try:
        b.batched(b.ctl, (("bind", "k:%d" % i, 1) for i in range(a.list_names)))
        b.settle()
        c = b.srv.client()

        def run():
            t0 = time.monotonic()
            got = c.ok("names", "global")
            return ["answered %s names in %.0f ms" % ("{:,}".format(len(got)),
                                                     (time.monotonic() - t0) * 1000)]

        res, notes, err = b.window(run)
        b.row('names("global")', heap, res, budget="O(n) by nature: exempt", notes=notes, err=err,
              exempt=True)
        if not server_has(b, "scan"):
            b.na_row("scan iteration (count 100)", heap, "this heapd has no scan method")
            return

        def run_scan():
            t0 = time.monotonic()
            cursor, seen, calls = 0, set(), 0
            while True:
                cursor, got = c.ok("scan", "global", cursor, {"count": 100})
                calls += 1
                seen.update(got)
                if cursor == 0:
                    break
            missing = a.list_names - len(seen & {"k:%d" % i for i in range(a.list_names)})
            return ["%d scan calls, %s distinct names, %d missing, %.0f ms"
                    % (calls, "{:,}".format(len(seen)), missing,
                       (time.monotonic() - t0) * 1000)]

        res, notes, err = b.window(run_scan)
        b.row("scan iteration (count 100)", heap, res, notes=notes, err=err)
    except Died as e:
        b.fail_row('names("global") / scan', heap, str(e))
    finally:
        b.stop()


def encoded_size(level):
    """Bytes of L<level>'s msgpack encoding (arrays of 100: array16 headers)."""
    size = 3 + 100  # L0: [1]*100
    for _ in range(level):
        size = 3 + 100 * size
    return size


def read_answer(b, c, msgid, total_hint):
    """Reads one response to `msgid` without keeping a value body in memory:
    (outcome text, bytes read). Watches heapd and the RSS cap meanwhile."""
    sock = c.sock
    sock.setblocking(False)
    head = b""
    got = 0
    body_left = None
    while True:
        b.check_alive()
        r, _, _ = select.select([sock], [], [], 0.05)
        if not r:
            continue
        try:
            d = sock.recv(1 << 20)
        except BlockingIOError:
            continue
        except ConnectionResetError:
            d = b""
        if not d:
            return "heapd closed the connection after %s of the answer" % fmt_bytes(got), got
        got += len(d)
        if body_left is None:
            head += d
            # [1, msgid, error, result]: 0x94 0x01 <uint msgid> <error> ...
            up = hc.msgpack.Unpacker(raw=False, strict_map_key=False)
            up.feed(head[:4096])
            try:
                assert up.read_array_header() == 4
                assert up.unpack() == hc.RESPONSE
                assert up.unpack() == msgid
                error = up.unpack()
            except hc.msgpack.OutOfData:
                continue
            if error is not None:
                return "answered %s: %s" % (error.get("type"), error.get("message")), got
            body_left = total_hint - (len(head) - up.tell())
            head = b""
        else:
            body_left -= len(d)
        if body_left <= 0:
            return "answered the whole value (%s)" % fmt_bytes(got), got


def w_encode(b):
    a = b.args
    b.start()
    try:
        b.ctl.ok("bind", "L0", [1] * 100)
        for k in range(1, max(a.levels) + 1):
            b.ctl.ok("bind", "L%d" % k, [hc.name("L%d" % (k - 1))] * 100)
        limit = b.ctl.ok("config_get", "limits.max_output_bytes")
        for level in a.levels:
            heap = "L%d: 100^%d = %s" % (level, level + 1,
                                        fmt_bytes(encoded_size(level)).replace(".00", ""))
            b.settle()
            time.sleep(0.2)
            rss0 = b.rss()
            b.reset_hwm()
            b.rss_seen = 0
            c = b.srv.client()
            out = {}

            def run():
                t0 = time.monotonic()
                msgid = c.send("get", "L%d" % level)
                outcome, got = read_answer(b, c, msgid, encoded_size(level))
                out["outcome"] = outcome
                out["secs"] = time.monotonic() - t0
                return []

            res, notes, err = b.window(run)
            c.close()
            peak = max(b.hwm(), b.rss_seen)  # the bench's own samples if heapd died
            after = None
            if b.srv.alive():
                time.sleep(0.5)
                after = b.rss()
            notes = ["%s after %.1f s" % (out.get("outcome", "no answer"),
                                          out.get("secs", 0))] + notes
            notes.append("heapd RSS %s before, peak %s (+%s), %s after"
                         % (fmt_bytes(rss0), fmt_bytes(peak), fmt_bytes(peak - rss0),
                            fmt_bytes(after) if after is not None else "-"))
            mem_ok = ("MemoryError" in out.get("outcome", "")
                      and peak - rss0 <= limit + 8 * MiB)
            b.row("get of a shared-sublist graph", heap, res,
                  budget="max 10, p99 2; MemoryError",
                  notes=notes + ["wanted: MemoryError at limits.max_output_bytes (%s), "
                                 "RSS growth within it: %s"
                                 % (fmt_bytes(limit), "yes" if mem_ok else "NO")],
                  err=err, extra_ok=mem_ok)
            if not b.srv.alive():
                break
    except Died as e:
        b.fail_row("get of a shared-sublist graph", "L%s" % a.levels, str(e))
    finally:
        b.stop()


def w_pipeline(b):
    a = b.args
    limit = MiB
    items = a.list_kb * 1000
    heap = "%d gets x %d KB" % (a.gets, a.list_kb)
    b.start({"limits": {"max_output_bytes": limit}})
    try:
        b.ctl.ok("bind", "big", [1] * items)  # 1 byte per item: ~list_kb KB encoded
        b.settle()
        time.sleep(0.2)
        rss0 = b.rss()
        b.reset_hwm()
        slow0 = b.stats("clients")["slow_disconnected"]
        calls0 = b.stats("commands").get("get", {}).get("calls", 0)
        c = b.srv.client()
        out = {}

        def run():
            t0 = time.monotonic()
            c.send_raw(b"".join(hc.request(c._msgid(), "get", "big") for _ in range(a.gets)))

            def done():
                st = b.stats("clients")
                calls = b.stats("commands").get("get", {}).get("calls", 0)
                if any(x.get("paused") for x in b.ctl.ok("clients")):
                    out["paused"] = True  # heapd stopped reading from it
                    out["served"] = calls - calls0
                    return True
                if st["slow_disconnected"] > slow0:
                    out["dropped"] = True
                    out["served"] = calls - calls0
                    return True
                if calls - calls0 >= a.gets:
                    out["dropped"] = False
                    out["served"] = calls - calls0
                    return True
                return False

            b.wait_until(done, "the gets")
            out["secs"] = time.monotonic() - t0
            time.sleep(0.2)
            return []

        res, notes, err = b.window(run)
        peak = b.hwm()
        c.close()
        growth = peak - rss0
        bound = limit + items + 64 + 8 * MiB
        mem_ok = growth <= bound
        what = ("paused the client (stopped reading it)" if out.get("paused") else
                "dropped the client" if out.get("dropped") else "neither paused nor dropped")
        notes = ["%s after %d gets answered (%.2f s); heapd RSS %s before, peak %s (+%s)"
                 % (what,
                    out.get("served", -1), out.get("secs", 0), fmt_bytes(rss0),
                    fmt_bytes(peak), fmt_bytes(growth)),
                 "wanted: unsent output at most 1 MiB + one answer; RSS growth within "
                 "that (+8 MiB slack): %s" % ("yes" if mem_ok else "NO")] + notes
        b.row("pipelined gets, never read", heap, res, budget="max 10, p99 2; memory",
              notes=notes, err=err, extra_ok=mem_ok)
    except Died as e:
        b.fail_row("pipelined gets, never read", heap, str(e))
    finally:
        b.stop()


def w_watches(b):
    a = b.args
    for nw in a.watches:
        heap = "%s watches, %s frees" % (fmt_count(nw) if nw else "0", fmt_count(a.watch_frees))
        b.start()
        try:
            w = b.srv.client()
            refs = b.batched(w, (("new", 1000 + i) for i in range(nw)), results=True)
            if nw:
                b.settle()

                def register():
                    t0 = time.monotonic()
                    b.batched(w, (("watch", r) for r in refs), batch=1000)
                    return ["%s watches set up in %.1f s (pipelined, 1000 a write)"
                            % (fmt_count(nw), time.monotonic() - t0)]

                res, notes, err = b.window(register)
                b.row("watch registration", "%s watches" % fmt_count(nw), res, notes=notes,
                      err=err)
            del refs
            b.ctl.ok("bind", "fl", [i + 0.5 for i in range(a.watch_frees)])
            b.settle()
            live0 = b.live()

            def run():
                t0 = time.monotonic()
                b.ctl.ok("unbind", "fl")
                b.wait_until(lambda: b.stats("refcount")["pending"] == 0
                             and b.live() <= live0 - a.watch_frees, "the cascade")
                return ["the cascade (unwatched frees) took %.0f ms" %
                        ((time.monotonic() - t0) * 1000)]

            res, notes, err = b.window(run)
            b.row("free while another client watches", heap, res, notes=notes, err=err)
            w.close()
        except Died as e:
            b.fail_row("free while another client watches", heap, str(e))
        finally:
            b.stop()


def save_changer(srv, stop, counts, nbulk):
    """Another client, changing the heap as fast as it can while a save is
    written, without shrinking it: each round appends to a bulk list (the
    save copies it first, if it has not written it yet), stores into a dict,
    appends to a list and rebinds a name. Pipelined, 50 requests at a time."""
    with srv.client() as c:
        c.ok("bind", "churn", [])
        c.ok("bind", "churn_d", {})
        i = 0
        while not stop.is_set():
            calls = []
            for _ in range(13):
                calls += [("append", "bulk:%d" % (i % nbulk), i), ("setitem", "churn_d", i % 1000, i),
                          ("append", "churn", i), ("bind", "n%d" % (i % 100), i)]
                i += 1
            c.pipeline(calls[:50])
            counts[0] += 50


def save_row(b, heap, label, changing, nbulk=1):
    out, stop, counts = {}, threading.Event(), [0]

    def run():
        th = threading.Thread(target=save_changer, args=(b.srv, stop, counts, nbulk), daemon=True)
        if changing:
            th.start()
            time.sleep(0.05)
        t0 = time.monotonic()
        out["save"] = b.ctl.ok("save")
        out["secs"] = time.monotonic() - t0
        stop.set()
        if changing:
            th.join(10)
        return []

    res, notes, err = b.window(run)
    p = b.stats("persistence")
    s = out.get("save") or {}
    if "last_fork_us" in p:  # heapd before issue 17 forked a child
        how = "fork %.1f ms" % (p["last_fork_us"] / 1000)
    else:
        how = "start %.1f ms, longest step %.1f ms" % (
            p["last_start_us"] / 1000, p["last_max_step_us"] / 1000)
    notes = ["save answered after %.0f ms: %s objects, %s; %s"
             % (out.get("secs", 0) * 1000, "{:,}".format(s.get("objects", 0)),
                fmt_bytes(s.get("bytes", 0)), how)] + notes
    if changing:
        notes.insert(1, "another client made %d changes meanwhile" % counts[0])
    b.row(label + (" (fork)" if "last_fork_us" in p else ""), heap, res, notes=notes, err=err)


def w_save(b):
    a = b.args
    srv = hc.Server()
    path = os.path.join(srv.dir, "heapd.snapshot")
    srv.config = {"persistence": {"path": path}}
    srv.start()
    b.srv, b.ctl, b.rss_seen = srv, srv.client(), 0
    try:
        have, k = 0, 0
        for n in sorted(a.save_objects):
            heap = "%s obj" % fmt_count(n)
            while have < n - 265:
                have += b.build_bulk(b.ctl, "bulk:%d" % k, min(max(n - 265 - have, 1001), 1000000))
                k += 1
            b.settle()
            save_row(b, heap, "save", False)
            b.settle()
            save_row(b, heap, "save, a client changing", True, k)
    except Died as e:
        b.fail_row("save", "%s obj" % a.save_objects, str(e))
    finally:
        b.stop()


# ---- main ----

def counts(s):
    return [int(float(x)) for x in s.split(",") if x]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--small", action="store_true", help="small sizes: a quick run (under 30 s)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any row is OVER (or fails)")
    p.add_argument("--only", default="", help="comma list of workloads to run")
    p.add_argument("--skip", default="", help="comma list of workloads to skip")
    p.add_argument("--names", type=int, help="gc: global names (default 5000000)")
    p.add_argument("--objects", type=int,
                   help="gc: objects in all (the names' lists and a bulk of lists of ints); "
                        "unbind: the structure's objects (default 10000000)")
    p.add_argument("--cycles", type=int, default=2, help="gc: automatic cycles to measure (2)")
    p.add_argument("--frame-names", type=int, help="pop_scope: names in the frame (1000000)")
    p.add_argument("--handles", type=int, help="disconnect: handles held (1000000)")
    p.add_argument("--list-names", type=int, help="names: global names (1000000)")
    p.add_argument("--levels", type=counts, help="encode: levels k of Lk to get (3,4)")
    p.add_argument("--gets", type=int, help="pipeline: gets in one write (4000)")
    p.add_argument("--list-kb", type=int, default=60, help="pipeline: the list's size (60 KB)")
    p.add_argument("--watches", type=counts, help="watches: counts (0,50000,1000000)")
    p.add_argument("--watch-frees", type=int, help="watches: objects freed (200000)")
    p.add_argument("--save-objects", type=counts, help="save: heap sizes (1000000,5000000)")
    p.add_argument("--rss-cap", type=float, default=12 * (1 << 30),
                   help="kill heapd past this RSS in bytes (default 12 GiB)")
    p.add_argument("--ping-timeout", type=float, default=900.0,
                   help="seconds one ping may wait (default 900)")
    p.add_argument("--pinger", metavar="SOCK", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    big = dict(names=5000000, objects=10000000, frame_names=1000000,
               handles=1000000, list_names=1000000, levels=[3, 4], gets=4000,
               watches=[0, 50000, 1000000], watch_frees=200000,
               save_objects=[1000000, 5000000])
    small = dict(names=100000, objects=200000, frame_names=100000,
                 handles=100000, list_names=100000, levels=[3], gets=1000,
                 watches=[0, 5000], watch_frees=20000, save_objects=[100000])
    for k, v in (small if a.small else big).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    sel = [w for w in a.only.split(",") if w] or list(WORKLOADS)
    skip = [w for w in a.skip.split(",") if w]
    for w in sel + skip:
        if w not in WORKLOADS:
            p.error("unknown workload %r (one of %s)" % (w, ", ".join(WORKLOADS)))
    a.run = [w for w in WORKLOADS if w in sel and w not in skip]
    return a


def header(a):
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"
    ver = subprocess.run([hc.HEAPD, "--version"], capture_output=True, text=True,
                         check=True).stdout.strip()
    try:
        with open(hc.HEAPD, "rb") as f:
            sanitized = b"AddressSanitizer" in f.read()
    except OSError:
        sanitized = False
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    print("heapd stall benchmark (SPEC section 9): a pinging client's latency while "
          "each workload runs")
    print("%s (%s, commit %s)%s, default settings (gc.slice_us 1000)"
          % (ver, os.path.relpath(hc.HEAPD, REPO), rev or "?",
             "  WARNING: a sanitized build" if sanitized else ""))
    print("machine: %d cores (%s), %s RAM, Linux %s, Python %s; load average %s"
          % (os.cpu_count(), first("/proc/cpuinfo", "model name"),
             first("/proc/meminfo", "MemTotal"), platform.release(),
             platform.python_version(), " ".join("%.2f" % x for x in os.getloadavg())))
    print("sizes%s: gc %s names, %s objects; unbind %s objects; pop_scope %s names; "
          "disconnect %s handles; names %s; get L%s; %d gets of %d KB; watches %s, %s frees; "
          "save %s objects"
          % (" (--small)" if a.small else "", fmt_count(a.names), fmt_count(a.objects),
             fmt_count(a.objects), fmt_count(a.frame_names), fmt_count(a.handles),
             fmt_count(a.list_names), "/L".join(map(str, a.levels)), a.gets, a.list_kb,
             "/".join(fmt_count(w) if w else "0" for w in a.watches),
             fmt_count(a.watch_frees), "/".join(fmt_count(n) for n in a.save_objects)))
    print("budget (SPEC 9): no ping answer later than 10 ms, p99 under 2 ms; ms are "
          "milliseconds; percentiles are nearest-rank")
    print()
    sys.stdout.flush()


def main(argv):
    a = parse_args(argv)
    if a.pinger:
        pinger_main(a.pinger, a.ping_timeout)
        return 0
    # SIGTERM (timeout, kill) unwinds like ^C, so the servers are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    header(a)
    b = Bench(a)
    funcs = dict(idle=w_idle, gc=w_gc, unbind=lambda b: w_unbind(b), pop_scope=w_pop_scope,
                 disconnect=w_disconnect, names=w_names, encode=w_encode,
                 pipeline=w_pipeline, watches=w_watches, save=w_save)
    t0 = time.monotonic()
    try:
        for w in a.run:
            funcs[w](b)
    finally:
        b.stop()
    bad = [r for r in b.rows if r["verdict"] in ("OVER", "FAIL")]
    print()
    print("Summary:")
    for i, r in enumerate(b.rows, 1):
        print_row(r, i, notes=False)
    print()
    print("%d rows, %d OVER or FAIL; %.0f s in all; load average now %s"
          % (len(b.rows), len(bad), time.monotonic() - t0,
             " ".join("%.2f" % x for x in os.getloadavg())))
    return 1 if (a.strict and bad) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
