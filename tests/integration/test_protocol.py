"""The msgpack-RPC stream (SPEC section 2), sessions and events (section 5)."""

import socket
import struct
import time

from heapd_client import (wait_for, NOTIFY, RESPONSE, ServerTestCase, is_ref, name, packb,
                          ref_id, request)




class PipelineTest(ServerTestCase):

    def test_10000_requests_in_one_write(self):
        c = self.connect()
        calls = []
        for i in range(10000):
            k = i % 4
            if k == 0:
                calls.append(("ping", i))
            elif k == 1:
                calls.append(("bind", "pl%d" % (i % 50), i))
            elif k == 2:
                calls.append(("get", "pl%d" % ((i - 1) % 50)))
            else:
                calls.append(("nosuch_method",))
        results = c.pipeline(calls)  # checks every msgid, in order
        self.assertEqual(len(results), 10000)
        for i, (err, res) in enumerate(results):
            k = i % 4
            if k == 0:
                self.assertEqual((err, res), (None, i))
            elif k == 1:
                self.assertIsNone(err)
                self.assertTrue(is_ref(res))
            elif k == 2:
                self.assertEqual((err, res), (None, i - 1))
            else:
                self.assertEqual(err["type"], "ProtocolError")
        self.assertHealthy(c)

    def test_msgids_echoed(self):
        c = self.connect()
        for msgid in (0, 1, 0x7FFFFFFF, 0xFFFFFFFF):
            c.send_raw(request(msgid, "ping", msgid))
            msg = c.recv_msg()
            self.assertEqual(msg, [RESPONSE, msgid, None, msgid])

    def test_one_request_in_1_byte_writes(self):
        c = self.connect()
        data = request(77, "bind", "split", [1, "two", {"three": 3.0}, b"four"])
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
            if i % 4 == 0:
                time.sleep(0.001)  # make the server see separate reads
        msg = c.recv_msg()
        self.assertEqual(msg[:3], [RESPONSE, 77, None])
        self.assertEqual(c.ok("get", "split"), [1, "two", {"three": 3.0}, b"four"])

    def test_big_request_in_small_writes(self):
        c = self.connect()
        value = ["x" * 100] * 20000  # a 2 MB message
        data = request(5, "bind", "bigsplit", value)
        for i in range(0, len(data), 7919):
            c.send_raw(data[i:i + 7919])
        self.assertEqual(c.recv_msg()[:3], [RESPONSE, 5, None])
        self.assertEqual(c.ok("len", "bigsplit"), 20000)
        c.ok("unbind", "bigsplit")

    def test_requests_split_across_boundaries(self):
        c = self.connect()
        data = b"".join(request(i, "ping", i) for i in range(100))
        # Writes that cut every message in odd places.
        for i in range(0, len(data), 13):
            c.send_raw(data[i:i + 13])
        for i in range(100):
            self.assertEqual(c.recv_msg(), [RESPONSE, i, None, i])

    def test_client_notifications(self):
        c = self.connect()
        c.notify("bind", "notified", [1, 2])
        c.notify("append", "notified", 3)
        c.notify("nosuch_method", 1)           # an error: still no response
        c.notify("append", "unbound_name", 3)  # an error: still no response
        c.notify("push_scope", 1)              # wrong arity: no response
        c.send_raw(packb([NOTIFY, 5, []]))     # bad method type: no response
        self.assertEqual(c.call("get", "notified"), (None, [1, 2, 3]))
        self.assertEqual(c.events, [])
        c.ok("unbind", "notified")

    def test_notification_then_pipeline(self):
        c = self.connect()
        buf = packb([NOTIFY, "bind", ["nb", 41]]) + request(9, "get", "nb")
        c.send_raw(buf)
        self.assertEqual(c.recv_msg(), [RESPONSE, 9, None, 41])
        c.ok("unbind", "nb")


class SessionsTest(ServerTestCase):

    def test_global_shared_frames_not(self):
        a = self.connect()
        b = self.connect()
        a.ok("push_scope")
        a.ok("bind", "a_local", [1])
        a.ok("bind", "shared_g", [2], {"scope": "global"})
        self.assertEqual(b.ok("get", "shared_g"), [2])
        self.assertError(b.err("get", "a_local"), "NameError")
        self.assertEqual(b.ok("names", "local"), [])
        self.assertIn("shared_g", b.ok("names", "global"))
        self.assertError(b.err("pop_scope"), "RuntimeError")
        b.ok("append", "shared_g", 3)
        self.assertEqual(a.ok("get", "shared_g"), [2, 3])
        # b binds globally (no frame); a sees it through its frame.
        b.ok("bind", "from_b", "hi there!")
        self.assertEqual(a.ok("get", "from_b"), "hi there!")
        self.assertEqual(a.ok("pop_scope"), 1)
        for n in ("shared_g", "from_b"):
            b.ok("unbind", n)

    def test_disconnect_releases_scopes_and_handles(self):
        keeper = self.connect()
        keeper.ok("bind", "kept", [1, 2, 3])
        self.assertEqual(keeper.ok("refcount", "kept"), 1)
        objects_before = keeper.ok("stats", "objects")["live"]
        for abrupt in (False, True):
            s = self.server.client()
            h1 = s.ok("new", name("kept"))
            s.ok("new", name("kept"))  # two handles to the same object
            s.ok("new", {"only by": ["a handle", 1.5, b"b"]})  # no interned strs
            s.ok("push_scope")
            s.ok("bind", "l1", name("kept"))
            s.ok("push_scope")
            s.ok("bind", "l2", [name("kept"), name("kept")])
            self.assertEqual(keeper.ok("refcount", "kept"), 6)
            self.assertEqual(ref_id(h1), ref_id(keeper.ok("lookup", "kept")))
            if abrupt:  # a reset, not an orderly close
                s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            self.assertEqual(wait_for(lambda: keeper.ok("refcount", "kept") == 1), True)
            self.assertEqual(keeper.ok("stats", "objects")["live"], objects_before)
            self.assertHealthy(keeper)
        self.assertEqual(keeper.ok("get", "kept"), [1, 2, 3])
        keeper.ok("unbind", "kept")

    def test_disconnect_with_pending_requests(self):
        keeper = self.connect()
        keeper.ok("bind", "kept2", [0])
        s = self.server.client()
        s.send_raw(b"".join(request(i, "new", name("kept2")) for i in range(1000)))
        s.close()
        self.assertTrue(wait_for(lambda: keeper.ok("refcount", "kept2") == 1))
        self.assertHealthy(keeper)
        keeper.ok("unbind", "kept2")


class EventsTest(ServerTestCase):

    def test_watch_freed_by_refcount(self):
        w = self.connect()
        other = self.connect()
        r = w.ok("bind", "watched", [1])
        self.assertIsNone(w.ok("watch", "watched"))
        other.ok("unbind", "watched")  # another session drops the last ref
        ev = w.next_event()
        self.assertEqual(ev[0], NOTIFY)
        self.assertEqual(ev[1], "freed")
        self.assertEqual(ev[2], [r, "list", "refcount"])
        self.assertEqual(other.events, [])  # only the watcher hears it

    def test_watch_freed_by_gc(self):
        w = self.connect()
        w.ok("gc_disable")
        try:
            r = w.ok("bind", "cyc", [])
            w.ok("append", "cyc", name("cyc"))
            w.ok("watch", r)
            w.ok("unbind", "cyc")
            self.assertEqual(w.events, [])  # watching does not keep it alive...
            self.assertEqual(w.ok("gc_collect"), 1)  # ...and the collector frees it
            ev = w.next_event()
            self.assertEqual(ev, [NOTIFY, "freed", [r, "list", "gc"]])
        finally:
            w.ok("gc_enable")

    def test_watch_cascade(self):
        w = self.connect()
        outer = w.ok("bind", "outer", [[1], {"k": "v"}])
        inner = w.ok("getitem", "outer", 0)
        w.ok("watch", inner)
        w.ok("watch", outer)
        w.ok("unbind", "outer")
        evs = [w.next_event(), w.next_event()]
        got = sorted((ref_id(e[2][0]), e[2][1], e[2][2]) for e in evs)
        self.assertEqual(got, sorted([(ref_id(outer), "list", "refcount"),
                                      (ref_id(inner), "list", "refcount")]))

    def test_unwatch(self):
        w = self.connect()
        w.ok("bind", "unw", [1])
        w.ok("watch", "unw")
        w.ok("unwatch", "unw")
        w.ok("unbind", "unw")
        self.assertEqual(w.ok("ping"), "pong")
        with self.assertRaises(socket.timeout):
            w.next_event(timeout=0.3)

    def test_watch_errors(self):
        w = self.connect()
        self.assertError(w.err("watch", "unbound_name"), "NameError")
        self.assertError(w.err("subscribe", "nosuch"), "ValueError")
        self.assertError(w.err("subscribe", 5), "TypeError")

    def test_watcher_disconnects(self):
        w = self.server.client()
        k = self.connect()
        k.ok("bind", "wd", [1])
        w.ok("watch", "wd")
        w.close()
        time.sleep(0.05)
        k.ok("unbind", "wd")  # the watcher is gone: no crash
        self.assertHealthy(k)

    def test_watch_index_many_watchers_and_frees(self):
        """Among 20,000 unwatched frees and 3,000 watched ones, each watcher
        gets exactly one event per object it still watches: several
        sessions on one object, unwatch, and a watcher that disconnects
        (the index that makes an unwatched free O(1) keeps these rules)."""
        k = self.connect()
        n = 3000
        k.ok("bind", "wl", [[i] for i in range(n)])
        refs = [res for _, res in k.pipeline([("getitem", "wl", i) for i in range(n)])]
        a, b, c = self.connect(), self.connect(), self.connect()
        gone = self.server.client()
        a.pipeline([("watch", r) for r in refs])
        b.pipeline([("watch", r) for r in refs[::3]] + [("watch", r) for r in refs[::3]])
        c.pipeline([("watch", r) for r in refs[::5]] + [("unwatch", r) for r in refs[::10]])
        gone.pipeline([("watch", r) for r in refs])
        gone.close()
        self.assertTrue(wait_for(lambda: k.ok("stats", "clients")["connected"] == 4))
        k.ok("bind", "noise", [[i] for i in range(20000)])
        k.ok("unbind", "noise")
        k.ok("unbind", "wl")
        want = {
            a: {ref_id(r) for r in refs},
            b: {ref_id(r) for r in refs[::3]},
            c: {ref_id(r) for r in refs[::5]} - {ref_id(r) for r in refs[::10]},
        }
        for w, ids in want.items():
            got = [w.next_event() for _ in range(len(ids))]
            self.assertEqual(sorted(ref_id(e[2][0]) for e in got), sorted(ids))
            self.assertTrue(all(e[1] == "freed" and e[2][1:] == ["list", "refcount"] for e in got))
            self.assertEqual(w.ok("ping"), "pong")
            self.assertEqual(w.events, [])  # nothing more: one event per watcher
        self.assertEqual(k.events, [])
        self.assertHealthy(k)

    def test_subscribe_gc(self):
        s = self.connect()
        self.assertIsNone(s.ok("subscribe", "gc"))
        s.ok("bind", "gcy", [])
        s.ok("append", "gcy", name("gcy"))
        s.ok("unbind", "gcy")
        s.ok("gc_collect")
        ev = s.next_event()
        # a timer collection may have come first: find gc_collect's (full) one
        while ev[1] != "gc" or ev[2][0]["generation"] != 2:
            ev = s.next_event()
        self.assertEqual(ev[0], NOTIFY)
        self.assertEqual(ev[2], [{"phase": "start", "generation": 2}])
        ev = s.next_event()
        while ev[1] != "gc" or ev[2][0]["generation"] != 2:
            ev = s.next_event()
        self.assertEqual(len(ev[2]), 1)
        info = ev[2][0]
        self.assertIsInstance(info, dict)
        self.assertEqual(info["phase"], "stop")
        self.assertEqual(info["uncollectable"], 0)
        self.assertGreaterEqual(info["collected"], 1)
        self.assertTrue(any("pause" in k for k in info), info)
        self.assertTrue(any("duration" in k for k in info), info)
        s.ok("unsubscribe", "gc")
        s.events.clear()
        s.ok("gc_collect")
        s.ok("ping")
        self.assertEqual([e for e in s.events if e[1] == "gc"], [])
        with self.assertRaises(socket.timeout):
            s.next_event(timeout=0.3)
