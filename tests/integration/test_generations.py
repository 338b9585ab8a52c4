"""Generations (the collector as Python's gc module sees it), through the
protocol, with Debian's python3 as the reference: the sequences below were
written down from a run of its gc module (3.11.2), and CPythonReference
runs them again to show they still hold there."""

import subprocess
import unittest

from heapd_client import (VALGRIND, ServerTestCase, name, ref, ref_id,
                          wait_for as _wait_for)

WAIT = 120 if VALGRIND else 10
PYTHON = "/usr/bin/python3"

# One line, so that CPython's interpreter makes no containers in between
# (its own tuples and free lists move count0 between statements).
COUNTS_CODE = ("import gc; gc.disable(); gc.collect(); a = [[], [], []]; c1 = gc.get_count(); "
               "gc.collect(0); c2 = gc.get_count(); b = []; gc.collect(0); c3 = gc.get_count(); "
               "gc.collect(1); c4 = gc.get_count(); gc.collect(); c5 = gc.get_count(); "
               "print([list(c) for c in (c1, c2, c3, c4, c5)])")
COUNTS = [[4, 0, 0], [0, 1, 0], [0, 2, 0], [0, 0, 1], [0, 0, 0]]

# A survivor moves up a generation per collection of its own; a
# self-referencing list dies in generation 0; old garbage waits for an
# older collection.
PROMOTION_CODE = (
    "import gc; gc.disable(); gc.collect(); x = [];\n"
    "def where(o): return [g for g in range(3) if any(p is o for p in gc.get_objects(g))]\n"
    "w0 = where(x); gc.collect(0); w1 = where(x); gc.collect(0); w2 = where(x);"
    " gc.collect(1); w3 = where(x)\n"
    "s = []; s.append(s); del s; n0 = gc.collect(0)\n"
    "c = [[]]; c[0].append(c); gc.collect(0); del c; m0 = gc.collect(0); m1 = gc.collect(1)\n"
    "print([w0, w1, w2, w3, n0, m0, m1])")
PROMOTION = [[0], [1], [1], [2], 1, 0, 2]

FREEZE_CODE = ("import gc; gc.disable(); gc.collect(); s = []; s.append(s); del s; gc.freeze(); "
               "n = gc.collect(); f = gc.get_freeze_count() > 0; gc.unfreeze(); m = gc.collect(); "
               "print([n, f, m])")
FREEZE = [0, True, 1]


def where(c, r):
    """The generations whose gc_get_objects lists r."""
    return [g for g in range(3) if ref_id(r) in {ref_id(o) for o in c.ok("gc_get_objects", g)}]


class CPythonReference(unittest.TestCase):
    """The written-down sequences are what Debian's python3 prints."""

    def run_python(self, code):
        out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return eval(out.stdout)  # a list of ints, lists and bools we printed

    def test_sequences(self):
        self.assertEqual(self.run_python(COUNTS_CODE), COUNTS)
        self.assertEqual(self.run_python(PROMOTION_CODE), PROMOTION)
        self.assertEqual(self.run_python(FREEZE_CODE), FREEZE)


class GenerationsTest(ServerTestCase):
    """Each test turns automatic collection off, so that only its own
    collections run (as gc.disable() in the reference runs)."""

    def setUp(self):
        super().setUp()
        self.c = self.connect()
        self.c.ok("gc_disable")
        self.c.ok("gc_collect")

    def tearDown(self):
        self.c.ok("gc_set_debug", [])
        self.c.ok("gc_unfreeze")
        self.c.ok("gc_enable")
        super().tearDown()

    def test_counts_as_cpython(self):
        c = self.c
        seen = []
        c.ok("bind", "a", [[], [], []])
        seen.append(c.ok("gc_get_count"))
        c.ok("gc_collect", 0)
        seen.append(c.ok("gc_get_count"))
        c.ok("bind", "b", [])
        c.ok("gc_collect", 0)
        seen.append(c.ok("gc_get_count"))
        c.ok("gc_collect", 1)
        seen.append(c.ok("gc_get_count"))
        c.ok("gc_collect")
        seen.append(c.ok("gc_get_count"))
        self.assertEqual(seen, COUNTS)
        c.ok("unbind", "a")
        c.ok("unbind", "b")

    def test_promotion_and_young_collections_as_cpython(self):
        c = self.c
        x = c.ok("bind", "x", [])
        w = [where(c, x)]
        c.ok("gc_collect", 0)
        w.append(where(c, x))
        c.ok("gc_collect", 0)
        w.append(where(c, x))
        c.ok("gc_collect", 1)
        w.append(where(c, x))
        c.ok("bind", "s", [])
        c.ok("append", "s", name("s"))
        c.ok("unbind", "s")
        n0 = c.ok("gc_collect", 0)
        c.ok("bind", "cy", [[]])
        c.ok("append", c.ok("getitem", "cy", 0), name("cy"))
        c.ok("gc_collect", 0)
        c.ok("unbind", "cy")
        m0 = c.ok("gc_collect", 0)
        m1 = c.ok("gc_collect", 1)
        self.assertEqual(w + [n0, m0, m1], PROMOTION)
        self.assertEqual(c.ok("gc_is_tracked", "x"), True)
        self.assertEqual(c.ok("gc_is_tracked", ref(ref_id(c.ok("bind", "i", 1000)))), False)
        c.ok("unbind", "x")
        c.ok("unbind", "i")
        self.assertHealthy(c)

    def test_freeze_as_cpython(self):
        c = self.c
        c.ok("bind", "s", [])
        c.ok("append", "s", name("s"))
        c.ok("unbind", "s")
        c.ok("gc_freeze")
        n = c.ok("gc_collect")
        f = c.ok("gc_get_freeze_count") > 0
        self.assertEqual(c.ok("stats", "gc")["frozen"], c.ok("gc_get_freeze_count"))
        self.assertHealthy(c)
        c.ok("gc_unfreeze")
        m = c.ok("gc_collect")
        self.assertEqual([n, f, m], FREEZE)
        self.assertEqual(c.ok("gc_get_freeze_count"), 0)

    def test_stats_per_generation(self):
        c = self.c
        before = c.ok("gc_get_stats")
        c.ok("bind", "s", [])
        c.ok("append", "s", name("s"))
        c.ok("unbind", "s")
        self.assertEqual(c.ok("gc_collect", 0), 1)
        after = c.ok("gc_get_stats")
        self.assertEqual(after[0]["collections"], before[0]["collections"] + 1)
        self.assertEqual(after[0]["collected"], before[0]["collected"] + 1)
        self.assertEqual([g["uncollectable"] for g in after], [0, 0, 0])
        st = c.ok("stats", "gc")
        self.assertEqual(st["gen0_collections"], after[0]["collections"])
        self.assertEqual(st["gen2_collections"], after[2]["collections"])
        self.assertEqual((st["gen0_threshold"], st["gen1_threshold"], st["gen2_threshold"]),
                         (700, 10, 10))
        self.assertIs(st["generational"], True)

    def test_saveall_keeps_garbage_in_gc_garbage(self):
        c = self.c
        c.ok("gc_set_debug", ["saveall"])
        self.assertEqual(c.ok("gc_get_debug"), ["saveall"])
        s = c.ok("bind", "s", [1])
        c.ok("append", "s", name("s"))
        c.ok("unbind", "s")
        self.assertEqual(c.ok("gc_collect"), 1)
        garbage = c.ok("gc_garbage")
        self.assertEqual(c.ok("len", garbage), 1)
        self.assertTrue(c.ok("is", c.ok("getitem", garbage, 0), s))
        self.assertEqual(c.ok("getitem", s, 0), 1)  # still there to inspect
        self.assertHealthy(c)
        c.ok("gc_set_debug", [])
        c.ok("clear", garbage)
        self.assertEqual(c.ok("gc_collect"), 1)
        self.assertError(c.err("get", s), "ReferenceError")  # freed

    def test_get_objects_pages_see_each_container_once(self):
        c = self.c
        c.ok("bind", "many", [[i] for i in range(300)])
        c.ok("gc_collect")  # all old now
        everything = {ref_id(r) for r in c.ok("gc_get_objects", 2)}
        cursor, paged, pages = 0, [], 0
        while True:
            cursor, refs = c.ok("gc_get_objects", 2, {"cursor": cursor, "count": 25})
            paged += [ref_id(r) for r in refs]
            pages += 1
            if cursor == 0:
                break
        self.assertEqual(len(paged), len(set(paged)))
        self.assertEqual(set(paged), everything)
        self.assertGreaterEqual(len(everything), 301)
        self.assertGreaterEqual(pages, 301 // 25)
        self.assertEqual(c.ok("gc_get_objects", 0), [])
        c.ok("unbind", "many")

    def test_bad_arguments_change_nothing(self):
        c = self.c
        self.assertError(c.err("gc_collect", 3), "ValueError", "invalid generation")
        self.assertError(c.err("gc_collect", "x"), "TypeError")
        self.assertError(c.err("gc_get_objects", 3), "ValueError")
        self.assertError(c.err("gc_get_objects", None, {"cursor": -1}), "TypeError")
        self.assertError(c.err("gc_get_objects", None, {"count": 0}), "ValueError")
        self.assertError(c.err("gc_get_objects", None, {"nope": 1}), "ValueError")
        self.assertError(c.err("gc_get_objects", None, {"cursor": 1 << 40}), "ValueError")
        self.assertError(c.err("gc_set_debug", "saveall"), "TypeError")
        self.assertError(c.err("gc_set_debug", ["saveall", "leak"]), "ValueError")
        self.assertEqual(c.ok("gc_get_debug"), [])
        self.assertError(c.err("gc_set_threshold", 1, 2, 3, 4), "TypeError")
        self.assertEqual(c.ok("gc_get_threshold"), [700, 10, 10])
        self.assertHealthy(c)


class AutomaticTest(ServerTestCase):
    """Automatic young collections: the "gc" channel sees each start and
    stop with its generation, and generation 1 runs every threshold1 + 1."""

    CONFIG = {"gc": {"threshold": [50, 2, 1000]}}

    def test_young_collections_start_and_stop(self):
        c = self.connect()
        c.ok("subscribe", "gc")
        for i in range(40):  # kept: allocations minus deallocations grow
            c.ok("bind", "g%d" % i, [[] for _ in range(60)])  # 61 containers each
        def enough():  # events are read while an answer is awaited
            c.ok("ping")
            return len([e for e in c.events if e[1] == "gc"]) >= 8
        self.assertTrue(_wait_for(enough, WAIT))
        infos = [e[2][0] for e in c.events if e[1] == "gc"]
        for start, stop in zip(infos[::2], infos[1::2]):
            self.assertEqual(start["phase"], "start")
            self.assertEqual(stop["phase"], "stop")
            self.assertEqual(start["generation"], stop["generation"])
        gens = [i["generation"] for i in infos if i["phase"] == "start"]
        self.assertIn(0, gens)
        self.assertIn(1, gens)
        self.assertNotIn(2, gens)
        self.assertHealthy(c)


class NotGenerationalTest(ServerTestCase):
    """gc.generational = false: the full collection alone, as before."""

    CONFIG = {"gc": {"generational": False, "threshold": 100, "heap_fraction": 0}}

    def test_cycles_are_collected_without_young_collections(self):
        c = self.connect()
        self.assertIs(c.ok("config_get", "gc.generational"), False)
        for i in range(50):
            c.ok("bind", "s", [i])
            c.ok("append", "s", name("s"))
        c.ok("unbind", "s")
        self.assertTrue(_wait_for(lambda: c.ok("stats", "gc")["collected"] >= 50, WAIT))
        st = c.ok("stats", "gc")
        self.assertEqual((st["gen0_collections"], st["gen1_collections"]), (0, 0))
        self.assertGreater(st["gen2_collections"], 0)
        self.assertHealthy(c)


if __name__ == "__main__":
    unittest.main()
