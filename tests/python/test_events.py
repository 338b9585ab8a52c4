"""Events: watch callbacks when an object is reclaimed (by refcount or by
the collector), gc channel callbacks, and when callbacks run."""

from __future__ import annotations

import gc
import logging
import time

import pytest

import heapd
from conftest import poll_until


def test_watch_callback_on_refcount_free(client, uniq):
    seen = []
    client.bind(uniq("x"), [1, 2])
    x = client.lookup(uniq("x"))
    obj_id = x.id
    client.watch(uniq("x"), lambda *ev: seen.append(ev))  # by name
    del x
    gc.collect()
    client.unbind(uniq("x"))  # the last reference: freed, event pushed
    poll_until(client, lambda: seen)  # run while unbind waited, or now
    assert seen == [(obj_id, "list", "refcount")]


def test_watch_callback_on_collected_cycle(client, uniq):
    seen = []
    client.bind(uniq("c"), [])
    c = client.lookup(uniq("c"))
    c.append(c)  # c = [c]
    client.watch(c, lambda ref_id, type_name, cause: seen.append((ref_id, type_name, cause)))
    obj_id = c.id
    del c
    gc.collect()
    client.unbind(uniq("c"))
    assert seen == []  # the cycle keeps it: refcount 1
    assert client.gc_collect() >= 1
    poll_until(client, lambda: seen)
    assert seen == [(obj_id, "list", "gc")]


def test_watch_does_not_keep_alive_and_fires_once(client):
    seen = []
    r = client.new([1])
    client.watch(r, lambda *ev: seen.append(ev))
    client.release(r)
    poll_until(client, lambda: seen)
    assert len(seen) == 1
    client.ping()
    assert client.poll(0.05) == 0 and len(seen) == 1


def test_subscribe_gc(client):
    infos = []
    client.subscribe("gc", infos.append)
    client.gc_collect()
    poll_until(client, lambda: any(i["phase"] == "stop" for i in infos))
    start, stop = [i for i in infos if i["generation"] == 2][-2:]  # (young ones may come too)
    assert start == {"phase": "start", "generation": 2}
    assert {"collected", "pause_us", "duration_us"} <= set(stop) and stop["phase"] == "stop"
    client.unsubscribe("gc")
    n = len(infos)
    client.gc_collect()
    client.poll(0.1)
    assert len(infos) == n


def test_unwatch_drops_the_callback(client, uniq):
    seen = []
    client.bind(uniq("x"), [1])
    client.watch(uniq("x"), seen.append)
    client.unwatch(uniq("x"))
    client.unbind(uniq("x"))
    client.poll(0.1)
    assert seen == []


def test_callbacks_run_while_waiting_for_an_answer(server, client, uniq):
    seen = []
    client.bind(uniq("x"), [1])
    client.watch(uniq("x"), lambda *ev: seen.append(ev))
    with server.connect() as other:
        other.unbind(uniq("x"))  # another session frees it
    # the event is in `client`'s stream before the answer to its next call...
    client.ping()
    # ...and its callback ran inside that call
    assert len(seen) == 1


def test_poll_waits_and_counts(server, client, uniq):
    t0 = time.monotonic()
    assert client.poll(0.2) == 0
    assert time.monotonic() - t0 >= 0.19
    seen = []
    client.bind(uniq("x"), [1])
    client.watch(uniq("x"), lambda *ev: seen.append(ev))
    with server.connect() as other:
        other.unbind(uniq("x"))
    assert client.poll(5) == 1 and len(seen) == 1


def test_callback_may_call_the_client(client, uniq):
    got = []
    client.bind(uniq("x"), [1])
    client.bind(uniq("log"), [])

    def on_freed(ref_id, type_name, cause):
        client.append(uniq("log"), [ref_id, type_name, cause])  # a call inside a callback
        got.append(client.get(uniq("log")))

    x_id = client.lookup(uniq("x")).id
    client.watch(uniq("x"), on_freed)
    gc.collect()
    client.unbind(uniq("x"))
    poll_until(client, lambda: got)
    assert got == [[[x_id, "list", "refcount"]]]


def test_callback_errors_are_logged_not_raised(client, uniq, caplog):
    client.bind(uniq("x"), [1])
    client.watch(uniq("x"), lambda *ev: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="heapd"):
        client.unbind(uniq("x"))
        poll_until(client, lambda: caplog.records)
    assert client.ping() == "pong"
    assert any("callback" in r.getMessage() and r.exc_info[0] is ZeroDivisionError
               for r in caplog.records)


def test_watch_of_missing_name_registers_nothing(client, uniq):
    with pytest.raises(heapd.NameError):
        client.watch(uniq("nope"), print)
    assert client._router.watchers == {}
