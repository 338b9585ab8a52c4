"""Every error type of api_info is a class subclassing heapd.Error and the
built-in of its name, raised from a real server error and caught as the
built-in."""

from __future__ import annotations

import builtins

import pytest

import heapd
import heapd.values


def provoke(kind, client, uniq, make_server, monkeypatch):
    """Makes the real server answer an error of type `kind`."""
    c = client
    if kind == "NameError":
        c.lookup(uniq("never_bound"))
    elif kind == "KeyError":
        c.bind(uniq("d"), {"a": 1})
        c.getitem(uniq("d"), "missing")
    elif kind == "IndexError":
        c.bind(uniq("l"), [1])
        c.getitem(uniq("l"), 5)
    elif kind == "TypeError":
        c.bind(uniq("d"), {})
        c.append(uniq("d"), 1)
    elif kind == "ValueError":
        c.bind(uniq("l"), [1])
        c.unwatch(uniq("l"))  # not watched
    elif kind == "OverflowError":
        # the library refuses such ints itself; lift its check to hear the server's
        monkeypatch.setattr(heapd.values, "INT64_MAX", 2 ** 64 - 1)
        c.bind(uniq("big"), 2 ** 63)
    elif kind == "ReferenceError":
        r = c.new([1])
        c.release(r)  # the only reference: freed
        c.get(r)
    elif kind == "MemoryError":
        s = make_server(config={"limits": {"max_objects": 2000}})
        with s.connect() as c2:
            c2.bind("x", [[i] for i in range(5000)])
    elif kind == "RecursionError":
        deep: tuple = ()
        for _ in range(100):
            deep = (deep,)  # each tuple is an ext payload: past msgpack's nesting
        c.bind(uniq("deep"), deep)
    elif kind == "RuntimeError":
        c.pop_scope()  # no scope open
    elif kind == "AttributeError":
        c.getattr(c.instance(c.class_new("Employee")), "nope")
    elif kind == "AuthError":
        s = make_server(token="s3cret")
        with s.connect() as c2:
            c2.auth("wrong")
    elif kind == "ProtocolError":
        c.call("no_such_method")
    else:
        pytest.fail("no way to provoke %s: add one here" % kind)


KINDS = ["NameError", "KeyError", "IndexError", "TypeError", "ValueError", "OverflowError",
         "ReferenceError", "MemoryError", "RecursionError", "RuntimeError", "AuthError",
         "ProtocolError", "AttributeError"]


# A fragment of each server message: the error came from heapd, not from a
# check in the library.
SERVER_SAYS = {
    "NameError": "is not defined", "KeyError": "missing", "IndexError": "out of range",
    "TypeError": "'dict'", "ValueError": "does not watch", "OverflowError": "int64",
    "ReferenceError": "no object with id", "MemoryError": "limits.max_objects",
    "RecursionError": "limits.max_depth", "RuntimeError": "scope",
    "AuthError": "invalid token", "ProtocolError": "unknown method 'no_such_method'",
    "AttributeError": "has no attribute 'nope'",
}


def test_every_error_type_of_api_info_is_covered(client):
    assert sorted(client.api["errors"]) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_error_from_server_is_caught_as_builtin(kind, client, uniq, make_server, monkeypatch):
    cls = getattr(heapd, kind)
    builtin = getattr(builtins, kind, None)
    catch = builtin if isinstance(builtin, type) else heapd.Error
    with pytest.raises(catch) as exc:
        provoke(kind, client, uniq, make_server, monkeypatch)
    assert type(exc.value) is cls
    assert isinstance(exc.value, heapd.Error)
    assert exc.value.type == kind
    assert SERVER_SAYS[kind] in exc.value.message
    assert str(exc.value) == exc.value.message


def test_class_hierarchy():
    for kind in KINDS:
        cls = getattr(heapd, kind)
        assert issubclass(cls, heapd.Error)
        builtin = getattr(builtins, kind, None)
        if isinstance(builtin, type):
            assert issubclass(cls, builtin), kind
    assert issubclass(heapd.ConnectionError, builtins.ConnectionError)
    assert issubclass(heapd.TimeoutError, heapd.ConnectionError)
    assert issubclass(heapd.TimeoutError, builtins.TimeoutError)


def test_messages_read_like_python(client, uniq):
    with pytest.raises(NameError, match=r"^name '%s' is not defined$" % uniq("nope")):
        client.lookup(uniq("nope"))
    client.bind(uniq("l"), [])
    with pytest.raises(IndexError, match="^list index out of range$"):
        client.getitem(uniq("l"), 0)
    with pytest.raises(TypeError, match=r"push_scope\(\) takes 0 arguments \(1 given\)"):
        client.push_scope(1)


def test_error_type_unknown_to_the_library_gets_a_class():
    err = heapd.errors.from_wire({"type": "FutureError", "message": "from a newer server"})
    assert isinstance(err, heapd.Error) and err.type == "FutureError"
    assert heapd.FutureError is type(err)
    assert str(err) == "from a newer server"
    assert isinstance(heapd.errors.from_wire("garbage"), heapd.ProtocolError)


def test_failed_call_leaves_the_client_usable(client, uniq):
    with pytest.raises(KeyError):
        client.getitem(client.new({}), "k")
    assert client.ping("still") == "still"
