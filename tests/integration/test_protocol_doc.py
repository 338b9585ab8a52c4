"""docs/protocol.md against the code and a real heapd, so the page cannot
drift: its method table is what proto/methods.def gives, its error types,
ext codes and type bits are heapd's, and its byte examples are the bytes a
real heapd reads and writes."""

import importlib.util
import os
import re
import struct

import msgpack

from heapd_client import REPO, ServerTestCase, packb

DOC = os.path.join(REPO, "docs", "protocol.md")


def read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as f:
        return f.read()


def load_tool():
    path = os.path.join(REPO, "tools", "gen-protocol-methods.py")
    spec = importlib.util.spec_from_file_location("gen_protocol_methods", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def byte_examples(text):
    """{name: bytes} of every block marked <!-- bytes: NAME -->: in each
    line, the hex pairs before the first run of two spaces that follows
    them (the rest of the line is the annotation)."""
    out = {}
    for m in re.finditer(r"<!-- bytes: ([\w-]+) -->\n```\n(.*?)```", text, re.S):
        data = bytearray()
        for line in m.group(2).splitlines():
            hexpart = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            if not re.fullmatch(r"([0-9a-f]{2})( [0-9a-f]{2})*", hexpart):
                continue  # an annotation that continues on its own line
            data += bytes.fromhex(hexpart)
        assert m.group(1) not in out, "two examples named %s" % m.group(1)
        out[m.group(1)] = bytes(data)
    return out


def X(code, data):
    return msgpack.ExtType(code, data)


def ref(obj_id):
    return X(1, struct.pack(">Q", obj_id))


# What each byte example of the doc must decode to.
EXPECTED = {
    "bind-request": [0, 1, "bind", ["E", 26]],
    "bind-response": [1, 1, None, ref(498)],
    "get-request": [0, 2, "get", ["nosuch"]],
    "get-response": [1, 2, {"type": "NameError", "message": "name 'nosuch' is not defined"},
                     None],
    "bind-notification": [2, "bind", ["nb", 41]],
    "error-notification": [2, "error", [{"type": "ProtocolError",
                                         "message": "bytes that are not msgpack"}]],
    "ext-ref": ref(498),
    "ext-tuple": X(2, packb([1, "a", X(3, packb([]))])),
    "ext-set": X(3, packb([1, 2, 3])),
    "ext-name": X(4, b"E"),
    "ext-name-long": X(4, b"counter"),
    "tuple-key": {X(2, packb([1, 2])): "pt"},
    "release-notification": [2, "release", [ref(498), 2]],
    "freed-event": [2, "freed", [ref(0x10000000027), "list", "refcount"]],
}


def decode_one(data):
    """The one msgpack value that is all of data (no trailing bytes)."""
    up = msgpack.Unpacker(raw=False, strict_map_key=False)
    up.feed(data)
    values = list(up)
    assert len(values) == 1, "%d values in %s" % (len(values), data.hex(" "))
    return values[0]


class DocumentTest(ServerTestCase):
    """The page against the sources (and, below, a heapd of its own)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.text = read("docs", "protocol.md")
        cls.examples = byte_examples(cls.text)

    def test_method_table_is_generated_from_methods_def(self):
        tool = load_tool()
        want = tool.table(tool.read_methods())
        have = tool.split_doc(self.text)[1]
        self.assertEqual(have, want, "the method table of docs/protocol.md differs from "
                         "proto/methods.def: run tools/gen-protocol-methods.py")

    def test_method_table_matches_api_info(self):
        c = self.connect()
        methods = c.ok("api_info")["methods"]
        rows = load_tool().read_methods()
        self.assertEqual([m["name"] for m in methods], [r["name"] for r in rows])
        for m, r in zip(methods, rows):
            self.assertEqual((m["min_args"], m["max_args"], m["params"].split()),
                             (r["min_args"], r["max_args"], r["params"]), m["name"])

    def test_error_types(self):
        in_header = re.findall(r'X\(\w+, "(\w+)"\)', read("proto", "errors.h"))
        section = self.text.split("## 6. Errors", 1)[1].split("\n## ", 1)[0]
        in_doc = re.findall(r"^\| `(\w+)` \|", section, re.M)
        self.assertEqual(in_doc, in_header)
        self.assertEqual(self.connect().ok("api_info")["errors"], in_header)

    def test_ext_codes(self):
        wire = dict((k.lower(), int(v)) for k, v in
                    re.findall(r"EXT_(\w+)\s*=\s*(\d+)", read("proto", "wire.h")))
        self.assertEqual(wire, {"ref": 1, "tuple": 2, "set": 3, "name": 4, "instance": 5})
        self.assertIn('`{"ref": 1, "tuple": 2, "set": 3, "name": 4, "instance": 5}`', self.text)
        self.assertEqual(self.connect().ok("api_info")["ext"], wire)
        for code in wire.values():
            self.assertRegex(self.text, r"\| ext %d\b" % code)

    def test_type_bits(self):
        names = re.search(r"wire_type_names\[WIRE_TYPE_COUNT\] = \{(.*?)\};",
                          read("proto", "wire.c"), re.S).group(1)
        names = re.findall(r'"(\w+)"', names)
        row = re.search(r"^\| type \|(.*)\|$", self.text, re.M).group(1)
        self.assertEqual(re.findall(r"`(\w+)`", row), names)

    def test_byte_examples_decode(self):
        self.assertEqual(sorted(self.examples), sorted(EXPECTED))
        for name, value in EXPECTED.items():
            self.assertEqual(decode_one(self.examples[name]), value, name)

    def test_no_link_outside_the_repository(self):
        for parts in (("README.md",), ("docs", "protocol.md")):
            self.assertNotIn("../shared", read(*parts), os.path.join(*parts))
        self.assertIn("(docs/protocol.md)", read("README.md"))

    # -- the examples, byte for byte, against the server --

    def exchange(self, data):
        """The bytes of the one message heapd answers data with."""
        c = self.connect()
        c.send_raw(data)
        return packb(c.recv_msg())

    def test_bind_exchange(self):
        self.assertEqual(self.exchange(self.examples["bind-request"]),
                         self.examples["bind-response"])

    def test_error_exchange(self):
        self.assertEqual(self.exchange(self.examples["get-request"]),
                         self.examples["get-response"])

    def test_client_notification(self):
        c = self.connect()
        c.send_raw(self.examples["bind-notification"])
        self.assertEqual(c.ok("get", "nb"), 41)
        self.assertEqual(c.events, [])
        c.ok("unbind", "nb")

    def test_error_notification_then_close(self):
        c = self.connect()
        c.send_raw(b"\xc1")
        msgs = c.read_until_closed()
        self.assertEqual([packb(m) for m in msgs], [self.examples["error-notification"]])

    def test_values_come_back_as_documented(self):
        c = self.connect()
        for name in ("ext-tuple", "ext-set", "tuple-key"):
            err, _ = c.call_raw("bind", b"\x92" + packb("doc_" + name) + self.examples[name])
            self.assertIsNone(err, name)
            msgid = c.send("get", "doc_" + name)
            self.assertEqual(packb(c.recv_response(msgid)[3]), self.examples[name], name)
            c.ok("unbind", "doc_" + name)
        self.assertEqual(c.ok("bind", "E", 26), decode_one(self.examples["ext-ref"]))
        err, res = c.call_raw("get", b"\x91" + self.examples["ext-name"])
        self.assertEqual((err, res), (None, 26))

    def test_freed_event_shape(self):
        c = self.connect()
        r = c.ok("bind", "doc_w", [1])
        c.ok("watch", "doc_w")
        c.ok("unbind", "doc_w")
        ev = c.next_event()
        want = decode_one(self.examples["freed-event"])
        self.assertEqual(ev[:2], want[:2])
        self.assertEqual(ev[2][1:], want[2][1:])
        self.assertEqual(ev[2][0], r)
        self.assertEqual(struct.unpack(">Q", r.data)[0] & 0xF, 7)  # a list's type bits
        self.assertEqual(struct.unpack(">Q", want[2][0].data)[0] & 0xF, 7)
