"""Values both ways (docs/python.md, "Values"): every type round-trips through a real heapd
object (bind, then get), and what heapd cannot hold is refused before a
byte is sent."""

from __future__ import annotations

import collections
import enum
import math
import struct

import pytest

import heapd
import heapd.values


def roundtrip(client: heapd.Client, name: str, value: object) -> object:
    """The value of a heapd object built from `value`."""
    client.bind(name, value)
    return client.get(name)


SCALARS = [None, True, False, 0, 1, -1, 257, -(2 ** 63), 2 ** 63 - 1, 1.5, -2.25, 1e308,
           "", "abc", b"", b"\x00\xff", "é", "日本語", "🐍 emoji", "\u0000nul"]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_scalars_round_trip(client, uniq, value):
    got = roundtrip(client, uniq("v"), value)
    assert got == value and type(got) is type(value)


def test_float_nan_and_negative_zero(client, uniq):
    got = roundtrip(client, uniq("f"), [float("nan"), -0.0, 0.0, float("inf"), -float("inf")])
    assert math.isnan(got[0])
    assert str(got[1]) == "-0.0" and math.copysign(1.0, got[1]) == -1.0
    assert math.copysign(1.0, got[2]) == 1.0
    assert got[3:] == [float("inf"), -float("inf")]
    # bit-exact: the NaN comes back as a double, not a float32
    assert struct.pack(">d", got[0]) == struct.pack(">d", float("nan"))


def test_big_bytes_and_str(client, uniq):
    blob = bytes(range(256)) * 4096  # 1 MiB
    text = "ünïcødé ✓ " * 50000
    assert roundtrip(client, uniq("b"), blob) == blob
    assert roundtrip(client, uniq("s"), text) == text
    assert client.len(uniq("s")) == len(text)


def test_tuple_round_trip_and_tuple_dict_keys(client, uniq):
    value = {(1, 2): "pair", (): "empty", ("a", (1.5, None)): [1], 3: (4, (5,))}
    got = roundtrip(client, uniq("d"), value)
    assert got == value
    assert type(got[3]) is tuple and type(got[3][1]) is tuple
    assert client.getitem(uniq("d"), (1, 2)) == "pair"


def test_int_and_mixed_dict_keys(client, uniq):
    value = {1: "one", -5: "minus five", 2 ** 40: "big", "s": 1, b"b": 2, None: 3, 2.5: 4}
    assert roundtrip(client, uniq("d"), value) == value
    client.setitem(uniq("d"), 7, "seven")
    assert client.get(uniq("d"))[7] == "seven"
    assert client.keys(uniq("d"))[-1] == 7


def test_equal_keys_merge_as_in_python(client, uniq):
    # 1, 1.0 and True are one key, as in Python
    assert roundtrip(client, uniq("d"), {1: "a"}) == {1: "a"}
    client.setitem(uniq("d"), True, "b")
    client.setitem(uniq("d"), 1.0, "c")
    assert client.len(uniq("d")) == 1


def test_sets_and_frozensets(client, uniq):
    got = roundtrip(client, uniq("s"), {1, "a", (2, 3), b"x"})
    assert got == {1, "a", (2, 3), b"x"} and type(got) is set
    assert roundtrip(client, uniq("f"), frozenset({1, 2})) == {1, 2}
    assert client.type(uniq("f")) == "set"


def test_nested_sets(client, uniq):
    value = [{1, 2}, ({3}, [set()]), {"k": {4, (5, 6)}}]
    got = roundtrip(client, uniq("n"), value)
    assert got == value
    assert type(got[0]) is set and type(got[1][0]) is set and type(got[1][1][0]) is set


def test_set_members_and_keys_must_be_hashable_in_heapd(client, uniq):
    # heapd's sets are unhashable, as Python's are: the server says so
    with pytest.raises(TypeError, match="unhashable type: 'set'"):
        client.bind(uniq("x"), {frozenset({1}): 1})


def test_decoded_sets_in_key_positions_become_frozensets():
    hook = heapd.values.make_ext_hook(lambda i: i)
    packer = heapd.values.Encoder(lambda v: None)
    # a set inside a tuple used as a dict key: only hashable as a frozenset
    wire = packer.pack(packer.value({(1, 2): 0}))
    import msgpack
    key = msgpack.ExtType(2, packer.pack([msgpack.ExtType(3, packer.pack([1, 2]))]))
    raw = packer.pack({key: "v"})
    got = msgpack.unpackb(raw, ext_hook=hook, strict_map_key=False, raw=False,
                          object_pairs_hook=heapd.values.make_dict)
    assert got == {(frozenset({1, 2}),): "v"}
    assert msgpack.unpackb(wire, ext_hook=hook, strict_map_key=False, raw=False,
                           object_pairs_hook=heapd.values.make_dict) == {(1, 2): 0}


def test_name_is_the_bound_object(client, uniq):
    client.bind(uniq("L"), [1, 2])
    client.bind(uniq("M"), heapd.Name(uniq("L")))  # M = L
    assert client.is_(uniq("L"), uniq("M"))
    client.bind(uniq("s"), uniq("L"))  # a plain str is a new str
    assert client.get(uniq("s")) == uniq("L")
    assert repr(heapd.Name("x")) == "Name('x')"
    with pytest.raises(heapd.NameError):
        client.bind(uniq("z"), heapd.Name(uniq("unbound")))


def test_refs_inside_values_are_the_objects(client, uniq):
    inner = client.new([1])
    client.bind(uniq("outer"), [inner, (inner,), {"k": inner}])
    assert client.refcount(inner) == 4  # the handle and three slots
    got = client.get(uniq("outer"), 1)
    assert got[0] == inner and got[0] is inner  # one live Ref per id


def test_subclasses_convert_as_json_does(client, uniq):
    class Color(enum.IntEnum):
        RED = 7

    class MyStr(str):
        def __str__(self):
            return "not used"

    value = [Color.RED, MyStr("text"), collections.OrderedDict(a=1), bytearray(b"ba"),
             memoryview(b"mv"), collections.namedtuple("P", "x y")(1, 2)]
    got = roundtrip(client, uniq("v"), value)
    assert got == [7, "text", {"a": 1}, b"ba", b"mv", (1, 2)]
    assert [type(x) for x in got] == [int, str, dict, bytes, bytes, tuple]


def test_ping_echoes_values(client):
    value = [(1, {2}), {3: b"4"}, -0.0]
    assert client.ping(value) == value
    assert client.ping() == "pong"


# ---- refused before sending ----

def bind_calls(client: heapd.Client) -> int:
    return client.stats("commands").get("bind", {}).get("calls", 0)


@pytest.mark.parametrize("value", [2 ** 63, -(2 ** 63) - 1, 2 ** 64, 10 ** 30, [1, 2 ** 70],
                                   {"k": (2 ** 63,)}, {2 ** 64: 1}])
def test_int_past_64_bits_is_overflow_error_before_sending(client, uniq, value):
    before = bind_calls(client)
    with pytest.raises(OverflowError, match="does not fit in heapd's int") as exc:
        client.bind(uniq("big"), value)
    assert isinstance(exc.value, heapd.OverflowError)
    assert bind_calls(client) == before  # nothing reached the server
    assert client.ping() == "pong"  # and the connection is fine


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


@pytest.mark.parametrize("value", [Point(1), [Point(1)], {"k": Point(1)}, {Point(1)}, object(),
                                   1 + 2j, Point, print, iter([])])
def test_user_objects_are_type_error_before_sending(client, uniq, value):
    before = bind_calls(client)
    with pytest.raises(TypeError, match="heapd cannot hold a value of type") as exc:
        client.bind(uniq("obj"), value)
    assert isinstance(exc.value, heapd.TypeError)
    assert bind_calls(client) == before
    assert client.ping() == "pong"


def test_self_containing_value_is_refused(client, uniq):
    loop: list = []
    loop.append(loop)
    with pytest.raises(RecursionError, match="nested more than"):
        client.bind(uniq("loop"), loop)
    assert client.ping() == "pong"


def test_lone_surrogate_is_value_error_before_sending(client, uniq):
    before = bind_calls(client)
    with pytest.raises(ValueError, match="not valid UTF-8"):
        client.bind(uniq("s"), "\udc80")
    assert bind_calls(client) == before


def test_refused_pipeline_call_does_not_break_the_batch(client, uniq):
    with client.pipeline() as p:
        a = p.bind(uniq("a"), 1)
        with pytest.raises(OverflowError):
            p.bind(uniq("b"), 2 ** 64)
        c = p.get(uniq("a"))
    assert c.result() == 1 and a.done()
