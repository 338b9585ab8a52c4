"""Python values <-> heapd's msgpack values (the table in docs/python.md).

Sending: ``None, bool, int, float, str, bytes, list, dict`` go as themselves,
``tuple`` as ext 2, ``set``/``frozenset`` as ext 3, :class:`Name` as ext 4 and
a :class:`~heapd.Ref` as ext 1. Anything else, and ints outside int64, are
refused here, before a byte is sent.

Receiving: ext 2 becomes a tuple, ext 3 a set (a frozenset where it must be
hashable: a dict key, a set member), maps become dicts whatever their keys
are, and ext 1 a Ref (made by the caller's hook, which also counts handles).
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import msgpack

from . import errors

__all__ = ["Name", "Instance", "EXT_REF", "EXT_TUPLE", "EXT_SET", "EXT_NAME", "EXT_INSTANCE", "INT64_MIN", "INT64_MAX",
           "Encoder", "make_ext_hook", "make_dict", "pack_ref"]

EXT_REF, EXT_TUPLE, EXT_SET, EXT_NAME, EXT_INSTANCE = 1, 2, 3, 4, 5
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# Far deeper than heapd accepts (limits.max_depth, 64 by default), shallow
# enough that a self-containing list is refused before Python's own limit.
MAX_NESTING = 256

_ID = struct.Struct(">Q")


class Instance:
    """An instance of a heapd class, as a value (ext 5): ``cls`` is the
    class (a Ref, a :class:`Name`, or the str name it is bound to) and
    ``attrs`` its attributes. ``get`` answers instances this way; sending
    one makes a new instance, as ``Employee(name="Ann")`` would."""

    __slots__ = ("cls", "attrs")

    def __init__(self, cls: Any, attrs: Optional[Dict[str, Any]] = None) -> None:
        self.cls = cls
        self.attrs = dict(attrs or {})

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Instance) and self.cls == other.cls
                and self.attrs == other.attrs)

    def __repr__(self) -> str:
        return "Instance(%r, %r)" % (self.cls, self.attrs)


class Name(str):
    """The object bound to a name, as a value: ``c.bind("F", heapd.Name("E"))``
    binds F to E's object (``F = E``), where a plain str would be a new str."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Name(%s)" % str.__repr__(self)


def pack_ref(obj_id: int) -> msgpack.ExtType:
    """ext 1 for an object id (8 bytes, big-endian)."""
    return msgpack.ExtType(EXT_REF, _ID.pack(obj_id))


def _refuse(value: Any) -> errors.Error:
    return errors.TypeError(
        "heapd cannot hold a value of type %r (it holds None, bool, int, float, str, "
        "bytes, tuple, list, dict, set, frozenset, heapd.Name and heapd.Ref)"
        % type(value).__name__)


class Encoder:
    """Turns Python values into msgpack-ready values, checking them.

    ``ref_id`` maps a Ref-like object to its id (or returns None for other
    objects); it is given by the client so this module needs no Ref import.
    """

    def __init__(self, ref_id: Callable[[Any], Any]) -> None:
        self._ref_id = ref_id
        self._packer = msgpack.Packer(use_bin_type=True, autoreset=True)
        self._exact: Dict[type, Callable[[Any, int], Any]] = {
            type(None): _same, bool: _same, float: _same, str: _same, bytes: _same,
            int: _int, list: self._list, dict: self._dict, tuple: self._tuple,
            set: self._set, frozenset: self._set, Name: _name, Instance: self._instance,
        }

    def value(self, v: Any, depth: int = 0) -> Any:
        """The msgpack-ready form of `v` (TypeError, OverflowError or
        ValueError from heapd.errors if heapd cannot hold it)."""
        conv = self._exact.get(type(v))
        if conv is not None:
            return conv(v, depth)
        return self._other(v, depth)

    def params(self, params: Iterable[Any]) -> List[Any]:
        """A request's params array."""
        return [self.value(p) for p in params]

    def pack(self, obj: Any) -> bytes:
        """msgpack bytes of an already converted value."""
        try:
            return self._packer.pack(obj)
        except UnicodeEncodeError as e:
            raise errors.ValueError("str is not valid UTF-8 (%s)" % e.reason) from None

    def _other(self, v: Any, depth: int) -> Any:
        """Subclasses of the value types (as json does: an IntEnum is an
        int, an OrderedDict a dict), byte buffers, Refs; else TypeError."""
        obj_id = self._ref_id(v)
        if obj_id is not None:
            return pack_ref(obj_id)
        if isinstance(v, int):
            return _int(int.__int__(v), depth)
        if isinstance(v, float):
            return float.__float__(v)
        if isinstance(v, str):
            return str.__str__(v)
        if isinstance(v, (bytes, bytearray, memoryview)):
            return bytes(memoryview(v))
        for base, conv in ((list, self._list), (tuple, self._tuple), (dict, self._dict),
                           (set, self._set), (frozenset, self._set)):
            if isinstance(v, base):
                return conv(v, depth)
        raise _refuse(v)

    def _nested(self, depth: int) -> int:
        if depth >= MAX_NESTING:
            raise errors.RecursionError(
                "value nested more than %d levels deep (or it contains itself)" % MAX_NESTING)
        return depth + 1

    def _list(self, v: Iterable[Any], depth: int) -> List[Any]:
        d = self._nested(depth)
        conv = self.value
        return [conv(x, d) for x in v]

    def _dict(self, v: Dict[Any, Any], depth: int) -> Dict[Any, Any]:
        d = self._nested(depth)
        conv = self.value
        return {conv(k, d): conv(x, d) for k, x in v.items()}

    def _instance(self, v: "Instance", depth: int) -> msgpack.ExtType:
        d = self._nested(depth)
        for k in v.attrs:
            if not isinstance(k, str):
                raise errors.TypeError("attribute name must be string, not %r" % type(k).__name__)
        payload = [self.value(v.cls, d), self._dict(v.attrs, d)]
        return msgpack.ExtType(EXT_INSTANCE, self.pack(payload))

    def _ext(self, code: int, items: Iterable[Any], depth: int) -> msgpack.ExtType:
        return msgpack.ExtType(code, self.pack(self._list(items, depth)))

    def _tuple(self, v: Tuple[Any, ...], depth: int) -> msgpack.ExtType:
        return self._ext(EXT_TUPLE, v, depth)

    def _set(self, v: Iterable[Any], depth: int) -> msgpack.ExtType:
        return self._ext(EXT_SET, v, depth)


def _same(v: Any, depth: int) -> Any:
    return v


def _int(v: int, depth: int) -> int:
    if INT64_MIN <= v <= INT64_MAX:
        return v
    raise errors.OverflowError(
        "int %d does not fit in heapd's int (signed 64-bit: %d..%d)" % (v, INT64_MIN, INT64_MAX))


def _name(v: Name, depth: int) -> msgpack.ExtType:
    try:
        data = str.encode(v, "utf-8")
    except UnicodeEncodeError as e:
        raise errors.ValueError("name is not valid UTF-8 (%s)" % e.reason) from None
    return msgpack.ExtType(EXT_NAME, data)


# ---- decoding ----

def _hashable(v: Any) -> Any:
    """v, with sets made frozensets (also inside tuples), for a key position."""
    if isinstance(v, set):
        return frozenset(_hashable(x) for x in v)
    if isinstance(v, tuple):
        return tuple(_hashable(x) for x in v)
    return v


def make_dict(pairs: List[Tuple[Any, Any]]) -> Dict[Any, Any]:
    """object_pairs_hook: a dict whatever its keys (tuples, ints, ...)."""
    try:
        return dict(pairs)
    except TypeError:  # the built-in: an unhashable key or member
        return {_hashable(k): v for k, v in pairs}


def _make_set(members: List[Any]) -> set:
    try:
        return set(members)
    except TypeError:  # the built-in: an unhashable key or member
        return {_hashable(m) for m in members}



def make_ext_hook(on_ref: Callable[[int], Any]) -> Callable[[int, bytes], Any]:
    """The ext_hook of an Unpacker: tuples, sets and names decoded (their
    payloads with this same hook), ext 1 passed to on_ref(id)."""

    def unpack_payload(data: bytes) -> List[Any]:
        items = msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=hook,
                                object_pairs_hook=make_dict)
        if not isinstance(items, list):
            raise errors.ProtocolError("ext payload is not an array")
        return items

    def hook(code: int, data: bytes) -> Any:
        if code == EXT_REF and len(data) == 8:
            return on_ref(_ID.unpack(data)[0])
        if code == EXT_TUPLE:
            return tuple(unpack_payload(data))
        if code == EXT_SET:
            return _make_set(unpack_payload(data))
        if code == EXT_NAME:
            return Name(data.decode("utf-8"))
        if code == EXT_INSTANCE:
            items = unpack_payload(data)
            if len(items) != 2 or not isinstance(items[1], dict):
                raise errors.ProtocolError("ext 5 payload is not [class, attrs]")
            return Instance(items[0], items[1])
        return msgpack.ExtType(code, data)

    return hook
