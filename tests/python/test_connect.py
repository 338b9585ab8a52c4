"""Connecting: heapctl's socket rule, TCP with a token, timeouts, and
failures as heapd.ConnectionError with no silent reconnect."""

from __future__ import annotations

import builtins
import os
import socket
import tempfile
import time

import pytest

import heapd
import heapd.client


@pytest.fixture
def fake_paths(monkeypatch, tmp_path):
    """The private /tmp directory and the service socket moved into tmp_path."""
    monkeypatch.setattr(heapd.client, "PRIVATE_DIR", str(tmp_path / "heapd-%d"))
    monkeypatch.setattr(heapd.client, "SERVICE_SOCKET", str(tmp_path / "run" / "heapd.sock"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return tmp_path


def test_socket_rule_xdg_runtime_dir(fake_paths, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    assert heapd.default_socket_path() == "/run/user/4242/heapd.sock"


def test_socket_rule_private_tmp_dir(fake_paths):
    private = str(fake_paths / ("heapd-%d" % os.getuid()))
    assert heapd.default_socket_path() == private + "/heapd.sock"  # absent: still the path
    os.mkdir(private, 0o700)
    assert heapd.default_socket_path() == private + "/heapd.sock"
    os.chmod(private, 0o755)  # open to others: never trusted, as heapctl
    assert heapd.default_socket_path() == heapd.client.SERVICE_SOCKET


def test_socket_rule_service_socket_when_default_is_absent(fake_paths):
    service = heapd.client.SERVICE_SOCKET
    os.mkdir(os.path.dirname(service))
    open(service, "w").close()
    assert heapd.default_socket_path() == service
    private = str(fake_paths / ("heapd-%d" % os.getuid()))
    os.mkdir(private, 0o700)
    open(private + "/heapd.sock", "w").close()
    assert heapd.default_socket_path() == private + "/heapd.sock"


def test_connect_without_arguments_finds_the_socket(server, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", server.dir)
    with heapd.connect(timeout=5) as c:
        assert c.ping() == "pong"
        assert c.address == server.sock_path


def test_tcp_with_token(make_server):
    s = make_server(token="s3cret", tcp=True)
    with heapd.connect(host="127.0.0.1", port=s.port, token="s3cret", timeout=5) as c:
        me = [row for row in c.clients() if row["id"] == c.session_id]
        assert me and me[0]["transport"] == "tcp" and me[0]["authed"] is True
        assert c.address == "127.0.0.1:%d" % s.port
    with pytest.raises(heapd.AuthError, match="authentication required"):
        heapd.connect(host="127.0.0.1", port=s.port, timeout=5)
    with pytest.raises(heapd.AuthError, match="invalid token"):
        heapd.connect(s.sock_path, token="wrong", timeout=5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="not both"):
        heapd.connect("/x.sock", host="localhost", port=1)
    with pytest.raises(ValueError, match="together"):
        heapd.connect(host="localhost")
    with pytest.raises(ValueError, match="port"):
        heapd.connect(host="localhost", port=0)


def test_no_server_is_connection_error(tmp_path):
    path = str(tmp_path / "nobody.sock")
    with pytest.raises(builtins.ConnectionError) as exc:
        heapd.connect(path)
    assert isinstance(exc.value, heapd.ConnectionError)
    assert path in str(exc.value)


def test_timeout_when_the_server_does_not_answer():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "mute.sock")
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(path)
    mute.listen(1)  # accepts into the backlog, never answers
    try:
        t0 = time.monotonic()
        with pytest.raises(heapd.TimeoutError) as exc:
            heapd.connect(path, timeout=0.2)
        assert 0.15 < time.monotonic() - t0 < 3
        assert isinstance(exc.value, builtins.TimeoutError)
        assert isinstance(exc.value, heapd.ConnectionError)
    finally:
        mute.close()
        os.unlink(path)
        os.rmdir(d)


def test_server_gone_is_connection_error_and_no_reconnect(make_server):
    s = make_server()
    c = s.connect()
    c.bind("x", 1)
    assert s.stop() == 0
    with pytest.raises(heapd.ConnectionError):
        c.ping()
    assert c.closed
    s.start()  # a server on the same path again: the client stays closed
    with pytest.raises(heapd.ConnectionError, match="closed"):
        c.ping()


def test_context_manager_and_close(server):
    with server.connect() as c:
        assert not c.closed and "session" in repr(c)
    assert c.closed and "closed" in repr(c)
    c.close()  # twice is fine
    with pytest.raises(heapd.ConnectionError, match="closed"):
        c.ping()


def test_server_info_and_session(client):
    assert client.server_info["server"] == "heapd"
    assert client.server_info["protocol"] == 1
    assert isinstance(client.session_id, int)
    assert client.ref_handles == (client.server_info.get("ref_handles") is True)


def test_server_closing_says_why(make_server):
    s = make_server(config={"limits": {"max_message_bytes": 4096}})
    c = s.connect()
    with pytest.raises(heapd.ConnectionError,
                       match="closed the connection .* after ProtocolError: .*max_message_bytes"):
        c.bind("x", b"x" * 100000)  # over the limit: heapd says so, then closes
    assert c.closed
