"""The sans-I/O core of a heapd session, shared by the sync and asyncio
clients: message ids, requests in flight, decoding answers, counting the
session handles that come with refs, and the queue of releases.

The transports only move bytes: they send what :meth:`Session.request` and
:meth:`Session.take_releases` return, and :meth:`Session.feed` what they
read, then collect the events :meth:`Session.events` yields.
"""

from __future__ import annotations

import collections
import weakref
from typing import Any, Callable, Deque, Iterator, List, Optional, Sequence, Tuple, Type

import msgpack

from . import errors
from .refs import BaseRef
from .values import Encoder, make_dict, make_ext_hook, pack_ref

__all__ = ["PendingCall", "Session", "REQUEST", "RESPONSE", "NOTIFY"]

REQUEST, RESPONSE, NOTIFY = 0, 1, 2
MSGID_MASK = 0xFFFFFFFF

Event = Tuple[str, List[Any]]
_REQUEST_HEAD = b"\x94\x00"  # fixarray of 4, then 0 (request); msgid, method, params follow


class PendingCall:
    """One call sent (or queued in a pipeline): a future-like object.

    ``result()`` returns the answer or raises the call's error; ``done()``
    says whether the answer arrived.
    """

    __slots__ = ("method", "params", "msgid", "_wire", "_done", "_result", "_error", "_waiter")

    def __init__(self, method: str, params: Sequence[Any]) -> None:
        self.method = method
        self.params: Optional[Sequence[Any]] = params  # kept alive until answered
        self.msgid = -1
        self._wire: Any = None  # the params converted for msgpack, until sent
        self._done = False
        self._result: Any = None
        self._error: Optional[BaseException] = None
        self._waiter: Any = None  # an asyncio.Future, for the asyncio client

    def done(self) -> bool:
        """Whether the answer (or an error) arrived."""
        return self._done

    def result(self) -> Any:
        """The call's result; raises its error (a heapd.Error subclass)."""
        if not self._done:
            raise errors.Error("%s() has no answer yet (a pipeline's calls are sent "
                               "when its block ends)" % self.method)
        if self._error is not None:
            raise self._error
        return self._result

    def exception(self) -> Optional[BaseException]:
        """The call's error, or None if it succeeded."""
        if not self._done:
            self.result()  # raises: no answer yet
        return self._error

    def set_result(self, result: Any) -> None:
        self._finish(result, None)

    def set_error(self, error: BaseException) -> None:
        self._finish(None, error)

    def _finish(self, result: Any, error: Optional[BaseException]) -> None:
        if self._done:
            return
        self._done, self._result, self._error = True, result, error
        self.params = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __repr__(self) -> str:
        state = "pending" if not self._done else ("error" if self._error else "done")
        return "<PendingCall %s %s>" % (self.method, state)


class Session:
    """State of one connection, independent of how bytes move."""

    def __init__(self, client: Any, ref_class: Type[BaseRef]) -> None:
        self.client = client
        self.ref_class = ref_class
        self.ref_handles = False  # set by the client after hello
        self.closed = False
        self.on_release: Optional[Callable[[], None]] = None  # asyncio: schedule a flush
        self.encoder = Encoder(_ref_id)
        self._refs: "weakref.WeakValueDictionary[int, BaseRef]" = weakref.WeakValueDictionary()
        self._fresh: List[BaseRef] = []  # refs decoded in the current message
        self._releases: Deque[Tuple[int, int]] = collections.deque()
        self._pending: Deque[PendingCall] = collections.deque()
        self._msgid = 0
        self._packer = msgpack.Packer(use_bin_type=True, autoreset=True)
        self._unpacker = msgpack.Unpacker(
            raw=False, strict_map_key=False, max_buffer_size=0,
            ext_hook=make_ext_hook(self._on_ref), object_pairs_hook=make_dict)

    # ---- sending ----

    def encode(self, method: str, params: Sequence[Any]) -> PendingCall:
        """Checks and converts a call's params (errors before anything is
        sent); the call gets its msgid when packed by :meth:`request`."""
        call = PendingCall(method, params)
        # packed now, so a value msgpack refuses fails here, not mid-batch
        call._wire = self.encoder.pack(method) + self.encoder.pack(self.encoder.params(params))
        return call

    def request(self, call: PendingCall) -> bytes:
        """The request bytes of an encoded call, now in flight."""
        self._msgid = (self._msgid + 1) & MSGID_MASK
        call.msgid = self._msgid
        data = _REQUEST_HEAD + self._packer.pack(call.msgid) + call._wire
        call._wire = None
        self._pending.append(call)
        return data

    def dropped(self, obj_id: int, handles: int) -> None:
        """A Ref holding `handles` handles was dropped: queue its release.
        Called from __del__, in any thread: only appends to a deque."""
        if self.closed:
            return
        self._releases.append((obj_id, handles))
        if self.on_release is not None:
            self.on_release()

    def has_releases(self) -> bool:
        """Whether dropped Refs wait for their release to be sent."""
        return bool(self._releases)

    def take_releases(self) -> bytes:
        """Release notifications for every dropped Ref queued so far."""
        out: List[bytes] = []
        pack = self._packer.pack
        while True:
            try:
                obj_id, n = self._releases.popleft()
            except IndexError:
                return b"".join(out)
            ref = pack_ref(obj_id)
            if self.ref_handles:
                out.append(pack([NOTIFY, "release", [ref, n]]))
            else:  # release(ref) drops one handle
                out.extend([pack([NOTIFY, "release", [ref]])] * n)

    # ---- receiving ----

    def feed(self, data: bytes) -> None:
        """Bytes read from the connection."""
        self._unpacker.feed(data)

    def events(self) -> Iterator[Event]:
        """Processes every complete message fed so far: answers go to their
        PendingCall; events (server notifications) are yielded."""
        while True:
            self._fresh = []
            try:
                msg = next(self._unpacker)
            except StopIteration:
                return
            except errors.Error:
                raise
            except Exception as e:
                raise errors.ProtocolError("undecodable message from the server: %s" % e) from e
            if isinstance(msg, list) and len(msg) == 3 and msg[0] == NOTIFY:
                fresh, self._fresh = self._fresh, []
                if self.ref_handles and msg[1] == "finalize":
                    # in ref-handle mode the containers a finalizer's attrs
                    # name come as handles (the first ref is the dead instance)
                    for ref in fresh[1:]:
                        ref._handles += 1
                if isinstance(msg[1], str) and isinstance(msg[2], list):
                    yield msg[1], msg[2]
                    continue
            if isinstance(msg, list) and len(msg) == 4 and msg[0] == RESPONSE:
                self._answer(msg)
                continue
            raise errors.ProtocolError("unexpected message from the server: %.200r" % (msg,))

    def _answer(self, msg: List[Any]) -> None:
        fresh, self._fresh = self._fresh, []
        if not self._pending or self._pending[0].msgid != msg[1]:
            raise errors.ProtocolError("answer with msgid %r, expected %r" % (
                msg[1], self._pending[0].msgid if self._pending else None))
        call = self._pending.popleft()
        if msg[2] is not None:
            call.set_error(errors.from_wire(msg[2]))
            return
        self._count_handles(call, fresh, msg[3])
        call.set_result(msg[3])

    def _count_handles(self, call: PendingCall, fresh: List[BaseRef], result: Any) -> None:
        """The handles the answer gave this session, credited to its Refs."""
        if self.ref_handles:
            for ref in fresh:
                ref._handles += 1
        elif call.method == "new" and isinstance(result, BaseRef):
            result._handles += 1  # without ref-handle mode only new() gives one
        if call.method == "release":
            self._released(call.params or ())

    def _released(self, params: Sequence[Any]) -> None:
        """An explicit release(ref, [n]) by the program: the Ref holds fewer."""
        ref = params[0] if params else None
        if isinstance(ref, BaseRef) and self._refs.get(ref._id) is ref:
            n = params[1] if len(params) > 1 and isinstance(params[1], int) else 1
            ref._handles = max(0, ref._handles - n)

    def _on_ref(self, obj_id: int) -> BaseRef:
        """ext 1 in a message: this session's one live Ref for the id."""
        ref = self._refs.get(obj_id)
        if ref is None:
            ref = self.ref_class(self.client, self, obj_id)
            self._refs[obj_id] = ref
        self._fresh.append(ref)
        return ref

    def fail_all(self, error: BaseException) -> None:
        """The connection is gone: every call in flight gets `error`."""
        self.closed = True
        self._releases.clear()
        while self._pending:
            self._pending.popleft().set_error(error)


def _ref_id(value: Any) -> Optional[int]:
    return value._id if isinstance(value, BaseRef) else None
