"""GET /metrics for Prometheus (metrics.listen): scraped with urllib and raw
sockets as any HTTP client would, the text format checked line by line
(every sample's family has HELP and TYPE, names and units by Prometheus's
conventions, the pause histogram cumulative and ending in +Inf), the
answers to other requests, and what a slow or hostile client cannot do:
hold the loop, grow heapd's memory, or keep a connection past its deadline.
"""

import json
import math
import os
import re
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from heapd_client import (HEAPD, REPO, SANITIZED, TIMEOUT, VALGRIND, Server, ServerTestCase,
                          free_tcp_port, name)

NAME_RE = re.compile(r"^heapd_[a-z_]+$")
# name{label="value",...} value   (heapd writes at most one label)
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([a-z_]+)="((?:[^"\\]|\\.)*)"\})? (\S+)$')
TYPES = ("gauge", "counter", "histogram")
TIMEOUT_S = 5.0  # METRICS_TIMEOUT_MS in daemon/server/metrics.h
REQUEST_MAX = 8192  # METRICS_REQUEST_MAX
MAX_CONNS = 16  # METRICS_MAX_CONNS


def parse_exposition(text, test):
    """Families {name: {"type", "help", "samples": [(name, label, value, number)]}},
    checking the format as it goes: HELP then TYPE before any sample of a
    family, each family once, every sample belonging to the family last
    declared."""
    families = {}
    current = None
    lines = text.split("\n")
    test.assertEqual(lines[-1], "", "the text ends with a newline")
    for line in lines[:-1]:
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            test.assertNotIn(name, families, "family %s declared twice" % name)
            test.assertTrue(help_.strip(), line)
            families[name] = {"help": help_, "type": None, "samples": []}
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, type_ = line[7:].partition(" ")
            test.assertEqual(name, current, "TYPE %s without its HELP just before" % name)
            test.assertIn(type_, TYPES, line)
            families[name]["type"] = type_
            continue
        test.assertFalse(line.startswith("#"), line)
        m = SAMPLE_RE.match(line)
        test.assertIsNotNone(m, "not a sample line: %r" % line)
        sname, label, lvalue, value = m.groups()
        test.assertIsNotNone(current, line)
        fam = families[current]
        test.assertIsNotNone(fam["type"], "sample before TYPE: %r" % line)
        if fam["type"] == "histogram":
            test.assertIn(sname, (current + "_bucket", current + "_sum", current + "_count"), line)
        else:
            test.assertEqual(sname, current, line)
        number = float(value)  # Prometheus's floats: "+Inf" would parse too
        test.assertFalse(math.isnan(number), line)
        fam["samples"].append((sname, label, lvalue, number))
    return families


def check_conventions(families, test):
    for name, fam in families.items():
        test.assertRegex(name, NAME_RE)
        test.assertTrue(fam["samples"], "family %s has no sample" % name)
        if fam["type"] == "counter":
            test.assertTrue(name.endswith("_total"), name)
        else:
            test.assertFalse(name.endswith("_total"), name)
        for unit in ("_us", "_ms", "_ns", "_usec", "_kb", "_mb"):
            test.assertNotIn(unit + "_", name + "_", "not a base unit: " + name)
        for s in fam["samples"]:
            test.assertGreaterEqual(s[3], 0, s)


def check_histogram(fam, name, test):
    buckets = [(s[2], s[3]) for s in fam["samples"] if s[0] == name + "_bucket"]
    test.assertTrue(all(s[1] == "le" for s in fam["samples"] if s[0] == name + "_bucket"))
    sums = [s[3] for s in fam["samples"] if s[0] == name + "_sum"]
    counts = [s[3] for s in fam["samples"] if s[0] == name + "_count"]
    test.assertEqual((len(sums), len(counts)), (1, 1), fam["samples"])
    test.assertGreaterEqual(len(buckets), 2)
    test.assertEqual(buckets[-1][0], "+Inf")
    bounds = [float(le) for le, _ in buckets]
    test.assertEqual(bounds, sorted(set(bounds)), "le increasing")
    values = [v for _, v in buckets]
    test.assertEqual(values, sorted(values), "bucket counts cumulative")
    test.assertEqual(values[-1], counts[0], "+Inf equals _count")
    return dict(zip((le for le, _ in buckets), values)), sums[0], counts[0]


def value(families, name, label_value=None):
    for s in families[name]["samples"]:
        if s[0] == name and (label_value is None or s[2] == label_value):
            return s[3]
    raise KeyError((name, label_value))


def heapd_rss(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class MetricsTestCase(ServerTestCase):
    PORT = free_tcp_port()
    CONFIG = {"metrics": {"listen": "127.0.0.1:%d" % PORT}}

    def url(self, path="/metrics"):
        return "http://127.0.0.1:%d%s" % (self.PORT, path)

    def scrape(self):
        with urllib.request.urlopen(self.url(), timeout=TIMEOUT) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
            body = r.read().decode("utf-8")
            self.assertEqual(int(r.headers["Content-Length"]), len(body.encode("utf-8")))
        families = parse_exposition(body, self)
        check_conventions(families, self)
        return families

    def status_of(self, path="/metrics", method="GET"):
        req = urllib.request.Request(self.url(path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def raw(self, data, timeout=TIMEOUT):
        """What heapd answers to these bytes, read until it closes."""
        with socket.create_connection(("127.0.0.1", self.PORT), timeout=timeout) as s:
            s.sendall(data)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk


class ScrapeTest(MetricsTestCase):

    def test_format_and_conventions(self):
        families = self.scrape()
        for name in ("heapd_objects", "heapd_memory_used_bytes", "heapd_resident_memory_bytes",
                     "heapd_clients", "heapd_commands_total", "heapd_command_errors_total",
                     "heapd_command_seconds_total", "heapd_gc_cycles_total",
                     "heapd_gc_collected_total", "heapd_gc_slices_total",
                     "heapd_gc_pause_seconds", "heapd_persistence_last_save_timestamp_seconds",
                     "heapd_persistence_last_save_duration_seconds",
                     "heapd_persistence_last_save_objects", "heapd_global_names"):
            self.assertIn(name, families)
        self.assertEqual(families["heapd_gc_pause_seconds"]["type"], "histogram")
        self.assertEqual(families["heapd_objects"]["type"], "gauge")
        types = {s[2] for s in families["heapd_objects"]["samples"]}
        self.assertEqual(types, {"NoneType", "bool", "int", "float", "str", "bytes", "tuple", "type", "object", "weakref",
                                 "list", "dict", "set"})
        self.assertEqual({s[1] for s in families["heapd_objects"]["samples"]}, {"type"})
        self.assertGreater(value(families, "heapd_resident_memory_bytes"), 1 << 20)

    def test_every_family_is_documented(self):
        with open(os.path.join(REPO, "man", "heapd.8.scd")) as f:
            page = f.read()
        for name in self.scrape():
            self.assertIn("*%s*" % name, page, "heapd(8) METRICS does not list " + name)

    def test_values_follow_the_server(self):
        c = self.connect()
        for i in range(3):
            c.ok("ping")
        c.ok("bind", "metrics_a", [1, 2, 3])
        c.ok("bind", "metrics_b", {"k": [4]})
        c.ok("bind", "cyc", [])
        c.ok("append", "cyc", name("cyc"))  # a cycle for the collector
        c.err("get", "no_such_name")
        c.ok("unbind", "cyc")
        c.ok("gc_collect")
        stats = c.ok("stats")
        families = self.scrape()
        self.assertGreaterEqual(value(families, "heapd_commands_total", "ping"), 3)
        self.assertGreaterEqual(value(families, "heapd_command_errors_total", "get"), 1)
        self.assertGreater(value(families, "heapd_command_seconds_total", "ping"), 0)
        self.assertEqual(value(families, "heapd_global_names"), len(c.ok("names")))
        self.assertEqual(value(families, "heapd_objects", "list"), stats["objects"]["list"])
        self.assertGreaterEqual(value(families, "heapd_gc_cycles_total"), 1)
        self.assertGreaterEqual(value(families, "heapd_gc_collected_total"), 1)
        self.assertEqual(value(families, "heapd_clients"), stats["clients"]["connected"])
        self.assertEqual(value(families, "heapd_memory_limit_bytes"), 0)
        # one observation per slice, cumulative, and a sum in seconds
        buckets, total, count = check_histogram(families["heapd_gc_pause_seconds"],
                                                "heapd_gc_pause_seconds", self)
        self.assertEqual(count, value(families, "heapd_gc_slices_total"))
        self.assertGreaterEqual(count, stats["gc"]["slices"])
        self.assertGreater(total, 0)
        self.assertLess(total, count * 10.0)
        self.assertEqual(families["heapd_gc_phase"]["type"], "gauge")
        self.assertEqual(sum(s[3] for s in families["heapd_gc_phase"]["samples"]), 1)

    def test_counters_only_grow(self):
        a = self.scrape()
        self.connect().ok("ping")
        b = self.scrape()
        for name, fam in a.items():
            if fam["type"] != "counter":
                continue
            for s in fam["samples"]:
                self.assertGreaterEqual(value(b, name, s[2]), s[3], (name, s))
        self.assertGreater(value(b, "heapd_metrics_scrapes_total"),
                           value(a, "heapd_metrics_scrapes_total"))
        start = value(a, "heapd_start_time_seconds")
        self.assertEqual(start, value(b, "heapd_start_time_seconds"))
        uptime = self.connect().ok("stats", "server")["uptime_s"]
        self.assertLessEqual(abs(time.time() - uptime - start), 2)


class RequestsTest(MetricsTestCase):

    def test_not_found(self):
        for path in ("/", "/metrics/", "/metricsx", "/other", "/METRICS"):
            status, headers, body = self.status_of(path)
            self.assertEqual(status, 404, path)
            self.assertIn(b"/metrics", body)
            self.assertEqual(headers["Connection"], "close")

    def test_query_string_is_ignored(self):
        status, _, body = self.status_of("/metrics?name[]=heapd_clients")
        self.assertEqual(status, 200)
        self.assertIn(b"heapd_clients ", body)

    def test_method_not_allowed(self):
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            status, headers, _ = self.status_of(method=method)
            self.assertEqual(status, 405, method)
            self.assertEqual(headers["Allow"], "GET, HEAD")

    def test_head(self):
        status, headers, body = self.status_of(method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(headers["Content-Length"]), 1000)
        status, headers, body = self.status_of("/nothing", method="HEAD")
        self.assertEqual((status, body), (404, b""))
        out = self.raw(b"HEAD /nothing HTTP/1.0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 404 "), out)
        self.assertTrue(out.endswith(b"\r\n\r\n"), out)  # no body after the headers

    def test_http_1_0_and_bare_newlines(self):
        out = self.raw(b"GET /metrics HTTP/1.0\n\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\r\n"), out[:100])
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Length: %d\r\n" % len(body), head)
        self.assertIn(b"heapd_gc_pause_seconds_count ", body)

    def test_bad_requests(self):
        for req, status in ((b"garbage\r\n\r\n", 400),
                            (b"GET /metrics\r\n\r\n", 400),
                            (b"GET  /metrics HTTP/1.1\r\n\r\n", 400),
                            (b"GET /metrics FTP/1.0\r\n\r\n", 400),
                            (b"GET /met\x00rics HTTP/1.1\r\n\r\n", 400),
                            (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
                            (b"\r\n\r\n", 400)):
            out = self.raw(req)
            self.assertTrue(out.startswith(b"HTTP/1.1 %d " % status), (req, out[:80]))
        self.assertHealthy()

    def test_headers_are_read_before_answering(self):
        # sent in pieces, headers and all: the answer waits for the blank line
        with socket.create_connection(("127.0.0.1", self.PORT), timeout=TIMEOUT) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(0.3)
            with self.assertRaises(socket.timeout):
                s.recv(1)
            s.settimeout(TIMEOUT)
            s.sendall(b"Accept: */*\r\n\r\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK"), out[:80])


class HostileClientTest(MetricsTestCase):

    def test_never_ending_header_is_cut_off(self):
        c = self.connect()
        rss0 = heapd_rss(self.server.proc.pid)
        sent = 0
        out = b""
        with socket.create_connection(("127.0.0.1", self.PORT), timeout=TIMEOUT) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Endless: ")
            try:
                for _ in range(1024):  # up to 64 MiB, if heapd kept reading
                    s.sendall(b"a" * 65536)
                    sent += 65536
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except ConnectionResetError:
                pass
        # heapd answered 431 after its 8 KiB and closed; what the kernel's
        # buffers took meanwhile (a few MiB at most) is all that was sent
        self.assertLess(sent, 16 << 20)
        if out:  # else the reset beat the answer: the client could not read it
            self.assertTrue(out.startswith(b"HTTP/1.1 431 "), out[:80])
        self.assertEqual(c.ok("ping"), "pong")
        if not SANITIZED and not VALGRIND:
            self.assertLess(heapd_rss(self.server.proc.pid) - rss0, 1 << 20)

    def test_silent_client_is_closed_at_the_deadline_without_holding_the_loop(self):
        c = self.connect()
        with socket.create_connection(("127.0.0.1", self.PORT), timeout=TIMEOUT) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never the blank line
            t0 = time.monotonic()
            # the loop answers others meanwhile
            for _ in range(20):
                self.assertEqual(c.ok("ping"), "pong")
            status, _, _ = self.status_of()
            self.assertEqual(status, 200)
            s.settimeout(TIMEOUT_S + TIMEOUT)
            self.assertEqual(s.recv(1), b"")  # closed, without an answer
            waited = time.monotonic() - t0
        self.assertGreater(waited, TIMEOUT_S - 0.5)
        self.assertLess(waited, TIMEOUT_S + (30 if VALGRIND else 3))

    def test_connection_cap(self):
        idle = []
        try:
            for _ in range(MAX_CONNS):
                s = socket.create_connection(("127.0.0.1", self.PORT), timeout=TIMEOUT)
                idle.append(s)
            self.assertEqual(self.connect().ok("ping"), "pong")  # accepted by now
            extra = socket.create_connection(("127.0.0.1", self.PORT), timeout=TIMEOUT)
            with extra:
                self.assertEqual(extra.recv(1), b"")  # closed at once, before the deadline
        finally:
            for s in idle:
                s.close()
        deadline = time.monotonic() + TIMEOUT
        while True:  # the idle ones' slots come back as heapd sees them close
            try:
                families = self.scrape()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.assertGreaterEqual(value(families, "heapd_metrics_refused_total"), 1)


class SettingTest(MetricsTestCase):

    def test_fixed_at_start(self):
        c = self.connect()
        self.assertEqual(c.ok("config_get", "metrics.listen"), "127.0.0.1:%d" % self.PORT)
        self.assertEqual(c.ok("config_get", "metrics"), {"listen": "127.0.0.1:%d" % self.PORT})
        err = c.err("config_set", "metrics.listen", "127.0.0.1:1")
        self.assertEqual(err["type"], "ValueError")
        self.assertIn("metrics.listen", err["message"])
        self.assertEqual(c.ok("config_get", "metrics.listen"), "127.0.0.1:%d" % self.PORT)


def listening_tcp_sockets(pid):
    """The TCP sockets pid listens on (from its fds and /proc/net/tcp*)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                found.append(cols[1])
    return found


class OffByDefaultTest(ServerTestCase):

    def test_nothing_listens(self):
        c = self.connect()
        self.assertIsNone(c.ok("config_get", "metrics.listen"))
        self.assertEqual(listening_tcp_sockets(self.server.proc.pid), [])
        self.assertNotIn("metrics", self.server.stderr_text())

    def test_the_detector_sees_a_listener(self):
        # the check above can fail: with metrics.listen set it finds one
        s = Server({"metrics": {"listen": "127.0.0.1:%d" % free_tcp_port()}}).start()
        try:
            self.assertEqual(len(listening_tcp_sockets(s.proc.pid)), 1)
            self.assertEqual(s.stop(), 0)
        finally:
            s.cleanup()


class ConfigTest(unittest.TestCase):

    def check_config(self, config):
        d = Server(config)
        try:
            path = d.write_file("heapd.json", json.dumps(config))
            return subprocess.run([HEAPD, "--check-config", "--config", path],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=TIMEOUT)
        finally:
            d.cleanup()

    def test_bad_values_name_the_key(self):
        for bad in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "localhost:9411", ":9411",
                    "", "127.0.0.1:x", "::1:9411", 9411, True, ["127.0.0.1:9411"]):
            r = self.check_config({"metrics": {"listen": bad}})
            self.assertEqual(r.returncode, 1, (bad, r.stderr))
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("metrics.listen", lines[0], bad)
        r = self.check_config({"metrics": {"listen": "[::1]:9411"}})
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.check_config({"metrics": {"listen": None}})
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.check_config({"metrics": {"port": 1}})
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("metrics.port", r.stderr)

    def test_stop_does_not_wait_for_metrics_clients(self):
        port = free_tcp_port()
        s = Server({"metrics": {"listen": "127.0.0.1:%d" % port}}).start()
        try:
            idle = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            half = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            half.sendall(b"GET /metrics HTTP/1.1\r\n")
            s.client().ok("ping")  # both accepted by now
            t0 = time.monotonic()
            self.assertEqual(s.stop(), 0, s.stderr_text())
            self.assertLess(time.monotonic() - t0, TIMEOUT_S - 1)  # not the deadline
            for c in (idle, half):
                self.assertEqual(c.recv(1), b"")
                c.close()
        finally:
            s.cleanup()

    def test_port_in_use_stops_startup(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            s = Server({"metrics": {"listen": "127.0.0.1:%d" % port}})
            try:
                with self.assertRaises(RuntimeError) as cm:
                    s.start()
                self.assertIn("metrics.listen: listen on 127.0.0.1:%d" % port, str(cm.exception))
                self.assertEqual(s.proc.returncode, 1)
                self.assertFalse(os.path.exists(s.sock_path))
            finally:
                s.cleanup()


if __name__ == "__main__":
    unittest.main()
