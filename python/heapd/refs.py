"""Ref: a proxy for one object in heapd.

A Ref names an object by id. It keeps the object alive while the program
holds it when the server gave this session a handle with it (every ref in an
answer, in ref-handle mode; the result of ``new`` always): the Ref counts the
handles it came with, and when Python drops the Ref, ``__del__`` queues one
``release(ref, count)`` notification, sent before the client's next message.
Nothing is sent from ``__del__`` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, List, Optional

from . import errors

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .protocol import Session

__all__ = ["BaseRef", "Ref", "OMITTED"]


class _Omitted:
    """Marks an optional parameter left out (not sent at all)."""

    _instance: Optional["_Omitted"] = None

    def __new__(cls) -> "_Omitted":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<omitted>"


OMITTED: Any = _Omitted()


class BaseRef:
    """What the sync :class:`Ref` and the asyncio ``AsyncRef`` share: the id,
    equality, and the handle count released when the Ref is dropped."""

    __slots__ = ("_client", "_session", "_id", "_handles", "_type", "__weakref__")

    def __init__(self, client: Any, session: "Session", obj_id: int) -> None:
        self._client = client
        self._session = session
        self._id = obj_id
        self._handles = 0  # session handles this Ref holds (released on drop)
        self._type: Optional[str] = None

    @property
    def id(self) -> int:
        """The object's id: unique for the server's life, never reused."""
        return self._id

    @property
    def client(self) -> Any:
        """The client whose calls this Ref's methods use."""
        return self._client

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BaseRef):
            return self._id == other._id
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, BaseRef):
            return self._id != other._id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._id)

    def __bool__(self) -> bool:
        # A reference is true, like any Python object without __len__;
        # truth must not cost a round trip (use len(ref) for emptiness).
        return True

    def __copy__(self) -> "BaseRef":
        return self  # a copy of a reference is the same reference

    def __deepcopy__(self, memo: Any) -> "BaseRef":
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a heapd Ref cannot be pickled (it belongs to a connection); "
                        "send ref.id, or the value from ref.get()")

    def __repr__(self) -> str:
        kind = " " + self._type if self._type else ""
        return "<heapd.%s %#x%s>" % (type(self).__name__, self._id, kind)

    def __del__(self) -> None:
        n = self._handles
        if n:
            try:
                self._session.dropped(self._id, n)
            except Exception:  # interpreter shutdown: the session is gone anyway
                pass


class Ref(BaseRef):
    """A proxy for an object in heapd (sync client).

    ``ref.id``, ``ref.type``; ``len(ref)``, ``x in ref``, ``ref[k]``,
    ``ref[k] = v``, ``del ref[k]``, ``for x in ref``, the container methods,
    and ``ref.get(depth=16)`` for the value. Containers inside answers come
    back as Refs, scalars as values (as heapd's ``getitem`` does).
    """

    __slots__ = ()
    _client: "Client"

    @property
    def type(self) -> str:
        """The object's type name (``"list"``); asked once, then cached."""
        if self._type is None:
            self._type = self._client.call("type", self)
        return self._type

    def get(self, depth: int = 16) -> Any:
        """The object's value, containers nested up to `depth` levels
        (deeper ones, and cycles, as Refs)."""
        return self._client.call("get", self, depth)

    def __len__(self) -> int:
        return self._client.call("len", self)

    def __contains__(self, value: Any) -> bool:
        return self._client.call("contains", self, value)

    def __getitem__(self, key: Any) -> Any:
        return self._client.call("getitem", self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._client.call("setitem", self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._client.call("delitem", self, key)

    def __iter__(self) -> Iterator[Any]:
        """Iterates a snapshot: a dict's keys, a list's, tuple's or set's
        items (containers among them as Refs), a str's characters."""
        if self.type == "dict":
            return iter(self.keys())
        value = self.get(1)
        if isinstance(value, (list, tuple, set, frozenset, str, bytes)):
            return iter(value)
        raise errors.TypeError("'%s' object is not iterable" % self.type)

    def append(self, value: Any) -> None:
        """list.append(value)."""
        self._client.call("append", self, value)

    def extend(self, values: Any) -> None:
        """list.extend(values)."""
        self._client.call("extend", self, values)

    def insert(self, index: int, value: Any) -> None:
        """list.insert(index, value)."""
        self._client.call("insert", self, index, value)

    def pop(self, index_or_key: Any = OMITTED) -> Any:
        """list.pop([index]) or dict.pop(key): the removed value."""
        if index_or_key is OMITTED:
            return self._client.call("pop", self)
        return self._client.call("pop", self, index_or_key)

    def remove(self, value: Any) -> None:
        """list.remove(value) or set.remove(value)."""
        self._client.call("remove", self, value)

    def clear(self) -> None:
        """Empties a list, dict or set."""
        self._client.call("clear", self)

    def add(self, value: Any) -> None:
        """set.add(value)."""
        self._client.call("add", self, value)

    def discard(self, value: Any) -> None:
        """set.discard(value)."""
        self._client.call("discard", self, value)

    def keys(self) -> List[Any]:
        """A dict's keys, in insertion order."""
        return self._client.call("keys", self)

    # -- classes and instances: attributes, and calling a class --

    def __getattr__(self, name: str) -> Any:
        """``ref.name``: an instance's (or its class's) attribute, a
        class's attribute (getattr on the server; AttributeError if none)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self._client.call("getattr", self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name in ("type",):
            object.__setattr__(self, name, value)
            return
        self._client.call("setattr", self, name, value)

    def __delattr__(self, name: str) -> None:
        if name.startswith("_"):
            object.__delattr__(self, name)
            return
        self._client.call("delattr", self, name)

    def __call__(self, **attrs: Any) -> "Ref":
        """A class Ref called makes an instance: ``Employee(name="Ann")``."""
        return self._client.call("instance", self, attrs)
