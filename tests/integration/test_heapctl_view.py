"""heapctl's views of the heap (SPEC section 11): `why` (why_alive's chain
for people), `graph` (Graphviz pictures; SVG through dot) and `top` (the
names holding the most memory)."""

import json
import os
import re
import shutil
import unittest
import xml.etree.ElementTree as ET

import test_heapctl as ctl
from heapd_client import name, ref_id

SVG = "{http://www.w3.org/2000/svg}"


def dot_edges(text):
    """The object/name edges of DOT text: [(from, to, label)]."""
    return re.findall(r'^\s*(\w+) -> (\w+)(?: \[label="((?:[^"\\]|\\.)*)"\])?;$', text, re.M)


def svg_groups(path, cls):
    root = ET.parse(path).getroot()
    return [g for g in root.iter(SVG + "g") if g.get("class") == cls]


def need_dot(test):
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            test.fail("Graphviz's dot is missing (.ci/run installs graphviz)")
        test.skipTest("Graphviz's dot is not installed (apt-get install graphviz)")


class GraphSeedTest(ctl.CtlTestCase):
    """The tutorials' first picture: E = 26; K = 26; Z = [26, 26]."""

    def setUp(self):
        super().setUp()
        for cmd in (["bind", "E", "26"], ["bind", "K", "26"], ["bind", "Z", "[26, 26]"]):
            self.ok(*cmd)

    def test_svg_has_three_names_one_int_one_list(self):
        need_dot(self)
        path = os.path.join(self.server.dir, "seed.svg")
        self.assertEqual(self.ok("graph", "-o", path), "")
        nodes = svg_groups(path, "node")
        edges = svg_groups(path, "edge")
        self.assertEqual(len(nodes), 5)  # E, K, Z and two objects
        self.assertEqual(len(edges), 5)  # three names, two list items
        texts = [" ".join(t.text or "" for t in g.iter(SVG + "text")) for g in nodes]
        self.assertEqual(sorted(t for t in texts if "@" not in t), ["E", "K", "Z"])
        ints = [t for t in texts if t.startswith("int")]
        self.assertEqual(len(ints), 1, texts)
        self.assertIn("26 refcount 4", ints[0])
        lists = [t for t in texts if t.startswith("list")]
        self.assertEqual(len(lists), 1, texts)
        self.assertIn("(len 2) refcount 1", lists[0])
        labels = sorted(" ".join(t.text for t in g.iter(SVG + "text")) for g in edges)
        self.assertEqual(labels[-2:], ["0", "1"])  # the list's two arrows, by index

    def test_dot_on_stdout_and_as_file(self):
        out = self.ok("graph")
        self.assertTrue(out.startswith("digraph heap {"), out)
        edges = dot_edges(out)
        self.assertEqual(len(edges), 5, out)
        int_id = ref_id(self.connect().ok("lookup", "E"))
        list_id = ref_id(self.connect().ok("lookup", "Z"))
        self.assertIn(("o%d" % list_id, "o%d" % int_id, "0"), edges)
        self.assertIn(("o%d" % list_id, "o%d" % int_id, "1"), edges)
        path = os.path.join(self.server.dir, "seed.dot")
        self.assertEqual(self.ok("graph", "-o", path), "")
        with open(path) as f:
            self.assertEqual(f.read(), out)

    def test_without_dot_writes_dot_and_says_so(self):
        path = os.path.join(self.server.dir, "nodot.png")
        r = self.ctl("graph", "-o", path, env=ctl.base_env(PATH="/nonexistent"))
        self.assertEqual(r.returncode, 1, r.err)
        self.assertIn("Graphviz's dot is not installed", r.err)
        self.assertFalse(os.path.exists(path))
        with open(os.path.join(self.server.dir, "nodot.dot")) as f:
            self.assertTrue(f.read().startswith("digraph heap {"))


class GraphWalkTest(ctl.CtlTestCase):

    def test_targets_depth_and_cycles(self):
        c = self.connect()
        c.ok("bind", "cyc", [])
        c.ok("append", "cyc", name("cyc"))
        cid = ref_id(c.ok("lookup", "cyc"))
        out = self.ok("graph", "cyc")
        self.assertIn(("o%d" % cid, "o%d" % cid, "0"), dot_edges(out))  # the cycle, visible
        c.ok("bind", "deep", [[[["bottom"]]]])
        full = self.ok("graph", "deep", "--depth", "10")
        self.assertIn("'bottom'", full)
        shallow = self.ok("graph", "deep", "--depth", "1")
        self.assertNotIn("'bottom'", shallow)
        self.assertIn("dashed", shallow)  # a container with arrows not drawn
        self.assertEqual(len([e for e in dot_edges(shallow) if e[0].startswith("o")]), 1)
        # @id and $name targets; dict keys label the arrows
        c.ok("bind", "d", {"key one": [1]})
        did = ref_id(c.ok("lookup", "d"))
        out = self.ok("graph", "@%d" % did, "$deep", "--depth", "1")
        self.assertIn("'key one'", out)
        self.assertIn('label="deep"', out)

    def test_truncated_at_max_nodes(self):
        c = self.connect()
        c.ok("bind", "wide", list(range(1000, 1100)))
        r = self.ctl("graph", "wide", "--max-nodes", "10")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertIn("truncated at 10 objects", r.err)
        self.assertEqual(len(re.findall(r"^\s*o\d+ \[label", r.out, re.M)), 10)

    def test_back_shows_referrers(self):
        c = self.connect()
        c.ok("bind", "shared", ["s"])
        c.ok("bind", "holder1", [0, name("shared")])
        c.ok("bind", "holder2", {"k": name("shared")})
        sid = ref_id(c.ok("lookup", "shared"))
        h1 = ref_id(c.ok("lookup", "holder1"))
        h2 = ref_id(c.ok("lookup", "holder2"))
        edges = dot_edges(self.ok("graph", "shared", "--back", "--depth", "1"))
        self.assertIn(("o%d" % h1, "o%d" % sid, "1"), edges)
        self.assertIn(("o%d" % h2, "o%d" % sid, "'k'"), edges)

    def test_bad_usage(self):
        for args in (["--depth", "-1"], ["--depth"], ["--max-nodes", "0"], ["-o", "x.gif"],
                     ["--back"], ["[1, 2]"], ["--bogus"]):
            r = self.ctl("graph", *args)
            self.assertEqual(r.returncode, ctl.EXIT_USAGE, (args, r.err))
            self.assertIn("usage: graph", r.err)
        r = self.ctl("graph", "not_bound_here")
        self.assertEqual(r.returncode, ctl.EXIT_SERVER_ERROR)
        self.assertIn("NameError", r.err)
        r = self.ctl("graph", "@12345678901")
        self.assertEqual(r.returncode, ctl.EXIT_SERVER_ERROR)
        self.assertIn("ReferenceError", r.err)


class WhyTest(ctl.CtlTestCase):

    def test_global_chain(self):
        c = self.connect()
        c.ok("bind", "x", [0, 1, {"k": ["deep"]}])
        lst = ref_id(c.ok("lookup", "x"))
        d = c.ok("getitem", "x", 2)
        inner = ref_id(c.ok("getitem", d, "k"))
        out = self.ok("why", "@%d" % inner)
        self.assertEqual(out, "global 'x' -> list @%d [2] -> dict @%d ['k'] -> list @%d\n"
                         % (lst, ref_id(d), inner))
        self.assertEqual(self.ok("why", "x"), "global 'x' -> list @%d\n" % lst)
        c.ok("bind", "s", "a str")
        self.assertEqual(self.ok("why", "$s"), "global 's' -> str 'a str'\n")
        chain = json.loads(self.ok("--json", "why", "@%d" % inner))
        self.assertEqual(chain[0], ["global", "x"])
        self.assertEqual(chain[1], [{"$ref": lst, "type": "list"}, 2])

    def test_local_and_handle_roots(self):
        script = "push_scope\npush_scope\nbind loc [['x']]\nwhy loc\n"
        out = self.ok("-f", "-", input=script)
        self.assertRegex(out.splitlines()[-1],
                         r"^local 'loc' \(session \d+, frame 2\) -> list @\d+$")
        c = self.connect()
        session = c.ok("hello")["session"]
        h = c.ok("new", [["held"]])
        inner = ref_id(c.ok("getitem", h, 0))
        self.assertEqual(self.ok("why", "@%d" % inner),
                         "handle (session %d) -> list @%d [0] -> list @%d\n"
                         % (session, ref_id(h), inner))

    def test_garbage_says_so(self):
        c = self.connect()
        c.ok("gc_disable")
        try:
            c.ok("bind", "g", [])
            c.ok("append", "g", name("g"))
            gid = ref_id(c.ok("lookup", "g"))
            c.ok("unbind", "g")
            self.assertEqual(self.ok("why", "@%d" % gid),
                             "no root reaches list @%d: it is garbage the collector has not "
                             "freed yet\n" % gid)
        finally:
            c.ok("gc_enable")

    def test_errors(self):
        r = self.ctl("why")
        self.assertEqual(r.returncode, ctl.EXIT_USAGE)
        r = self.ctl("why", "a", "b")
        self.assertEqual(r.returncode, ctl.EXIT_USAGE)
        r = self.ctl("why", "nobody")
        self.assertEqual((r.returncode, r.err.strip()),
                         (ctl.EXIT_SERVER_ERROR, "NameError: name 'nobody' is not defined"))
        r = self.ctl("why", "[1,")
        self.assertEqual(r.returncode, ctl.EXIT_USAGE)


class TopTest(ctl.CtlTestCase):

    def test_biggest_first_and_estimates_marked(self):
        c = self.connect()
        c.ok("bind", "small", [1])
        c.ok("bind", "middle", ["m %d" % i for i in range(50)])
        c.ok("bind", "huge", ["h %d" % i for i in range(20000)])  # past max_objects
        out = self.ok("top", "2")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["BYTES", "OBJECTS", "NAME"])
        self.assertTrue(lines[1].startswith("~"), out)
        self.assertTrue(lines[1].endswith(" huge"), out)
        self.assertTrue(lines[2].endswith(" middle") and lines[2].startswith(" "), out)
        self.assertEqual(len(lines), 4, out)
        self.assertIn("3 names; ~ 1 sizes estimated", lines[3])
        rows = json.loads(self.ok("--json", "top", "3"))
        self.assertEqual([r["name"] for r in rows], ["huge", "middle", "small"])
        self.assertEqual(rows[0]["exact"], False)
        self.assertEqual(rows[0]["objects"], 20001)  # uniform items: the estimate is exact
        mu = c.ok("memory_usage", "middle")
        self.assertEqual(rows[1], {"name": "middle", "bytes": mu["bytes"], "objects": 51,
                                   "exact": True})
        self.assertEqual(json.loads(self.ok("--json", "top", "--match", "sm*")),
                         [{"name": "small", "bytes": c.ok("memory_usage", "small")["bytes"],
                           "objects": 1, "exact": True}])

    def test_bad_usage(self):
        for args in (["0"], ["x"], ["--samples", "-1"], ["1", "2"]):
            r = self.ctl("top", *args)
            self.assertEqual(r.returncode, ctl.EXIT_USAGE, (args, r.err))


if __name__ == "__main__":
    unittest.main()
