"""heapctl speaks Python (SPEC section 11): tutorial snippets run through
`heapctl -c CODE` and through a script file (`heapctl -f FILE`), against
Debian's /usr/bin/python3 running the same code, and the REPL's Python
(continuation lines, Ctrl-C, echo) through a pseudo-terminal.

Two kinds of checks:
  AGREE  heapd and CPython must print the same: values, `is`, identity of
         small ints, order of prints, tracebacks' last line.
  EXACT  heapd's exact counts, given here, where CPython's include the
         interpreter's own references: sys.getrefcount(26) in CPython
         counts every use of the small int 26 inside the interpreter (a
         large, version-dependent number); heapd counts only the program's
         references, plus the one CPython's argument adds.
"""

import fcntl
import os
import struct
import subprocess
import tempfile
import termios
import unittest

from test_heapctl import (EXIT_OK, EXIT_SERVER_ERROR, EXIT_USAGE, HEAPCTL, CtlTestCase, Pty,
                          base_env)

PYTHON = "/usr/bin/python3"

# (name, code): CPython and heapctl print the same.
AGREE = [
    ("names_share_an_int", "E = 26\nK = 26\nprint(E is K)\nprint(id(E) == id(K))\n"),
    ("small_ints_are_one_object", "x = 7; y = 7\nprint(id(x) == id(y), x is y, x == y)\n"),
    ("rebinding_an_immutable",
     "x = 300\ny = x\nprint(x is y)\nx = 301\nprint(x, y, x is y)\n"),
    ("list_seen_through_two_names",
     "lst1 = [1, 2, 3]\nlst2 = lst1\nlst1.append(4)\nprint(lst2)\nprint(lst1 is lst2)\n"
     "lst2.pop(0)\nprint(lst1, len(lst1))\n"),
    ("containers_hold_names",
     "E = 26\nZ = [E, 26]\nprint(Z[0] is E, Z[1] is E, Z)\nd = {'k': Z}\nprint(d['k'] is Z)\n"),
    ("cycle_freed_by_collect",
     "import gc\ngc.disable()\na = []\na.append(a)\ndel a\nprint(gc.collect())\ngc.enable()\n"),
    ("local_freed_at_return",
     "import sys\ndata = [7, 8]\ndef f(x):\n    local = x\n    return sys.getrefcount(x)\n"
     "print(f(data))\nprint(sys.getrefcount(data))\n"),
    ("mutable_default",
     "def f(x, lst=[]):\n    lst.append(x)\n    return lst\nprint(f(1))\nprint(f(2))\n"),
    ("function_sees_globals",
     "E = 26\ndef h(a, b):\n    return a is b\nprint(h(E, 26), h([], []))\n"),
    ("refcounts_of_containers",
     "import sys\na = [1]\nb = [a, a]\nprint(sys.getrefcount(a))\ndel b\n"
     "print(sys.getrefcount(a))\nc = {'x': a}\nprint(sys.getrefcount(a))\n"),
    ("dicts_sets_tuples",
     "d = {'a': 1}\nd['b'] = [2]\nprint(d, len(d), 'a' in d, 'z' not in d)\n"
     "print(d.pop('a'), d)\ns = {1, 2}\ns.add(3)\ns.discard(1)\nprint(s, 2 in s)\n"
     "t = (1, 'two', None)\nprint(t, t[1], type(t))\ndel d['b']\nprint(d == {}, d.keys())\n"),
    ("print_and_repr", "print('a', 1, 2.5, None, True, b'x', [1, 'b'])\nprint(repr('q'), type(1))\n"),
    ("semicolons_comments_pass",
     "x = 1; y = 2  # two statements\npass\n# a comment\nprint(x, y); print(y)\n"),
    ("chained_assignment", "a = b = [1]\na.append(2)\nprint(b, a is b)\n"),
    ("del_item", "lst = [1, 2, 3]\ndel lst[0]\nprint(lst)\nlst[0] = 'x'\nprint(lst)\n"),
    ("imports_do_nothing", "import sys\nimport gc\nimport weakref\nprint(gc.isenabled())\n"),
    # SPEC 13: classes, __del__ (the tutorials' seed: the local dies at return)
    ("del_at_function_return",
     "class Example:\n    def __init__(self):\n        print(\"Object created\")\n"
     "    def __del__(self):\n        print(\"Garbage collector is reclaiming memory!\")\n"
     "def func():\n    obj = Example()\n    print(\"Function Ended\")\nfunc()\n"),
    ("class_attributes_and_methods",
     "class Employee:\n    company = 'ACME'\n    def __init__(self, name, salary=10):\n"
     "        self.name = name\n        self.salary = salary\n"
     "    def describe(self, prefix):\n        return [prefix, self.name, self.salary]\n"
     "e = Employee('Ann')\nprint(e.name, e.salary, e.company, Employee.company)\n"
     "print(e.describe('emp'))\nprint(type(e), type(Employee), type(e) is Employee)\n"
     "print(isinstance(e, Employee), isinstance([], Employee))\n"
     "e.salary = [20]\nprint(e.salary)\ne.company = 'own'\nprint(e.company)\n"
     "del e.company\nprint(e.company)\n"
     "print(e.__class__ is Employee, Employee.__name__)\n"),
    ("del_when_the_last_name_goes",
     "class Tracked:\n    def __init__(self, name):\n        self.name = name\n"
     "    def __del__(self):\n        print('deleting', self.name)\n"
     "a = Tracked('one')\nb = a\ndel a\nprint('a gone')\ndel b\nprint('b gone')\n"
     "Tracked('temp')\nprint('after temp')\nc = Tracked('c1')\nc = Tracked('c2')\n"
     "del c\nprint('end')\n"),
    ("del_of_a_cycle_during_collect",
     "import gc\nclass Node:\n    def __init__(self):\n        self.me = self\n"
     "    def __del__(self):\n        print('collected')\n"
     "n = Node()\ndel n\nprint('before')\nfound = gc.collect()\nprint('after')\n"),
    ("weak_references",
     "import gc\nimport weakref\nclass Example:\n    pass\nobj = Example()\n"
     "r = weakref.ref(obj)\nprint(r() is obj)\nprint(weakref.getweakrefcount(obj))\n"
     "del obj\ngc.collect()\nprint(r())\nprint(weakref.getweakrefcount(r))\n"),
    ("weak_value_dictionary",
     "import weakref\nclass V:\n    pass\nd = weakref.WeakValueDictionary()\nv = V()\n"
     "d['k'] = v\nprint(len(d), d['k'] is v)\ndel v\nprint(len(d))\n"),
]

# (name, code, expected stdout): heapd's exact counts.
EXACT = [
    # CPython 3.11: E is 26, whose refcount includes the interpreter's own
    # references to the small int 26 (a large number); heapd's is exact.
    ("refcount_of_shared_int",
     "import sys\nE = 26\nK = 26\nprint(sys.getrefcount(E))\nZ = [26, 26]\n"
     "print(sys.getrefcount(E))\ndel E\nprint(sys.getrefcount(K))\n",
     "3\n5\n4\n"),
    # heapd's gc.get_threshold() per SPEC 12 is a tuple; an older heapd answers
    # one int: either way the first threshold is CPython's default 700.
    ("gc_threshold", "import gc\nprint(gc.get_threshold())\n", ("(700, 10, 10)\n", "700\n")),
    # CPython 3.11 also counts the constant 1000 held by the code object
    # (6 here); heapd: big, lst[0] (then y) and x, + 1.
    ("item_identity",
     "import sys\nbig = 1000\nlst = [big]\nx = lst[0]\nprint(x is big, sys.getrefcount(big))\n"
     "y = lst.pop()\nprint(y is big, sys.getrefcount(big))\n",
     "True 4\nTrue 4\n"),
]

# (name, code, last stderr line): errors as Python words them.
ERRORS = [
    ("del_then_name_error", "x = 1\ndel x\nprint(x)\n", "NameError: name 'x' is not defined"),
    ("index_error", "lst = [1]\nlst[5]\n", "IndexError: list index out of range"),
    ("key_error", "d = {}\nd['k']\n", "KeyError: 'k'"),
    ("unbound_local", "def f():\n    y = z\n    z = 1\nf()\n",
     "UnboundLocalError: cannot access local variable 'z' where it is not associated with a value"),
    ("arity", "def f(a):\n    return a\nf()\n",
     "TypeError: f() missing 1 required positional argument: 'a'"),
    ("wrong_method", "d = {}\nd.append(1)\n", "AttributeError: 'dict' object has no attribute 'append'"),
    ("missing_attribute", "class A:\n    pass\na = A()\nprint(a.x)\n",
     "AttributeError: 'A' object has no attribute 'x'"),
    ("missing_class_attribute", "class A:\n    pass\nprint(A.x)\n",
     "AttributeError: type object 'A' has no attribute 'x'"),
    ("init_arity", "class E:\n    def __init__(self, name):\n        self.name = name\nE()\n",
     "TypeError: E.__init__() missing 1 required positional argument: 'name'"),
    ("no_init_no_arguments", "class E:\n    pass\nE(1)\n", "TypeError: E() takes no arguments"),
]

# (code, caret line, message): outside the subset, never a wrong answer.
UNSUPPORTED = [
    ("for x in y: pass", "    ^^^", "SyntaxError: 'for' loops are not supported by heapctl"),
    ("x = [i for i in y]", "           ^^^", "SyntaxError: comprehensions are not supported by heapctl"),
    ("import os", "           ^^", "SyntaxError: import of 'os' is not supported by heapctl "
     "(only sys, gc and weakref)"),
    ("f = lambda: 1", "        ^^^^^^", "SyntaxError: lambda is not supported by heapctl"),
    ("x = 1 + 2", "          ^", "SyntaxError: the '+' operator is not supported by heapctl"),
    ("while True: pass", "    ^^^^^", "SyntaxError: 'while' loops are not supported by heapctl"),
    ("class A(B): pass", "            ^",
     "SyntaxError: class inheritance is not supported by heapctl"),
    ("class A: x += 1", "               ^^",
     "SyntaxError: augmented assignment ('+=') is not supported by heapctl"),
    ("x = y[1:2]", "           ^", "SyntaxError: slices are not supported by heapctl"),
]


def python3(code):
    return subprocess.run([PYTHON, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)


class PythonTest(CtlTestCase):
    def setUp(self):
        super().setUp()
        # each snippet starts from an empty global namespace, as python3 does
        c = self.connect()
        for n in c.ok("names", "global"):
            c.ok("unbind", n, {"scope": "global"})

    def script(self, code):
        fd, path = tempfile.mkstemp(suffix=".py", prefix="heapctl-")
        with os.fdopen(fd, "w") as f:
            f.write(code)
        self.addCleanup(os.unlink, path)
        return path

    def both(self, code):
        """heapctl -c CODE and heapctl -f FILE, in that order (the namespace
        cleared between them)."""
        r1 = self.ctl("-c", code)
        self.setUp()
        r2 = self.ctl("-f", self.script(code))
        return r1, r2

    def test_agree_with_python3(self):
        for name, code in AGREE:
            with self.subTest(name):
                want = python3(code)
                self.assertEqual(want.returncode, 0, want.stderr)
                for r in self.both(code):
                    self.assertEqual((r.returncode, r.err), (EXIT_OK, ""), (name, r.out))
                    self.assertEqual(r.out, want.stdout, name)
                self.setUp()
                self.assertHealthy()

    def test_exact_counts(self):
        for name, code, out in EXACT:
            with self.subTest(name):
                for r in self.both(code):
                    self.assertEqual((r.returncode, r.err), (EXIT_OK, ""), name)
                    self.assertIn(r.out, out if isinstance(out, tuple) else (out,), name)
                self.setUp()

    def test_errors_read_like_python(self):
        for name, code, last in ERRORS:
            with self.subTest(name):
                want = python3(code)
                self.assertEqual(want.stderr.splitlines()[-1], last, "python3 disagrees")
                r = self.ctl("-c", code)
                self.assertEqual(r.returncode, EXIT_SERVER_ERROR, (name, r.err))
                lines = r.err.splitlines()
                self.assertEqual(lines[0], "Traceback (most recent call last):")
                self.assertEqual(lines[-1], last)
                # the line of the statement that failed, as python3 -c says
                self.assertIn(want.stderr.splitlines()[1], r.err, name)
                self.setUp()

    def test_del_then_name_error_is_python3s_traceback(self):
        code = "x = 1\ndel x\nprint(x)\n"
        want = python3(code)
        r = self.ctl("-c", code)
        self.assertEqual((r.returncode, r.out, r.err), (want.returncode, want.stdout, want.stderr))
        r = self.ctl("-f", self.script(code))
        self.assertEqual(r.err.splitlines()[-1], "NameError: name 'x' is not defined")

    def test_unsupported_is_a_syntax_error_with_a_caret(self):
        for code, caret, message in UNSUPPORTED:
            with self.subTest(code):
                r = self.ctl("-c", code)
                self.assertEqual((r.returncode, r.out), (EXIT_USAGE, ""), r.err)
                self.assertEqual(r.err.splitlines(), ['  File "<string>", line 1',
                                                      "    " + code, caret, message])

    def test_instance_repr_names_heapds_id(self):
        r = self.ctl("-c", "class A:\n    pass\na = A()\nprint(a)\nprint(id(a))\nprint([a])\n")
        self.assertEqual((r.returncode, r.err), (EXIT_OK, ""))
        lines = r.out.splitlines()
        self.assertEqual(lines[0], "<__main__.A object at @%s>" % lines[1])
        # inside a container heapd sends an instance without its id
        self.assertEqual(lines[2], "[<__main__.A object at @?>]")

    def test_collect_runs_del_before_its_answer(self):
        r = self.ctl("-c", "import gc\nclass N:\n    def __init__(self):\n        self.me = self\n"
                     "    def __del__(self):\n        print('collected')\n"
                     "n = N()\ndel n\nprint('before')\nprint(gc.collect())\n")
        self.assertEqual((r.returncode, r.err), (EXIT_OK, ""))
        lines = r.out.splitlines()
        self.assertEqual(lines[:2], ["before", "collected"])
        self.assertGreater(int(lines[2]), 0)
        self.assertEqual(len(lines), 3)

    def test_del_of_a_cycle_reads_its_attributes(self):
        # the collector finalizes an instance of a cycle before it clears
        # anything, so its event carries the attributes (self.name works)
        code = ("import gc\nclass N:\n    def __init__(self, name):\n        self.name = name\n"
                "        self.me = self\n    def __del__(self):\n        print('del', self.name)\n"
                "n = N('x')\ndel n\nfound = gc.collect()\nprint('end')\n")
        r = self.ctl("-c", code)
        self.assertEqual((r.returncode, r.out, r.err), (EXIT_OK, python3(code).stdout, ""))

    def test_class_limits_are_named(self):
        cases = [
            ("class A:\n    def f(self):\n        return 1\na = A()\nm = a.f\n",
             "NotImplementedError: heapctl calls methods (obj.f()) but cannot use them as values"),
            ("class A:\n    def __del__(self):\n        self.x = 1\na = A()\ndel a\n",
             "NotImplementedError: heapctl runs __del__ after heapd freed the instance: it can read "
             "self's attributes, not change them"),
            ("class A:\n    def __del__(self):\n        print(self)\na = A()\ndel a\n",
             "NotImplementedError: heapctl runs __del__ after heapd freed the instance: it can read "
             "self's attributes (self.NAME), not use self"),
            ("import weakref\nr = weakref.ref(1)\n",
             "TypeError: cannot create weak reference to 'int' object"),
            ("isinstance(1, int)\n",
             "NotImplementedError: isinstance() is supported by heapctl for its classes only"),
        ]
        for code, last in cases:
            with self.subTest(code):
                r = self.ctl("-c", code)
                self.assertEqual(r.err.splitlines()[-1], last, r.err)
                self.setUp()
        r = self.ctl("-c", "def f():\n    class A:\n        pass\n")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn("SyntaxError: a class inside a function or a class is not supported", r.err)
        r = self.ctl("-c", "class A:\n    for x in y: pass\n")
        self.assertEqual(r.returncode, EXIT_USAGE)

    def test_classes_leave_no_handles(self):
        c = self.connect()
        r = self.ctl("-c", "import weakref\nclass A:\n    def __init__(self, v):\n        self.v = [v]\n"
                     "    def get(self):\n        return self.v\na = A(1)\nprint(a.get())\n"
                     "w = weakref.ref(a)\nprint(w() is a)\nA(2)\n")
        self.assertEqual((r.returncode, r.err, r.out), (EXIT_OK, "", "[1]\nTrue\n"))
        self.assertEqual(sorted(c.ok("names", "global")), ["A", "a", "w"])
        self.assertEqual(c.ok("clients")[-1].get("handles", 0), 0)
        self.assertHealthy()

    def test_temporaries_do_not_leak(self):
        c = self.connect()
        before = c.ok("stats", "objects")
        r = self.ctl("-c", "import sys\nprint(len([1, [2], {3: (4,)}]), [[5]] == [[5]])\n"
                     "print(sys.getrefcount([9]), type(id([7])), [8] is [8])\n"
                     "def f(a, b=[0]):\n    c = [a]\n    return c\nprint(f([1]))\n"
                     "x = {'k': [1]}\ny = x['k'].pop()\nprint(y)\n")
        self.assertEqual((r.returncode, r.err), (0, ""))
        self.assertEqual(r.out, "3 True\n1 <class 'int'> False\n[[1]]\n1\n")
        # what is left: x, its dict and its (now empty) list, y's 1 (interned)
        self.assertEqual(c.ok("names", "global"), ["x", "y"])
        after = c.ok("stats", "objects")
        self.assertEqual(after.get("list", 0), before.get("list", 0) + 1, after)
        self.assertEqual(c.ok("clients")[-1].get("handles", 0), 0)
        self.assertHealthy()

    def test_commands_still_work(self):
        r = self.ctl("-c", "bind x 26\nrefcount x\nget [1]\nx = [x, 5]\nget x\nstats\n")
        self.assertEqual(r.returncode, 0, r.err)
        lines = r.out.splitlines()
        self.assertTrue(lines[0].startswith("<int object at @"), lines)
        self.assertEqual(lines[1:4], ["1", "[1]", "[26, 5]"])
        self.assertIn("# objects", r.out)

    def test_keep_going_and_script_line_numbers(self):
        path = self.script("x = 1\nprint(y)\ndef f():\n    return z\n\nf()\nprint(x)\n")
        r = self.ctl("--keep-going", "-f", path)
        self.assertEqual((r.returncode, r.out), (EXIT_SERVER_ERROR, "1\n"))
        err = r.err.splitlines()
        self.assertIn('  File "%s", line 2, in <module>' % path, err)
        self.assertIn('  File "%s", line 6, in <module>' % path, err)
        self.assertIn('  File "%s", line 4, in f' % path, err)


class CttyPty(Pty):
    """A Pty whose slave is the child's controlling terminal, as a user's
    terminal is: ^C is then the terminal's SIGINT, not a key."""

    def __init__(self, args, env):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.out = b""


class PythonReplTest(CtlTestCase):
    PROMPT = rb"heapd> "

    def repl(self):
        home = tempfile.mkdtemp(prefix="heapctl-home-")
        env = base_env(TERM="xterm", HOME=home, HEAPCTL_HISTFILE="")
        env.pop("INPUTRC", None)
        env.pop("EDITRC", None)
        p = CttyPty([HEAPCTL, "-s", self.server.sock_path], env)
        self.addCleanup(p.close)
        self.assertIsNotNone(p.expect(self.PROMPT), p.out)
        return p

    def type_line(self, p, keys, expect, prompt=None):
        mark = len(p.out)
        self.assertTrue(p.wait_raw(), p.out)
        p.send(keys)
        m = p.expect(expect, mark)
        self.assertIsNotNone(m, (keys, p.out[mark:]))
        self.assertIsNotNone(p.expect(prompt or self.PROMPT, m.end()), p.out[mark:])
        return m

    def test_echo_continuation_and_void_calls(self):
        p = self.repl()
        self.type_line(p, b"lst = [1,\r", rb"\r\n", rb"\.\.\. ")
        self.type_line(p, b"2]\r", rb"\r\n")
        self.type_line(p, b"lst\r", rb"\r\n\[1, 2\]\r\n")
        mark = len(p.out)
        self.type_line(p, b"lst.append(3)\r", rb"\r\n")
        self.assertNotIn(b"None", p.out[mark:])
        self.type_line(p, b"def f(x):\r", rb"\r\n", rb"\.\.\. ")
        self.type_line(p, b"    return x\r", rb"\r\n", rb"\.\.\. ")
        self.type_line(p, b"\r", rb"\r\n")
        self.type_line(p, b"f(lst)\r", rb"\r\n\[1, 2, 3\]\r\n")
        self.type_line(p, b"nope\r", rb"NameError: name 'nope' is not defined\r\n")
        self.type_line(p, b"ping 5\r", rb"\r\n5\r\n")
        p.send(b"\x04")
        self.assertEqual(p.finish(), 0, p.out)

    def test_ctrl_c_cancels_the_line_and_keeps_the_session(self):
        p = self.repl()
        self.type_line(p, b"x = [7]\r", rb"\r\n")
        self.type_line(p, b"push_scope\r", rb"\r\n1\r\n")
        self.type_line(p, b"y = [1,\r", rb"\r\n", rb"\.\.\. ")
        self.type_line(p, b"\x03", rb"KeyboardInterrupt\r\n")
        self.type_line(p, b"abc\x03", rb"KeyboardInterrupt\r\n")
        # the session, its frame and its names are still there
        self.type_line(p, b"pop_scope\r", rb"\r\n0\r\n")
        self.type_line(p, b"x\r", rb"\r\n\[7\]\r\n")
        p.send(b"\x04")
        self.assertEqual(p.finish(), 0, p.out)


if __name__ == "__main__":
    unittest.main()
