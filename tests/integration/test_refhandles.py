"""Ref-handle mode (docs/protocol.md section 7): hello({"ref_handles": true})
makes every ext 1 reference in a response's result one more handle of the
session, atomically with the answer; release(ref, count) gives them back.
Handles are counted through clients()'s "handles" and refcount."""

from heapd_client import NOTIFY, Server, ServerTestCase, is_ref, name, ref, tuple_, wait_for


class RefHandlesCase(ServerTestCase):

    def session(self):
        """A new connection in ref-handle mode, and its session number."""
        s = self.connect()
        h = s.ok("hello", {"ref_handles": True})
        self.assertIs(h["ref_handles"], True)
        return s, h["session"]

    def handles(self, observer, session):
        """How many handles the session holds, as clients() reports it."""
        for c in observer.ok("clients"):
            if c["id"] == session:
                return c["handles"]
        raise AssertionError("no session %r" % session)


class HelloTest(RefHandlesCase):

    def test_hello_opts(self):
        c = self.connect()
        plain = c.ok("hello")
        self.assertNotIn("ref_handles", plain)
        self.assertEqual(c.ok("hello", {}), plain)
        self.assertEqual(c.ok("hello", None), plain)
        on = c.ok("hello", {"ref_handles": True})
        self.assertIs(on["ref_handles"], True)
        self.assertEqual({k: v for k, v in on.items() if k != "ref_handles"}, plain)
        self.assertIs(c.ok("hello")["ref_handles"], True)  # the mode stays
        self.assertError(c.err("hello", {"ref_handles": True, "colour": 1}), "ValueError",
                         "hello(): unknown option 'colour'")
        self.assertError(c.err("hello", {"ref_handles": 1}), "TypeError")
        self.assertError(c.err("hello", [True]), "TypeError")
        self.assertError(c.err("hello", {}, {}), "TypeError",
                         "hello() takes from 0 to 1 arguments (2 given)")
        self.assertIs(c.ok("hello")["ref_handles"], True)  # failed calls change nothing
        self.assertNotIn("ref_handles", c.ok("hello", {"ref_handles": False}))

    def test_api_info_shows_the_additions(self):
        m = {x["name"]: x for x in self.connect().ok("api_info")["methods"]}
        self.assertEqual((m["hello"]["min_args"], m["hello"]["max_args"]), (0, 1))
        self.assertEqual(m["hello"]["params"], "[opts]")
        self.assertEqual((m["release"]["min_args"], m["release"]["max_args"]), (1, 2))
        self.assertEqual(m["release"]["params"], "ref [count]")

    def test_clients_counts_handles(self):
        c = self.connect()
        sid = c.ok("hello")["session"]
        self.assertEqual(self.handles(c, sid), 0)
        r = c.ok("new", [1])
        c.ok("new", r)
        self.assertEqual(self.handles(c, sid), 2)
        c.ok("release", r, 2)
        self.assertEqual(self.handles(c, sid), 0)


class HandlesPerRefTest(RefHandlesCase):

    def test_every_ref_in_a_result_is_a_handle(self):
        k = self.connect()
        s, sid = self.session()
        x = s.ok("bind", "x", [1])  # bind: one ref, one handle
        self.assertEqual(k.ok("refcount", "x"), 2)
        self.assertEqual(self.handles(k, sid), 1)
        s.ok("bind", "pair", [name("x"), name("x"), 5])
        self.assertEqual(s.ok("get", "pair", 1), [x, x, 5])  # twice: two handles
        self.assertEqual(self.handles(k, sid), 4)  # and bind's answer, pair itself
        self.assertEqual(s.ok("lookup", "x"), x)
        self.assertEqual(s.ok("getitem", "pair", 0), x)
        referents = s.ok("gc_get_referents", "pair")  # x, x and the int 5, all as refs
        self.assertEqual(referents[:2], [x, x])
        self.assertEqual(self.handles(k, sid), 9)
        self.assertEqual(s.ok("ping", x), x)  # an echoed ext 1 is a ref of the answer
        self.assertEqual(s.ok("ping", [tuple_(x)]), [tuple_(x)])  # inside an ext payload too
        self.assertEqual(s.ok("ping", name("x")), name("x"))  # a name is not a ref
        self.assertEqual(self.handles(k, sid), 11)
        self.assertEqual(k.ok("refcount", "x"), 1 + 2 + 9)  # the name, two slots, 9 handles
        # scalars, values and plain answers add nothing
        for call in (("get", "pair"), ("len", "x"), ("type", x), ("refcount", x), ("ping",)):
            s.ok(*call)
        self.assertEqual(self.handles(k, sid), 11)
        s.ok("release", x, 9)
        s.ok("release", referents[2])
        s.ok("release", "pair")
        self.assertEqual(self.handles(k, sid), 0)
        self.assertEqual(k.ok("refcount", "x"), 3)
        k.ok("unbind", "pair")
        k.ok("unbind", "x")

    def test_new_answers_its_own_handle_only(self):
        k = self.connect()
        s, sid = self.session()
        n = s.ok("new", [5])
        self.assertEqual(s.ok("refcount", n), 1)
        self.assertEqual(self.handles(k, sid), 1)
        s.ok("new", n)  # another handle on it, answered as the same ref
        self.assertEqual(s.ok("refcount", n), 2)
        s.ok("release", n, 2)
        self.assertError(s.err("get", n), "ReferenceError")

    def test_failed_requests_add_none(self):
        k = self.connect()
        s, sid = self.session()
        k.ok("bind", "many", [[1]] * 3)
        many = k.ok("lookup", "many")
        inner = k.ok("getitem", "many", 0)
        before = k.ok("refcount", inner)
        # an error after the refs were packed: the output limit
        k.ok("config_set", "limits.max_output_bytes", 4096)
        try:
            k.ok("bind", "wide", [name("many")] * 1000)  # 10 KB of refs at depth 1
            self.assertError(s.err("get", "wide", 1), "MemoryError",
                             "response larger than limits.max_output_bytes")
        finally:
            k.ok("config_set", "limits.max_output_bytes", 64 << 20)
        self.assertEqual(self.handles(k, sid), 0)
        self.assertEqual(k.ok("refcount", "many"), 1 + 1000)
        # other errors
        self.assertError(s.err("get", "many", -1), "ValueError")
        self.assertError(s.err("getitem", "many", 7), "IndexError")
        self.assertError(s.err("ping", [many, ref(5 << 40 | 999999 << 4 | 7)]), "ReferenceError")
        self.assertEqual(self.handles(k, sid), 0)
        self.assertEqual(k.ok("refcount", inner), before)
        # a request sent as a notification has no answer, and adds none
        s.notify("get", "many", 1)
        s.notify("lookup", "many")
        self.assertEqual(s.ok("ping", "after"), "after")
        self.assertEqual(self.handles(k, sid), 0)
        for n in ("wide", "many"):
            k.ok("unbind", n)

    def test_events_add_none(self):
        k = self.connect()
        s, sid = self.session()
        k.ok("bind", "ev", [1])
        s.ok("watch", "ev")
        k.ok("unbind", "ev")
        ev = s.next_event()
        self.assertEqual(ev[:2], [NOTIFY, "freed"])
        self.assertTrue(is_ref(ev[2][0]))
        self.assertEqual(self.handles(k, sid), 0)

    def test_a_popped_value_keeps_what_it_answers(self):
        # pop answers 16 levels; deeper containers come back as refs, held
        # only by the popped value, which pop drops: the handle keeps them.
        k = self.connect()
        s, sid = self.session()
        v = None
        for _ in range(20):
            v = [v]
        k.ok("bind", "deep", [v])
        got = s.ok("pop", "deep")
        level = got
        while isinstance(level, list):
            level = level[0]
        self.assertTrue(is_ref(level), level)
        self.assertEqual(self.handles(k, sid), 1)
        self.assertEqual(s.ok("refcount", level), 1)  # only the handle
        self.assertEqual(s.ok("get", level), [[[[None]]]])
        s.ok("release", level)
        self.assertError(s.err("get", level), "ReferenceError")
        self.assertHealthy(k)

    def test_closing_drops_the_handles(self):
        k = self.connect()
        k.ok("bind", "kept", [1])
        s = self.server.client()
        s.ok("hello", {"ref_handles": True})
        s.pipeline([("lookup", "kept")] * 100)
        self.assertEqual(k.ok("refcount", "kept"), 101)
        s.close()
        self.assertTrue(wait_for(lambda: k.ok("refcount", "kept") == 1))
        k.ok("unbind", "kept")


class ReleaseCountTest(RefHandlesCase):

    def test_release_count(self):
        k = self.connect()
        s, sid = self.session()
        r = s.ok("bind", "rc", {"a": 1})
        s.ok("lookup", "rc")
        s.ok("lookup", "rc")
        self.assertEqual(self.handles(k, sid), 3)
        self.assertIsNone(s.ok("release", r, 2))
        self.assertEqual(k.ok("refcount", "rc"), 2)
        self.assertError(s.err("release", r, 2), "ValueError",
                         "this session holds 1 handle to that object, not 2")
        self.assertEqual(k.ok("refcount", "rc"), 2)  # none released
        for bad in (0, -1, 1 << 32):
            self.assertError(s.err("release", r, bad), "ValueError")
        self.assertError(s.err("release", r, "2"), "TypeError")
        self.assertError(s.err("release", r, 1 << 63), "OverflowError")
        s.notify("release", r, 1)  # as a notification, without a response
        self.assertEqual(s.ok("ping", "after"), "after")
        self.assertEqual(k.ok("refcount", "rc"), 1)
        self.assertError(s.err("release", r), "ValueError",
                         "this session holds no handle to that object")
        self.assertEqual(self.handles(k, sid), 0)
        k.ok("unbind", "rc")

    def test_release_frees_on_the_last_handle(self):
        s, sid = self.session()
        r = s.ok("new", [1, 2])
        s.ok("ping", r)
        s.ok("ping", r)
        self.assertIsNone(s.ok("release", r, 3))
        self.assertError(s.err("get", r), "ReferenceError")


class BeforeAuthTest(RefHandlesCase):
    """With an auth token, a session holds nothing before it authenticates."""

    TOKEN = "ref-handles-token"

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.config = {"auth": {"token_file": cls.server.write_file("token", cls.TOKEN)}}
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    def test_no_handles_before_auth(self):
        k = self.connect()
        k.ok("auth", self.TOKEN)
        x = k.ok("new", [1])
        s = self.connect()
        sid = s.ok("hello", {"ref_handles": True})["session"]
        self.assertEqual(s.ok("ping", x), x)
        self.assertEqual(k.ok("refcount", x), 1)
        s.ok("auth", self.TOKEN)
        self.assertEqual(s.ok("ping", x), x)
        self.assertEqual(k.ok("refcount", x), 2)
        self.assertEqual(self.handles(k, sid), 1)
