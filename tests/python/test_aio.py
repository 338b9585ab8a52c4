"""heapd.aio: the same API for asyncio (each test runs its own event loop)."""

from __future__ import annotations

import asyncio
import gc
import math
import time

import pytest

import heapd
import heapd.aio


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def aconnect(server, **kw):
    kw.setdefault("timeout", 10)
    return heapd.aio.connect(server.sock_path, **kw)


def test_calls_values_and_errors(server, uniq):
    async def main():
        async with aconnect(server) as c:
            assert isinstance(c, heapd.aio.AsyncClient)
            await c.bind(uniq("d"), {(1, 2): {3}, 4: -0.0, "n": float("nan")})
            got = await c.get(uniq("d"))
            assert got[(1, 2)] == {3} and math.copysign(1, got[4]) == -1
            assert math.isnan(got["n"])
            assert await c.is_(uniq("d"), heapd.Name(uniq("d"))) is True
            with pytest.raises(KeyError):
                await c.getitem(uniq("d"), "missing")
            with pytest.raises(OverflowError):
                await c.bind(uniq("x"), 2 ** 64)
            assert await c.call("ping", "x") == "x"
            assert "bind" in (c.bind.__doc__ or "")
        assert c.closed
    run(main())


def test_async_refs(server):
    async def main():
        async with aconnect(server) as c:
            r = await c.new([1, [2]])
            assert isinstance(r, heapd.aio.AsyncRef)
            assert await r.type() == "list" and await r.len() == 2
            assert await r.contains(1)
            inner = await r.getitem(1)
            assert isinstance(inner, heapd.aio.AsyncRef) and await inner.get() == [2]
            await r.append(3)
            await r.setitem(0, "zero")
            await r.delitem(1)
            assert [x async for x in r] == ["zero", 3]
            assert await r.pop() == 3
            d = await c.new({"k": 1})
            assert [k async for k in d] == ["k"]
            assert await d.keys() == ["k"]
    run(main())


def test_concurrent_calls_answer_their_callers(server, uniq):
    async def main():
        async with aconnect(server) as c:
            results = await asyncio.gather(*[c.ping(i) for i in range(200)])
            assert results == list(range(200))
    run(main())


def test_pipeline(server, uniq):
    async def main():
        async with aconnect(server) as c:
            async with c.pipeline() as p:
                a = p.bind(uniq("L"), [])
                b = p.append(uniq("L"), 1)
                n = p.len(uniq("L"))
                e = p.lookup(uniq("nope"))
            assert isinstance(a.result(), heapd.aio.AsyncRef) and b.result() is None
            assert n.result() == 1
            assert isinstance(e.exception(), heapd.NameError)
    run(main())


def test_events_and_poll(server, uniq):
    async def main():
        async with aconnect(server) as c:
            freed, infos = [], []
            await c.bind(uniq("x"), [1])
            x_id = (await c.lookup(uniq("x"))).id
            gc.collect()
            await c.watch(uniq("x"), lambda *ev: freed.append(ev))
            await c.subscribe("gc", infos.append)
            await c.unbind(uniq("x"))
            await c.gc_collect()
            deadline = time.monotonic() + 5
            while (not freed or len(infos) < 2) and time.monotonic() < deadline:
                await c.poll(0.05)
            assert freed == [(x_id, "list", "refcount")]
            assert infos[0]["phase"] == "start" and "collected" in infos[1]
            t0 = time.monotonic()
            assert await c.poll(0.1) == 0
            assert time.monotonic() - t0 >= 0.09
    run(main())


def test_async_callback_runs_as_a_task(server, uniq):
    async def main():
        async with aconnect(server) as c:
            done = asyncio.Event()
            got = []

            async def on_freed(ref_id, type_name, cause):
                got.append(await c.ping(cause))  # a call from the callback
                done.set()

            await c.bind(uniq("x"), [1])
            await c.watch(uniq("x"), on_freed)
            await c.unbind(uniq("x"))
            await asyncio.wait_for(done.wait(), 5)
            assert got == ["refcount"]
    run(main())


def test_dropped_async_ref_is_released_without_a_call(server, uniq):
    async def main():
        async with aconnect(server) as c, aconnect(server) as observer:
            r = await c.new([1])
            await observer.bind(uniq("keep"), r)
            assert await observer.refcount(uniq("keep")) == 2
            del r
            gc.collect()
            # no call on c: the release is written from the loop by itself
            deadline = time.monotonic() + 5
            while await observer.refcount(uniq("keep")) != 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert await observer.refcount(uniq("keep")) == 1
    run(main())


def test_connection_errors(make_server, tmp_path):
    async def main():
        with pytest.raises(heapd.ConnectionError):
            await heapd.aio.connect(str(tmp_path / "nobody.sock"))
        s = make_server(token="tok", tcp=True)
        with pytest.raises(heapd.AuthError):
            await heapd.aio.connect(host="127.0.0.1", port=s.port, timeout=5)
        c = await heapd.aio.connect(host="127.0.0.1", port=s.port, token="tok", timeout=5)
        assert await c.ping() == "pong"
        assert s.stop() == 0
        with pytest.raises(heapd.ConnectionError):
            await c.ping()
        assert c.closed
        await c.close()
    run(main())


def test_server_closing_says_why(make_server):
    s = make_server(config={"limits": {"max_message_bytes": 4096}})

    async def main():
        c = await heapd.aio.connect(s.sock_path, timeout=5)
        with pytest.raises(heapd.ConnectionError, match="max_message_bytes"):
            await c.bind("x", b"x" * 100000)
        assert c.closed
    run(main())


def test_refs_in_ref_handle_mode(server, request, uniq):
    async def main():
        async with aconnect(server) as c:
            from conftest import requires_ref_handles
            requires_ref_handles(c, request)
            await c.bind(uniq("x"), [1])
            r = await c.lookup(uniq("x"))
            await c.unbind(uniq("x"))
            assert await r.get() == [1]  # the Ref's handle keeps it
    run(main())


def test_heapd_aio_is_reachable_after_import_heapd():
    import os
    import subprocess
    import sys
    code = ("import sys, heapd; assert 'heapd.aio' not in sys.modules; "
            "assert callable(heapd.aio.connect)")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(heapd.__file__)))
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=30)
