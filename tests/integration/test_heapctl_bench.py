"""heapctl bench (SPEC section 6): every test runs against the real heapd and
prints its figures; --csv has redis-benchmark's columns; -t selects tests;
usage errors exit 2 and a missing server 3; the server is left as found.
bench/compare-redis.sh, with tiny request counts, prints its whole table
(when redis-server and redis-tools are installed, as CI does).

Environment: HEAPCTL, the heapctl binary (default build/heapctl)."""

import csv
import io
import os
import pty
import re
import select
import shutil
import subprocess
import unittest

from heapd_client import HEAPD, REPO, VALGRIND, Server, ServerTestCase, free_tcp_port

HEAPCTL = os.environ.get("HEAPCTL") or os.path.join(REPO, "build", "heapctl")
if not os.path.isabs(HEAPCTL):
    HEAPCTL = os.path.join(REPO, HEAPCTL)

TESTS = ["ping", "bind", "bind_str", "get", "append", "setitem", "getitem",
         "new_release", "mixed"]
LINE = re.compile(r"^(\w+): ([0-9.]+) requests per second, p50=([0-9.]+) msec, "
                  r"p99=([0-9.]+) msec, max=([0-9.]+) msec$")
CSV_HEADER = ["test", "rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms",
              "p95_latency_ms", "p99_latency_ms", "max_latency_ms"]
SMALL = ["-c", "2", "-n", "2000", "-P", "4"]
TIMEOUT = 600 if VALGRIND else 120


def heapctl(*args, timeout=TIMEOUT):
    env = dict(os.environ)
    env.pop("HEAPCTL_AUTH", None)
    return subprocess.run([HEAPCTL] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, env=env)


def parse_lines(text):
    """{test: (rps, p50, p99, max)} of bench's result lines; every line must be one."""
    out = {}
    for line in text.splitlines():
        m = LINE.match(line)
        assert m, "not a result line: %r" % line
        out[m.group(1)] = tuple(float(x) for x in m.groups()[1:])
    return out


class BenchTest(ServerTestCase):

    def bench(self, *args):
        return heapctl("-s", self.server.sock_path, "bench", *args)

    def bench_names(self):
        c = self.connect()
        return [n for n in c.ok("names", "global") if n.startswith("bench:")]

    def assertFigures(self, figures):
        for test, (rps, p50, p99, mx) in figures.items():
            self.assertGreater(rps, 0, test)
            self.assertGreater(p50, 0, test)
            self.assertLessEqual(p50, p99, test)
            self.assertLessEqual(p99, mx, test)

    def test_every_test_prints_figures_and_leaves_the_server_as_found(self):
        c = self.connect()
        c.ok("bind", "mine", [1, 2])
        lists = c.ok("stats", "objects")["list"]
        r = self.bench(*SMALL, "-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        figures = parse_lines(r.stdout)
        self.assertEqual(list(figures), TESTS)
        self.assertFigures(figures)
        self.assertEqual(self.bench_names(), [])
        self.assertIn("mine", c.ok("names", "global"))
        # Every list new() made was released, every bound one unbound.
        self.assertEqual(c.ok("stats", "objects")["list"], lists)
        self.assertHealthy(c)

    def test_csv_has_redis_benchmark_columns(self):
        r = self.bench(*SMALL, "-q", "--csv", "-t", "get,bind")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = list(csv.reader(io.StringIO(r.stdout)))
        self.assertEqual(rows[0], CSV_HEADER)
        self.assertEqual([row[0] for row in rows[1:]], ["bind", "get"])  # default order
        for row in rows[1:]:
            rps, avg, mn, p50, p95, p99, mx = (float(x) for x in row[1:])
            self.assertGreater(rps, 0, row)
            self.assertTrue(0 < mn <= p50 <= p95 <= p99 <= mx, row)
            self.assertTrue(mn <= avg <= mx, row)

    def test_t_runs_only_the_tests_named(self):
        r = self.bench(*SMALL, "-q", "-t", "setitem,new_release")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(list(parse_lines(r.stdout)), ["setitem", "new_release"])
        self.assertEqual(self.bench_names(), [])

    def command_calls(self):
        cmds = self.connect().ok("stats", "commands")
        return {m: cmds.get(m, {}).get("calls", 0) for m in ("new", "release", "append", "pop")}

    def calls_during(self, *args):
        before = self.command_calls()
        r = self.bench("-n", "2000", "-P", "4", "-q", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        after = self.command_calls()
        return {m: after[m] - before[m] for m in after}

    def test_new_release_sends_both_and_counts_both(self):
        # new reserves its release: 1000 of each make the 2000 requests.
        delta = self.calls_during("-c", "2", "-t", "new_release")
        self.assertEqual(delta["new"], 1000)
        self.assertEqual(delta["release"], 1000)

    def test_mixed_rotates_through_six_methods(self):
        # One connection: 2000 = 333 rounds of 6 (bind, get, append, setitem,
        # getitem, pop), then bind and get.
        delta = self.calls_during("-c", "1", "-t", "mixed")
        self.assertEqual(delta["append"], 333)
        self.assertEqual(delta["pop"], 333)

    def test_d_sets_the_str_size(self):
        r = self.bench("-c", "1", "-n", "50", "-q", "-t", "bind_str,get", "-d", "5000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(list(parse_lines(r.stdout)), ["bind_str", "get"])

    def test_an_error_answer_exits_1(self):
        c = self.connect()
        live = c.ok("stats", "objects")["live"]
        c.ok("config_set", "limits.max_objects", live)
        try:
            r = self.bench("-c", "2", "-n", "100", "-q", "-t", "new_release")
        finally:
            c.ok("config_set", "limits.max_objects", 0)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("new_release: new: MemoryError", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertHealthy(c)

    def test_progress_line_only_on_a_terminal(self):
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([HEAPCTL, "-s", self.server.sock_path, "bench", "-c", "1",
                                  "-n", "10", "-t", "ping"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=slave)
            os.close(slave)
            slave = None
            out, _ = p.communicate(timeout=TIMEOUT)
            tty = b""
            while select.select([master], [], [], 0)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                tty += chunk
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(list(parse_lines(out.decode())), ["ping"])
        self.assertRegex(tty, rb"\rping: rps=[0-9.]+ \(overall: [0-9.]+\), [0-9]+% done")
        self.assertTrue(tty.endswith(b"\r"), tty)  # blanked before the result
        # Not a terminal: no progress line at all (as with -q).
        r = self.bench("-c", "1", "-n", "10", "-t", "ping")
        self.assertEqual(r.stderr, "")

    def test_usage_errors_exit_2(self):
        for args in (["--bogus"], ["-c", "0"], ["-c", "x"], ["-n"], ["-P", "-1"],
                     ["-t", "nosuch"], ["-t", "bind,"], ["-d", "99999999"]):
            r = self.bench(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("heapctl bench: "), (args, r.stderr))
            self.assertEqual(r.stdout, "")
        r = self.bench("-n", "1", "-t", "new_release", "-q")
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_help(self):
        r = self.bench("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in TESTS + ["-c CLIENTS", "-n REQUESTS", "-P PIPELINE", "-t TESTS",
                             "-d SIZE", "--csv", "-q"]:
            self.assertIn(word, r.stdout)


class BenchConnectTest(unittest.TestCase):

    def server(self, config=None, args=(), tcp=None):
        s = Server(config, args, tcp)
        self.addCleanup(s.cleanup)
        return s

    def test_missing_socket_exits_3(self):
        r = heapctl("-s", "/nonexistent/heapd.sock", "bench", "-n", "10")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("could not connect to /nonexistent/heapd.sock", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_a_connection_the_server_refuses_exits_1(self):
        s = self.server({"limits": {"max_clients": 2}}).start()
        r = heapctl("-s", s.sock_path, "bench", "-c", "4", "-n", "100", "-q", "-t", "ping")
        self.assertEqual(r.returncode, 1, r.stderr)
        # EOF, or a reset when the server closed with our request unread;
        # either way its last notification says why.
        self.assertRegex(r.stderr, r"ping: connection \d+ lost: "
                         r"(closed by the server|connection reset by peer) "
                         r"\(the server said RuntimeError: too many clients")
        self.assertEqual(s.stop(), 0)

    def test_tcp(self):
        port = free_tcp_port()
        s = self.server(args=["--tcp", "127.0.0.1:%d" % port], tcp=("127.0.0.1", port)).start()
        r = heapctl("-H", "127.0.0.1", "-p", str(port), "bench", *SMALL, "-q", "-t", "ping,get")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(list(parse_lines(r.stdout)), ["ping", "get"])
        self.assertEqual(s.stop(), 0)

    def test_auth_token_is_sent_on_every_connection(self):
        token = "bench-token"
        s = self.server()
        s.config = {"auth": {"token_file": s.write_file("token", token + "\n")}}
        s.start()
        r = heapctl("-s", s.sock_path, "-a", token, "bench", *SMALL, "-q", "-t", "bind,append")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(list(parse_lines(r.stdout)), ["bind", "append"])
        r = heapctl("-s", s.sock_path, "bench", *SMALL, "-q", "-t", "bind")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("AuthError", r.stderr)
        with s.client() as c:
            c.ok("auth", token)
            self.assertEqual([n for n in c.ok("names", "global") if n.startswith("bench:")], [])
        self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()


REDIS_TOOLS = ("redis-server", "redis-benchmark", "redis-cli")
PAIRS = ["SET / bind", "GET / get", "RPUSH / append", "HSET / setitem"]
ROW = re.compile(r"^(\w+ / \w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9.]+)\s")


@unittest.skipUnless(all(shutil.which(t) for t in REDIS_TOOLS),
                     "redis-server and redis-tools not installed")
class CompareRedisTest(unittest.TestCase):
    """A smoke run of bench/compare-redis.sh: both servers answer every
    pair at both depths, so the recorded comparison can be run again."""

    def test_table_has_every_pair_at_each_depth(self):
        env = dict(os.environ, HEAPD=HEAPD, HEAPCTL=HEAPCTL, BENCH_CLIENTS="3",
                   BENCH_PIPELINES="1 16", BENCH_REQUESTS_P1="600",
                   BENCH_REQUESTS_P16="3000")
        env.pop("HEAPCTL_AUTH", None)
        r = subprocess.run(["sh", os.path.join(REPO, "bench", "compare-redis.sh")],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=TIMEOUT, env=env, cwd=REPO)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"heapd \S+ vs Redis \S+, 3 clients, Unix sockets")
        rows = [ROW.match(line) for line in r.stdout.splitlines()]
        got = [(m.group(1), int(m.group(2)), int(m.group(3))) for m in rows if m]
        want = [(p, depth, n) for depth, n in ((1, 600), (16, 3000)) for p in PAIRS]
        self.assertEqual(got, want, r.stdout)
        for m in rows:
            if m:  # both servers' requests per second, and their ratio
                self.assertGreater(int(m.group(4)), 0, m.group(0))
                self.assertGreater(int(m.group(5)), 0, m.group(0))
                self.assertAlmostEqual(float(m.group(6)),
                                       int(m.group(5)) / int(m.group(4)), delta=0.01)
