"""Pipelines: calls queued, sent in one write at the block's end, answered
in order; each call's error is its own."""

from __future__ import annotations

from typing import Any, List

import pytest

import heapd


class CountingSocket:
    """Wraps a client's socket to count its writes."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.writes: List[int] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(len(data))
        self.sock.sendall(data)

    def send(self, data: Any) -> int:
        self.writes.append(len(data))
        return self.sock.send(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def test_calls_answer_in_order_after_the_block(client, uniq):
    L = uniq("L")
    with client.pipeline() as p:
        calls = [p.bind(L, []), p.append(L, 1), p.append(L, 2), p.len(L), p.get(L),
                 p.pop(L), p.get(L), p.call("ping", "x")]
        assert not calls[0].done()
        with pytest.raises(heapd.Error, match="no answer yet"):
            calls[0].result()
        assert len(p) == 8
    assert [c.done() for c in calls] == [True] * 8
    assert calls[3].result() == 2
    assert calls[4].result() == [1, 2]
    assert calls[5].result() == 2
    assert calls[6].result() == [1]
    assert calls[7].result() == "x"
    assert [c.msgid for c in calls] == sorted(c.msgid for c in calls)


def test_one_write_for_the_whole_block(client, uniq):
    client._sock = counter = CountingSocket(client._sock)
    with client.pipeline() as p:
        for i in range(100):
            p.bind(uniq("n%d" % i), i)
        assert counter.writes == []  # nothing sent inside the block
    assert len(counter.writes) == 1
    assert client.get(uniq("n99")) == 99


def test_each_call_keeps_its_own_error(client, uniq):
    with client.pipeline() as p:
        a = p.bind(uniq("d"), {"k": 1})
        b = p.getitem(uniq("d"), "missing")
        c = p.lookup(uniq("nope"))
        d = p.getitem(uniq("d"), "k")
    assert isinstance(a.result(), heapd.Ref)
    with pytest.raises(KeyError):
        b.result()
    assert isinstance(c.exception(), heapd.NameError)
    assert d.result() == 1 and d.exception() is None


def test_a_raising_block_sends_nothing(client, server, uniq):
    with server.connect() as observer:
        before = observer.stats("commands").get("bind", {}).get("calls", 0)
        with pytest.raises(ZeroDivisionError):
            with client.pipeline() as p:
                call = p.bind(uniq("x"), 1)
                1 / 0
        assert observer.stats("commands")["bind"]["calls"] == before
    with pytest.raises(heapd.Error, match="not sent"):
        call.result()
    with pytest.raises(heapd.NameError):
        client.lookup(uniq("x"))


def test_big_pipeline_interleaves_writes_and_reads(client, uniq):
    L = uniq("L")
    client.bind(L, [])
    with client.pipeline() as p:
        appends = [p.append(L, "item %d" % i) for i in range(20000)]
        n = p.len(L)
    assert n.result() == 20000
    assert all(a.result() is None for a in appends)
    assert client.getitem(L, -1) == "item 19999"


def test_pipeline_is_sent_once(client):
    p = client.pipeline()
    with p:
        p.ping()
    with pytest.raises(heapd.Error, match="already sent"):
        p.ping()
    with pytest.raises(heapd.Error, match="already sent"):
        p.execute()
    with pytest.raises(AttributeError, match="no method 'no_such'"):
        p.no_such


def test_pipeline_with_refs(client, uniq):
    with client.pipeline() as p:
        r = p.new([1, 2])
    ref = r.result()
    with client.pipeline() as p:
        n = p.len(ref)
        p.append(ref, 3)
        g = p.get(ref)
    assert n.result() == 2 and g.result() == [1, 2, 3]
