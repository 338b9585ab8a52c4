"""heapd for asyncio: the same API as the blocking client, with ``async``
methods.

    import heapd.aio

    async with heapd.aio.connect() as c:
        await c.bind("E", 26)
        assert await c.refcount("E") == 1

A background task reads the connection: answers wake their callers (any
number of tasks may call at once; answers come in order), and event
callbacks run as events arrive (a callback that returns an awaitable is run
as a task). Refs are :class:`AsyncRef`: the Python protocols that cannot
be awaited become methods (``await ref.len()``, ``await ref.getitem(k)``,
``async for x in ref``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
from typing import Any, AsyncIterator, Callable, Coroutine, Generator, List, Optional

from . import errors
from .api import build_class
from .client import ClientBase, Target, describe, endpoint
from .events import log, run_safely
from .pipeline import PipelineBase
from .protocol import PendingCall
from .refs import OMITTED, BaseRef

__all__ = ["connect", "Connecting", "AsyncClient", "AsyncRef", "AsyncPipeline"]

RECV_BYTES = 1 << 18


class AsyncRef(BaseRef):
    """A proxy for an object in heapd (asyncio client): as :class:`heapd.Ref`,
    with ``await ref.type()``, ``await ref.len()``, ``await
    ref.contains(x)``, ``await ref.getitem(k)`` / ``setitem(k, v)`` /
    ``delitem(k)`` and ``async for x in ref`` for the protocols."""

    __slots__ = ()

    async def type(self) -> str:
        """The object's type name; asked once, then cached."""
        if self._type is None:
            self._type = await self._client.call("type", self)
        return self._type

    async def get(self, depth: int = 16) -> Any:
        """The object's value, containers nested up to `depth` levels."""
        return await self._client.call("get", self, depth)

    async def len(self) -> int:
        """len(ref)."""
        return await self._client.call("len", self)

    async def contains(self, value: Any) -> bool:
        """value in ref."""
        return await self._client.call("contains", self, value)

    async def getitem(self, key: Any) -> Any:
        """ref[key]."""
        return await self._client.call("getitem", self, key)

    async def setitem(self, key: Any, value: Any) -> None:
        """ref[key] = value."""
        await self._client.call("setitem", self, key, value)

    async def delitem(self, key: Any) -> None:
        """del ref[key]."""
        await self._client.call("delitem", self, key)

    async def items(self) -> List[Any]:
        """What ``async for`` iterates: a dict's keys, a sequence's or
        set's items, a str's characters (a snapshot)."""
        if await self.type() == "dict":
            return await self.keys()
        value = await self.get(1)
        if isinstance(value, (list, tuple, set, frozenset, str, bytes)):
            return list(value)
        raise errors.TypeError("'%s' object is not iterable" % self._type)

    async def __aiter__(self) -> AsyncIterator[Any]:
        for item in await self.items():
            yield item

    async def append(self, value: Any) -> None:
        """list.append(value)."""
        await self._client.call("append", self, value)

    async def extend(self, values: Any) -> None:
        """list.extend(values)."""
        await self._client.call("extend", self, values)

    async def insert(self, index: int, value: Any) -> None:
        """list.insert(index, value)."""
        await self._client.call("insert", self, index, value)

    async def pop(self, index_or_key: Any = OMITTED) -> Any:
        """list.pop([index]) or dict.pop(key): the removed value."""
        if index_or_key is OMITTED:
            return await self._client.call("pop", self)
        return await self._client.call("pop", self, index_or_key)

    async def remove(self, value: Any) -> None:
        """list.remove(value) or set.remove(value)."""
        await self._client.call("remove", self, value)

    async def clear(self) -> None:
        """Empties a list, dict or set."""
        await self._client.call("clear", self)

    async def add(self, value: Any) -> None:
        """set.add(value)."""
        await self._client.call("add", self, value)

    async def discard(self, value: Any) -> None:
        """set.discard(value)."""
        await self._client.call("discard", self, value)

    async def keys(self) -> List[Any]:
        """A dict's keys, in insertion order."""
        return await self._client.call("keys", self)


class AsyncPipeline(PipelineBase):
    """A pipeline of the asyncio client (``async with c.pipeline() as p``)."""

    async def execute(self) -> List[PendingCall]:
        """Sends the queued calls in one write and awaits their answers."""
        calls = self._take()
        if calls:
            await self._client._run(calls)
        return calls

    async def __aenter__(self) -> "AsyncPipeline":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            await self.execute()
        else:
            self._discard()


class AsyncClient(ClientBase):
    """An asyncio connection to heapd (one session): every method of the
    server's api_info as an ``async`` method, as :class:`heapd.Client`."""

    ref_class = AsyncRef

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 address: str, timeout: Optional[float]) -> None:
        self._init_base(address, timeout)
        self._reader, self._writer = reader, writer
        self._loop = asyncio.get_running_loop()
        self._events_seen = 0
        self._event_signal = asyncio.Event()
        self._flush_scheduled = False
        self._failure: Optional[errors.Error] = None
        self._session.on_release = self._schedule_flush
        self._reader_task = self._loop.create_task(self._read_loop())

    async def _handshake(self, token: Optional[str]) -> None:
        calls = self._handshake_calls(token)
        await self._run(calls)
        if token is not None:
            calls[0].result()
        hello, info = calls[-2], calls[-1]
        try:
            server_info = hello.result()
        except errors.TypeError:  # a server without ref-handle mode
            server_info = await self.call("hello")
        self._setup(server_info, info.result())

    # ---- calls ----

    async def call(self, method: str, *params: Any) -> Any:
        """Calls heapd method `method`; returns its result or raises its error."""
        call = self._session.encode(method, params)
        await self._run([call])
        return call.result()

    def pipeline(self) -> AsyncPipeline:
        """``async with c.pipeline() as p:`` queues calls, sent at the end."""
        self._check_open()
        return build_class(AsyncPipeline, self.method_specs)(self)

    async def _run(self, calls: List[PendingCall]) -> None:
        """Writes releases and calls at once; waits for the last answer."""
        self._check_open()
        for call in calls:
            call._waiter = self._loop.create_future()
        session = self._session
        self._writer.write(session.take_releases() + b"".join([session.request(c) for c in calls]))
        try:
            await asyncio.wait_for(self._wait(calls[-1]), self.timeout)
        except errors.Error:
            raise
        except asyncio.TimeoutError:
            raise self._fail(errors.TimeoutError("no answer from %s within %s s"
                                                 % (self.address, self.timeout))) from None
        except OSError as e:
            # the server may have said why before closing: let the reader finish
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._reader_task), 0.5)
            raise self._fail(errors.ConnectionError("connection to %s failed: %s"
                                                    % (self.address, e.strerror or e))) from None

    async def _wait(self, last: PendingCall) -> None:
        await self._writer.drain()
        await last._waiter
        if last._error is not None and isinstance(last._error, errors.ConnectionError):
            raise last._error  # the connection broke (a call's own error is its result)

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(RECV_BYTES)
                if not data:
                    raise self._closed_by_server()
                self._session.feed(data)
                for method, params in self._session.events():
                    self._deliver(method, params)
        except errors.Error as e:
            self._fail(e)
        except OSError as e:
            self._fail(errors.ConnectionError("connection to %s failed: %s"
                                              % (self.address, e.strerror or e)))
        except Exception as e:  # a bug here must not leave callers waiting
            log.exception("heapd: reading %s failed", self.address)
            self._fail(errors.ProtocolError("reading %s failed: %r" % (self.address, e)))

    def _fail(self, error: errors.Error) -> errors.Error:
        """The stream is unusable: fail every call in flight, close;
        returns the first such error, for the caller to raise."""
        if not self._session.closed:
            self._failure = error
            self._session.fail_all(error)
            self._writer.close()
            if asyncio.current_task() is not self._reader_task:
                self._reader_task.cancel()
        return self._failure or error

    # ---- events ----

    def _deliver(self, method: str, params: List[Any]) -> None:
        self._note((method, params))
        for cb in self._router.callbacks(method, params):
            result = run_safely(cb)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(_log_task_error)
        self._events_seen += 1
        self._event_signal.set()

    async def poll(self, timeout: Optional[float] = 0.0) -> int:
        """Waits up to `timeout` seconds (None: until one arrives) for
        events; returns how many arrived meanwhile (their callbacks run as
        they arrive). Also sends the releases of dropped Refs."""
        self._check_open()
        self._flush_releases()
        start = self._events_seen
        self._event_signal.clear()
        try:
            await asyncio.wait_for(self._event_signal.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        return self._events_seen - start

    async def watch(self, target: Target, callback: Callable[[int, str, str], Any]) -> None:
        """Calls ``callback(ref_id, type, cause)`` once, when the object is
        reclaimed (a coroutine function's call is run as a task)."""
        obj_id = await self._target_id(target)
        self._router.add_watch(obj_id, callback)
        try:
            await self.call("watch", target)
        except BaseException:
            self._router.remove_watch(obj_id, callback)
            raise

    async def unwatch(self, target: Target) -> None:
        """Stops watching an object; its callbacks are dropped."""
        obj_id = await self._target_id(target)
        await self.call("unwatch", target)
        self._router.remove_watch(obj_id)

    async def subscribe(self, channel: str, callback: Callable[..., Any]) -> None:
        """Calls ``callback(info)`` for each event of `channel` (``"gc"``)."""
        self._router.add_channel(channel, callback)
        try:
            await self.call("subscribe", channel)
        except BaseException:
            self._router.remove_channel(channel, callback)
            raise

    async def unsubscribe(self, channel: str) -> None:
        """Stops the events of `channel`; its callbacks are dropped."""
        await self.call("unsubscribe", channel)
        self._router.remove_channel(channel)

    async def _target_id(self, target: Target) -> int:
        if isinstance(target, BaseRef):
            return target.id
        return (await self.call("lookup", target)).id

    # ---- releases and closing ----

    def _schedule_flush(self) -> None:
        """From a Ref's __del__ (any thread): send its release soon, from
        the loop, as one whole write."""
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._flush_releases)
        except RuntimeError:  # the loop is closed
            pass

    def _flush_releases(self) -> None:
        self._flush_scheduled = False
        if not self._session.closed and self._session.has_releases():
            self._writer.write(self._session.take_releases())

    async def close(self) -> None:
        """Ends the session (the server drops its scopes and handles)."""
        if self._session.closed:
            return
        self._flush_releases()
        self._session.fail_all(errors.ConnectionError("the client is closed"))
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader_task
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def _log_task_error(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("heapd event callback task raised", exc_info=task.exception())


class Connecting:
    """What :func:`connect` returns: await it for the client, or use it as
    ``async with heapd.aio.connect() as c:`` (closed at the block's end)."""

    def __init__(self, opening: Coroutine[Any, Any, AsyncClient]) -> None:
        self._opening = opening
        self._client: Optional[AsyncClient] = None

    def __await__(self) -> Generator[Any, None, AsyncClient]:
        return self._opening.__await__()

    async def __aenter__(self) -> AsyncClient:
        self._client = await self._opening
        return self._client

    async def __aexit__(self, *exc: Any) -> None:
        if self._client is not None:
            await self._client.close()


def connect(path: Optional[str] = None, *, host: Optional[str] = None,
            port: Optional[int] = None, token: Optional[str] = None,
            timeout: Optional[float] = None) -> Connecting:
    """Connects to heapd from asyncio; arguments as :func:`heapd.connect`.

    ``c = await heapd.aio.connect()``, or ``async with heapd.aio.connect()
    as c:``."""
    return Connecting(_open(path, host, port, token, timeout))


async def _open(path: Optional[str], host: Optional[str], port: Optional[int],
                token: Optional[str], timeout: Optional[float]) -> AsyncClient:
    kind, where = endpoint(path, host, port)
    address = describe(kind, where)
    try:
        if kind == "tcp":
            opening = asyncio.open_connection(*where)
        else:
            opening = asyncio.open_unix_connection(where)
        reader, writer = await asyncio.wait_for(opening, timeout)
    except asyncio.TimeoutError:
        raise errors.TimeoutError("could not connect to %s: timed out" % address) from None
    except OSError as e:
        raise errors.ConnectionError("could not connect to %s: %s"
                                     % (address, e.strerror or e)) from None
    if kind == "tcp":
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = AsyncClient(reader, writer, address, timeout)
    try:
        await client._handshake(token)
    except BaseException:
        await client.close()
        raise
    client.__class__ = build_class(AsyncClient, client.method_specs, is_async=True)
    return client
