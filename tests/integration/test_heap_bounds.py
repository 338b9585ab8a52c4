"""SPEC section 9, the parts that live in the heap: `scan` (names a page at
a time, surviving binds and unbinds meanwhile), frames and sessions that
close in slices, and the collector's root scan over many names. Each test
asserts answers and counts, never timings (bench/stall.py measures those)."""

import unittest

from heapd_client import (VALGRIND, ServerTestCase, name, request, set_, tuple_,
                          wait_for as _wait_for)

SCALE = 10 if VALGRIND else 1  # heapd under valgrind is some 30 times slower
WAIT = 120 if VALGRIND else 10


def wait_for(pred, timeout=WAIT):
    return _wait_for(pred, timeout)


def scan_all(c, scope="global", **opts):
    """Every name a full scan returns, and the number of steps it took."""
    cursor, seen, steps = 0, [], 0
    while True:
        cursor, names = c.ok("scan", scope, cursor, opts)
        seen += names
        steps += 1
        if cursor == 0:
            return seen, steps


def bind_many(c, n, prefix="n", value=None):
    for start in range(0, n, 2000):
        c.pipeline([("bind", "%s%d" % (prefix, i), i if value is None else value)
                    for i in range(start, min(n, start + 2000))])


class ScanTest(ServerTestCase):

    def test_scan_returns_every_name_in_pages(self):
        c = self.connect()
        n = 5000 // SCALE
        bind_many(c, n, "s")
        seen, steps = scan_all(c, count=n // 50)
        names = {x for x in seen if x.startswith("s")}
        self.assertEqual(names, {"s%d" % i for i in range(n)})
        self.assertGreater(steps, 10)  # pages, not one answer
        self.assertEqual(len(seen), len(set(seen)))  # no growth: no repeats

    def test_names_bound_throughout_survive_binds_and_unbinds_meanwhile(self):
        c = self.connect()
        bind_many(c, 3000, "keep")
        bind_many(c, 3000, "drop")
        cursor, seen, i = 0, set(), 0
        while True:
            cursor, names = c.ok("scan", "global", cursor, {"count": 200})
            seen.update(names)
            # the table grows past its size (twice) and loses entries
            # mid-iteration, slower than the scan moves on
            c.pipeline([("bind", "grow%d_%d" % (i, k), k) for k in range(100)])
            c.pipeline([("unbind", "drop%d" % k, {"scope": "global"})
                        for k in range(i * 30, min(3000, i * 30 + 30))])
            i += 1
            if cursor == 0:
                break
        self.assertTrue({"keep%d" % k for k in range(3000)} <= seen)
        self.assertGreater(i * 100, 12000)  # it grew past 16 k slots meanwhile
        self.assertHealthy(c)

    def test_match_and_count_options(self):
        c = self.connect()
        c.ok("bind", "user:1", 1)
        c.ok("bind", "user:2", 2)
        c.ok("bind", "usér:3", 3)
        c.ok("bind", "other", 4)
        seen, _ = scan_all(c, match="us?r:*")
        self.assertEqual(sorted(seen), ["user:1", "user:2", "usér:3"])
        seen, _ = scan_all(c, match="user:[2-9]")
        self.assertEqual(seen, ["user:2"])
        self.assertError(c.err("scan", "global", 0, {"count": 0}), "ValueError")
        self.assertError(c.err("scan", "global", 0, {"bogus": 1}), "ValueError")
        self.assertError(c.err("scan", "global", -1), "ValueError")
        self.assertError(c.err("scan", "everywhere", 0), "ValueError")
        self.assertError(c.err("scan", "global", 0, {"match": 5}), "TypeError")

    def test_local_scope(self):
        c = self.connect()
        self.assertEqual(c.ok("scan", "local", 0), [0, []])  # no frame open
        c.ok("push_scope")
        c.pipeline([("bind", "loc%d" % i, i) for i in range(300)])
        seen, _ = scan_all(c, "local")
        self.assertEqual(sorted(seen), sorted("loc%d" % i for i in range(300)))
        c.ok("pop_scope")


class ClosingInSlicesTest(ServerTestCase):
    """A frame or a session with many names closes at once for lookups; its
    references are released in slices, and the checker holds between."""

    def test_pop_scope_of_a_big_frame(self):
        c = self.connect()
        c.ok("push_scope")
        n = 20000 // SCALE  # more than the 1024 released at once
        for start in range(0, n, 1000):
            c.pipeline([("bind", "f%d" % i, [i]) for i in range(start, start + 1000)])
        c.pipeline([("bind", "s%d" % i, ["x"]) for i in range(10)])
        live = c.ok("stats", "objects")["live"]
        self.assertEqual(c.ok("pop_scope"), n + 10)
        self.assertError(c.err("lookup", "f1"), "NameError")
        self.assertEqual(c.ok("names", "local"), [])
        self.assertHealthy(c)  # counts exact while (or after) it releases
        wait_for(lambda: c.ok("stats", "refcount")["pending"] == 0)
        # each [i] and ["x"] goes; ints past 256 go with theirs
        self.assertLessEqual(c.ok("stats", "objects")["live"], live - (n + 10))
        self.assertHealthy(c)

    def test_a_session_ending_with_many_handles(self):
        c = self.connect()
        c.ok("bind", "keep", [])
        other = self.connect()
        n = 20000 // SCALE
        for start in range(0, n, 1000):
            other.pipeline([("new", {"k": i}) for i in range(start, start + 1000)])
        live = c.ok("stats", "objects")["live"]
        other.close()
        wait_for(lambda: c.ok("stats", "clients")["connected"] == 1)
        self.assertHealthy(c)
        wait_for(lambda: c.ok("stats", "refcount")["pending"] == 0)
        # each dict {"k": i}: the dict and, past 256, its int
        self.assertLessEqual(c.ok("stats", "objects")["live"], live - n)
        self.assertHealthy(c)


class RootScanTest(ServerTestCase):
    """Collector cycles over many names run in slices and keep everything
    reachable, whatever clients bind meanwhile."""

    # full collections only: the root scan is theirs
    CONFIG = {"gc": {"threshold": 100, "heap_fraction": 0, "generational": False}}

    def test_cycles_over_many_names_keep_what_names_reach(self):
        c = self.connect()
        n = 30000 // SCALE
        for start in range(0, n, 1000):
            c.pipeline([("bind", "r%d" % i, [[i]]) for i in range(start, start + 1000)])
        before = c.ok("gc_stats")["cycles"]
        for k in range(200):  # garbage cycles while names move
            c.ok("bind", "tmp", [[]])
            c.ok("append", "tmp", name("tmp"))
            c.ok("unbind", "tmp")
            c.ok("unbind", "r%d" % (k * 7))
            c.ok("bind", "r%d" % (k * 7), [[k]])
        self.assertTrue(wait_for(lambda: c.ok("gc_stats")["cycles"] > before + 1))
        wait_for(lambda: c.ok("gc_stats")["phase"] == "idle")
        self.assertGreater(c.ok("gc_stats")["collected"], 0)
        self.assertHealthy(c)
        for i in range(0, n, 997 // SCALE):
            v = c.ok("get", "r%d" % i)
            self.assertIsInstance(v, list)
        self.assertHealthy(c)


if __name__ == "__main__":
    unittest.main()


class FailedRequestsLeaveNothingTest(ServerTestCase):
    """A failed request changes nothing, interned objects included."""

    def strs(self, c):
        return c.ok("stats", "objects")["str"]

    def test_no_interned_key_outlives_a_failed_setitem(self):
        c = self.connect()
        c.ok("bind", "d", {})
        live = c.ok("stats", "objects")["live"]
        strs = self.strs(c)
        c.ok("config_set", "limits.max_objects", live + 5)
        try:
            for _ in range(3):  # "each time": nothing accumulates
                self.assertError(c.err("setitem", "d", "fresh_key", list(range(300, 400))),
                                 "MemoryError")
                self.assertError(c.err("setitem", "d", tuple_("fresh3", 1),
                                       list(range(300, 400))), "MemoryError")
            self.assertError(c.err("setitem", "d", tuple_("fresh2", []), 1), "TypeError")
            self.assertError(c.err("add", "d", "fresh4"), "TypeError")
        finally:
            c.ok("config_set", "limits.max_objects", 0)
        # failing after the key was built: the lookup finds nothing
        c.ok("bind", "s", set_())
        self.assertError(c.err("pop", "d", "fresh5"), "KeyError")
        self.assertError(c.err("delitem", "d", tuple_("fresh6", 7)), "KeyError")
        self.assertError(c.err("remove", "s", "fresh7"), "KeyError")
        try:
            pass
        finally:
            c.ok("config_set", "limits.max_objects", 0)
        self.assertEqual(self.strs(c), strs)
        self.assertEqual(c.ok("stats", "objects")["live"], live + 1)  # the set s
        self.assertEqual(c.ok("len", "d"), 0)
        self.assertHealthy(c)

    def test_a_successful_request_keeps_its_interned_str(self):
        c = self.connect()
        c.ok("bind", "d2", {})
        strs = self.strs(c)
        c.ok("setitem", "d2", "kept_key", 1)
        c.ok("delitem", "d2", "kept_key")
        self.assertEqual(self.strs(c), strs + 1)  # interned: it stays, as in Python
        c.ok("bind", "k1", "kept_key")
        c.ok("bind", "k2", "kept_key")
        self.assertIs(c.ok("is", "k1", "k2"), True)


class CollectedCountTest(ServerTestCase):
    """gc_stats.collected counts every garbage container an automatic
    cycle reclaims, those its cascade frees included, as gc_collect does."""

    CONFIG = {"gc": {"threshold": 1000, "heap_fraction": 0}}

    def test_automatic_cycle_counts_all_it_frees(self):
        c = self.connect()
        c.ok("gc_disable")
        c.ok("gc_collect")
        n = 20000 // SCALE
        c.ok("bind", "g", [[i] for i in range(n)])  # n + 1 containers
        c.ok("append", "g", name("g"))              # a cycle through them all
        before = c.ok("gc_stats")["collected"]
        c.ok("unbind", "g")
        c.ok("gc_enable")
        self.assertTrue(wait_for(lambda: c.ok("gc_stats")["collected"] >= before + n + 1))
        wait_for(lambda: c.ok("gc_stats")["phase"] == "idle"
                 and c.ok("stats", "refcount")["pending"] == 0)
        self.assertEqual(c.ok("gc_stats")["collected"], before + n + 1)
        self.assertHealthy(c)


class FairTurnsTest(ServerTestCase):
    """A client that pipelines many requests runs them a slice at a time:
    another client's request is answered before the pipeline is done."""

    def test_a_ping_overtakes_a_long_pipeline(self):
        a, b = self.connect(), self.connect()
        a.ok("bind", "big", list(range(300, 3300)))
        n = 3000 // SCALE
        ids = []
        buf = bytearray()
        for _ in range(n):
            msgid = a._msgid()
            ids.append(msgid)
            buf += request(msgid, "get", "big")
        a.send_raw(bytes(buf))
        self.assertEqual(b.ok("ping"), "pong")
        served = b.ok("stats", "commands")["get"]["calls"]
        self.assertLess(served, n)  # b did not wait for all of a's
        for msgid in ids:  # and a gets every answer, in order
            msg = a.recv_response(msgid)
            self.assertIsNone(msg[2])
        self.assertEqual(b.ok("stats", "commands")["get"]["calls"], n)
