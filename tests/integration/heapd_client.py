"""Helpers for heapd's integration tests: start the real daemon as a child
process on a temporary socket, and talk msgpack-RPC (SPEC section 2) to it
with python3-msgpack, a client independent of the project's own code.

Environment:
  HEAPD           the heapd binary (default build/heapd)
  HEAPD_VALGRIND  1: run heapd under valgrind (slow)
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import msgpack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAPD = os.environ.get("HEAPD") or os.path.join(REPO, "build", "heapd")
if not os.path.isabs(HEAPD):
    HEAPD = os.path.join(REPO, HEAPD)
VALGRIND = os.environ.get("HEAPD_VALGRIND") == "1"
# heapd built with ASan (make test SANITIZE=1 sets ASAN_OPTIONS): its
# quarantine keeps freed memory resident, so RSS tells little about heapd.
SANITIZED = bool(os.environ.get("ASAN_OPTIONS"))

EXT_REF, EXT_TUPLE, EXT_SET, EXT_NAME = 1, 2, 3, 4
REQUEST, RESPONSE, NOTIFY = 0, 1, 2

ERROR_TYPES = [
    "NameError", "KeyError", "IndexError", "TypeError", "ValueError",
    "OverflowError", "ReferenceError", "MemoryError", "RecursionError",
    "RuntimeError", "AuthError", "ProtocolError", "AttributeError",
]

# Seconds to wait for an answer; valgrind is much slower.
TIMEOUT = 60.0 if VALGRIND else 10.0


# ---- ext types ----

def ref(obj_id):
    """ext 1: a reference to the object with this id."""
    return msgpack.ExtType(EXT_REF, struct.pack(">Q", obj_id))


def tuple_(*items):
    """ext 2: a tuple of these items."""
    return msgpack.ExtType(EXT_TUPLE, packb(list(items)))


def set_(*members):
    """ext 3: a set of these members."""
    return msgpack.ExtType(EXT_SET, packb(list(members)))


def name(n):
    """ext 4: the object bound to name n."""
    return msgpack.ExtType(EXT_NAME, n.encode("utf-8"))


def is_ref(v):
    return isinstance(v, msgpack.ExtType) and v.code == EXT_REF and len(v.data) == 8


def ref_id(v):
    """The object id of an ext 1 reference."""
    assert is_ref(v), "not a ref: %r" % (v,)
    return struct.unpack(">Q", v.data)[0]


def ext_items(v):
    """The decoded items of an ext 2 (tuple) or ext 3 (set) value."""
    assert isinstance(v, msgpack.ExtType) and v.code in (EXT_TUPLE, EXT_SET), v
    return unpackb(v.data)


def packb(obj):
    return msgpack.packb(obj, use_bin_type=True)


def unpackb(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def request(msgid, method, *params):
    return packb([REQUEST, msgid, method, list(params)])


def raw_request(msgid, method, params_bytes):
    """A request whose params array is given already packed (for values
    Python cannot build, such as a map with a list key)."""
    return b"\x94" + packb(REQUEST) + packb(msgid) + packb(method) + params_bytes


def packed_array(*packed_items):
    """msgpack array bytes from already-packed items."""
    n = len(packed_items)
    head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)
    return head + b"".join(packed_items)


def packed_map(*packed_pairs):
    """msgpack map bytes from (key bytes, value bytes) pairs."""
    n = len(packed_pairs)
    assert n < 16
    return bytes([0x80 | n]) + b"".join(k + v for k, v in packed_pairs)


# ---- the daemon ----

def free_tcp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v
    return dst


class Server:
    """One heapd child process on DIR/heapd.sock.

    config: a dict of settings (nested as in conf/heapd.json), written to
    DIR/heapd.json and passed with --config; args: extra command-line args.
    """

    def __init__(self, config=None, args=(), tcp=None):
        self.env = None  # extra environment variables for heapd, if any
        self.dir = tempfile.mkdtemp(prefix="heapd-it-")
        self.sock_path = os.path.join(self.dir, "heapd.sock")
        self.config = config
        self.args = list(args)
        self.tcp = tcp  # (host, port) to connect to, when TCP is configured
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._stderr = None

    def write_file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def command(self):
        cmd = [HEAPD, "--socket", self.sock_path]
        if self.config is not None:
            path = self.write_file("heapd.json", json.dumps(self.config))
            cmd += ["--config", path]
        cmd += self.args
        if VALGRIND:
            cmd = ["valgrind", "--leak-check=full", "--error-exitcode=99", "-q"] + cmd
        return cmd

    def start(self):
        self._stderr = open(self.stderr_path, "wb")
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, env=env,
                                     stdout=self._stderr, stderr=self._stderr)
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("heapd exited with %d at start:\n%s"
                                   % (self.proc.returncode, self.stderr_text()))
            try:
                # A full round trip: the loop runs (and its signal handlers
                # are installed), not just the socket listening.
                with Client(self._raw_connect()) as c:
                    c.ok("ping")
                return self
            except (OSError, Closed):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("heapd did not accept within %.0f s:\n%s"
                                   % (TIMEOUT, self.stderr_text()))
            time.sleep(0.01)

    def _raw_connect(self):
        if self.tcp:
            return socket.create_connection(self.tcp, timeout=TIMEOUT)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                s.connect(self.sock_path)
                return s
            except BlockingIOError:
                # The listen backlog is full (a burst of connections): a
                # blocking client would wait, so wait.
                if time.monotonic() > deadline:
                    s.close()
                    raise
                time.sleep(0.001)
            except OSError:
                s.close()
                raise

    def client(self):
        return Client(self._raw_connect())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait(self, timeout=10.0):
        """The exit status, or None if still running after timeout."""
        try:
            return self.proc.wait(timeout=timeout * (6 if VALGRIND else 1))
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.wait(10.0)
        if rc is None:
            self.kill()
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        shutil.rmtree(self.dir, ignore_errors=True)


class Closed(Exception):
    """The server closed the connection."""


class Client:
    """A msgpack-RPC connection. Server notifications (events) that arrive
    while waiting for a response are kept in self.events."""

    def __init__(self, sock):
        self.sock = sock
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False,
                                         unicode_errors="surrogateescape",
                                         max_buffer_size=1 << 30)
        self.next_id = 1
        self.events = []
        self.closed = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending --

    def send_raw(self, data):
        self.sock.sendall(data)

    def _msgid(self):
        msgid = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        return msgid

    def send(self, method, *params):
        msgid = self._msgid()
        self.send_raw(request(msgid, method, *params))
        return msgid

    def call_raw(self, method, params_bytes):
        """(error, result) of a request whose params are already packed."""
        msgid = self._msgid()
        self.send_raw(raw_request(msgid, method, params_bytes))
        msg = self.recv_response(msgid)
        return msg[2], msg[3]

    def notify(self, method, *params):
        """A client notification: runs without a response."""
        self.send_raw(packb([NOTIFY, method, list(params)]))

    # -- receiving --

    def recv_msg(self, timeout=None):
        """The next message from the server. Raises Closed at EOF and
        socket.timeout when nothing arrives in time."""
        for msg in self.unpacker:
            return msg
        self.sock.settimeout(TIMEOUT if timeout is None else timeout)
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                raise Closed()
            self.unpacker.feed(data)
            for msg in self.unpacker:
                return msg

    def recv_response(self, msgid=None, timeout=None):
        """The next response (events before it go to self.events)."""
        while True:
            msg = self.recv_msg(timeout)
            if isinstance(msg, list) and len(msg) == 3 and msg[0] == NOTIFY:
                self.events.append(msg)
                continue
            assert isinstance(msg, list) and len(msg) == 4 and msg[0] == RESPONSE, msg
            if msgid is not None:
                assert msg[1] == msgid, "response msgid %r, expected %r" % (msg[1], msgid)
            return msg

    def call(self, method, *params):
        """(error, result) of one request."""
        msgid = self.send(method, *params)
        msg = self.recv_response(msgid)
        return msg[2], msg[3]

    def ok(self, method, *params):
        """The result of a request that must succeed."""
        err, res = self.call(method, *params)
        if err is not None:
            raise AssertionError("%s%r failed: %r" % (method, params, err))
        return res

    def err(self, method, *params):
        """The error map of a request that must fail."""
        err, res = self.call(method, *params)
        if err is None:
            raise AssertionError("%s%r succeeded with %r" % (method, params, res))
        assert res is None, "result %r with an error" % (res,)
        return err

    def pipeline(self, calls):
        """Send every (method, *params) tuple in one write; return the
        (error, result) pairs in order."""
        ids = []
        buf = bytearray()
        for c in calls:
            msgid = self._msgid()
            ids.append(msgid)
            buf += request(msgid, c[0], *c[1:])
        self.send_raw(bytes(buf))
        out = []
        for msgid in ids:
            msg = self.recv_response(msgid)
            out.append((msg[2], msg[3]))
        return out

    def next_event(self, timeout=None):
        """The next server notification [2, method, params]."""
        if self.events:
            return self.events.pop(0)
        while True:
            msg = self.recv_msg(timeout)
            if isinstance(msg, list) and len(msg) == 3 and msg[0] == NOTIFY:
                return msg
            raise AssertionError("expected an event, got %r" % (msg,))

    def read_until_closed(self, timeout=None):
        """Every message until the server closes; raises socket.timeout if
        it does not close in time."""
        msgs = []
        try:
            while True:
                msgs.append(self.recv_msg(timeout))
        except Closed:
            return msgs


class ServerTestCase(unittest.TestCase):
    """Starts one heapd per test class (CONFIG, ARGS) and stops it after,
    requiring exit status 0."""

    CONFIG = None
    ARGS = ()
    TCP = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.CONFIG, cls.ARGS, cls.TCP)
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server.alive():
                rc = cls.server.stop()
                if rc != 0:
                    raise AssertionError("heapd exited with %r on SIGTERM:\n%s"
                                         % (rc, cls.server.stderr_text()[-4000:]))
        finally:
            cls.server.cleanup()

    def setUp(self):
        self._clients = []

    def tearDown(self):
        for c in self._clients:
            c.close()

    def connect(self):
        c = self.server.client()
        self._clients.append(c)
        return c

    # -- assertions --

    def assertError(self, err, etype, message=None):
        self.assertIsInstance(err, dict, "expected a %s, got %r" % (etype, err))
        self.assertEqual(err.get("type"), etype, err)
        self.assertIsInstance(err.get("message"), str, err)
        if message is not None:
            self.assertEqual(err["message"], message, err)

    def assertCallError(self, client, etype, message, method, *params):
        err = client.err(method, *params)
        self.assertError(err, etype, message)
        return err

    def assertHealthy(self, client=None):
        """The daemon runs and its heap checker passes."""
        self.assertTrue(self.server.alive(), self.server.stderr_text()[-4000:])
        c = client or self.connect()
        res = c.ok("debug_check")
        self.assertEqual(res.get("ok"), True, res)
        self.assertIsInstance(res.get("objects"), int)
        return res


def wait_for(pred, timeout=5.0, interval=0.01):
    """Polls pred() until it is true (or timeout seconds pass); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)
