"""Fixtures for the heapd Python library's tests: a real heapd (from $HEAPD,
else build/heapd) on a temporary socket, required to exit 0 at the end.

    server        one heapd for the whole run (tests use unique names)
    client        a heapd.Client connected to it, closed after the test
    make_server   a factory for servers of a test's own (config, TCP, token)
    uniq          unique global names for one test: uniq("L") -> "t17_L"
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "python"))

import heapd  # noqa: E402

HEAPD = os.environ.get("HEAPD") or os.path.join(REPO, "build", "heapd")
if not os.path.isabs(HEAPD):
    HEAPD = os.path.join(REPO, HEAPD)
TIMEOUT = 10.0


def free_tcp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One heapd child process listening on DIR/heapd.sock (and on TCP if
    the config says so)."""

    def __init__(self, config: Optional[Dict[str, Any]] = None, token: Optional[str] = None,
                 tcp: bool = False) -> None:
        self.dir = tempfile.mkdtemp(prefix="heapd-py-")
        self.sock_path = os.path.join(self.dir, "heapd.sock")
        self.config: Dict[str, Any] = dict(config or {})
        self.token = token
        self.port: Optional[int] = None
        if token is not None:
            token_file = self._write("token", token + "\n")
            self.config.setdefault("auth", {})["token_file"] = token_file
        if tcp:
            self.port = free_tcp_port()
            self.config.setdefault("listen", {})["tcp"] = "127.0.0.1:%d" % self.port
        self.proc: Optional[subprocess.Popen] = None
        self._log = open(os.path.join(self.dir, "heapd.log"), "wb")

    def _write(self, name: str, text: str) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self) -> "Server":
        cmd = [HEAPD, "--socket", self.sock_path]
        if self.config:
            cmd += ["--config", self._write("heapd.json", json.dumps(self.config))]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log)
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("heapd exited with %d at start:\n%s"
                                   % (self.proc.returncode, self.log_text()))
            try:
                heapd.connect(self.sock_path, token=self.token, timeout=TIMEOUT).close()
                return self
            except heapd.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def connect(self, **kw: Any) -> heapd.Client:
        kw.setdefault("timeout", TIMEOUT)
        if self.token is not None:
            kw.setdefault("token", self.token)
        return heapd.connect(self.sock_path, **kw)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float = TIMEOUT) -> Optional[int]:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> Optional[int]:
        """SIGTERM and the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.wait()
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        return rc

    def log_text(self) -> str:
        with open(os.path.join(self.dir, "heapd.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _finish(server: Server) -> None:
    """Stops a server: it must still run, pass its heap check, and exit 0."""
    try:
        if server.alive():
            with server.connect() as c:
                assert c.debug_check()["ok"] is True
            rc = server.stop()
            assert rc == 0, "heapd exited with %r:\n%s" % (rc, server.log_text()[-4000:])
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    s = Server().start()
    yield s
    _finish(s)


@pytest.fixture
def make_server() -> Iterator[Callable[..., Server]]:
    started: List[Server] = []

    def make(**kw: Any) -> Server:
        s = Server(**kw)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        if s.alive():
            _finish(s)
        else:
            s.cleanup()


@pytest.fixture
def client(server: Server) -> Iterator[heapd.Client]:
    c = server.connect()
    yield c
    c.close()


_counter = itertools.count(1)


@pytest.fixture
def uniq() -> Callable[[str], str]:
    prefix = "t%d_" % next(_counter)
    return lambda name: prefix + name


def requires_ref_handles(client: Any, request: Any) -> None:
    """Marks the running test xfail (strict) when the server has no
    ref-handle mode yet; with a server that has it, it must pass."""
    if not client.ref_handles:
        request.applymarker(pytest.mark.xfail(
            reason="server lacks hello({'ref_handles': true}) (pending the server change)",
            strict=True))


@pytest.fixture
def ref_handles(client: heapd.Client, request: Any) -> heapd.Client:
    """The client, in a test that needs the server's ref-handle mode."""
    requires_ref_handles(client, request)
    return client


def poll_until(client: Any, pred: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Polls the client's events until pred() is true or timeout passes;
    returns pred()'s last value. (Events that came with an answer already
    ran their callbacks, so pred may hold at once.)"""
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        client.poll(0.02)
    return pred()
