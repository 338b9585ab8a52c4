"""Seeing the heap (SPEC section 11): why_alive, the shortest chain of
references from a root to an object, and memory_usage, what an object holds
counting what it reaches, bounded per call."""

import unittest

from heapd_client import ServerTestCase, name, ref, ref_id, set_, tuple_


class WhyAliveTest(ServerTestCase):

    def test_global_name_holds_it(self):
        c = self.connect()
        r = c.ok("bind", "why_g", [1, 2])
        self.assertEqual(c.ok("why_alive", ref(ref_id(r))), [["global", "why_g"]])
        self.assertEqual(c.ok("why_alive", "why_g"), [["global", "why_g"]])

    def test_chain_through_list_and_dict_key(self):
        c = self.connect()
        c.ok("bind", "why_x", [0, 1, {"k": ["deep"]}])
        d = c.ok("getitem", "why_x", 2)
        inner = c.ok("getitem", d, "k")
        chain = c.ok("why_alive", inner)
        self.assertEqual(chain[0], ["global", "why_x"])
        self.assertEqual(len(chain), 3, chain)
        lst = c.ok("lookup", "why_x")
        self.assertEqual(ref_id(chain[1][0]), ref_id(lst))
        self.assertEqual(chain[1][1], 2)
        self.assertEqual(ref_id(chain[2][0]), ref_id(d))
        self.assertEqual(chain[2][1], "k")
        self.assertEqual(c.ok("type", chain[2][0]), "dict")

    def test_shortest_chain_wins(self):
        c = self.connect()
        c.ok("bind", "why_far", [[[["t"]]]])
        far = c.ok("get", "why_far", 4)
        t = c.ok("getitem", c.ok("getitem", c.ok("getitem", "why_far", 0), 0), 0)
        self.assertEqual(len(c.ok("why_alive", t)), 4)
        c.ok("bind", "why_near", [t])
        self.assertEqual(c.ok("why_alive", t), [["global", "why_near"], [c.ok("lookup", "why_near"), 0]])
        self.assertTrue(far)

    def test_set_member_and_dict_key_steps(self):
        c = self.connect()
        c.ok("bind", "why_set", set_(tuple_(2, "z")))
        st = c.ok("lookup", "why_set")
        member = c.ok("gc_get_referents", st)[0]
        self.assertEqual(c.ok("type", member), "tuple")
        self.assertEqual(c.ok("why_alive", member), [["global", "why_set"], [st, member, "key"]])
        # a dict's key (the reference is the key itself) and a tuple's item
        c.ok("bind", "why_dk", {})
        c.ok("setitem", "why_dk", tuple_(3, "k"), "v")
        dk = c.ok("lookup", "why_dk")
        key = c.ok("gc_get_referents", dk)[0]
        self.assertEqual(c.ok("why_alive", key), [["global", "why_dk"], [dk, key, "key"]])

    def test_local_frame_root(self):
        c = self.connect()
        session = c.ok("hello")["session"]
        self.assertEqual(c.ok("push_scope"), 1)
        self.assertEqual(c.ok("push_scope"), 2)
        c.ok("bind", "why_loc", [["in frame"]])
        inner = c.ok("getitem", "why_loc", 0)
        chain = c.ok("why_alive", inner)
        self.assertEqual(chain[0], ["local", session, 2, "why_loc"])
        self.assertEqual(chain[1][1], 0)
        # another session sees the same chain: frames are roots for everyone
        other = self.connect()
        self.assertEqual(other.ok("why_alive", inner)[0], ["local", session, 2, "why_loc"])
        c.ok("pop_scope")
        c.ok("pop_scope")

    def test_handle_root(self):
        c = self.connect()
        session = c.ok("hello")["session"]
        h = c.ok("new", [["held"]])
        self.assertEqual(c.ok("why_alive", h), [["handle", session]])
        inner = c.ok("getitem", h, 0)
        chain = c.ok("why_alive", inner)
        self.assertEqual(chain, [["handle", session], [h, 0]])
        c.ok("release", h)

    def test_unreachable_cycle_is_none(self):
        c = self.connect()
        c.ok("gc_disable")  # no automatic cycle takes the garbage first
        try:
            c.ok("bind", "why_cyc", [])
            c.ok("append", "why_cyc", name("why_cyc"))
            cyc = c.ok("lookup", "why_cyc")
            self.assertEqual(c.ok("why_alive", cyc), [["global", "why_cyc"]])
            c.ok("unbind", "why_cyc")
            self.assertEqual(c.ok("refcount", cyc), 1)  # alive: only the cycle holds it
            self.assertIsNone(c.ok("why_alive", cyc))
            self.assertGreaterEqual(c.ok("gc_collect"), 1)
            self.assertError(c.err("why_alive", cyc), "ReferenceError")
        finally:
            c.ok("gc_enable")

    def test_literal_target_and_errors(self):
        c = self.connect()
        self.assertIsNone(c.ok("why_alive", [1, 2, 3]))  # a fresh temporary: no root
        c.ok("bind", "why_26", 26)
        chain = c.ok("why_alive", 26)  # the interned 26
        self.assertIsNotNone(chain)
        self.assertError(c.err("why_alive", "why_not_bound"), "NameError")
        self.assertError(c.err("why_alive", ref(2 ** 40)), "ReferenceError")
        self.assertError(c.err("why_alive"), "TypeError")
        self.assertHealthy(c)

    def test_answer_limit(self):
        """A chain longer than limits.max_output_bytes allows fails cleanly."""
        c = self.connect()
        c.ok("bind", "why_chain", [])
        cur = c.ok("lookup", "why_chain")
        for _ in range(300):
            c.ok("append", cur, [])
            cur = c.ok("getitem", cur, -1)
        self.assertEqual(len(c.ok("why_alive", cur)), 301)
        self.assertHealthy(c)


class WhyAliveLimitsTest(ServerTestCase):
    CONFIG = {"limits": {"max_output_bytes": 4096}}

    def test_long_chain_over_output_limit(self):
        c = self.connect()
        c.ok("bind", "lim_chain", [])
        cur = c.ok("lookup", "lim_chain")
        for _ in range(400):
            c.ok("append", cur, [])
            cur = c.ok("getitem", cur, -1)
        self.assertError(c.err("why_alive", cur), "MemoryError",
                         "response larger than limits.max_output_bytes")
        self.assertEqual(c.ok("ping"), "pong")
        self.assertHealthy(c)


class MemoryUsageTest(ServerTestCase):

    def test_exact_small(self):
        c = self.connect()
        c.ok("bind", "mu_l", ["a" * 100, "b" * 100])
        size = c.ok("getsizeof", "mu_l")
        s1 = c.ok("getsizeof", c.ok("gc_get_referents", "mu_l")[0])
        mu = c.ok("memory_usage", "mu_l")
        self.assertEqual(mu, {"bytes": size + 2 * s1, "objects": 3, "exact": True})

    def test_shared_counted_once_and_immortals_not(self):
        c = self.connect()
        c.ok("bind", "mu_s", "x" * 200)
        c.ok("bind", "mu_shared", [name("mu_s"), name("mu_s"), 1, None])
        mu = c.ok("memory_usage", "mu_shared")
        self.assertEqual(mu["objects"], 2)
        self.assertEqual(mu["bytes"], c.ok("getsizeof", "mu_shared") + c.ok("getsizeof", "mu_s"))
        self.assertTrue(mu["exact"])
        # the object asked about counts even when immortal
        self.assertEqual(c.ok("memory_usage", 1)["objects"], 1)

    def test_estimate_when_over_budget(self):
        c = self.connect()
        c.ok("bind", "mu_big", ["s%05d-%s" % (i, "p" * 80) for i in range(2000)])
        exact = c.ok("memory_usage", "mu_big")
        self.assertTrue(exact["exact"])
        self.assertEqual(exact["objects"], 2001)
        est = c.ok("memory_usage", "mu_big", {"max_objects": 100, "samples": 50})
        self.assertFalse(est["exact"])
        # uniform items: the sampled estimate is close
        self.assertLess(abs(est["bytes"] - exact["bytes"]), exact["bytes"] * 0.05, (est, exact))
        self.assertEqual(est["objects"], 2001)
        # samples 0: no sampling, what the budget did not reach counts for nothing
        low = c.ok("memory_usage", "mu_big", {"max_objects": 100, "samples": 0})
        self.assertFalse(low["exact"])
        self.assertLess(low["bytes"], exact["bytes"])

    def test_bad_options(self):
        c = self.connect()
        c.ok("bind", "mu_o", [1])
        self.assertError(c.err("memory_usage", "mu_o", {"samples": -1}), "ValueError")
        self.assertError(c.err("memory_usage", "mu_o", {"max_objects": 0}), "ValueError")
        self.assertError(c.err("memory_usage", "mu_o", {"bogus": 1}), "ValueError")
        self.assertError(c.err("memory_usage", "mu_o", 5), "TypeError")
        self.assertError(c.err("memory_usage", "mu_unbound"), "NameError")


if __name__ == "__main__":
    unittest.main()
