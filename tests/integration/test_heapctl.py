"""heapctl, heapd's command-line client (SPEC section 6): one-shot commands
and their output, Python literals in and out, syntax errors, scripts, exit
statuses, stats, help, auth and the interactive prompt (driven through a
pseudo-terminal). Each class runs its own heapd; heapctl runs as a child
process with -s SOCKET (or -H/-p).

Environment:
  HEAPCTL   the heapctl binary (default $BUILD_DIR/heapctl, else build/heapctl)
"""

import fcntl
import json
import math
import os
import random
import re
import select
import shutil
import struct
import subprocess
import tempfile
import termios
import time
import unittest

from heapd_client import (REPO, TIMEOUT, Server, ServerTestCase, free_tcp_port, name,
                          ref_id)

HEAPCTL = os.environ.get("HEAPCTL") or os.path.join(REPO, os.environ.get("BUILD_DIR", "build"),
                                                    "heapctl")
if not os.path.isabs(HEAPCTL):
    HEAPCTL = os.path.join(REPO, HEAPCTL)

EXIT_OK, EXIT_SERVER_ERROR, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3

REF_RE = re.compile(r"^<(\w+) object at @(\d+)>$")


def base_env(**extra):
    """The environment heapctl runs in: no token or history file from the
    caller's environment."""
    env = dict(os.environ)
    env.pop("HEAPCTL_AUTH", None)
    env["HEAPCTL_HISTFILE"] = ""
    env.update(extra)
    return env


def run_heapctl(args, input=None, env=None, timeout=TIMEOUT):
    """heapctl ARGS as a CompletedProcess with text stdout/stderr (UTF-8,
    undecodable bytes kept as surrogates). input: str or bytes for stdin,
    else stdin is /dev/null (not a terminal: a script)."""
    if isinstance(input, str):
        input = input.encode("utf-8")
    r = subprocess.run([HEAPCTL] + list(args), input=input,
                       stdin=None if input is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env or base_env(), timeout=timeout)
    r.out = r.stdout.decode("utf-8", "surrogateescape")
    r.err = r.stderr.decode("utf-8", "surrogateescape")
    return r


# ---- heapctl's JSON back to Python values ----

class Ref:
    def __init__(self, obj_id, type_name):
        self.id, self.type = obj_id, type_name

    def __eq__(self, other):
        return isinstance(other, Ref) and (self.id, self.type) == (other.id, other.type)

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return "<%s object at @%d>" % (self.type, self.id)


def from_json(j):
    """A value printed by `heapctl --json` as the Python value it stands for."""
    if isinstance(j, list):
        return [from_json(x) for x in j]
    if not isinstance(j, dict):
        return j
    if set(j) == {"$ref", "type"}:
        return Ref(j["$ref"], j["type"])
    if len(j) == 1:
        (tag, v), = j.items()
        if tag == "$float":
            return float(v)
        if tag == "$bytes":
            return bytes.fromhex(v)
        if tag == "$tuple":
            return tuple(from_json(x) for x in v)
        if tag == "$set":
            return {from_json(x) for x in v}
        if tag == "$dict":
            return {from_json(k): from_json(x) for k, x in v}
    return {k: from_json(v) for k, v in j.items()}


def same(a, b):
    """a and b are equal with the same types all the way down (1, 1.0 and
    True differ; -0.0 differs from 0.0; nan equals nan); dicts in order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb)
                                        for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, set):
        return len(a) == len(b) and all(any(same(x, y) for y in b) for x in a)
    return a == b


# ---- a pseudo-terminal for the interactive prompt ----

class Pty:
    """A child process whose stdout and stderr (and stdin unless
    stdin_pipe) are the slave side of a pseudo-terminal; the test reads
    the master side."""

    def __init__(self, args, env, stdin_pipe=False):
        self.master, slave = os.openpty()
        # A wide window: libedit wraps (and redraws) long lines otherwise.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE if stdin_pipe else slave,
                                     stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.out = b""

    def send(self, data):
        if self.proc.stdin:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        else:
            os.write(self.master, data)

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child has gone and closed the slave
            return False
        self.out += data
        return bool(data)

    def expect(self, pattern, since=0, timeout=TIMEOUT):
        """Reads until the output after offset `since` matches the regex
        `pattern` (bytes); returns the match, or None at timeout or EOF."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.out, since)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.2)):
                return rx.search(self.out, since)

    def wait_raw(self, timeout=TIMEOUT):
        """Waits until the line editor has the terminal in raw mode (reading
        key by key). Keys typed before then meet the kernel's line
        discipline in canonical mode, which echoes them and turns ^D into
        an end-of-line marker that libedit never sees as EOF."""
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self.master)[3] & termios.ICANON:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def finish(self, timeout=TIMEOUT):
        """Waits for the child to exit, reading what is left; its status."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
        while self._read(0.05) and select.select([self.master], [], [], 0)[0]:
            pass
        return rc

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdin:
            self.proc.stdin.close()
        os.close(self.master)


def read_libedit_history(path):
    """The lines of a libedit history file (first line _HiStOrY_V2_, each
    entry strvis-encoded: a space is \\040)."""
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8").splitlines()
    if lines and lines[0] == "_HiStOrY_V2_":
        lines = lines[1:]
    return [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), ln) for ln in lines]


# ---- the test base ----

class CtlTestCase(ServerTestCase):
    """One heapd per class; heapctl talks to it over the Unix socket."""

    def ctl(self, *args, input=None, env=None):
        return run_heapctl(["-s", self.server.sock_path] + list(args), input=input, env=env)

    def ok(self, *args, input=None, env=None):
        """heapctl's stdout for a run that must succeed silently on stderr."""
        r = self.ctl(*args, input=input, env=env)
        self.assertEqual((r.returncode, r.err), (EXIT_OK, ""), (args, r.out))
        return r.out

    def fails(self, status, *args, input=None, env=None):
        """heapctl's stderr for a run that must exit with status (and print
        nothing on stdout unless it is a script)."""
        r = self.ctl(*args, input=input, env=env)
        self.assertEqual(r.returncode, status, (args, r.out, r.err))
        self.assertTrue(r.err.strip(), "no message on stderr for %r" % (args,))
        return r.err

    def one(self, *args):
        """The single output line of a successful command."""
        out = self.ok(*args)
        self.assertTrue(out.endswith("\n") and out.count("\n") == 1, (args, out))
        return out[:-1]

    def assertRefLine(self, line, type_name, obj_id=None):
        m = REF_RE.match(line)
        self.assertIsNotNone(m, line)
        self.assertEqual(m.group(1), type_name, line)
        if obj_id is not None:
            self.assertEqual(int(m.group(2)), obj_id, line)
        return int(m.group(2))

    def assertSyntaxError(self, err, column, message=None):
        """Python's layout: the text, a caret under column (1-based), then
        `SyntaxError: ... (column N)` as the last line."""
        lines = err.rstrip("\n").split("\n")
        self.assertGreaterEqual(len(lines), 3, err)
        last = lines[-1]
        self.assertRegex(last, r"SyntaxError: .* \(column %d\)$" % column, err)
        if message is not None:
            self.assertIn(message, last, err)
        text, caret = lines[-3], lines[-2]
        self.assertTrue(text.startswith("  ") and caret.startswith("  "), err)
        self.assertEqual(caret.strip(), "^", err)
        self.assertEqual(caret.index("^") - 2, column - 1, err)
        return text[2:]


# ---- one-shot commands ----

class OneShotTest(CtlTestCase):

    TYPES = [  # literal, repr of the value, --json of the value, type name
        ("None", "None", "null", "NoneType"),
        ("True", "True", "true", "bool"),
        ("False", "False", "false", "bool"),
        ("-7", "-7", "-7", "int"),
        ("123456", "123456", "123456", "int"),
        ("2.5", "2.5", "2.5", "float"),
        ("-inf", "-inf", '{"$float":"-inf"}', "float"),
        ("'it\\'s'", "\"it's\"", '"it\'s"', "str"),
        ("b'\\x00a'", "b'\\x00a'", '{"$bytes":"0061"}', "bytes"),
        ("()", "()", '{"$tuple":[]}', "tuple"),
        ("(1,)", "(1,)", '{"$tuple":[1]}', "tuple"),
        ("(1, 'a')", "(1, 'a')", '{"$tuple":[1,"a"]}', "tuple"),
        ("[]", "[]", "[]", "list"),
        ("[1, [2.0, None]]", "[1, [2.0, None]]", "[1,[2.0,null]]", "list"),
        ("{}", "{}", "{}", "dict"),
        ("{'k': [1]}", "{'k': [1]}", '{"k":[1]}', "dict"),
        ("{1: 'x', 'y': 2}", "{1: 'x', 'y': 2}", '{"$dict":[[1,"x"],["y",2]]}', "dict"),
        ("{(1, 2): b''}", "{(1, 2): b''}", '{"$dict":[[{"$tuple":[1,2]},{"$bytes":""}]]}',
         "dict"),
        ("{7}", "{7}", '{"$set":[7]}', "set"),
        ("set()", "set()", '{"$set":[]}', "set"),
    ]

    def test_every_type(self):
        c = self.connect()
        for i, (lit, rep, js, type_name) in enumerate(self.TYPES):
            with self.subTest(lit=lit):
                self.assertTrue(same(from_json(json.loads(js)), py_eval(rep)))  # the table
                line = self.one("bind", "t%d" % i, lit)
                obj_id = ref_id(c.ok("lookup", "t%d" % i))
                self.assertRefLine(line, type_name, obj_id)
                self.assertEqual(self.one("get", "t%d" % i), rep)
                self.assertEqual(self.one("--json", "get", "t%d" % i), js)
                self.assertEqual(json.loads(self.one("--json", "lookup", "t%d" % i)),
                                 {"$ref": obj_id, "type": type_name})
                self.assertEqual(self.one("type", "@%d" % obj_id), repr(type_name))
                self.assertEqual(self.one("--raw", "type", "t%d" % i), type_name)
                self.assertEqual(self.one("get", "@%d" % obj_id), rep)
        self.assertHealthy(c)

    def test_containers_nested_past_depth_and_cycles_are_refs(self):
        c = self.connect()
        c.ok("bind", "cyc", [])
        c.ok("append", "cyc", name("cyc"))
        cyc = ref_id(c.ok("lookup", "cyc"))
        self.assertEqual(self.one("get", "cyc"), "[<list object at @%d>]" % cyc)
        self.assertEqual(json.loads(self.one("--json", "get", "cyc")),
                         [{"$ref": cyc, "type": "list"}])
        self.ok("bind", "outer", "[[1], {'k': (2,)}]")
        inner = ref_id(c.ok("getitem", "outer", 0))
        d = ref_id(c.ok("getitem", "outer", 1))
        self.assertEqual(self.one("get", "outer", "1"),
                         "[<list object at @%d>, <dict object at @%d>]" % (inner, d))
        self.assertEqual(self.one("get", "outer"), "[[1], {'k': (2,)}]")
        # getitem: scalars as values, containers as refs.
        self.assertEqual(self.one("getitem", "outer", "0"), "<list object at @%d>" % inner)
        t = ref_id(c.ok("getitem", c.ok("getitem", "outer", 1), "k"))
        self.assertEqual(self.one("getitem", "@%d" % d, "'k'"), "<tuple object at @%d>" % t)
        self.assertEqual(self.one("getitem", "@%d" % inner, "-1"), "1")
        c.ok("unbind", "cyc")
        c.ok("gc_collect")
        self.assertHealthy(c)

    def test_argument_kinds(self):
        # Options stop at the command: `-1` is an argument.
        self.assertRefLine(self.one("bind", "neg", "-1"), "int")
        self.assertEqual(self.one("get", "neg"), "-1")
        self.assertRefLine(self.one("bind", "negf", "-2.5"), "float")
        # Targets: a bare word is a name, a literal a temporary.
        self.assertEqual(self.one("len", "[1, 2, 3]"), "3")
        self.assertEqual(self.one("contains", "{'a': 1}", "'a'"), "True")
        self.assertEqual(self.one("type", "2.5"), "'float'")
        self.ok("bind", "ka", "[1]")
        self.ok("bind", "kb", "$ka")
        self.assertEqual(self.one("is", "ka", "kb"), "True")
        self.assertEqual(self.one("is", "ka", "[1]"), "False")
        # Values: $name is the bound object, a quoted word a str.
        self.assertEqual(self.one("contains", "[-1]", "$neg"), "True")
        self.assertEqual(self.one("contains", "[-1]", "$negf"), "False")
        self.ok("bind", "kc", "[$ka, $neg]")
        self.assertEqual(self.one("get", "kc"), "[[1], -1]")
        self.assertEqual(self.one("is", "kb", "@%d" % int(REF_RE.match(
            self.one("getitem", "kc", "0")).group(2))), "True")
        self.assertTrue(self.fails(EXIT_SERVER_ERROR, "bind", "kd", "$nobody")
                        .startswith("NameError: "))
        # ping echoes its argument as sent, so it shows the parsed literal.
        self.assertEqual(self.one("ping", "'neg'"), "'neg'")
        self.assertEqual(self.one("ping", "[$neg, (1,), {2}, b'']"), "[$neg, (1,), {2}, b'']")
        self.assertEqual(self.one("ping"), "'pong'")
        # Words: setting, scope.
        self.assertEqual(self.one("config_get", "gc.threshold"), "[700, 10, 10]")
        self.assertIn("'neg'", self.one("names", "global"))
        # A word may be written as a literal too.
        self.assertEqual(self.one("get", "'neg'"), "-1")

    def test_empty_str_and_bytes(self):
        # msgpack-c hands an empty str or bin over with a NULL pointer.
        self.ok("bind", "empty", "['', b'', {'': ''}, ('',)]")
        self.assertEqual(self.one("get", "empty"), "['', b'', {'': ''}, ('',)]")
        self.assertEqual(json.loads(self.one("--json", "get", "empty")),
                         ["", {"$bytes": ""}, {"": ""}, {"$tuple": [""]}])
        self.ok("bind", "empty_s", "''")
        self.assertEqual(self.one("get", "empty_s"), "''")
        self.assertEqual(self.one("--json", "get", "empty_s"), '""')
        self.assertEqual(self.ok("--raw", "get", "empty_s"), "\n")
        self.assertEqual(self.one("ping", "''"), "''")

    def test_raw(self):
        self.ok("bind", "rs", "'two\\nlines \\'q\\' \\u00e9'")
        self.assertEqual(self.ctl("--raw", "get", "rs").stdout,
                         "two\nlines 'q' \u00e9\n".encode("utf-8"))
        self.assertEqual(self.one("get", "rs"), "\"two\\nlines 'q' \u00e9\"")
        self.ok("bind", "rb", "b'\\xffA\\x00'")
        self.assertEqual(self.ctl("--raw", "get", "rb").stdout, b"\xffA\x00\n")
        self.assertEqual(self.one("--raw", "ping"), "pong")
        # Not a str or bytes: repr as usual.
        self.assertEqual(self.one("--raw", "get", "['a']"), "['a']")

    def test_server_errors_exit_1(self):
        err = self.fails(EXIT_SERVER_ERROR, "get", "nosuch")
        self.assertEqual(err, "NameError: name 'nosuch' is not defined\n")
        err = self.fails(EXIT_SERVER_ERROR, "push_scope", "1")
        self.assertEqual(err, "TypeError: push_scope() takes 0 arguments (1 given)\n")
        self.assertTrue(self.fails(EXIT_SERVER_ERROR, "pop_scope").startswith("RuntimeError: "))
        self.assertTrue(self.fails(EXIT_SERVER_ERROR, "get", "@99999")
                        .startswith("ReferenceError: "))
        self.assertTrue(self.fails(EXIT_SERVER_ERROR, "getitem", "[1]", "5")
                        .startswith("IndexError: "))
        self.assertTrue(self.fails(EXIT_SERVER_ERROR, "get", "{[1]: 2}")
                        .startswith("TypeError: unhashable type: 'list'"))
        self.assertEqual(self.ctl("get", "nosuch").out, "")

    def test_usage_errors_exit_2(self):
        err = self.fails(EXIT_USAGE, "nosuchcommand")
        self.assertIn("unknown command 'nosuchcommand'", err)
        # A bare identifier where a value is expected: a hint.
        err = self.fails(EXIT_USAGE, "ping", "foo")
        self.assertIn("SyntaxError: foo is not a value", err)
        self.assertIn("'foo'", err)
        self.assertIn("$foo", err)
        sock = self.server.sock_path
        for args in (["-H", "127.0.0.1", "ping"], ["-p", "1234", "ping"],
                     ["-s", sock, "-H", "127.0.0.1", "-p", "1234", "ping"],
                     ["-H", "127.0.0.1", "-p", "0", "ping"],
                     ["-H", "127.0.0.1", "-p", "65536", "ping"],
                     ["-H", "127.0.0.1", "-p", "http", "ping"],
                     ["--bogus", "ping"], ["-s", sock, "-f", "/dev/null", "ping"],
                     ["-s", sock, "-f", os.path.join(self.server.dir, "no-such-file")],
                     ["-s", sock, "stats", "--watch", "0"],
                     ["-s", sock, "stats", "--watch", "soon"],
                     ["-s", sock, "stats", "gc", "extra"],
                     ["help", "bind", "extra"]):
            with self.subTest(args=args):
                r = run_heapctl(args)
                self.assertEqual(r.returncode, EXIT_USAGE, (r.out, r.err))
                self.assertTrue(r.err.strip())
                self.assertEqual(r.out, "")

    def test_could_not_connect_exit_3(self):
        missing = os.path.join(self.server.dir, "nobody.sock")
        r = run_heapctl(["-s", missing, "ping"])
        self.assertEqual(r.returncode, EXIT_CONNECT, r.err)
        self.assertIn("could not connect", r.err)
        self.assertIn(missing, r.err)
        self.assertEqual(r.out, "")
        r = run_heapctl(["-H", "127.0.0.1", "-p", str(free_tcp_port()), "ping"])
        self.assertEqual(r.returncode, EXIT_CONNECT, r.err)
        self.assertIn("could not connect", r.err)
        # Scripts too.
        r = run_heapctl(["-s", missing], input="ping\n")
        self.assertEqual(r.returncode, EXIT_CONNECT, r.err)

    def test_json_output_is_one_document_per_line(self):
        r = self.ctl("--json", input="ping\nget [1, 'a', (2,), {3}]\nhello\nstats gc\n")
        self.assertEqual(r.returncode, 0, r.err)
        docs = [json.loads(line) for line in lines_of(r.out)]
        self.assertEqual(docs[0], "pong")
        self.assertTrue(same(from_json(docs[1]), [1, "a", (2,), {3}]), docs[1])
        self.assertEqual(docs[2]["server"], "heapd")
        self.assertIn("phase", docs[3])
        self.assertEqual(len(docs), 4)


# ---- literals: text -> server -> text ----

def python_values():
    """Values whose literal is Python's repr, and whose repr heapctl must
    print exactly (no sets: Python prints them in its own hash order)."""
    return [
        None, True, False, 0, 1, -1, -5, 256, 257, -6, 2 ** 31, -2 ** 31 - 1, 2 ** 53 + 1,
        2 ** 63 - 1, -2 ** 63,
        0.0, -0.0, 1.0, -2.5, 0.1, 0.2 + 0.1, 1e16, 1e-5, 1e-4, 9999999999999998.0,
        123456789.125, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308, 1e22,
        -1.5e-7, 1e100, float("inf"), float("-inf"),
        "", "a", "it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\tnl\ncr\r",
        "\x01\x1f\x7f\x80\x9f\xa0\xad\xff", "\u00e9\u4e2d\u6587", "\U0001F600 \U0001D11E",
        "\u2028\u2029\ufeff", "#not a comment", "a\x00b",
        b"", b"abc", b"\x00\xff", b"'", b'"', b"'\"", b"\t\n\r\\", bytes(range(256)),
        (), (1,), (1, "a", (2, (3,))), ((),),
        [], [1, [2, [3, []]]], [None, True, 1.5, "x", b"y", (1,)], [[[[[[[[[[[[[[1]]]]]]]]]]]]]],
        {}, {"a": 1, "b": [1, 2], "c": {"d": {}}}, {1: "one", "two": 2, (3, 4): [5]},
        {b"k": None, 2.5: -0.0, None: True}, {"": ""}, [{}, [], (), "", b""],
        {"\u00e9": "\U0001F600", "k\x00": "nul key"},
    ]


def py_eval(text):
    """A repr printed by heapctl as a Python value (inf and nan included)."""
    return eval(text, {"__builtins__": {}, "inf": math.inf, "nan": math.nan, "set": set})


def lines_of(text):
    """Output lines (split on \\n only: a str may hold U+2028 and friends)."""
    assert text == "" or text.endswith("\n"), text
    return text.split("\n")[:-1]


def has_str_nul(v):
    if isinstance(v, str):
        return "\x00" in v
    if isinstance(v, dict):
        return any(has_str_nul(k) or has_str_nul(x) for k, x in v.items())
    if isinstance(v, (list, tuple, set)):
        return any(has_str_nul(x) for x in v)
    return False


def random_floats(n, seed=5):
    rnd = random.Random(seed)
    out = []
    while len(out) < n:
        kind = len(out) % 3
        if kind == 0:  # any bit pattern
            f = struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0]
        elif kind == 1:  # ordinary magnitudes
            f = rnd.uniform(-1, 1) * 10 ** rnd.randint(-8, 20)
        else:  # short decimals, around the repr switch points
            f = round(rnd.uniform(-1, 1) * 10 ** rnd.randint(-6, 18), rnd.randint(0, 6))
        if not math.isnan(f):
            out.append(f)
    return out


class LiteralTest(CtlTestCase):

    def bind_all(self, prefix, values):
        """Binds prefix0.. to each value's repr in one script; checks every
        bind answered a ref of the value's type."""
        script = "".join("bind %s%d %r\n" % (prefix, i, v) for i, v in enumerate(values))
        out = lines_of(self.ok(input=script))
        self.assertEqual(len(out), len(values), out)
        for v, line in zip(values, out):
            self.assertRefLine(line, type(v).__name__)

    def get_all(self, prefix, n, *opts):
        script = "".join("get %s%d\n" % (prefix, i) for i in range(n))
        out = lines_of(self.ok(*opts, input=script))
        self.assertEqual(len(out), n, out)
        return out

    def test_repr_round_trip(self):
        values = python_values()
        self.bind_all("rt", values)
        for v, line in zip(values, self.get_all("rt", len(values))):
            with self.subTest(value=v):
                self.assertEqual(line, repr(v))

    def test_str_escapes_match_python_repr(self):
        # Every BMP code point but the surrogates, then every 7th above it:
        # heapctl escapes exactly what this python3's repr escapes
        # (client/unprintable.h comes from the same Unicode database).
        cps = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
        cps += range(0x10000, 0x110000, 7)
        chunks = ["".join(map(chr, cps[i:i + 16384])) for i in range(0, len(cps), 16384)]
        self.bind_all("up", chunks)
        for v, line in zip(chunks, self.get_all("up", len(chunks))):
            if line != repr(v):
                bad = next(c for c in v if repr(c)[1:-1] not in line)
                self.fail("U+%04X: heapctl and repr() differ (repr gives %s)"
                          % (ord(bad), repr(bad)))

    def test_json_round_trip(self):
        # Without str NULs: test_json_str_with_nul has them.
        values = [v for v in python_values() if not has_str_nul(v)]
        self.bind_all("js", values)
        for v, line in zip(values, self.get_all("js", len(values), "--json")):
            with self.subTest(value=v):
                self.assertTrue(same(from_json(json.loads(line)), v), (line, v))

    def test_json_str_with_nul(self):
        # A str may hold U+0000; JSON escapes it as \u0000.
        for i, v in enumerate(("a\x00b", {"k\x00": 1}, ["\x00"])):
            with self.subTest(value=v):
                self.ok("bind", "nul%d" % i, repr(v))
                line = self.one("--json", "get", "nul%d" % i)
                self.assertTrue(same(from_json(json.loads(line)), v), (line, v))

    def test_sets(self):
        values = [{1, 2, 3}, {-1, "a", (2, 3), b"x", None, 2.5, False}, set(),
                  [{1}, {"k": {(1, (2,))}}], ({"x", "y"},), {(1, 2)}]
        self.bind_all("st", values)
        js = self.get_all("st", len(values), "--json")
        reprs = self.get_all("st", len(values))
        for v, j, r in zip(values, js, reprs):
            with self.subTest(value=v):
                self.assertTrue(same(from_json(json.loads(j)), v), (j, v))
                self.assertTrue(same(py_eval(r), v), (r, v))

    def test_random_floats(self):
        floats = random_floats(300)
        self.ok("bind", "floats", repr(floats))
        self.assertEqual(self.one("get", "floats"), repr(floats))
        back = json.loads(self.one("--json", "get", "floats"))
        self.assertTrue(same(from_json(back), floats))
        # nan: repr and JSON.
        self.assertEqual(self.one("get", "nan"), "nan")
        self.assertEqual(json.loads(self.one("--json", "get", "[nan, -0.0]")),
                         [{"$float": "nan"}, -0.0])

    def test_one_shot_arguments_round_trip(self):
        # argv words (not split from a line): spaces and quotes inside.
        v = [1, "a b", ("c  d",), {"e f": b" g "}, 'q"uote\'s']
        self.ok("bind", "argv_v", repr(v))
        self.assertEqual(self.one("get", "argv_v"), repr(v))
        self.ok("bind", "int_min", "-9223372036854775808")
        self.ok("bind", "int_max", "9223372036854775807")
        self.assertEqual(self.one("get", "int_min"), "-9223372036854775808")
        self.assertEqual(self.one("--json", "get", "int_max"), "9223372036854775807")
        big = "[9007199254740993, -9007199254740993]"
        self.assertEqual(json.loads(self.one("--json", "get", big)),
                         [9007199254740993, -9007199254740993])
        # Hex ints and whitespace inside literals, as Python reads them.
        self.assertEqual(self.one("get", "0x1F"), "31")
        self.assertEqual(self.one("get", "[ 1 ,2,\t( 3 , ) ]"), "[1, 2, (3,)]")
        self.ok("bind", "esc", "\"\\U0001F600\\u00e9\\x41\\\\\"")
        self.assertEqual(self.one("get", "esc"), "'\U0001F600\u00e9A\\\\'")

    def test_ints_past_int64_are_overflow_errors(self):
        for text in ("9223372036854775808", "18446744073709551615", "18446744073709551616",
                     "100000000000000000000000000000", "-9223372036854775809",
                     "[1, 18446744073709551616]"):
            with self.subTest(text=text):
                err = self.fails(EXIT_SERVER_ERROR, "bind", "big", text)
                self.assertTrue(err.startswith("OverflowError: "), err)
        self.fails(EXIT_SERVER_ERROR, "get", "big")

    def test_leading_zero_int_is_a_syntax_error(self):
        # Python: "leading zeros in decimal integer literals are not
        # permitted"; 010 is not 8.
        err = self.fails(EXIT_USAGE, "get", "010")
        self.assertSyntaxError(err, 1)
        self.assertEqual(self.one("get", "0"), "0")
        self.assertEqual(self.one("get", "0.5"), "0.5")

    def test_deep_literals(self):
        # Within the server's limits: comes back whole at depth 16.
        self.assertEqual(self.one("get", "[" * 16 + "]" * 16), "[" * 16 + "]" * 16)
        # Deeper than msgpack-c's 32 levels per message: an error, no crash.
        r = self.ctl("get", "[" * 40 + "]" * 40)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nested", r.err)
        # Deeper than the client's own parser allows: a syntax error.
        err = self.fails(EXIT_USAGE, "get", "[" * 600 + "]" * 600)
        self.assertSyntaxError(err, 513, "nested too deeply")
        self.assertHealthy()


class SyntaxErrorTest(CtlTestCase):

    def test_column_in_argument(self):
        cases = [  # text, column (1-based), message part
            ("[1, 2", 6, "missing closing bracket"),
            ("[1,, 2]", 4, "invalid syntax"),
            ("(1, 2]", 6, "expected ',' or closing bracket"),
            ("'\\q'", 3, "unknown escape"),
            ("'abc", 5, "unterminated string"),
            ("{1: 2, 3}", 9, "expected ':'"),
            ("[1] 2", 5, "unexpected text after the value"),
            ("$", 2, "expected a name"),
            ("@x", 2, "expected digits"),
            ("b'\u00e9'", 3, "ASCII"),
            ("'ab\udcffc'", 4, "invalid UTF-8"),  # the byte 0xFF in argv
            ("'\u00e9\udcc3'", 3, "invalid UTF-8"),  # a lead byte cut short
        ]
        for text, col, msg in cases:
            with self.subTest(text=text):
                r = self.ctl("bind", "bad", text)
                self.assertEqual(r.returncode, EXIT_USAGE, r.err)
                self.assertEqual(r.out, "")
                self.assertEqual(self.assertSyntaxError(r.err, col, msg), text)
        self.fails(EXIT_SERVER_ERROR, "get", "bad")

    def test_column_in_script_line(self):
        r = self.ctl(input="ping\nbind x [1,, 2]\n")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertEqual(self.assertSyntaxError(r.err, 11), "bind x [1,, 2]")
        self.assertIn("<stdin>:2: SyntaxError", r.err)
        # An argument that splits but is no value: the column of that word.
        r = self.ctl(input="get foo   bar\n")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertSyntaxError(r.err, 11, "bar is not a value")
        # A literal left open on the line.
        r = self.ctl(input="bind x {'a': [1, 2}\n")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertSyntaxError(r.err, 19)

    def test_caret_counts_characters(self):
        # The caret sits under the offending character on a terminal, so
        # the column counts characters as Python's does, not UTF-8 bytes.
        r = self.ctl("bind", "x", "['\u00e9\u00e9',, 1]")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertSyntaxError(r.err, 7, "invalid syntax")


# ---- scripts ----

class ScriptTest(CtlTestCase):

    def script_file(self, text):
        fd, path = tempfile.mkstemp(prefix="heapctl-", suffix=".hs", dir=self.server.dir)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def test_scopes_across_lines(self):
        script = ("# a script is one session\n"
                  "push_scope\n"
                  "bind y [1]   # a comment after a command\n"
                  "\n"
                  "   \t\n"
                  "bind g 2 global\n"
                  "lookup y\n"
                  "names local\n"
                  "names global\n"
                  "bind hash 'a#b # c'\n"
                  "get hash\n"
                  "pop_scope\n"
                  "ping\n")
        r = self.ctl(input=script)
        self.assertEqual(r.returncode, 0, r.err)
        lines = r.out.splitlines()
        self.assertEqual(lines[0], "1")
        y = self.assertRefLine(lines[1], "list")
        self.assertRefLine(lines[2], "int")
        self.assertRefLine(lines[3], "list", y)
        self.assertEqual(lines[4], "['y']")
        self.assertIn("'g'", lines[5])
        self.assertNotIn("'y'", lines[5])
        self.assertRefLine(lines[6], "str")
        self.assertEqual(lines[7], "'a#b # c'")
        self.assertEqual(lines[8], "2")  # y and hash went out of scope
        self.assertEqual(lines[9], "'pong'")
        self.assertEqual(len(lines), 10)
        # The local names are gone, the global one stays.
        r = self.ctl(input="push_scope\nbind y [1]\npop_scope\nlookup y\nping\n")
        self.assertEqual(r.returncode, EXIT_SERVER_ERROR)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertEqual((lines[0], lines[2]), ("1", "1"))
        self.assertRefLine(lines[1], "list")
        self.assertEqual(r.err, "<stdin>:4: NameError: name 'y' is not defined\n")
        self.assertEqual(self.one("get", "g"), "2")

    def test_one_session(self):
        out = self.ok("--json", input="hello\nhello\n").splitlines()
        a, b = (json.loads(x) for x in out)
        self.assertEqual(a["session"], b["session"])
        other = json.loads(self.ok("--json", "hello"))
        self.assertNotEqual(other["session"], a["session"])

    def test_stops_at_first_error(self):
        script = "ping\nget nosuch\nping 1\n"
        r = self.ctl(input=script)
        self.assertEqual((r.returncode, r.out), (EXIT_SERVER_ERROR, "'pong'\n"))
        self.assertEqual(r.err, "<stdin>:2: NameError: name 'nosuch' is not defined\n")
        # A usage error is the status of that line.
        # A line that is neither a command nor Python is Python's SyntaxError.
        r = self.ctl(input="ping\nnosuchcommand 1\nping 1\n")
        self.assertEqual((r.returncode, r.out), (EXIT_USAGE, "'pong'\n"))
        self.assertIn('File "<stdin>", line 2', r.err)
        self.assertTrue(r.err.endswith("SyntaxError: invalid syntax\n"), r.err)
        r = self.ctl(input="ping\nping foo\nping 1\n")
        self.assertEqual((r.returncode, r.out), (EXIT_USAGE, "'pong'\n"))

    def test_keep_going(self):
        path = self.script_file("ping 1\nget nosuch\nnosuchcommand\nping 4\nget [1, 2\nping 6\n")
        r = self.ctl("--keep-going", "-f", path)
        self.assertEqual(r.returncode, EXIT_USAGE)  # the highest status seen
        self.assertEqual(r.out, "1\n4\n6\n")
        err = r.err.splitlines()
        self.assertEqual(err[0], "%s:2: NameError: name 'nosuch' is not defined" % path)
        # A lone word that is no command is a Python name.
        self.assertEqual(err[1:4], ["Traceback (most recent call last):",
                                    '  File "%s", line 3, in <module>' % path,
                                    "NameError: name 'nosuchcommand' is not defined"])
        self.assertTrue(err[-1].startswith("%s:5: SyntaxError: " % path), err)
        r = self.ctl("--keep-going", input="ping 1\nget nosuch\nping 3\n")
        self.assertEqual((r.returncode, r.out), (EXIT_SERVER_ERROR, "1\n3\n"))
        # Without --keep-going the file stops at line 2.
        r = self.ctl("-f", path)
        self.assertEqual((r.returncode, r.out), (EXIT_SERVER_ERROR, "1\n"))
        self.assertEqual(len(r.err.splitlines()), 1, r.err)

    def test_quit_and_exit_end_the_script(self):
        for word in ("quit", "exit"):
            r = self.ctl(input="ping 1\n%s\nget nosuch\n" % word)
            self.assertEqual((r.returncode, r.out, r.err), (0, "1\n", ""))
        self.assertEqual(self.ok("-f", "-", input="ping 1\nping 2"), "1\n2\n")
        self.assertEqual(self.ok(input=""), "")
        self.assertEqual(self.ok(input="# only a comment\n\n"), "")
        self.assertEqual(self.ok(input="ping 1\r\nping 2\r\n"), "1\n2\n")

    def test_help_and_stats_in_a_script(self):
        r = self.ctl(input="help ping\nstats gc\n")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertTrue(r.out.startswith("ping [x]\n"), r.out)
        self.assertIn("\nphase:", r.out)

    def test_handles_and_ids_across_lines(self):
        # stdin a pipe (a script), stdout a terminal (line-buffered), so each
        # answer can be read before the next line is written.
        p = Pty([HEAPCTL, "-s", self.server.sock_path], base_env(), stdin_pipe=True)
        self.addCleanup(p.close)
        p.send(b"new [4242, 'h']\n")
        m = p.expect(rb"<list object at @(\d+)>\r\n")
        self.assertIsNotNone(m, p.out)
        obj = int(m.group(1))
        mark = len(p.out)
        p.send(b"refcount @%d\nget @%d\n" % (obj, obj))
        self.assertIsNotNone(p.expect(rb"\[4242, 'h'\]\r\n", mark), p.out)
        self.assertEqual(p.out[mark:], b"1\r\n[4242, 'h']\r\n")
        # The handle is this session's: another session cannot release it.
        err = self.fails(EXIT_SERVER_ERROR, "release", "@%d" % obj)
        self.assertTrue(err.startswith("ValueError: "), err)
        mark = len(p.out)
        p.send(b"release @%d\nget @%d\nping\n" % (obj, obj))
        self.assertIsNotNone(p.expect(rb"<stdin>:5: ReferenceError: ", mark), p.out)
        p.proc.stdin.close()
        self.assertEqual(p.finish(), EXIT_SERVER_ERROR)
        self.assertNotIn(b"pong", p.out)

    def test_events_are_printed(self):
        out = self.ok(input="bind w [1]\nwatch w\nunbind w\nping\n").splitlines()
        w = self.assertRefLine(out[0], "list")
        self.assertIn("event freed [<list object at @%d>, 'list', 'refcount']" % w, out)
        self.assertEqual(out[-1], "'pong'")

    def test_lost_connection_exits_3(self):
        s = Server().start()
        self.addCleanup(s.cleanup)
        r = run_heapctl(["-s", s.sock_path, "--keep-going"],
                        input="ping\nshutdown\nping\nping\n")
        self.assertEqual(r.returncode, EXIT_CONNECT, r.err)
        self.assertTrue(r.out.startswith("'pong'\n"), r.out)
        self.assertEqual(r.out.count("pong"), 1)
        self.assertIn("<stdin>:3: ConnectionError: ", r.err)
        self.assertEqual(len(r.err.splitlines()), 1, r.err)
        self.assertEqual(s.wait(), 0)


# ---- stats and help ----

class StatsHelpTest(CtlTestCase):

    SECTIONS = ["server", "clients", "memory", "objects", "refcount", "gc", "commands",
                "persistence"]

    def test_stats_text(self):
        self.ok("ping")
        out = self.ok("stats")
        headers = re.findall(r"^# (\w+)$", out, re.M)
        for s in self.SECTIONS:
            self.assertIn(s, headers)
        c = self.connect()
        stats = c.ok("stats")
        self.assertEqual(headers, list(stats))
        section = None
        for line in out.splitlines():
            if not line:
                continue
            if line.startswith("# "):
                section = line[2:]
                continue
            key, sep, _ = line.partition(":")
            self.assertEqual(sep, ":", line)
            self.assertIn(key, stats[section], line)
        # A nested map (a command's counters) on one line.
        ping = re.search(r"^ping:(.*)$", out, re.M)
        self.assertIsNotNone(ping, out)
        fields = dict(f.split("=", 1) for f in ping.group(1).split(","))
        self.assertGreaterEqual(int(fields["calls"]), 1)
        self.assertEqual(set(fields), set(stats["commands"]["ping"]))
        self.assertRegex(out, r"(?m)^pid:%d$" % stats["server"]["pid"])
        self.assertRegex(out, r"(?m)^phase:(idle|mark|sweep)$")

    def test_stats_section_and_json(self):
        out = self.ok("stats", "gc")
        self.assertNotIn("#", out)
        keys = [line.split(":", 1)[0] for line in out.splitlines()]
        for k in ("enabled", "phase", "threshold", "count", "cycles", "collected", "slices",
                  "last_pause_us", "max_pause_us", "total_pause_us", "p99_pause_us"):
            self.assertIn(k, keys)
        self.assertIn("threshold:700", out.splitlines())
        for args in (["stats", "--json"], ["--json", "stats"]):
            doc = json.loads(self.ok(*args))
            for s in self.SECTIONS:
                self.assertIsInstance(doc[s], dict, s)
            self.assertEqual(doc["gc"]["threshold"], 700)
        gc = json.loads(self.ok("stats", "gc", "--json"))
        self.assertEqual(gc["threshold"], 700)
        self.assertIn(gc["phase"], ("idle", "mark", "sweep"))
        err = self.fails(EXIT_SERVER_ERROR, "stats", "nosuch")
        self.assertTrue(err.startswith("ValueError: "), err)

    def test_stats_watch(self):
        p = subprocess.Popen([HEAPCTL, "-s", self.server.sock_path, "stats", "--watch", "0.2"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=base_env())
        lines = []
        try:
            deadline = time.monotonic() + TIMEOUT
            while len(lines) < 3 and time.monotonic() < deadline:
                if select.select([p.stdout], [], [], 0.5)[0]:
                    line = p.stdout.readline()
                    if not line:
                        break
                    lines.append(line.decode())
            self.assertIsNone(p.poll(), "--watch ended by itself")
        finally:
            p.terminate()
            p.wait(TIMEOUT)
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[0].split()[0] == "objects" and "ops/s" in lines[0], lines)
        header = lines[0].split()
        for line in lines[1:]:
            fields = line.split()
            self.assertEqual(len(fields), 7, line)
            self.assertTrue(fields[0].isdigit(), line)  # live objects
            self.assertGreater(int(fields[0]), 0, line)
            self.assertIn(fields[4], ("idle", "mark", "sweep"), line)
            self.assertRegex(fields[6], r"^\d+/\d+/\d+$")
        self.assertEqual(header[1], "memory")

    def test_help_lists_every_method(self):
        r = run_heapctl(["help"])
        self.assertEqual((r.returncode, r.err), (0, ""))
        listed = [line.split()[0] for line in r.out.splitlines() if line.startswith("  ")]
        methods = [m["name"] for m in self.connect().ok("api_info")["methods"]]
        local = ["bench", "help", "scan", "stats", "why", "graph", "top"]
        self.assertEqual(sorted(listed), sorted(methods + local))

    def test_help_one_command(self):
        c = self.connect()
        for m in c.ok("api_info")["methods"]:
            if m["name"] in ("stats", "scan"):  # heapctl's own (below) show instead
                continue
            with self.subTest(method=m["name"]):
                usage = m["name"] + (" " + m["params"] if m["params"] else "")
                self.assertEqual(run_heapctl(["help", m["name"]]).out,
                                 "%s\n    %s\n" % (usage, m["help"]))
        out = self.ok("help", "bind")
        self.assertTrue(out.startswith("bind name value [opts]\n    bind name to value"), out)
        self.assertTrue(self.ok("help", "stats").startswith("stats [SECTION]"))
        self.assertTrue(self.ok("help", "scan").startswith("scan [global|local] [CURSOR]"))
        self.assertTrue(self.ok("help", "bench").startswith("bench "))
        err = self.fails(EXIT_USAGE, "help", "nosuch")
        self.assertIn("unknown command 'nosuch'", err)

    def test_help_and_version_need_no_server(self):
        missing = ["-s", "/nonexistent/heapd.sock"]
        self.assertEqual(run_heapctl(missing + ["help", "ping"]).returncode, 0)
        r = run_heapctl(["--help"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.out.startswith("usage: heapctl "), r.out)
        r = run_heapctl(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.out.startswith("heapctl "), r.out)
        self.assertEqual(self.connect().ok("hello")["version"], r.out.split()[1])


# ---- auth ----

class ScanCommandTest(CtlTestCase):
    """heapctl scan walks every page of SCAN; with a cursor, one step."""

    def test_scan_lists_every_name_once_per_line(self):
        c = self.connect()
        c.pipeline([("bind", "sc%d" % i, i) for i in range(700)])
        out = self.ok("scan", "--count", "50")
        names = [n for n in out.splitlines() if n.startswith("sc")]
        self.assertEqual(sorted(names), sorted("sc%d" % i for i in range(700)))
        out = self.ok("scan", "global", "--match", "sc1?")
        self.assertEqual(sorted(out.splitlines()), ["sc%d" % i for i in range(10, 20)])
        out = self.ok("--json", "scan", "--match", "sc69?")
        self.assertEqual(sorted(out.splitlines()), ['"sc%d"' % i for i in range(690, 700)])

    def test_one_step_with_a_cursor(self):
        line = self.one("scan", "global", "0", "--count", "3")
        self.assertRegex(line, r"^\[\d+, \[.*\]\]$")

    def test_usage_errors(self):
        self.assertIn("usage: scan", self.fails(EXIT_USAGE, "scan", "--count", "x"))
        self.assertIn("ValueError", self.fails(EXIT_SERVER_ERROR, "scan", "nowhere"))


class AuthTest(CtlTestCase):
    TOKEN = "heapctl-test-token"

    @classmethod
    def setUpClass(cls):
        cls.token_dir = tempfile.mkdtemp(prefix="heapctl-it-")
        path = os.path.join(cls.token_dir, "token")
        with open(path, "w") as f:
            f.write(cls.TOKEN + "\n")
        cls.port = free_tcp_port()
        cls.CONFIG = {"auth": {"token_file": path},
                      "listen": {"tcp": "127.0.0.1:%d" % cls.port}}
        try:
            super().setUpClass()
        except Exception:
            shutil.rmtree(cls.token_dir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.token_dir, ignore_errors=True)

    def test_token_option(self):
        self.assertRefLine(self.one("-a", self.TOKEN, "bind", "authed", "[1]"), "list")
        self.assertEqual(self.one("--auth", self.TOKEN, "get", "authed"), "[1]")
        # One auth for the whole script.
        self.assertEqual(self.ok("-a", self.TOKEN, input="get authed\nlen authed\n"),
                         "[1]\n1\n")

    def test_token_from_environment(self):
        env = base_env(HEAPCTL_AUTH=self.TOKEN)
        self.assertEqual(self.ok("get", "[2]", env=env), "[2]\n")
        # -a wins over the environment.
        env = base_env(HEAPCTL_AUTH="wrong")
        self.assertEqual(self.ok("-a", self.TOKEN, "get", "[3]", env=env), "[3]\n")
        self.fails(EXIT_SERVER_ERROR, "get", "[3]", env=env)

    def test_wrong_token(self):
        err = self.fails(EXIT_SERVER_ERROR, "-a", "not-the-token", "ping")
        self.assertTrue(err.startswith("AuthError: "), err)
        self.assertEqual(self.ctl("-a", "not-the-token", "ping").out, "")

    def test_no_token(self):
        # hello and ping need no auth; the rest answer the server's AuthError.
        self.assertEqual(self.one("ping"), "'pong'")
        err = self.fails(EXIT_SERVER_ERROR, "bind", "x", "1")
        self.assertTrue(err.startswith("AuthError: "), err)
        r = self.ctl(input="ping\nget [1]\nping\n")
        self.assertEqual((r.returncode, r.out), (EXIT_SERVER_ERROR, "'pong'\n"))
        self.assertTrue(r.err.startswith("<stdin>:2: AuthError: "), r.err)
        # auth as a command.
        r = self.ctl(input="auth %s\nget [4]\n" % self.TOKEN)
        self.assertEqual((r.returncode, r.out), (0, "True\n[4]\n"), r.err)

    def test_tcp(self):
        tcp = ["-H", "127.0.0.1", "-p", str(self.port)]
        r = run_heapctl(tcp + ["-a", self.TOKEN, "--json", "clients"])
        self.assertEqual(r.returncode, 0, r.err)
        mine = [x for x in json.loads(r.out) if x["transport"] == "tcp"]
        self.assertEqual(len(mine), 1, r.out)
        self.assertIs(mine[0]["authed"], True)
        r = run_heapctl(["--host", "127.0.0.1", "--port", str(self.port), "get", "[5]"])
        self.assertEqual(r.returncode, EXIT_SERVER_ERROR, r.err)
        self.assertTrue(r.err.startswith("AuthError: "), r.err)


# ---- the interactive prompt ----

class ReplTest(CtlTestCase):
    PROMPT = rb"heapd> "

    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="heapctl-home-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.histfile = os.path.join(self.home, "history")

    def repl(self, *args):
        env = base_env(TERM="xterm", HOME=self.home, HEAPCTL_HISTFILE=self.histfile)
        env.pop("INPUTRC", None)
        env.pop("EDITRC", None)
        p = Pty([HEAPCTL, "-s", self.server.sock_path] + list(args), env)
        self.addCleanup(p.close)
        self.assertIsNotNone(p.expect(self.PROMPT), p.out)
        return p

    def send(self, p, keys):
        """Types keys once the prompt reads the terminal key by key."""
        self.assertTrue(p.wait_raw(), p.out)
        p.send(keys)

    def type_line(self, p, keys, expect):
        """Sends keys, then waits for the regex expect and the next prompt
        after it; returns the match."""
        mark = len(p.out)
        self.send(p, keys)
        m = p.expect(expect, mark)
        self.assertIsNotNone(m, (keys, p.out[mark:]))
        self.assertIsNotNone(p.expect(self.PROMPT, m.end()), p.out[mark:])
        return m

    def test_commands_errors_and_quit(self):
        p = self.repl()
        self.type_line(p, b"ping 7\r", rb"\r\n7\r\n")
        self.type_line(p, b"get no_such_name\r", rb"NameError: name 'no_such_name' is not defined")
        self.type_line(p, b"bind x [1,, 2]\r", rb"SyntaxError: invalid syntax \(column 11\)")
        self.type_line(p, b"push_scope\r", rb"\r\n1\r\n")
        self.type_line(p, b"bind loc 'here'\r", rb"<str object at @\d+>")
        self.type_line(p, b"get loc\r", rb"'here'")
        self.type_line(p, b"help len\r", rb"len target\r\n")
        self.send(p, b"quit\r")
        self.assertEqual(p.finish(), 0, p.out)

    def test_complete_command(self):
        p = self.repl()
        mark = len(p.out)
        self.send(p, b"pin\t")
        p.expect(rb"g", mark, timeout=2)  # the completion drawn
        self.type_line(p, b"\r", rb"\r\n'pong'\r\n")
        # Without completion the word is no command: a Python name.
        self.type_line(p, b"pin\r", rb"NameError: name 'pin' is not defined")
        self.send(p, b"\x04")  # EOF
        self.assertEqual(p.finish(), 0, p.out)

    def test_complete_bound_names(self):
        c = self.connect()
        c.ok("bind", "zebra_count", "striped-4242")
        p = self.repl()
        mark = len(p.out)
        self.send(p, b"get zeb\t")
        p.expect(rb"ra_count", mark, timeout=2)
        self.type_line(p, b"\r", rb"\r\n'striped-4242'\r\n")
        # A local name completes too (the innermost scope).
        self.type_line(p, b"push_scope\r", rb"\r\n1\r\n")
        self.type_line(p, b"bind yak_local_name 31\r", rb"<int object at @\d+>")
        mark = len(p.out)
        self.send(p, b"get yak_l\t")
        p.expect(rb"ocal_name", mark, timeout=2)
        self.type_line(p, b"\r", rb"\r\n31\r\n")
        self.send(p, b"quit\r")
        self.assertEqual(p.finish(), 0, p.out)

    def test_history_is_saved_and_recalled(self):
        c = self.connect()
        c.ok("bind", "hist_value", "first")
        p = self.repl()
        self.type_line(p, b"ping 'abc def'\r", rb"'abc def'\r\n")
        self.type_line(p, b"get hist_value\r", rb"\r\n'first'\r\n")
        # Saved after each line: there before the session ends.
        hist = read_libedit_history(self.histfile)
        self.assertEqual([h.strip() for h in hist], ["ping 'abc def'", "get hist_value"])
        self.send(p, b"\x04")
        self.assertEqual(p.finish(), 0, p.out)
        # A new session recalls the last line with the up arrow, and runs
        # it again (against a changed value, so the answer is fresh).
        c.ok("bind", "hist_value", "second")
        p = self.repl()
        self.type_line(p, b"\x1b[A\r", rb"\r\n'second'\r\n")
        self.send(p, b"quit\r")
        self.assertEqual(p.finish(), 0, p.out)
        # And with Ctrl-P, two lines back past `quit`.
        c.ok("bind", "hist_value", "third")
        p = self.repl()
        self.type_line(p, b"\x10\x10\r", rb"\r\n'third'\r\n")
        self.send(p, b"\x04")
        self.assertEqual(p.finish(), 0, p.out)
        hist = [h.strip() for h in read_libedit_history(self.histfile)]
        self.assertEqual(hist[:2], ["ping 'abc def'", "get hist_value"])
        self.assertEqual(hist[-1], "get hist_value")
        self.assertIn("quit", hist)


if __name__ == "__main__":
    unittest.main()
