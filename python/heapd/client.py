"""The blocking client: ``heapd.connect()`` and :class:`Client`."""

from __future__ import annotations

import collections
import os
import selectors
import socket
import stat
import time
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple, Union

from . import errors
from .api import MethodSpec, build_class, parse_methods
from .events import Router, run_safely
from .pipeline import Pipeline
from .protocol import Event, PendingCall, Session
from .refs import BaseRef, Ref

__all__ = ["connect", "Client", "default_socket_path", "SERVICE_SOCKET"]

SERVICE_SOCKET = "/run/heapd/heapd.sock"
PRIVATE_DIR = "/tmp/heapd-%d"  # % uid, without $XDG_RUNTIME_DIR
RECV_BYTES = 1 << 18
SMALL_SEND = 1 << 16  # sent with sendall; bigger writes are interleaved with reads

Target = Union[BaseRef, str]


def _private_dir_ok(path: str) -> bool:
    """heapctl's check of /tmp/heapd-UID: absent, or a directory of ours
    closed to others."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def default_socket_path() -> str:
    """Where heapctl looks when given no socket (proto/sockpath.c and
    client/main.c): ``$XDG_RUNTIME_DIR/heapd.sock``, else
    ``/tmp/heapd-UID/heapd.sock`` (if that directory is private to the user);
    the service's ``/run/heapd/heapd.sock`` when the first does not exist
    and the service's does."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        path = os.path.join(xdg, "heapd.sock")
    else:
        directory = PRIVATE_DIR % os.getuid()
        if not _private_dir_ok(directory):
            return SERVICE_SOCKET
        path = os.path.join(directory, "heapd.sock")
    if not os.path.exists(path) and os.path.exists(SERVICE_SOCKET):
        return SERVICE_SOCKET
    return path


def endpoint(path: Optional[str], host: Optional[str], port: Optional[int]) -> Tuple[str, Any]:
    """("unix", path) or ("tcp", (host, port)) from connect()'s arguments."""
    if path is not None and (host is not None or port is not None):
        raise ValueError("give either path or host and port, not both")
    if (host is None) != (port is None):
        raise ValueError("host and port go together")
    if host is not None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ValueError("port must be an int in 1..65535, not %r" % (port,))
        return "tcp", (host, port)
    return "unix", os.fspath(path) if path is not None else default_socket_path()


def describe(kind: str, where: Any) -> str:
    return "%s:%d" % where if kind == "tcp" else where


def open_socket(kind: str, where: Any, timeout: Optional[float]) -> socket.socket:
    """A connected socket; heapd.ConnectionError (TimeoutError) if not."""
    try:
        if kind == "tcp":
            sock = socket.create_connection(where, timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(where)
            except BaseException:
                sock.close()
                raise
    except socket.timeout:
        raise errors.TimeoutError("could not connect to %s: timed out" % describe(kind, where)) from None
    except OSError as e:
        raise errors.ConnectionError("could not connect to %s: %s"
                                     % (describe(kind, where), e.strerror or e)) from None
    sock.settimeout(timeout)
    return sock


class ClientBase:
    """What the sync and asyncio clients share: the session, the server's
    description, event callbacks, and the handshake's requests."""

    # Public attributes are declared here, on the class, so that a server
    # method of the same name is never made (and hidden by the instance's).
    method_specs: Tuple[MethodSpec, ...] = ()  # the methods of api_info
    ref_class: type = Ref
    address: str = ""  # the socket path, or host:port
    timeout: Optional[float] = None
    server_info: Dict[str, Any] = {}  # hello's answer
    api: Dict[str, Any] = {}  # api_info's answer

    def _init_base(self, address: str, timeout: Optional[float]) -> None:
        self.address = address
        self.timeout = timeout
        self.server_info: Dict[str, Any] = {}
        self.api: Dict[str, Any] = {}
        self._session = Session(self, self.ref_class)
        self._router = Router()
        self._events: Deque[Event] = collections.deque()
        self._server_error = ""  # the last error notification, for a closing message

    @property
    def ref_handles(self) -> bool:
        """Whether every ref in an answer comes with a session handle (the
        server's ref-handle mode, asked for at connect)."""
        return self._session.ref_handles

    @property
    def session_id(self) -> Optional[int]:
        """This connection's session number (from hello)."""
        return self.server_info.get("session")

    @property
    def closed(self) -> bool:
        """Whether the session ended (close(), or the connection broke)."""
        return self._session.closed

    def _handshake_calls(self, token: Optional[str]) -> List[PendingCall]:
        """[auth(token)], hello({"ref_handles": true}), api_info(): one write."""
        enc = self._session.encode
        calls = [enc("auth", (token,))] if token is not None else []
        return calls + [enc("hello", ({"ref_handles": True},)), enc("api_info", ())]

    def _setup(self, server_info: Mapping[str, Any], api_info: Mapping[str, Any]) -> None:
        self.server_info = dict(server_info)
        self.api = dict(api_info)
        self._session.ref_handles = server_info.get("ref_handles") is True
        for name in api_info.get("errors", ()):
            if isinstance(name, str):
                errors.error_class(name)
        self.method_specs = parse_methods(api_info)

    def _note(self, event: Event) -> Event:
        """Remembers the server's error notification (sent before it closes
        a connection it cannot read), for the ConnectionError that follows."""
        method, params = event
        if method == "error" and params and isinstance(params[0], dict):
            self._server_error = "%s: %s" % (params[0].get("type"), params[0].get("message"))
        return event

    def _closed_by_server(self) -> errors.ConnectionError:
        why = " after %s" % self._server_error if self._server_error else ""
        return errors.ConnectionError("the server closed the connection (%s)%s"
                                      % (self.address, why))

    def _check_open(self) -> None:
        if self._session.closed:
            raise errors.ConnectionError("the client is closed (%s)" % self.address)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError("%r has no method %r (not in this server's api_info)"
                             % (type(self).__name__, name))

    def __repr__(self) -> str:
        state = "closed" if self.closed else "session %s" % self.session_id
        return "<heapd.%s %s %s>" % (type(self).__name__, self.address, state)


class Client(ClientBase):
    """A blocking connection to heapd (one session). Not thread-safe: use
    one Client per thread.

    Every method of the server's ``api_info`` is a method of the client
    (``c.bind("E", 26)``, ``c.refcount("E")``; ``c.is_(a, b)`` for ``is``),
    made at connect from that table; :meth:`call` calls any by name. The
    event methods (``watch``, ``unwatch``, ``subscribe``, ``unsubscribe``)
    are written here, since they also take the callbacks.
    """

    ref_class = Ref

    def __init__(self, sock: socket.socket, address: str, timeout: Optional[float]) -> None:
        self._init_base(address, timeout)
        self._sock = sock
        self._selector: Optional[selectors.BaseSelector] = None
        self._dispatching = False

    @classmethod
    def _open(cls, sock: socket.socket, address: str, token: Optional[str],
              timeout: Optional[float]) -> "Client":
        client = cls(sock, address, timeout)
        try:
            client._handshake(token)
        except BaseException:
            client.close()
            raise
        client.__class__ = build_class(cls, client.method_specs)
        return client

    def _handshake(self, token: Optional[str]) -> None:
        calls = self._handshake_calls(token)
        self._run(calls)
        if token is not None:
            calls[0].result()
        hello, info = calls[-2], calls[-1]
        try:
            server_info = hello.result()
        except errors.TypeError:  # a server without ref-handle mode: hello takes no options
            server_info = self.call("hello")
        self._setup(server_info, info.result())

    # ---- calls ----

    def call(self, method: str, *params: Any) -> Any:
        """Calls heapd method `method` with `params`; returns its result or
        raises its error (``heapd.KeyError``, ...)."""
        call = self._session.encode(method, params)
        self._run([call])
        self._dispatch()
        return call.result()

    def pipeline(self) -> Pipeline:
        """``with c.pipeline() as p:`` queues ``p.bind(...)``... and sends
        them in one write when the block ends; each returns a PendingCall
        whose ``result()`` is the answer."""
        self._check_open()
        return build_class(Pipeline, self.method_specs)(self)

    def _run(self, calls: List[PendingCall]) -> None:
        """Sends queued releases and the calls in one write, then reads
        until every call is answered (events are kept for _dispatch)."""
        self._check_open()
        session = self._session
        data = session.take_releases() + b"".join([session.request(c) for c in calls])
        try:
            if len(data) <= SMALL_SEND:
                self._sock.sendall(data)
            else:
                self._send_while_reading(data)
            while calls and not calls[-1].done():
                self._read()
        except errors.Error:
            raise
        except socket.timeout:
            self._broken(errors.TimeoutError("no answer from %s within %s s"
                                             % (self.address, self.timeout)))
        except OSError as e:
            self._broken(self._failure(e))

    def _failure(self, e: OSError) -> errors.ConnectionError:
        """The error for a failed send or read: the server's reason when it
        sent one before closing (it may close while we still write)."""
        try:
            self._sock.settimeout(0.5)
            while True:
                data = self._sock.recv(RECV_BYTES)
                if not data:
                    break
                self._session.feed(data)
                for event in self._session.events():
                    self._note(event)
        except (OSError, errors.Error):
            pass
        if self._server_error:
            return self._closed_by_server()
        return errors.ConnectionError("connection to %s failed: %s"
                                      % (self.address, e.strerror or e))

    def _send_while_reading(self, data: bytes) -> None:
        """Writes a big batch while reading answers, so neither side can
        block on a full socket buffer."""
        sel = self._selector_for(selectors.EVENT_READ | selectors.EVENT_WRITE)
        view, off = memoryview(data), 0
        try:
            while off < len(data):
                ready = sel.select(self.timeout)
                if not ready:
                    raise socket.timeout()
                mask = ready[0][1]
                if mask & selectors.EVENT_READ:
                    self._read()
                if mask & selectors.EVENT_WRITE:
                    off += self._sock.send(view[off:off + SMALL_SEND])
        finally:
            if self._selector is sel:  # (not closed by a failed read)
                sel.modify(self._sock, selectors.EVENT_READ)

    def _selector_for(self, events: int) -> selectors.BaseSelector:
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
            self._selector.register(self._sock, events)
        else:
            self._selector.modify(self._sock, events)
        return self._selector

    def _read(self) -> None:
        """One recv; complete answers resolve their calls, events queue."""
        data = self._sock.recv(RECV_BYTES)
        if not data:
            self._broken(self._closed_by_server())
        self._session.feed(data)
        try:
            self._events.extend(map(self._note, self._session.events()))
        except errors.ProtocolError as e:
            self._broken(e)

    def _broken(self, error: errors.Error) -> None:
        """The stream is unusable: close, fail what is in flight, raise."""
        self._close_socket()
        self._session.fail_all(error)
        raise error

    # ---- events ----

    def _dispatch(self) -> int:
        """Runs the callbacks of the queued events (not re-entered when a
        callback itself calls the client); returns how many events ran."""
        if self._dispatching:
            return 0
        self._dispatching = True
        n = 0
        try:
            while self._events:
                method, params = self._events.popleft()
                n += 1
                for cb in self._router.callbacks(method, params):
                    run_safely(cb)
        finally:
            self._dispatching = False
        return n

    def poll(self, timeout: Optional[float] = 0.0) -> int:
        """Waits up to `timeout` seconds (None: until one arrives) for
        events and runs their callbacks; returns how many events arrived.
        Also sends the releases of dropped Refs."""
        self._check_open()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            if self._session.has_releases():
                self._sock.sendall(self._session.take_releases())
            while not self._events:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self._selector_for(selectors.EVENT_READ).select(left):
                    break
                self._read()
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except errors.Error:
            raise
        except OSError as e:
            self._broken(errors.ConnectionError("connection to %s failed: %s"
                                                % (self.address, e.strerror or e)))
        return self._dispatch()

    def watch(self, target: Target, callback: Callable[[int, str, str], Any]) -> None:
        """Calls ``callback(ref_id, type, cause)`` once, when the object
        (a Ref, or the one a name is bound to) is reclaimed; cause is
        ``"refcount"`` or ``"gc"``. Watching does not keep it alive."""
        obj_id = self._target_id(target)
        self._router.add_watch(obj_id, callback)
        try:
            self.call("watch", target)
        except BaseException:
            self._router.remove_watch(obj_id, callback)
            raise

    def unwatch(self, target: Target) -> None:
        """Stops watching an object; its callbacks are dropped."""
        obj_id = self._target_id(target)
        self.call("unwatch", target)
        self._router.remove_watch(obj_id)

    def weakref(self, target: Target, callback: Optional[Callable[[Any], Any]] = None) -> Any:
        """A weak reference to target (a Ref to a ``weakref`` object, which
        ``weakref_get`` dereferences). With a callback, ``callback(w)`` runs
        once the referent is reclaimed, as ``weakref.ref(x, callback)``."""
        if callback is None:
            return self.call("weakref", target)
        w = self.call("weakref", target, {"callback": True})
        self._router.add_weakref(w.id, callback)
        return w

    def subscribe(self, channel: str, callback: Callable[..., Any]) -> None:
        """Calls ``callback(*params)`` for each event of `channel`: ``"gc"``,
        ``callback(info)`` as each collection starts and stops (info a
        dict); ``"finalize"``, ``callback(ref, class_name, attrs)`` when an
        instance of a class with ``__del__`` is reclaimed (PEP 442: once),
        before the answer to the call that freed it."""
        self._router.add_channel(channel, callback)
        try:
            self.call("subscribe", channel)
        except BaseException:
            self._router.remove_channel(channel, callback)
            raise

    def unsubscribe(self, channel: str) -> None:
        """Stops the events of `channel`; its callbacks are dropped."""
        self.call("unsubscribe", channel)
        self._router.remove_channel(channel)

    def _target_id(self, target: Target) -> int:
        if isinstance(target, BaseRef):
            return target.id
        return self.call("lookup", target).id

    # ---- closing ----

    def close(self) -> None:
        """Ends the session: the server drops its scopes and handles. The
        client's Refs stay valid only as far as other references keep
        their objects alive; calls through this client then raise
        heapd.ConnectionError."""
        if self._session.closed:
            return
        try:
            if self._session.has_releases():
                self._sock.sendall(self._session.take_releases())
        except OSError:
            pass
        self._close_socket()
        self._session.fail_all(errors.ConnectionError("the client is closed"))

    def _close_socket(self) -> None:
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect(path: Optional[str] = None, *, host: Optional[str] = None,
            port: Optional[int] = None, token: Optional[str] = None,
            timeout: Optional[float] = None) -> Client:
    """Connects to heapd and returns a :class:`Client`.

    path: a Unix socket; host and port: TCP instead; neither: heapctl's
    default socket (:func:`default_socket_path`). token: sent with ``auth``
    first. timeout: seconds to wait for the connection and for each read
    of an answer (None: no limit). Failures raise heapd.ConnectionError
    (heapd.TimeoutError on a timeout); a wrong token raises heapd.AuthError.
    """
    kind, where = endpoint(path, host, port)
    sock = open_socket(kind, where, timeout)
    return Client._open(sock, describe(kind, where), token, timeout)
