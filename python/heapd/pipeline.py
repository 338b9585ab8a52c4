"""Pipelines: many calls in one write, answered in order.

    with c.pipeline() as p:
        a = p.bind("a", [1])
        n = p.len("a")
    n.result()  # 1

Each call on the pipeline checks and encodes its values at once (a bad
value raises there), and returns a :class:`~heapd.PendingCall`. The block's
end sends them all in one write and reads every answer; a call's error is
raised by its ``result()``, not at the block's end. If the block raises,
nothing is sent.
"""

from __future__ import annotations

from typing import Any, List

from . import errors
from .protocol import PendingCall

__all__ = ["PipelineBase", "Pipeline"]


class PipelineBase:
    """Queues calls; the sync and asyncio pipelines send them."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._calls: List[PendingCall] = []
        self._sent = False

    def call(self, method: str, *params: Any) -> PendingCall:
        """Queues heapd method `method`; its answer is the PendingCall's
        ``result()`` once the pipeline is sent. Every method of api_info
        is also a method of the pipeline (``p.bind(...)``)."""
        if self._sent:
            raise errors.Error("this pipeline was already sent")
        call = self._client._session.encode(method, params)
        self._calls.append(call)
        return call

    def __len__(self) -> int:
        return len(self._calls)

    def _take(self) -> List[PendingCall]:
        if self._sent:
            raise errors.Error("this pipeline was already sent")
        self._sent = True
        calls, self._calls = self._calls, []
        return calls

    def _discard(self) -> None:
        for call in self._take():
            call.set_error(errors.Error("not sent: the pipeline's block raised"))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError("the pipeline has no method %r (not in this server's api_info)" % name)


class Pipeline(PipelineBase):
    """A pipeline of the blocking client (``with c.pipeline() as p``)."""

    def execute(self) -> List[PendingCall]:
        """Sends the queued calls in one write and reads their answers;
        returns the calls, in order. The block's end calls this."""
        calls = self._take()
        if calls:
            self._client._run(calls)
            self._client._dispatch()
        return calls

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.execute()
        else:
            self._discard()
