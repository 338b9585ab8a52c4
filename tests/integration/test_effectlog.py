"""The effect log (SPEC section 14): restarts after SIGKILL keep every
acknowledged effect with the same ids and refcounts; nothing unacknowledged
is half-applied; a torn tail is dropped, damage elsewhere refused with the
file and offset; the heap rebuilt from snapshot + log equals the live one;
SIGTERM flushes the log and exits at once.

HEAPD_CRASH_RUNS sets how many SIGKILL runs the crash tests make (default
a dozen each, a few seconds; `make crash-test` runs many more)."""

import glob
import os
import random
import struct
import threading
import time
import unittest

import msgpack

from heapd_client import VALGRIND, Closed, Server, name, ref, ref_id, tuple_

RUNS = int(os.environ.get("HEAPD_CRASH_RUNS", "12"))
SLOW = 5 if VALGRIND else 1


def decode(v):
    """Wire values to Python: tuples (ext 2) and sets (ext 3) opened."""
    if isinstance(v, msgpack.ExtType):
        if v.code == 2:
            return tuple(decode(x) for x in msgpack.unpackb(v.data, raw=False, strict_map_key=False))
        if v.code == 3:
            return ("set", sorted(repr(decode(x)) for x in msgpack.unpackb(v.data, raw=False)))
        return v
    if isinstance(v, list):
        return [decode(x) for x in v]
    if isinstance(v, dict):
        return {k: decode(x) for k, x in v.items()}
    return v


class LogServer(Server):
    """A heapd with the effect log in DIR (and a snapshot when snap)."""

    def __init__(self, fsync="always", snap=False, extra=None):
        super().__init__()
        self.log = os.path.join(self.dir, "heap.log")
        self.config = {"persistence": {"log": self.log, "fsync": fsync}}
        if snap:
            self.config["persistence"]["path"] = os.path.join(self.dir, "heap.snap")
        for section, settings in (extra or {}).items():
            self.config.setdefault(section, {}).update(settings)

    def start(self):
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        return super().start()

    def crash(self):
        self.kill()

    def segments(self):
        return sorted(glob.glob(self.log + ".*"))

    def start_fails(self):
        try:
            self.start()
        except RuntimeError:
            return self.proc.returncode, self.stderr_text()
        raise AssertionError("heapd started:\n" + self.stderr_text())


SCALARS = ("NoneType", "bool", "int", "float", "str", "bytes")


def dump(c, skip=()):
    """A canonical dump of everything reachable from the global names (but
    those in skip): for each name its id; for each object its id, type,
    refcount and value (scalars) or referent ids in order (containers:
    classes, instances and weakrefs too); a container's weakref count, a
    weakref's target id (None once cleared)."""
    names = {n: ref_id(c.ok("lookup", n)) for n in c.ok("names", "global") if n not in skip}
    objs, todo = {}, list(names.values())
    while todo:
        i = todo.pop()
        if i in objs:
            continue
        t = c.ok("type", ref(i))
        rc = c.ok("refcount", ref(i))
        if t in SCALARS:
            objs[i] = (t, rc, repr(decode(c.ok("get", ref(i)))))
            continue
        kids = [ref_id(x) for x in c.ok("gc_get_referents", ref(i))]
        todo.extend(kids)
        val = kids if t != "set" else sorted(kids)
        extra = [c.ok("weakref_count", ref(i))]
        if t == "weakref":
            target = c.ok("weakref_get", ref(i))
            extra.append(None if target is None else ref_id(target))
            todo.extend(extra[1:] if target is not None else [])
        objs[i] = (t, rc, val, extra)
    return names, objs


def wait_drained(c):
    for _ in range(2000):
        if c.ok("stats", "refcount")["pending"] == 0:
            return
        time.sleep(0.005)
    raise AssertionError("deferred frees never drained")


class RestartTest(unittest.TestCase):
    def setUp(self):
        self.srv = LogServer()
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def test_sigkill_keeps_ids_values_refcounts(self):
        with self.srv.client() as c:
            c.ok("bind", "x", [1, 2, "hello world", tuple_(3.5, b"x"), {"k": [None]}])
            c.ok("bind", "d", {"a": 1, "b": [5]})
            c.ok("append", "x", 7)
            c.ok("setitem", "d", "a", 99)
            c.ok("bind", "y", name("x"))
            c.ok("unbind", "x")
            c.ok("bind", "cyc", [])
            c.ok("append", "cyc", name("cyc"))
            before = dump(c)
        self.srv.crash()
        self.srv.start()
        with self.srv.client() as c:
            self.assertEqual(dump(c), before)
            self.assertTrue(c.ok("debug_check")["ok"])
            st = c.ok("stats", "persistence")
            self.assertGreater(st["log_records"], 0)
            self.assertGreaterEqual(st["log_fsyncs"], 1)

    def test_handles_die_with_the_restart(self):
        with self.srv.client() as c:
            h = c.ok("new", [1, [2]])
            c.ok("bind", "keep", [])
            c.ok("append", "keep", h)  # reachable from a name: stays
            h2 = c.ok("new", ["only a handle"])
            stale = ref_id(h2)
        self.srv.crash()
        self.srv.start()
        with self.srv.client() as c:
            self.assertEqual(decode(c.ok("get", "keep")), [[1, [2]]])
            self.assertEqual(c.err("get", ref(stale))["type"], "ReferenceError")
            self.assertTrue(c.ok("debug_check")["ok"])
            # a new object after the restart never reuses the stale id
            self.assertNotEqual(ref_id(c.ok("bind", "z", ["new"])), stale)
        self.srv.crash()
        self.srv.start()  # the sweep at restart is itself in the log
        with self.srv.client() as c:
            self.assertEqual(decode(c.ok("get", "z")), ["new"])
            self.assertTrue(c.ok("debug_check")["ok"])

    def test_sigterm_flushes_and_exits_fast(self):
        with self.srv.client() as c:
            c.ok("bind", "big", list(range(300, 300 + 200000 // SLOW)))
            c.ok("bind", "s", "after")
        t0 = time.monotonic()
        self.assertEqual(self.srv.stop(), 0)
        self.assertLess(time.monotonic() - t0, 2.0 * SLOW)
        self.assertNotIn("saved", self.srv.stderr_text())
        self.srv.start()
        with self.srv.client() as c:
            self.assertEqual(c.ok("len", "big"), 200000 // SLOW)
            self.assertEqual(c.ok("get", "s"), "after")


class DamageTest(unittest.TestCase):
    def setUp(self):
        self.srv = LogServer()
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        with self.srv.client() as c:
            for i in range(20):
                c.ok("bind", "n%d" % i, [i, "v%d" % i])
        self.srv.crash()
        (self.seg,) = self.srv.segments()

    def read(self):
        with open(self.seg, "rb") as f:
            return f.read()

    def write(self, data):
        with open(self.seg, "wb") as f:
            f.write(data)

    def test_torn_tail_is_dropped(self):
        good = self.read()
        # a block cut short: a header announcing more than follows
        self.write(good + struct.pack(">II", 500, 0) + b"\x01" * 40)
        self.srv.start()
        self.assertIn("torn tail", self.srv.stderr_text())
        with self.srv.client() as c:
            self.assertEqual(decode(c.ok("get", "n19")), [19, "v19"])
            c.ok("bind", "after", 1)
        self.srv.crash()
        self.srv.start()  # the tail was cut off: what came after replays
        with self.srv.client() as c:
            self.assertEqual(c.ok("get", "after"), 1)
            self.assertTrue(c.ok("debug_check")["ok"])

    def test_zeros_after_the_end_are_a_torn_tail(self):
        self.write(self.read() + b"\0" * 4096)
        self.srv.start()
        with self.srv.client() as c:
            self.assertEqual(decode(c.ok("get", "n0")), [0, "v0"])

    def test_damage_inside_refuses_with_file_and_offset(self):
        data = bytearray(self.read())
        pos = len(data) // 2
        data[pos] ^= 0x40
        self.write(bytes(data))
        rc, err = self.srv.start_fails()
        self.assertEqual(rc, 1)
        self.assertIn(self.seg, err)
        self.assertIn("offset", err)
        self.assertEqual(self.read(), bytes(data))  # untouched

    def test_bad_header_refuses(self):
        data = bytearray(self.read())
        data[3] ^= 1
        self.write(bytes(data))
        rc, err = self.srv.start_fails()
        self.assertIn("HEAPDLOG", err)


def crc32c(data):
    """CRC-32C (Castagnoli), as a block's checksum."""
    if crc32c.table is None:
        crc32c.table = []
        for b in range(256):
            c = b
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            crc32c.table.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ crc32c.table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


crc32c.table = None


def last_lsn(seg):
    """The lsn of the last block of a segment (docs/effect-log.md)."""
    off, lsn = 32, 0
    while off < len(seg):
        n, _, lsn = struct.unpack(">IIQ", seg[off:off + 16])
        off += 16 + n
    return lsn


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def block(lsn, records):
    body = struct.pack(">Q", lsn) + records
    return struct.pack(">II", len(records), crc32c(body)) + body


class HostileLogTest(unittest.TestCase):
    def test_clear_of_a_class_a_name_reaches_refuses(self):
        """A CLEAR (3) makes a class the collector's garbage: a writer only
        clears what nothing reaches. A log that clears a bound class (here
        appended as a good block) is refused, naming the file; the files
        stay as they are."""
        srv = LogServer()
        self.addCleanup(srv.cleanup)
        srv.start()
        with srv.client() as c:
            r = c.ok("class_new", "Node", {"n": 0})
            c.ok("bind", "C", r)
            c.ok("release", r)
            cls = ref_id(c.ok("lookup", "C"))
        srv.crash()
        (seg,) = srv.segments()
        with open(seg, "rb") as f:
            data = f.read()
        data += block(last_lsn(data) + 1, b"\x03" + varint(cls))
        with open(seg, "wb") as f:
            f.write(data)
        rc, err = srv.start_fails()
        self.assertEqual(rc, 1)
        self.assertIn(seg, err)
        self.assertIn("a global name reaches", err)
        self.assertEqual(srv.segments(), [seg])
        with open(seg, "rb") as f:
            self.assertEqual(f.read(), data)  # untouched


class ShortSegmentTest(unittest.TestCase):
    """A crash between a segment's creation and its header's write leaves
    the last segment empty or shorter than its header: a torn tail."""

    def setUp(self):
        self.srv = LogServer()
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        with self.srv.client() as c:
            c.ok("bind", "a", [1, "two", {"k": [3]}])
            c.ok("bind", "b", name("a"))
            self.before = dump(c)
        self.srv.crash()
        (self.seg,) = self.srv.segments()
        self.next = self.srv.log + ".00000002"

    def check_dropped(self, size):
        with open(self.next, "wb") as f:
            f.write(b"HEAPDLOG\0\0"[:size])
        self.srv.start()
        err = self.srv.stderr_text()
        self.assertIn("torn tail", err)
        self.assertIn(self.next, err)
        with self.srv.client() as c:
            self.assertEqual(dump(c), self.before)
            self.assertTrue(c.ok("debug_check")["ok"])
            c.ok("bind", "after", size)
            after = dump(c)
        self.srv.crash()
        self.assertGreater(os.path.getsize(self.next), 32)  # made again: header, blocks
        self.srv.start()  # what came after the drop replays from it
        self.assertNotIn("torn tail", self.srv.stderr_text())
        with self.srv.client() as c:
            self.assertEqual(dump(c), after)
            self.assertTrue(c.ok("debug_check")["ok"])

    def test_an_empty_last_segment_is_dropped(self):
        self.check_dropped(0)

    def test_a_last_segment_shorter_than_its_header_is_dropped(self):
        self.check_dropped(10)

    def test_an_empty_segment_before_the_last_is_refused(self):
        with open(self.seg, "rb") as f:
            first = f.read()
        with open(self.next, "wb") as f:
            pass
        third = self.srv.log + ".00000003"
        with open(third, "wb") as f:
            f.write(first[:32])  # any segment after it
        rc, err = self.srv.start_fails()
        self.assertEqual(rc, 1)
        self.assertIn(self.next, err)
        self.assertIn("too short", err)
        self.assertEqual(os.path.getsize(self.next), 0)  # untouched


class SnapshotAndLogTest(unittest.TestCase):
    def test_save_rotates_and_removes_covered_segments(self):
        srv = LogServer(snap=True)
        self.addCleanup(srv.cleanup)
        srv.start()
        with srv.client() as c:
            c.ok("bind", "a", [1, 2])
            h = c.ok("new", ["held by a handle"])
            c.ok("save")
            time.sleep(0.1)
            self.assertEqual([os.path.basename(s) for s in srv.segments()], ["heap.log.00000002"])
            c.ok("append", "a", 3)
            c.ok("append", h, "then stored")
            c.ok("bind", "b", h)  # an object the snapshot had only for a handle
        with srv.client() as c:  # the handle is gone with its session
            before = dump(c)
        srv.crash()
        srv.start()
        with srv.client() as c:
            self.assertEqual(dump(c), before)
            self.assertTrue(c.ok("debug_check")["ok"])


def equivalence_workload(c, rng, steps):
    """Random effects across a few names, cycles and big structures dropped
    (so the collector and deferred frees run on their own timers)."""
    names = ["v%d" % i for i in range(8)]

    def val(depth=0):
        k = rng.randrange(7 if depth < 2 else 4)
        if k == 0:
            return rng.randrange(-1000, 100000)
        if k == 1:
            return "s%d" % rng.randrange(50) + (" x" if rng.random() < 0.5 else "")
        if k == 2:
            return rng.random()
        if k == 3:
            return b"b%d" % rng.randrange(9)
        if k == 4:
            return [val(depth + 1) for _ in range(rng.randrange(4))]
        if k == 5:
            return {"k%d" % rng.randrange(9): val(depth + 1) for _ in range(rng.randrange(3))}
        return tuple_(*[val(depth + 1) for _ in range(rng.randrange(3))])

    for step in range(steps):
        n = rng.choice(names)
        m = rng.choice(names)
        op = rng.randrange(14)
        if op == 0:
            c.call("bind", n, val())
        elif op == 1:
            c.call("append", n, val())
        elif op == 2:
            c.call("append", n, name(m))  # shares, and makes cycles
        elif op == 3:
            c.call("setitem", n, "k%d" % rng.randrange(9), name(m))
        elif op == 4:
            c.call("unbind", n)
        elif op == 5:
            c.call("pop", n)
        elif op == 6:
            c.call("delitem", n, 0)
        elif op == 7:
            c.call("insert", n, rng.randrange(-3, 3), val())
        elif op == 8:
            c.call("clear", n)
        elif op == 9:
            c.call("bind", n, {"s": [val()] * 3})
        elif op == 10:
            c.call("bind", "big", [[i] for i in range(rng.randrange(2000, 20000))])
        elif op == 11:
            c.call("unbind", "big")
        elif op == 12:
            c.call("setitem", n, 0, val())
        else:
            time.sleep(0.003)  # let timers run: collector slices, frees


class ReplayEquivalenceTest(unittest.TestCase):
    def test_replayed_heap_equals_live_heap(self):
        srv = LogServer(fsync="no", snap=True,
                        extra={"gc": {"interval_ms": 2, "threshold": [30, 3, 3], "slice_us": 50},
                               "persistence": {"log_max_bytes": 0}})  # only the save below
        self.addCleanup(srv.cleanup)
        srv.start()
        rng = random.Random(1234)
        with srv.client() as c:
            equivalence_workload(c, rng, 1500 // SLOW)
            c.ok("save")  # a snapshot in the middle: snapshot + log
            equivalence_workload(c, rng, 1500 // SLOW)
            wait_drained(c)
            live = dump(c)
            self.assertTrue(c.ok("debug_check")["ok"])
            self.assertGreater(c.ok("stats", "gc")["cycles"], 0)
        srv.crash()
        srv.start()
        with srv.client() as c:
            self.assertEqual(dump(c), live)
            self.assertTrue(c.ok("debug_check")["ok"])


# --- classes, instances, weakrefs, weak-valued dicts, finalizers -----------

def class_workload(c, rng, steps):
    """Random effects on classes and instances (attributes set and deleted,
    "__del__" toggled), weakrefs with and without callbacks, weak-valued
    dicts whose values die, and instance cycles with finalizers left to the
    collector's timers. Handles are released at once: only names hold."""
    names = ["v%d" % i for i in range(8)]
    classes = ["C%d" % i for i in range(3)]
    bound = set()

    def keep(n, r):
        """Binds the answer r (a ref) to n, then drops the session's handle."""
        if isinstance(r, msgpack.ExtType):
            c.ok("bind", n, r)
            c.ok("release", r)
            bound.add(n)

    def some():
        """A bound name (a class's at worst)."""
        return rng.choice(sorted(bound) + classes)

    def val():
        k = rng.randrange(4)
        if k == 0:
            return rng.randrange(1000)
        if k == 1:
            return "a%d" % rng.randrange(5)
        if k == 2:
            return [rng.randrange(9)]
        return name(some())

    for i, cname in enumerate(classes):
        attrs = {"kind": cname, "__del__": i == 0}
        keep(cname, c.ok("class_new", "K%d" % i, attrs))
    for n in names:
        keep(n, c.ok("instance", rng.choice(classes), {"x": val()}))
    for step in range(steps):
        n, m = rng.choice(names), some()
        cls = rng.choice(classes)
        op = rng.randrange(16)
        if op in (0, 1):
            keep(n, c.call("instance", cls, {"x": val(), "peer": name(m)})[1])
        elif op == 2:
            c.call("setattr", n, "a%d" % rng.randrange(4), val())
        elif op == 3:
            c.call("delattr", n, "a%d" % rng.randrange(4))
        elif op == 4:
            c.call("setattr", cls, "__del__", rng.random() < 0.5)  # the class's flag
        elif op == 5:
            c.call("setattr", cls, "shared", val())
        elif op == 6:
            keep(n, c.call("weakref", m, {"callback": rng.random() < 0.5})[1])
        elif op == 7:
            w = c.call("weakref", m)[1]
            if isinstance(w, msgpack.ExtType):
                c.call("append", n, w)
                c.call("release", w)
        elif op == 8:  # values only the dict holds die at once
            keep(n, c.call("new", {"a": name(m), "b": [1], "c": name(some())},
                           {"weak_values": True})[1])
        elif op == 9:
            c.call("setitem", n, "k%d" % rng.randrange(3), name(m))
        elif op == 10:
            c.call("setitem", n, "t", [step])  # a weak dict's value that dies
        elif op == 11:  # a cycle of instances with finalizers, for the collector
            a = c.call("instance", classes[0], {"i": step})[1]
            b = c.call("instance", cls, {"peer": a})[1]
            if isinstance(a, msgpack.ExtType) and isinstance(b, msgpack.ExtType):
                c.call("setattr", a, "peer", b)
                c.call("setattr", a, "me", a)
                c.call("release", a)
                c.call("release", b)
        elif op == 12:
            c.call("unbind", n)
            bound.discard(n)
        elif op == 13:
            if c.call("bind", n, [name(m), {"d": name(m)}])[0] is None:
                bound.add(n)
        elif op == 14:
            c.call("bind", "big", [[i] for i in range(rng.randrange(2000, 8000))])
        else:
            time.sleep(0.003)  # collector slices and frees on their timers


def settle(c):
    """Collects what the workload left (the collector's timers would go on
    changing the heap during a dump) and waits for the frees."""
    for _ in range(3):
        c.ok("gc_collect")
        wait_drained(c)


class ClassesReplayTest(unittest.TestCase):
    GC = {"gc": {"interval_ms": 2, "threshold": [20, 3, 3], "slice_us": 50}}

    def run_and_compare(self, snap, seed):
        srv = LogServer(fsync="no", snap=snap, extra=self.GC)
        self.addCleanup(srv.cleanup)
        srv.start()
        rng = random.Random(seed)
        with srv.client() as c:
            c.ok("subscribe", "finalize")  # events hold attributes for a while
            class_workload(c, rng, 1200 // SLOW)
            if snap:
                c.ok("save")
            class_workload(c, rng, 1200 // SLOW)
            settle(c)
            live = dump(c)
            self.assertTrue(c.ok("debug_check")["ok"])
            st = c.ok("stats", "gc")
            self.assertGreater(st["cycles"], 0)
            kinds = {o[0] for o in live[1].values()}
            for t in ("type", "weakref", "WeakValueDictionary"):
                self.assertIn(t, kinds)  # the workload made each kind
            self.assertTrue(kinds & {"K0", "K1", "K2"})  # instances
        srv.crash()
        srv.start()
        with srv.client() as c:
            self.assertEqual(dump(c), live)
            self.assertTrue(c.ok("debug_check")["ok"])
        return srv

    def test_replayed_heap_equals_live_heap(self):
        self.run_and_compare(snap=False, seed=77)

    def test_snapshot_then_log(self):
        self.run_and_compare(snap=True, seed=78)

    def test_sigkill_keeps_classes_weakrefs_and_finalizer_flags(self):
        srv = LogServer()
        self.addCleanup(srv.cleanup)
        srv.start()
        with srv.client() as c:
            def bind(n, r):  # held by the name only
                c.ok("bind", n, r)
                c.ok("release", r)

            bind("C", c.ok("class_new", "Node", {"n": 0}))
            bind("D", c.ok("class_new", "Dying", {"__del__": True}))
            c.ok("setattr", "C", "__del__", True)  # the class's flag changes
            c.ok("setattr", "D", "__del__", False)
            bind("i", c.ok("instance", "C", {"v": [1, 2]}))
            c.ok("setattr", "i", "me", name("i"))
            c.ok("delattr", "C", "n")
            bind("target", c.ok("instance", "C"))
            bind("w", c.ok("weakref", "target", {"callback": True}))
            bind("gone", c.ok("weakref", "i"))
            bind("wd", c.ok("new", {"a": name("target"), "b": [9]}, {"weak_values": True}))
            c.ok("unbind", "i")  # a cycle: the collector finalizes it
            self.assertGreaterEqual(c.ok("gc_collect"), 2)
            self.assertIsNone(c.ok("weakref_get", "gone"))
            self.assertEqual(decode(c.ok("keys", "wd")), ["a"])  # "b" died at once
            before = dump(c)
        srv.crash()
        srv.start()
        with srv.client() as c:
            self.assertEqual(dump(c), before)
            self.assertTrue(c.ok("debug_check")["ok"])
            self.assertEqual(ref_id(c.ok("weakref_get", "w")), ref_id(c.ok("lookup", "target")))
            # the flags came back: C's instances are finalized, D's are not
            c.ok("subscribe", "finalize")
            for cls in ("C", "D"):
                c.ok("release", c.ok("instance", cls, {"who": cls}))
            c.ok("unbind", "target")  # wd's last entry goes too
            ev = c.next_event(5)
            self.assertEqual(ev[1], "finalize")
            self.assertEqual(ev[2][1], "Node")
            self.assertIsNone(c.ok("weakref_get", "w"))
            self.assertEqual(decode(c.ok("keys", "wd")), [])
            self.assertTrue(c.ok("debug_check")["ok"])
        srv.crash()
        srv.start()
        with srv.client() as c:  # and what happened after the restart replays too
            self.assertEqual(decode(c.ok("keys", "wd")), [])
            self.assertIsNone(c.ok("weakref_get", "w"))
            self.assertTrue(c.ok("debug_check")["ok"])


# --- crash consistency: clients at full speed, SIGKILL at a random moment ---

class Writer(threading.Thread):
    """One client: each round pipelines an append of (i, [i, i, i]) to its
    list, a rebinding of its counter and a store in the shared dict; it
    records the rounds acknowledged."""

    def __init__(self, srv, k):
        super().__init__(daemon=True)
        self.srv, self.k = srv, k
        self.acked = -1  # the last round whose three answers came
        self.sent = -1

    def run(self):
        k = self.k
        try:
            with self.srv.client() as c:
                c.ok("bind", "L%d" % k, [])
                self.acked = self.sent = -1
                i = 0
                while True:
                    self.sent = i
                    res = c.pipeline([("append", "L%d" % k, tuple_(i, [i, i, i])),
                                      ("bind", "n%d" % k, i),
                                      ("setitem", "D", "k%d" % k, [k, i])])
                    assert all(e is None for e, _ in res), res
                    self.acked = i
                    i += 1
        except (Closed, OSError):
            pass


def crash_once(test, seed, snap):
    rng = random.Random(seed)
    srv = LogServer(fsync="always", snap=snap)
    try:
        srv.start()
        with srv.client() as c:
            c.ok("bind", "D", {})
        writers = [Writer(srv, k) for k in range(3)]
        for w in writers:
            w.start()
        stop_saving = threading.Event()

        def saver():
            try:
                with srv.client() as c:
                    while not stop_saving.is_set():
                        c.call("save")
            except (Closed, OSError):
                pass

        if snap:
            threading.Thread(target=saver, daemon=True).start()
        time.sleep(rng.uniform(0.02, 0.2) * SLOW)
        srv.crash()
        stop_saving.set()
        for w in writers:
            w.join(5)
        srv.start()
        with srv.client() as c:
            d = decode(c.ok("get", "D"))
            for w in writers:
                if w.acked < 0:
                    continue
                k = w.k
                items = decode(c.ok("get", "L%d" % k))
                test.assertGreaterEqual(len(items) - 1, w.acked, "seed %d: acked round lost" % seed)
                test.assertLessEqual(len(items) - 1, w.sent, "seed %d" % seed)
                for j, it in enumerate(items):
                    test.assertEqual(it, (j, [j, j, j]), "seed %d: half-applied" % seed)
                n = c.ok("get", "n%d" % k)
                test.assertTrue(w.acked <= n <= w.sent, (seed, n, w.acked, w.sent))
                test.assertEqual(d["k%d" % k][0], k)
                test.assertTrue(w.acked <= d["k%d" % k][1] <= w.sent, seed)
            test.assertTrue(c.ok("debug_check")["ok"])
        test.assertEqual(srv.stop(), 0)
    finally:
        srv.cleanup()


class CrashConsistencyTest(unittest.TestCase):
    def test_sigkill_under_load(self):
        for seed in range(RUNS):
            crash_once(self, seed, snap=False)

    def test_sigkill_while_snapshots_are_written(self):
        for seed in range(RUNS):
            crash_once(self, 1000 + seed, snap=True)


if __name__ == "__main__":
    unittest.main()
