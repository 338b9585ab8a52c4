"""Bad input and limits (SPEC sections 2 and 8): after every case the daemon
is alive, its heap checker passes, and another session's data is intact."""

import os
import resource
import socket
import struct
import time
import unittest

import msgpack

from heapd_client import (wait_for, NOTIFY, RESPONSE, VALGRIND, Closed, Server, ServerTestCase, name,
                          packb, packed_array, packed_map, ref, request, set_, tuple_)

PRECIOUS = {"list": [1, 2.5, "three", b"four", None, True], "nested": {"k": [[1], [2]]}}


def vm_hwm_kib(pid):
    """The peak resident set size of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0




class BadInputCase(ServerTestCase):
    """A keeper session holds global data and a frame of its own; after every
    test the daemon must be healthy and the keeper's data intact."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        k = cls.keeper = cls.server.client()
        k.ok("bind", "precious", PRECIOUS)
        k.ok("push_scope")
        k.ok("bind", "mine", [1, 2, 3])

    @classmethod
    def tearDownClass(cls):
        cls.keeper.close()
        super().tearDownClass()

    def tearDown(self):
        super().tearDown()
        k = self.keeper
        self.assertHealthy(k)
        self.assertEqual(k.ok("get", "precious"), PRECIOUS)
        self.assertEqual(k.ok("names", "local"), ["mine"])
        self.assertEqual(k.ok("get", "mine"), [1, 2, 3])

    def assertFatal(self, c, data=None, message_part=None):
        """data (if any) is sent; the server answers one ProtocolError
        notification [2, "error", [{type, message}]] and closes."""
        if data is not None:
            try:
                c.send_raw(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed before all was sent; the answer is still readable
        msgs = c.read_until_closed(timeout=10)
        self.assertEqual(len(msgs), 1, msgs)
        msg = msgs[0]
        self.assertEqual(msg[0], NOTIFY, msg)
        self.assertEqual(msg[1], "error", msg)
        self.assertEqual(len(msg[2]), 1, msg)
        self.assertError(msg[2][0], "ProtocolError")
        if message_part:
            self.assertIn(message_part, msg[2][0]["message"])

    def assertProtocolErrorResponse(self, c, data, msgid=0):
        """A well-framed bad message: a ProtocolError response, connection
        open."""
        c.send_raw(data)
        msg = c.recv_msg()
        self.assertEqual(msg[0], RESPONSE, msg)
        self.assertEqual(msg[1], msgid, msg)
        self.assertError(msg[2], "ProtocolError")
        self.assertIsNone(msg[3])
        self.assertEqual(c.ok("ping", "still open"), "still open")

    def assertErrorNotification(self, c, data):
        """A message from which no msgid can be read, or one a client may not
        send: a ProtocolError notification [2, "error", [{type, message}]],
        never a response, and the connection stays open (SPEC section 2)."""
        c.send_raw(data + request(77, "ping", "still open"))
        msg = c.recv_msg()
        self.assertEqual(msg[0], NOTIFY, (data, msg))
        self.assertEqual(msg[1], "error", msg)
        self.assertEqual(len(msg[2]), 1, msg)
        self.assertError(msg[2][0], "ProtocolError")
        self.assertEqual(c.recv_msg(), [RESPONSE, 77, None, "still open"], data)


class FramingTest(BadInputCase):
    CONFIG = {"limits": {"max_message_bytes": 1 << 20}}

    def test_not_msgpack(self):
        self.assertFatal(self.connect(), b"\xc1", "not msgpack")

    def test_not_msgpack_after_a_request(self):
        c = self.connect()
        c.send_raw(request(3, "ping", 1) + b"\xc1" + request(4, "ping", 2))
        self.assertEqual(c.recv_msg(), [RESPONSE, 3, None, 1])
        self.assertFatal(c)

    def test_not_msgpack_mid_message(self):
        # A valid prefix, then a byte no msgpack value starts with.
        self.assertFatal(self.connect(), b"\x94\x00\x01\xa4ping\x91\xc1")

    def test_garbage(self):
        self.assertFatal(self.connect(), b"\xc1" + os.urandom(4096))

    def test_truncated_then_close(self):
        c = self.connect()
        c.send_raw(request(1, "bind", "trunc", [1, 2, 3])[:-3])
        c.close()
        time.sleep(0.05)
        self.assertError(self.keeper.err("get", "trunc"), "NameError")

    def test_truncated_then_completed(self):
        c = self.connect()
        data = request(8, "ping", "whole")
        c.send_raw(data[:5])
        with self.assertRaises(socket.timeout):
            c.recv_msg(timeout=0.2)  # nothing yet, and not closed
        c.send_raw(data[5:])
        self.assertEqual(c.recv_msg(), [RESPONSE, 8, None, "whole"])

    def test_truncated_reset(self):
        c = self.connect()
        c.send_raw(b"\xdb\x00\x00\x10\x00" + b"x" * 100)  # str32 of 4 KiB, 100 bytes sent
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    def test_message_over_max_message_bytes(self):
        c = self.connect()
        self.assertFatal(c, request(1, "bind", "too_big", "x" * (2 << 20)),
                         "max_message_bytes")
        self.assertError(self.keeper.err("get", "too_big"), "NameError")

    def test_message_under_max_message_bytes(self):
        c = self.connect()
        c.ok("bind", "fits", "x" * (1 << 19))
        self.assertEqual(c.ok("len", "fits"), 1 << 19)
        c.ok("unbind", "fits")

    def test_huge_declared_lengths(self):
        pid = self.server.proc.pid
        hwm_before = vm_hwm_kib(pid)
        peak_before = self.keeper.ok("stats", "memory")["peak_bytes"]
        headers = [
            b"\xdb\xff\xff\xff\xff",                       # str32, 4 GiB
            b"\xc6\xff\xff\xff\xff",                       # bin32, 4 GiB
            b"\xdd\xff\xff\xff\xff",                       # array32, 4 G elements
            b"\xdf\xff\xff\xff\xff",                       # map32, 4 G pairs
            b"\xc9\xff\xff\xff\xff\x02",                   # ext32, 4 GiB
            b"\x94\x00\x01\xa4ping\x91\xdb\xff\xff\xff\xff",  # inside a request
            b"\x94\x00\x01\xa4ping\xdd\xff\xff\xff\xff",
            b"\x94\x00\x01\xa4bind\x92\xa1x\xdd\xff\xff\xff\xff" + b"\xc0" * 1000,
            b"\x94\x00\x01\xa4bind\x92\xa1x\xdf\x7f\xff\xff\xff" + b"\xc0" * 1000,
        ]
        for h in headers:
            self.assertFatal(self.connect(), h)
        self.assertTrue(self.server.alive())
        if not VALGRIND:
            self.assertLess(vm_hwm_kib(pid) - hwm_before, 64 * 1024,
                            "heapd's peak RSS grew by more than 64 MiB")
        self.assertLess(self.keeper.ok("stats", "memory")["peak_bytes"] - peak_before, 1 << 20)

    def test_deep_nesting_100000(self):
        for data in (b"\x94\x00\x01\xa4ping\x91" + b"\x91" * 100000 + b"\xc0",
                     b"\x91" * 100000 + b"\xc0",
                     b"\x94\x00\x01\xa4ping\x91" + b"\x81\xa1k" * 100000 + b"\xc0"):
            self.assertFatal(self.connect(), data)

    def test_nesting_just_over_32(self):
        # msgpack-c's limit: 32 levels, the envelope included.
        c = self.connect()
        v = None
        for _ in range(30):
            v = [v]
        self.assertEqual(c.ok("ping", v), v)  # 32 levels: fine
        self.assertFatal(c, request(1, "ping", [v]))

    def test_many_bad_connections(self):
        for i in range(50):
            c = self.server.client()
            c.send_raw(b"\x94\x00" + bytes([i]) + b"\xc1")
            c.close()
        self.assertHealthy(self.connect())


class ShapesTest(BadInputCase):

    def test_not_an_array(self):
        c = self.connect()
        for v in (5, "ping", {"a": 1}, None, b"x", 1.5, msgpack.ExtType(1, b"\0" * 8)):
            self.assertErrorNotification(c, packb(v))

    def test_wrong_lengths(self):
        c = self.connect()
        # Fewer than 3 elements: no msgid to answer, an error notification.
        for v in ([], [0], [0, 1], [2], [2, "ping"]):
            self.assertErrorNotification(c, packb(v))
        # A request with a readable msgid: a ProtocolError response to it.
        for v in ([0, 1, "ping"], [0, 1, "ping", [], 5]):
            self.assertProtocolErrorResponse(c, packb(v), msgid=1)

    def test_malformed_notifications(self):
        # A notification never gets a response, not even a malformed one.
        c = self.connect()
        for v in ([2, "ping", [], 1], [2, "ping", 5], [2, 5, []], [2, "nosuch", []]):
            c.send_raw(packb(v) + request(99, "ping", "after"))
            self.assertEqual(c.recv_msg(), [RESPONSE, 99, None, "after"], v)

    def test_wrong_type_code(self):
        c = self.connect()
        for code in (1, 3, 7, -1, "0", None, 1.0):
            self.assertErrorNotification(c, packb([code, 1, "ping", []]))

    def test_msgid_not_uint32(self):
        c = self.connect()
        for msgid in ("1", -1, 2 ** 32, 1.0, None, [1]):
            self.assertErrorNotification(c, packb([0, msgid, "ping", []]))

    def test_method_not_str(self):
        c = self.connect()
        for m in (5, None, b"ping", ["ping"]):
            self.assertProtocolErrorResponse(c, packb([0, 6, m, []]), msgid=6)

    def test_params_not_array(self):
        c = self.connect()
        for p in (5, "x", {"a": 1}, None):
            self.assertProtocolErrorResponse(c, packb([0, 7, "ping", p]), msgid=7)

    def test_unknown_method(self):
        c = self.connect()
        for m in ("x", "", "PING", "ping ", "\u00e9", "a" * 10000):
            err, _ = c.call(m)
            self.assertError(err, "ProtocolError")
        self.assertError(c.err("x"), "ProtocolError", "unknown method 'x'")

    def test_method_invalid_utf8(self):
        c = self.connect()
        err, _ = c.call_raw("ping", b"\x90")  # sanity
        self.assertIsNone(err)
        c.send_raw(b"\x94\x00\x02\xa2\xff\xfe\x90")
        msg = c.recv_msg()
        self.assertEqual(msg[:2], [RESPONSE, 2])
        self.assertIsNotNone(msg[2])
        self.assertEqual(c.ok("ping"), "pong")

    def test_client_sends_response(self):
        # A stock msgpack-RPC peer answers what it receives: a response to
        # its response would start an exchange that never ends.
        c = self.connect()
        for v in ([1, 1, None, "result"], [1, 0, {"type": "X", "message": "y"}, None]):
            self.assertErrorNotification(c, packb(v))
        c.send_raw(packb([1, 5, None, None]) * 100)
        for _ in range(100):
            self.assertEqual(c.next_event()[:2], [NOTIFY, "error"])
        self.assertEqual(c.call("ping", 1), (None, 1))  # no response came in between

    def test_bad_notifications_are_silent(self):
        c = self.connect()
        c.send_raw(packb([2, 5, []]) + packb([2, "nosuch", []]) + packb([2, "ping", 5]))
        self.assertEqual(c.call("ping", 1), (None, 1))
        self.assertEqual(c.events, [])

    def test_wrong_parameter_types(self):
        c = self.connect()
        cases = [
            ("bind", 1, 2), ("bind", None, 2), ("bind", "x", 1, "notamap"),
            ("unbind", 5), ("lookup", [1]), ("names", 5), ("get", "precious", "deep"),
            ("get", "precious", 1.5), ("insert", "precious", "x", 1),
            ("gc_set_threshold", "x"), ("gc_step", "x"), ("stats", 5), ("config_get", 5),
            ("config_set", 5, 1), ("subscribe", 5), ("shutdown", "now"), ("auth", 5),
        ]
        for call in cases:
            err = c.err(*call)
            self.assertIn(err["type"], ("TypeError", "ValueError"), (call, err))
        for call in (("bind", 1, 2), ("names", 5), ("gc_step", "x"), ("shutdown", "now")):
            self.assertError(c.err(*call), "TypeError")
        self.assertEqual(c.ok("ping"), "pong")

    def test_bad_ext(self):
        c = self.connect()
        E = msgpack.ExtType
        cases = [E(1, b"abc"), E(1, b"\0" * 9), E(2, b"abc"), E(2, b"\x92\x01"),
                 E(2, b"\x91\x01\x02"), E(2, packb(5)), E(3, b"\xc1"), E(3, b""),
                 E(9, b"x"), E(127, b"")]
        for v in cases:
            err = c.err("bind", "badext", v)
            self.assertIn(err["type"], ("ProtocolError", "TypeError", "ValueError"), (v, err))
        err, _ = c.call_raw("bind", b"\x92\xa6badext\xd4\x80\x00")  # ext type -128
        self.assertIsNotNone(err)
        self.assertError(c.err("bind", "badext", E(4, b"\xff")), "ValueError")
        self.assertError(c.err("bind", "badext", E(4, b"unbound")), "NameError")
        self.assertError(c.err("bind", "badext", ref(2 ** 64 - 1)), "ReferenceError")
        self.assertError(c.err("get", "badext"), "NameError")
        self.assertEqual(c.ok("ping"), "pong")

    def test_literal_deeper_than_max_depth(self):
        # Each ext payload is its own msgpack value, so msgpack's 32 levels
        # are not reached; heapd's limits.max_depth (64) is.
        c = self.connect()
        before = c.ok("stats", "objects")["live"]
        v = 1
        for _ in range(70):
            v = tuple_(v)
        self.assertError(c.err("bind", "toodeep", v), "RecursionError")
        v = [1]
        for _ in range(70):
            v = tuple_(v)
        self.assertError(c.err("bind", "toodeep", v), "RecursionError")
        self.assertEqual(c.ok("stats", "objects")["live"], before)
        v = 1
        for _ in range(40):
            v = tuple_(v)
        c.ok("bind", "deep_ok", v)
        c.ok("unbind", "deep_ok")


class ValuesTest(BadInputCase):

    def test_invalid_utf8_str(self):
        c = self.connect()
        bad = b"\xa2\xff\xfe"
        for params in (packed_array(packb("u8"), bad),
                       packed_array(packb("u8"), packed_array(packb(1), bad)),
                       packed_array(packb("u8"), packed_map((bad, packb(1)))),
                       packed_array(packb("u8"), packed_map((packb("k"), bad))),
                       packed_array(packb("u8"), b"\xa3\xed\xa0\x80"),  # a surrogate
                       packed_array(packb("u8"), b"\xa2\xc0\xaf")):     # overlong
            err, _ = c.call_raw("bind", params)
            self.assertError(err, "ValueError")
        err, _ = c.call_raw("bind", packed_array(bad, packb(1)))  # as a name
        self.assertError(err, "ValueError")
        self.assertError(c.err("get", "u8"), "NameError")
        c.ok("bind", "u8", "\u00e9\u20ac\U0001F600")  # valid multi-byte
        self.assertEqual(c.ok("get", "u8"), "\u00e9\u20ac\U0001F600")
        c.ok("unbind", "u8")

    def test_ping_echo_invalid_utf8(self):
        # Regression (was a bug, fixed): ping(x) echoes its argument without the value checks of SPEC
        # section 2, so the server sends invalid UTF-8 in a msgpack str:
        # request [0, 1, "ping", [<str 0xff 0xfe>]] is answered
        # [1, 1, nil, <str 0xff 0xfe>] (expected a ValueError, as bind
        # gives). A client decoding str as UTF-8 (python-msgpack raw=False)
        # fails on the response. ping(2**64-1) and a 3-byte ext 1 are echoed
        # likewise instead of OverflowError / ProtocolError.
        c = self.connect()
        err, _ = c.call_raw("ping", b"\x91\xa2\xff\xfe")
        self.assertError(err, "ValueError")

    def test_int_range(self):
        c = self.connect()
        for v in (2 ** 64 - 1, 2 ** 63):
            self.assertError(c.err("bind", "big", v), "OverflowError")
            self.assertError(c.err("bind", "big", [1, {"k": v}]), "OverflowError")
            self.assertError(c.err("bind", "big", tuple_(v)), "OverflowError")
        for v in (2 ** 63 - 1, -2 ** 63, 0, -1):
            c.ok("bind", "big", v)
            self.assertEqual(c.ok("get", "big"), v)
        c.ok("unbind", "big")

    def test_floats(self):
        c = self.connect()
        err, _ = c.call_raw("bind", packed_array(packb("f32"), b"\xca" + struct.pack(">f", 1.5)))
        self.assertIsNone(err)
        self.assertEqual(c.ok("get", "f32"), 1.5)
        for v in (float("inf"), -0.0, 1e-308):
            c.ok("bind", "f32", v)
            self.assertEqual(c.ok("get", "f32"), v)
        c.ok("unbind", "f32")

    def test_unhashable_keys(self):
        c = self.connect()
        msg = "unhashable type: 'list'"
        err, _ = c.call_raw("bind", packed_array(packb("uh"), packed_map((packb([1]), packb(1)))))
        self.assertError(err, "TypeError", msg)
        err, _ = c.call_raw("bind", packed_array(packb("uh"), packed_map(
            (packb("ok"), packb(1)), (packb([1, 2]), packb(2)))))
        self.assertError(err, "TypeError", msg)
        err, _ = c.call_raw("bind", packed_array(packb("uh"), packed_map(
            (packed_map((packb(1), packb(2))), packb(1)))))
        self.assertError(err, "TypeError", "unhashable type: 'dict'")
        self.assertError(c.err("bind", "uh", {tuple_(1, [2]): 1}), "TypeError", msg)
        self.assertError(c.err("bind", "uh", set_([1])), "TypeError", msg)
        self.assertError(c.err("bind", "uh", set_(1, 2, tuple_([3]))), "TypeError", msg)
        self.assertError(c.err("get", "uh"), "NameError")
        # Containers given by reference are unhashable too.
        c.ok("bind", "alist", [1])
        self.assertError(c.err("bind", "uh", {name("alist"): 1}), "TypeError", msg)
        self.assertError(c.err("bind", "uh", set_(name("alist"))), "TypeError", msg)
        # Hashable: tuples of hashables, by value.
        c.ok("bind", "uh", {tuple_(1, tuple_("a", b"b", None, 1.5)): 1})
        self.assertEqual(c.ok("getitem", "uh", tuple_(1, tuple_("a", b"b", None, 1.5))), 1)
        c.ok("unbind", "uh")
        c.ok("unbind", "alist")

    def test_equal_keys_merge(self):
        c = self.connect()
        err, res = c.call_raw("bind", packed_array(packb("eq"), packed_map(
            (packb(1), packb("a")), (packb(1.0), packb("b")), (packb(True), packb("c")))))
        self.assertIsNone(err)
        self.assertEqual(c.ok("len", "eq"), 1)
        self.assertEqual(c.ok("getitem", "eq", 1), "c")
        c.ok("unbind", "eq")


class LongNameTest(unittest.TestCase):
    """Its own server, checked inside the test: the bug below kills it."""

    def test_long_names(self):
        s = Server()
        self.addCleanup(s.cleanup)
        s.start()
        c = s.client()
        self.addCleanup(c.close)
        n = "n" * 1000
        c.ok("bind", n, 1)
        self.assertEqual(c.ok("get", n), 1)
        self.assertIn(n, c.ok("names", "global"))
        c.ok("unbind", n)
        for call in (("get", "a" * 70000), ("lookup", "a" * 70000), ("unbind", "a" * 70000),
                     ("bind", "x", name("a" * 70000))):
            self.assertEqual(c.err(*call)["type"], "NameError")
        self.assertEqual(c.ok("debug_check")["ok"], True)
        self.assertEqual(s.stop(), 0)

    def test_bind_name_over_64k(self):
        # Regression (was a bug, fixed): bind with a name longer than NAMETAB_MAX_NAME (65535 bytes),
        # e.g. [0, 1, "bind", ["a" * 65536, 1]], aborts heapd:
        #   daemon/heap/nametab.c:91: nametab_put: Assertion
        #   `len <= NAMETAB_MAX_NAME' failed.
        # (exit by SIGABRT; the client sees EOF). The same happens with
        # {"scope": "global"} and inside a frame. Expected: an error answer
        # (e.g. ValueError "name too long") and the daemon alive. (Lookups of
        # such names -- get, lookup, unbind, ext 4 -- answer NameError.)
        s = Server()
        self.addCleanup(s.cleanup)
        s.start()
        c = s.client()
        self.addCleanup(c.close)
        try:
            err = c.err("bind", "a" * 65536, 1)
        except Closed:
            self.fail("heapd closed the connection; alive: %s\n%s"
                      % (s.alive(), s.stderr_text()[-500:]))
        self.assertIn(err["type"], ("ValueError", "MemoryError", "ProtocolError"))
        self.assertEqual(s.client().ok("debug_check")["ok"], True)


class SlowClientTest(BadInputCase):
    CONFIG = {"limits": {"max_output_bytes": 65536}}

    def test_client_that_never_reads(self):
        """A client that keeps sending and never reads its answers: once its
        unsent output is over the limit heapd stops reading from it (its
        sends block), holds about one limit for it, and serves the others.
        It is not dropped: it can still read everything it asked for."""
        k = self.keeper
        k.ok("bind", "bigval", ["x" * 100] * 500, {"scope": "global"})  # ~51 KB per get
        slow = self.connect()
        slow.sock.settimeout(0.5)
        gets = lambda: k.ok("stats", "commands").get("get", {}).get("calls", 0)
        before, slow_before = gets(), k.ok("stats", "clients")["slow_disconnected"]
        batch = request(1, "get", "bigval") * 50
        blocked = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not blocked:
            try:
                slow.send_raw(batch)
            except socket.timeout:
                blocked = True  # heapd stopped reading: the socket is full
            self.assertEqual(k.ok("ping", "alive"), "alive")  # others keep working
        self.assertTrue(blocked, "heapd kept reading from a client that never reads")
        self.assertLess(gets() - before, 100)  # a few answers' worth, not thousands
        self.assertEqual(k.ok("stats", "clients")["slow_disconnected"], slow_before)
        # The server did not buffer it all: its peak RSS stays modest.
        if not VALGRIND:
            self.assertLess(vm_hwm_kib(self.server.proc.pid), 256 * 1024)
        msg = slow.recv_msg(timeout=10)
        self.assertEqual(msg[:3], [RESPONSE, 1, None])
        self.assertEqual(len(msg[3]), 500)
        slow.close()
        self.assertEqual(len(k.ok("get", "bigval")), 500)
        k.ok("unbind", "bigval", {"scope": "global"})


class IdleConnectionsTest(BadInputCase):
    N = 1000

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4 * cls.N
        if soft != resource.RLIM_INFINITY and soft < want:
            new = want if hard == resource.RLIM_INFINITY else min(want, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))  # heapd inherits it
        super().setUpClass()

    def test_1000_idle_connections(self):
        socks = []
        try:
            for _ in range(self.N):
                socks.append(self.server._raw_connect())
            k = self.keeper
            self.assertTrue(wait_for(
                lambda: k.ok("stats", "clients")["connected"] >= self.N + 1, timeout=20),
                k.ok("stats", "clients"))
            # Every one of them is really served.
            for s in socks[::97]:
                s.sendall(request(1, "ping", "idle"))
                self.assertEqual(msgpack.unpackb(s.recv(100)), [RESPONSE, 1, None, "idle"])
            c = self.connect()
            self.assertEqual(c.ok("ping"), "pong")
            self.assertEqual(c.ok("stats", "clients")["rejected"], 0)
        finally:
            for s in socks:
                s.close()
        self.assertTrue(wait_for(lambda: self.keeper.ok("stats", "clients")["connected"] <= 2))


class MaxClientsTest(BadInputCase):
    CONFIG = {"limits": {"max_clients": 5}}

    def test_sixth_client_refused(self):
        # The keeper is one of the 5.
        others = [self.connect() for _ in range(4)]
        for o in others:
            self.assertEqual(o.ok("ping"), "pong")
        sixth = self.server.client()
        msgs = sixth.read_until_closed(timeout=10)
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0][:2], [NOTIFY, "error"])
        err = msgs[0][2][0]
        self.assertIsInstance(err.get("type"), str)
        self.assertIn("max_clients", err["message"])
        sixth.close()
        st = self.keeper.ok("stats", "clients")
        self.assertGreaterEqual(st["rejected"], 1)
        # A place frees up: a new client is served.
        others.pop().close()
        self.assertTrue(wait_for(lambda: self.keeper.ok("stats", "clients")["connected"] == 4))
        c = self.server.client()
        self.assertEqual(c.ok("ping"), "pong")
        c.close()


class MaxObjectsTest(BadInputCase):
    CONFIG = {"limits": {"max_objects": 400}}

    def test_object_limit(self):
        c = self.connect()
        c.ok("bind", "lim_l", [1, 2])
        c.ok("bind", "lim_d", {"k": "v w"})
        c.ok("bind", "lim_s", set_(1))
        i = 0
        while True:
            err, _ = c.call("bind", "fill%d" % i, [i])
            if err is not None:
                self.assertError(err, "MemoryError")
                break
            i += 1
            self.assertLess(i, 400)
        self.assertError(c.err("get", "fill%d" % i), "NameError")
        live = c.ok("stats", "objects")["live"]
        self.assertLessEqual(live, 400)
        # At the limit: anything that allocates fails and changes nothing.
        for call in (("bind", "more", [1]), ("new", "a new str!"), ("append", "lim_l", []),
                     ("extend", "lim_l", [[], []]), ("setitem", "lim_d", "k", 1.5),
                     ("add", "lim_s", 99999), ("bind", "fill0", [[1], [2]]),
                     ("bind", "more", "x y z")):
            self.assertError(c.err(*call), "MemoryError")
        self.assertEqual(c.ok("get", "lim_l"), [1, 2])
        self.assertEqual(c.ok("get", "lim_d"), {"k": "v w"})
        self.assertEqual(c.ok("get", "fill0"), [0])
        self.assertEqual(c.ok("stats", "objects")["live"], live)
        # Requests that only free always work at the limit.
        self.assertEqual(c.ok("pop", "lim_l"), 2)
        c.ok("delitem", "lim_d", "k")
        c.ok("clear", "lim_s")
        c.ok("unbind", "fill0")
        c.ok("gc_collect")
        # ...and make room again.
        c.ok("bind", "more", [1])
        for j in range(1, i):
            c.ok("unbind", "fill%d" % j)
        for n in ("lim_l", "lim_d", "lim_s", "more"):
            c.ok("unbind", n)

    def test_limit_reported(self):
        self.assertEqual(self.keeper.ok("config_get", "limits.max_objects"), 400)


class MaxMemoryTest(BadInputCase):
    CONFIG = {"limits": {"max_memory_bytes": 1 << 20}}

    def test_memory_limit(self):
        c = self.connect()
        before = c.ok("stats", "memory")
        self.assertEqual(before["limit"], 1 << 20)
        self.assertError(c.err("bind", "huge", "x" * (2 << 20)), "MemoryError")
        self.assertError(c.err("bind", "huge", ["a fresh str %d" % i for i in range(50000)]),
                         "MemoryError")
        self.assertError(c.err("get", "huge"), "NameError")
        self.assertEqual(c.ok("stats", "memory")["bytes"], before["bytes"])
        c.ok("bind", "fits", "y" * 1000)
        c.ok("unbind", "fits")


if __name__ == "__main__":
    unittest.main()
