"""Ref proxies: Python's protocols, equality, and lifetime (a Ref keeps its
object alive exactly while the program holds it; dropping it releases its
handles without a round trip; nesting leaks nothing; a Ref forwarded to
another client is the object)."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any, Optional

import pytest

import heapd


def release_stats(client: heapd.Client) -> Any:
    row = client.stats("commands").get("release", {})
    return row.get("calls", 0), row.get("errors", 0)


def session_handles(client: heapd.Client) -> Optional[int]:
    """The server's count of this session's handles, where clients() has it."""
    for row in client.clients():
        if row.get("id") == client.session_id and "handles" in row:
            return row["handles"]
    return None


# ---- protocols ----

def test_list_proxy(client):
    r = client.new([1, 2, 3])
    assert isinstance(r, heapd.Ref) and isinstance(r.id, int)
    assert r.type == "list" and len(r) == 3
    assert 2 in r and 7 not in r
    assert r[0] == 1 and r[-1] == 3
    r[0] = 9
    del r[1]
    assert list(r) == [9, 3]
    r.append(4)
    r.extend([5, 6])
    r.insert(0, "first")
    assert r.pop() == 6 and r.pop(0) == "first"
    r.remove(9)
    assert r.get() == [3, 4, 5]
    r.clear()
    assert len(r) == 0 and r.get() == []
    with pytest.raises(IndexError):
        r[0]


def test_dict_proxy(client):
    d = client.new({"a": 1, (1, 2): "t"})
    assert d.type == "dict" and "a" in d and (1, 2) in d
    d["b"] = [1]
    assert d.keys() == ["a", (1, 2), "b"]
    assert list(d) == ["a", (1, 2), "b"]  # iterating a dict: its keys
    assert isinstance(d["b"], heapd.Ref) and d["b"].get() == [1]
    assert d.pop("a") == 1
    del d[(1, 2)]
    assert d.get() == {"b": [1]}
    with pytest.raises(KeyError):
        d["missing"]
    d.clear()
    assert len(d) == 0


def test_set_proxy(client):
    s = client.new({1, 2})
    s.add(3)
    s.discard(1)
    s.discard(99)
    s.remove(2)
    assert set(s) == {3} and 3 in s
    with pytest.raises(KeyError):
        s.remove(42)


def test_tuple_and_str_proxies(client, uniq):
    client.bind(uniq("t"), (1, [2], "x"))
    t = client.lookup(uniq("t"))
    assert t.type == "tuple" and len(t) == 3
    items = list(t)
    assert items[0] == 1 and isinstance(items[1], heapd.Ref) and items[2] == "x"
    with pytest.raises(TypeError, match="does not support item assignment"):
        t[0] = 5
    s = client.new("héllo")
    assert len(s) == 5 and "éll" in s and list(s) == list("héllo")
    with pytest.raises(TypeError, match="not iterable"):
        iter(client.new(26))


def test_containers_in_answers_are_refs_scalars_values(client, uniq):
    client.bind(uniq("L"), [[1], {"k": 2}, (3,), {4}, 5, "s"])
    items = client.lookup(uniq("L"))
    assert [type(items[i]) for i in range(6)] == [heapd.Ref] * 4 + [int, str]
    assert items[0].get() == [1]
    deep = client.get(uniq("L"), 0)  # depth 0: the list itself as a ref
    assert deep == items


def test_equality_hash_and_one_ref_per_id(client, server, uniq):
    client.bind(uniq("x"), [1])
    a, b = client.lookup(uniq("x")), client.lookup(uniq("x"))
    assert a is b  # one live Ref per id in a client
    with server.connect() as other:
        c = other.lookup(uniq("x"))
        assert c is not a and c == a and hash(c) == hash(a)
        assert {a: 1}[c] == 1
    assert a != client.new([1])
    assert a != a.id and bool(client.new([])) is True
    assert repr(a).startswith("<heapd.Ref 0x")


def test_copy_is_the_same_ref_and_pickling_is_refused(client):
    import copy
    import pickle
    r = client.new([1])
    assert copy.copy(r) is r and copy.deepcopy([r])[0] is r  # no second handle count
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(r)


def test_ref_type_is_cached(client):
    r = client.new([1])
    assert r.type == "list"
    calls = client.stats("commands")["type"]["calls"]
    assert r.type == "list" and r.type == "list"
    assert client.stats("commands")["type"]["calls"] == calls


def test_refs_of_a_closed_client_raise_connection_error(server):
    c = server.connect()
    r = c.new([1])
    c.close()
    with pytest.raises(heapd.ConnectionError, match="closed"):
        r.get()


# ---- lifetime ----

def test_dropped_ref_is_released_without_a_round_trip(client, server, uniq):
    r = client.new([1, 2])
    client.bind(uniq("keep"), r)
    # the name and new()'s handle (and, in ref-handle mode, bind's answer's)
    assert client.refcount(uniq("keep")) == 2 + client.ref_handles
    with server.connect() as observer:
        calls, errors = release_stats(observer)
        del r
        gc.collect()
        # nothing was sent on the drop itself...
        assert release_stats(observer)[0] == calls
        # ...the release goes out ahead of the next request, in the same write
        assert client.refcount(uniq("keep")) == 1
        assert release_stats(observer) == (calls + 1, errors)


def test_proxies_released_handle_count_returns_to_zero(client, uniq):
    holder = uniq("holder")
    client.bind(holder, [])
    objs = [client.new([i]) for i in range(50)]
    for o in objs:
        client.append(holder, o)
    assert all(client.refcount(o) == 2 for o in objs)  # slot + handle
    del objs, o
    gc.collect()
    children = client.get(holder, 1)
    # each child: its slot, plus the handle this very answer gave (ref-handle mode)
    expected = 1 + int(client.ref_handles)
    assert [client.refcount(ch) for ch in children] == [expected] * 50
    del children
    gc.collect()
    client.ping()
    handles = session_handles(client)
    assert handles in (None, 0)


def test_close_releases_all(server, uniq):
    c1, c2 = server.connect(), server.connect()
    kept = [c1.new([i]) for i in range(10)]
    c2.bind(uniq("names"), kept)
    assert c2.refcount(kept[0]) == 2
    c1.close()
    # the server drops c1's handles when it sees the connection close
    deadline = time.monotonic() + 5
    while c2.refcount(kept[0]) != 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert c2.refcount(kept[0]) == 1
    c2.close()


def test_explicit_release_is_accounted(client, uniq):
    r = client.new([1])
    client.bind(uniq("keep"), r)
    client.release(r)
    assert client.refcount(uniq("keep")) == 1 + client.ref_handles
    if client.ref_handles:
        client.release(r, 1)  # bind's answer gave a second handle
    calls, errors = release_stats(client)
    del r
    gc.collect()
    client.ping()
    # the Ref held no more handles: no release went out, none failed
    assert release_stats(client) == (calls, errors)


def test_refs_dropped_in_another_thread(client, uniq):
    client.bind(uniq("holder"), [])
    refs = [client.new([i]) for i in range(20)]
    for r in refs:
        client.append(uniq("holder"), r)
    del r
    box = [refs]
    del refs
    t = threading.Thread(target=box.clear)
    t.start()
    t.join()
    gc.collect()
    client.ping()
    first = client.getitem(uniq("holder"), 0)
    assert client.refcount(first) == 1 + int(client.ref_handles)


def test_no_leak_by_nesting(client, server):
    a = client.new([1])
    b = client.new([a, a, (a,), {"k": a}])
    # the nested Ref is the object itself: three slots and a's own handle;
    # no new handle per nesting (multiprocessing's managers: CPython #103136)
    assert client.refcount(a) == 5
    assert client.refcount(b) == 1
    freed = []
    with server.connect() as watcher:
        for ref in (a, b):
            watcher.watch(ref, lambda *ev: freed.append(ev))
        ids = {a.id, b.id}
        del a, b, ref
        gc.collect()
        client.ping()  # sends the releases
        while len(freed) < 2 and watcher.poll(5):
            pass
    assert {ev[0] for ev in freed} == ids
    assert {ev[2] for ev in freed} == {"refcount"}


def test_forwarded_ref_is_the_object(server, uniq):
    with server.connect() as c1, server.connect() as c2:
        r = c1.new([1])
        c2.append(r, 2)  # c1's Ref, used by c2 (multiprocessing: CPython #119937)
        c2.bind(uniq("alias"), r)
        assert r.get() == [1, 2]
        assert c2.is_(r, uniq("alias"))
        assert c2.refcount(r) == 2
        c2.unbind(uniq("alias"))
        c1.release(r)  # c1's handle was the last reference: freed
        # the object is gone: its id names nothing, never another object
        with pytest.raises(heapd.ReferenceError):
            c2.get(r)


# ---- ref-handle mode (xfail until the server has it) ----

def test_hello_asks_for_ref_handles(client, request):
    from conftest import requires_ref_handles
    requires_ref_handles(client, request)
    assert client.server_info.get("ref_handles") is True


def test_looked_up_ref_keeps_object_alive(ref_handles, uniq):
    c = ref_handles
    c.bind(uniq("x"), [1, 2])
    r = c.lookup(uniq("x"))
    c.unbind(uniq("x"))
    assert r.get() == [1, 2]  # held by the Ref's handle, like a Python variable
    assert c.refcount(r) == 1


def test_each_answer_adds_one_handle_credited_to_the_one_ref(ref_handles, uniq):
    c = ref_handles
    c.bind(uniq("x"), [1])
    base = c.refcount(uniq("x"))
    a, b = c.lookup(uniq("x")), c.lookup(uniq("x"))
    assert a is b
    assert c.refcount(uniq("x")) == base + 2
    calls, errors = release_stats(c)
    del a, b
    gc.collect()
    assert c.refcount(uniq("x")) == base
    assert release_stats(c) == (calls + 1, errors)  # one release(ref, 2)


def test_every_ref_in_any_answer_is_held(ref_handles, uniq):
    c = ref_handles
    c.bind(uniq("L"), [[1], [2], []])
    x = c.getitem(uniq("L"), 2)
    x.append(x)  # x holds itself: without a holder, garbage for the collector
    held = [c.getitem(uniq("L"), 0), c.get(uniq("L"), 1)[1], c.gc_get_referents(uniq("L"))[2]]
    assert held[2] is x
    popped = c.pop(uniq("L"))  # [<Ref x>]: the cycle comes back as a ref
    assert popped[0] is x
    del x
    gc.collect()
    c.gc_collect()
    # only this session's handles hold the popped cycle, and they do
    assert popped[0].get(1) == [popped[0]]
    assert [h.get() for h in held[:2]] == [[1], [2]]
    del held, popped
    gc.collect()
    assert c.gc_collect() >= 1  # released: now the collector reclaims the cycle
    assert session_handles(c) in (None, 0)


def test_forwarded_ref_adopted_by_another_client_keeps_object(server, request, uniq):
    with server.connect() as c1, server.connect() as c2:
        from conftest import requires_ref_handles
        requires_ref_handles(c1, request)
        r = c1.new([1])
        mine = c2.get(r, 0)  # c2's own Ref (and handle) to the same object
        assert mine == r and mine is not r
        del r
        gc.collect()
        c1.ping()
        assert mine.get() == [1]  # c1 let go; c2's handle keeps it
