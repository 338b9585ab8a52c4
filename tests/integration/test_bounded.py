"""Bounded output (SPEC section 9): an answer stops at
limits.max_output_bytes while it is being encoded, and a client's unsent
output never exceeds that limit by more than one answer before heapd stops
reading from it. Memory is read from /proc/PID/status; nothing is timed."""

import threading
import time

from heapd_client import (wait_for, RESPONSE, SANITIZED, VALGRIND, ServerTestCase, name, packb,
                          request, tuple_, set_)

# RSS is heapd's own only without valgrind and ASan
MEASURE_RSS = not (VALGRIND or SANITIZED)

MIB = 1 << 20
TOO_LARGE = "response larger than limits.max_output_bytes"


def proc_kib(pid, field):
    """VmRSS or VmHWM of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class EncodeBudgetTest(ServerTestCase):
    """L0 = [1]*100; Lk = [L(k-1)]*100: four small lists whose value is 100 MB
    (L3), 10 GB (L4). The encoder stops at the limit."""

    CONFIG = {"limits": {"max_output_bytes": MIB}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        k = cls.keeper = cls.server.client()
        k.ok("bind", "L0", [1] * 100)
        for i in range(1, 5):
            k.ok("bind", "L%d" % i, [name("L%d" % (i - 1))] * 100)

    @classmethod
    def tearDownClass(cls):
        cls.keeper.close()
        super().tearDownClass()

    def assertTooLarge(self, err):
        self.assertError(err, "MemoryError", TOO_LARGE)

    def test_get_stops_at_the_limit(self):
        c = self.connect()
        pid = self.server.proc.pid
        self.assertEqual(c.ok("get", "L2"), [[[1] * 100] * 100] * 100)  # 1,010,303 bytes: fits
        hwm = proc_kib(pid, "VmHWM")
        for n in ("L3", "L4", "L3"):
            self.assertTooLarge(c.err("get", n))
        self.assertTooLarge(c.err("get", "L4", 3))
        self.assertTrue(is_ref_list(c.ok("get", "L4", 1)))  # shallow: 100 refs
        if MEASURE_RSS:  # the 100 MB answer was never built (before: aborted at L4)
            self.assertLess(proc_kib(pid, "VmHWM") - hwm, 8 * 1024)
        # the connection goes on, in order
        self.assertEqual(c.pipeline([("get", "L3"), ("ping", 1), ("get", "L0")])[1:],
                         [(None, 1), (None, [1] * 100)])
        self.assertEqual(c.events, [])
        self.assertHealthy(c)

    def test_failed_answers_are_counted_and_change_nothing(self):
        c = self.connect()
        before = c.ok("stats", "commands")["get"]["errors"]
        refs = c.ok("refcount", "L2")
        self.assertTooLarge(c.err("get", "L3"))
        self.assertEqual(c.ok("stats", "commands")["get"]["errors"], before + 1)
        self.assertEqual(c.ok("refcount", "L2"), refs)

    def test_a_notification_is_bounded_too(self):
        c = self.connect()
        c.notify("get", "L4")
        c.notify("get", "L4")
        self.assertEqual(c.ok("ping", "after"), "after")
        self.assertEqual(c.events, [])

    def test_tuples_and_sets_count_while_packed(self):
        c = self.connect()
        # each payload is a buffer of its own: its bytes count as it grows
        c.ok("bind", "T", tuple_(*[name("L1")] * 200))  # 2 MB inside one ext 2
        self.assertTooLarge(c.err("get", "T"))
        c.ok("bind", "S", set_(tuple_(*["a" * 1000] * 600), tuple_(*["b" * 1000] * 600)))
        self.assertTooLarge(c.err("get", "S"))  # 1.2 MB in two tuples in one set
        c.ok("bind", "T2", tuple_(*[name("L1")] * 100))
        l1 = len(packb([[1] * 100] * 100))
        self.assertEqual(len(c.ok("get", "T2").data), 3 + 100 * l1)  # fits: nothing counted twice
        for n in ("T", "S", "T2"):
            c.ok("unbind", n)

    def test_pop_too_large_pops_nothing(self):
        c = self.connect()
        c.ok("bind", "pl", [name("L3"), name("L0")])
        c.ok("bind", "pd", {"k": name("L3")})
        c.ok("bind", "ps", set_(tuple_(*["x" * 1000] * 2000)))  # a 2 MB member
        refs = c.ok("refcount", "L3")
        self.assertTooLarge(c.err("pop", "pl", 0))
        self.assertTooLarge(c.err("pop", "pd", "k"))
        self.assertTooLarge(c.err("pop", "ps"))
        self.assertEqual(c.ok("len", "pl"), 2)
        self.assertEqual(c.ok("len", "pd"), 1)
        self.assertEqual(c.ok("len", "ps"), 1)
        self.assertEqual(c.ok("refcount", "L3"), refs)
        self.assertEqual(c.ok("pop", "pl"), [1] * 100)  # a small one still pops
        self.assertError(c.err("pop", "pd", "nokey"), "KeyError", "'nokey'")
        for n in ("pl", "pd", "ps"):
            c.ok("unbind", n)
        self.assertHealthy(c)

    def test_the_limit_is_read_per_request(self):
        c = self.connect()
        c.ok("config_set", "limits.max_output_bytes", 512 * 1024)
        try:
            self.assertTooLarge(c.err("get", "L2"))
        finally:
            c.ok("config_set", "limits.max_output_bytes", MIB)
        self.assertEqual(len(c.ok("get", "L2")), 100)


def is_ref_list(v):
    return isinstance(v, list) and len(v) == 100 and all(getattr(x, "code", 0) == 1 for x in v)


class OutputLimitTest(ServerTestCase):
    """Output limits are checked after each request, not after each batch:
    one write of 4,000 pipelined gets of a 60 KB list, limit 1 MiB."""

    CONFIG = {"limits": {"max_output_bytes": MIB}}
    N = 4000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        k = cls.keeper = cls.server.client()
        cls.value = ["%058d" % i for i in range(1000)]  # 60,003 bytes packed
        k.ok("bind", "big60", cls.value)

    @classmethod
    def tearDownClass(cls):
        cls.keeper.close()
        super().tearDownClass()

    def test_a_client_that_does_not_read_holds_one_limit(self):
        c = self.connect()
        pid = self.server.proc.pid
        rss = proc_kib(pid, "VmRSS")
        c.send_raw(b"".join(request(i, "get", "big60") for i in range(self.N)))
        # heapd runs requests until the unsent output is over 1 MiB, then
        # stops reading from this client (before: 231 MB, then dropped)
        self.assertTrue(wait_for(lambda: self.keeper.ok("stats", "commands")
                                 .get("get", {}).get("calls", 0) >= 17))
        time.sleep(0.3)
        calls = self.keeper.ok("stats", "commands")["get"]["calls"]
        self.assertLess(calls, 60)  # kernel buffers take a few more, not thousands
        if MEASURE_RSS:
            self.assertLess(proc_kib(pid, "VmRSS") - rss, 8 * 1024)
        self.assertEqual(self.keeper.ok("ping", "others"), "others")  # others are served
        # it was not dropped: reading now, it gets every answer, in order
        for i in range(self.N):
            self.assertEqual(c.recv_msg(), [RESPONSE, i, None, self.value])
        self.assertEqual(c.ok("ping", "done"), "done")
        self.assertEqual(self.keeper.ok("stats", "clients")["slow_disconnected"], 0)
        if MEASURE_RSS:
            self.assertLess(proc_kib(pid, "VmHWM") - rss, 16 * 1024)

    def test_a_reading_client_gets_every_answer_in_order(self):
        c = self.connect()
        pid = self.server.proc.pid
        hwm = proc_kib(pid, "VmHWM")
        calls = []
        for i in range(self.N):
            calls.append(("get", "big60") if i % 3 == 0 else ("ping", i))
        got = []

        def read():
            for _ in range(self.N):
                got.append(c.recv_msg())

        t = threading.Thread(target=read)
        t.start()
        # sent while it reads, in several writes that heapd cannot all take at once
        for j in range(0, self.N, 500):
            c.send_raw(b"".join(request(i, *calls[i]) for i in range(j, min(j + 500, self.N))))
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(len(got), self.N)
        for i, msg in enumerate(got):
            self.assertEqual(msg, [RESPONSE, i, None, self.value if i % 3 == 0 else i])
        if MEASURE_RSS:
            self.assertLess(proc_kib(pid, "VmHWM") - hwm, 16 * 1024)

class EventsPastTheLimitTest(ServerTestCase):
    """Events cannot wait for a client to read: one whose unsent output
    keeps growing past twice the limit is disconnected."""

    CONFIG = {"limits": {"max_output_bytes": 65536}}

    def test_events_past_twice_the_limit_drop_a_client_that_never_reads(self):
        k = self.connect()
        w = self.connect()
        n = 20000
        k.ok("bind", "watched", [[i] for i in range(n)])
        refs = []  # a thousand at a time: answers read as they come
        for j in range(0, n, 1000):
            refs += [r for _, r in k.pipeline([("getitem", "watched", i)
                                               for i in range(j, j + 1000)])]
        for j in range(0, n, 1000):  # read as it goes: these answers do not pile up
            w.pipeline([("watch", r) for r in refs[j:j + 1000]])
        before = k.ok("stats", "clients")["slow_disconnected"]
        k.ok("unbind", "watched")  # 20,000 "freed" events, 600 KB, never read
        self.assertTrue(wait_for(
            lambda: k.ok("stats", "clients")["slow_disconnected"] == before + 1))
        self.assertHealthy(k)


class StopWithAPausedClientTest(ServerTestCase):
    """A client that never reads does not hold up heapd's stop."""

    CONFIG = {"limits": {"max_output_bytes": 65536}}

    def test_sigterm_with_a_paused_client(self):
        k = self.connect()
        k.ok("bind", "v", ["x" * 100] * 500)  # 51 KB answers
        c = self.connect()
        c.send_raw(request(1, "get", "v") * 200)
        self.assertTrue(wait_for(
            lambda: k.ok("stats", "commands").get("get", {}).get("calls", 0) >= 2))
        time.sleep(0.2)
        self.assertLess(k.ok("stats", "commands")["get"]["calls"], 50)  # paused
        self.assertEqual(k.ok("stats", "commands")["get"]["errors"], 0)
        self.assertEqual(self.server.stop(), 0)
