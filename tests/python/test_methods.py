"""Every method of api_info is a client method (made from api_info at run
time, with its help as docstring), and each is called here at least once
against a real heapd."""

from __future__ import annotations

import inspect
import os

import pytest

import heapd
import heapd.api


def _scan(c):
    cursor, seen = 0, []
    while True:
        cursor, names = c.scan("global", cursor, {"match": "g_*", "count": 10})
        seen += names
        if cursor == 0:
            break
    assert {"g_list", "g_dict", "g_nest"} <= set(seen)


def _names(c):
    c.push_scope()
    c.bind("local_x", 1)
    assert c.names() == ["local_x"]
    assert "g_list" in c.names("global")
    assert c.pop_scope() == 1


# method -> a call with its expected result, on a server with a token and
# persistence; the server has g_list = [1, 2, 3] and g_dict = {"k": "v"}.
CALLS = {
    "hello": lambda c: c.hello()["server"] == "heapd",
    "ping": lambda c: c.ping() == "pong" and c.ping(7) == 7,
    "auth": lambda c: c.auth("tok") is True,
    "api_info": lambda c: {"methods", "errors", "ext"} <= set(c.api_info()),
    "bind": lambda c: isinstance(c.bind("b", [0]), heapd.Ref),
    "unbind": lambda c: c.bind("u", 1) and c.unbind("u") is None,
    "lookup": lambda c: c.lookup("g_list").get() == [1, 2, 3],
    "names": lambda c: _names(c) is None,
    "scan": lambda c: _scan(c) is None,
    "push_scope": lambda c: c.push_scope() == 1 and c.pop_scope() == 0,
    "pop_scope": lambda c: c.push_scope() == 1 and c.pop_scope() == 0,
    "new": lambda c: c.new((1, 2)).get() == (1, 2),
    "release": lambda c: c.release(c.new([1])) is None,
    "get": lambda c: c.get("g_dict") == {"k": "v"},
    "type": lambda c: c.type("g_dict") == "dict",
    "refcount": lambda c: c.refcount("g_list") == 2,  # the name and g_nest[0]
    "is": lambda c: c.is_("g_list", heapd.Name("g_list")) is True,
    "len": lambda c: c.len("g_list") == 3,
    "contains": lambda c: c.contains("g_list", 2) is True,
    "getsizeof": lambda c: c.getsizeof("g_list") > 0,
    "getitem": lambda c: c.getitem("g_list", -1) == 3,
    "setitem": lambda c: c.setitem("g_dict", "n", 1) is None and c.getitem("g_dict", "n") == 1,
    "delitem": lambda c: c.delitem("g_dict", "n") is None,
    "append": lambda c: c.append("g_list", 4) is None,
    "extend": lambda c: c.extend("g_list", [5, 6]) is None,
    "insert": lambda c: c.insert("g_list", 0, 0) is None,
    "pop": lambda c: c.pop("g_list") == 6 and c.pop("g_list", 0) == 0,
    "remove": lambda c: c.remove("g_list", 5) is None,
    "clear": lambda c: c.bind("cl", [1]) and c.clear("cl") is None and c.get("cl") == [],
    "add": lambda c: c.bind("st", set()) and c.add("st", 1) is None and c.get("st") == {1},
    "discard": lambda c: c.bind("sd", {1}) and c.discard("sd", 1) is None,
    "keys": lambda c: c.keys("g_dict") == ["k"],
    "gc_collect": lambda c: isinstance(c.gc_collect(), int),
    "gc_enable": lambda c: c.gc_enable() is None and c.gc_isenabled() is True,
    "gc_disable": lambda c: c.gc_disable() is None and c.gc_isenabled() is False
    and c.gc_enable() is None,
    "gc_isenabled": lambda c: c.gc_isenabled() is True,
    "gc_get_threshold": lambda c: c.gc_get_threshold() == [700, 10, 10],
    "gc_set_threshold": lambda c: c.gc_set_threshold(800) is None
    and c.gc_get_threshold() == [800, 10, 10] and c.gc_set_threshold(700) is None,
    "gc_get_count": lambda c: len(c.gc_get_count()) == 3,
    "gc_get_stats": lambda c: [set(g) for g in c.gc_get_stats()]
    == [{"collections", "collected", "uncollectable"}] * 3,
    "gc_freeze": lambda c: c.gc_freeze() is None and c.gc_get_freeze_count() > 0
    and c.gc_unfreeze() is None,
    "gc_unfreeze": lambda c: c.gc_unfreeze() is None and c.gc_get_freeze_count() == 0,
    "gc_get_freeze_count": lambda c: c.gc_get_freeze_count() == 0,
    "gc_get_objects": lambda c: c.lookup("g_list") in c.gc_get_objects(),
    "gc_is_tracked": lambda c: c.gc_is_tracked("g_list") is True,
    "gc_set_debug": lambda c: c.gc_set_debug(["saveall"]) is None
    and c.gc_get_debug() == ["saveall"] and c.gc_set_debug([]) is None,
    "gc_get_debug": lambda c: c.gc_get_debug() == [],
    "gc_garbage": lambda c: c.type(c.gc_garbage()) == "list",
    "gc_step": lambda c: c.gc_step() in ("idle", "mark", "sweep"),
    "gc_get_referrers": lambda c: c.lookup("g_nest") in c.gc_get_referrers("g_list"),
    "gc_get_referents": lambda c: c.gc_get_referents("g_nest") == [c.getitem("g_nest", 0)],
    "gc_stats": lambda c: "collected" in c.gc_stats(),
    "why_alive": lambda c: c.why_alive("g_list") == [["global", "g_list"]],
    "class_new": lambda c: c.type(c.class_new("Point", {"dims": 2})) == "type",
    "instance": lambda c: c.type(c.instance(c.class_new("Point"), {"x": 1})) == "Point",
    "getattr": lambda c: c.getattr(c.instance(c.class_new("P", {"k": 7})), "k") == 7,
    "setattr": lambda c: c.setattr(c.class_new("Q"), "a", 1) is None,
    "delattr": lambda c: c.delattr(c.instance(c.class_new("R"), {"a": 1}), "a") is None,
    "dir": lambda c: c.dir(c.instance(c.class_new("S", {"b": 1}), {"a": 1})) == ["a", "b"],
    "weakref": lambda c: c.type(c.weakref("g_list")) == "weakref",
    "weakref_get": lambda c: c.weakref_get(c.weakref("g_list")) == c.lookup("g_list"),
    "weakref_count": lambda c: c.weakref_count("g_dict") == 0,
    "memory_usage": lambda c: c.memory_usage("g_dict")["exact"] is True,
    "stats": lambda c: "gc" in c.stats() and "live" in c.stats("objects"),
    "config_get": lambda c: c.config_get("gc.threshold") == [700, 10, 10],
    "config_set": lambda c: c.config_set("log.level", "info") is None,
    "clients": lambda c: any(row["id"] == c.session_id for row in c.clients()),
    "save": lambda c: c.save() is not False,
    "debug_check": lambda c: c.debug_check()["ok"] is True,
    "watch": lambda c: c.watch("g_list", print) is None,
    "unwatch": lambda c: c.unwatch("g_list") is None,
    "subscribe": lambda c: c.subscribe("gc", print) is None,
    "unsubscribe": lambda c: c.unsubscribe("gc") is None,
    # shutdown: last, below
}


def test_every_method_of_api_info_is_called(make_server, tmp_path):
    s = make_server(token="tok", config={"persistence": {"path": str(tmp_path / "snap")}})
    c = s.connect()
    api = [row["name"] for row in c.api["methods"]]
    assert sorted(list(CALLS) + ["shutdown"]) == sorted(api), "add the new method to CALLS"
    c.bind("g_list", [1, 2, 3])
    c.bind("g_dict", {"k": "v"})
    c.bind("g_nest", [heapd.Name("g_list")])
    for name in api:
        if name == "shutdown":
            continue
        assert CALLS[name](c), name
    assert os.path.exists(str(tmp_path / "snap"))  # save wrote it
    c.shutdown(False)
    assert s.wait() == 0


def test_methods_are_made_from_api_info(client):
    for row in client.api["methods"]:
        method = getattr(client, row["name"])
        assert callable(method)
        if row["name"] not in ("watch", "unwatch", "subscribe", "unsubscribe", "weakref"):
            assert row["help"][1:] in method.__doc__
    assert client.is_ is getattr(client, "is") or client.is_ == getattr(client, "is")
    sig = inspect.signature(client.bind)
    assert list(sig.parameters) == ["name", "value", "opts"]
    assert sig.parameters["opts"].default is heapd.refs.OMITTED


def test_a_new_server_method_needs_no_library_change():
    info = {"methods": [{"name": "frobnicate", "params": "target [times]", "min_args": 1,
                         "max_args": 2, "help": "frobnicate an object"}]}
    cls = heapd.api.build_class(heapd.Client, heapd.api.parse_methods(info))
    assert issubclass(cls, heapd.Client)
    assert "frobnicate an object" in cls.frobnicate.__doc__.lower()
    assert list(inspect.signature(cls.frobnicate).parameters) == ["self", "target", "times"]


def test_keyword_arguments(client, uniq):
    client.bind(name=uniq("kw"), value=[[1]])
    assert client.get(uniq("kw"), depth=0) == client.lookup(uniq("kw"))
    client.bind(uniq("g"), 5, opts={"scope": "global"})
    assert client.get(target=uniq("g")) == 5
    with pytest.raises(TypeError, match="unexpected keyword"):
        client.get(uniq("g"), deep=1)


def test_call_by_name_and_unknown_methods(client):
    assert client.call("ping", "x") == "x"
    with pytest.raises(heapd.ProtocolError, match="unknown method 'nope'"):
        client.call("nope")
    with pytest.raises(AttributeError, match="not in this server's api_info"):
        client.nope
    with pytest.raises(TypeError, match=r"takes from 1 to 2 arguments \(0 given\)"):
        client.get()


def test_scopes_and_global_binding(client, uniq):
    client.push_scope()
    client.bind(uniq("v"), "local")
    client.bind(uniq("v"), "global", {"scope": "global"})
    assert client.get(uniq("v")) == "local"  # innermost scope first
    assert client.pop_scope() == 1
    assert client.get(uniq("v")) == "global"
