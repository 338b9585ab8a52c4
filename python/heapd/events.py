"""Routing server events to the program's callbacks.

``freed`` events go to the callbacks registered with ``watch`` for that
object (once: a freed object is gone), channel events (``gc``) to those
registered with ``subscribe``. A callback's exception is logged on the
``heapd`` logger and never raised into an unrelated call.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

from .refs import BaseRef

__all__ = ["Router", "log"]

log = logging.getLogger("heapd")

Callback = Callable[..., Any]


class Router:
    """The callbacks of one client, by watched id and by channel."""

    def __init__(self) -> None:
        self.watchers: Dict[int, List[Callback]] = {}
        self.channels: Dict[str, List[Callback]] = {}
        self.weakrefs: Dict[int, List[Callback]] = {}

    def add_watch(self, obj_id: int, callback: Callback) -> None:
        self.watchers.setdefault(obj_id, []).append(callback)

    def remove_watch(self, obj_id: int, callback: Optional[Callback] = None) -> None:
        _remove(self.watchers, obj_id, callback)

    def add_weakref(self, w_id: int, callback: Callback) -> None:
        self.weakrefs.setdefault(w_id, []).append(callback)

    def add_channel(self, channel: str, callback: Callback) -> None:
        self.channels.setdefault(channel, []).append(callback)

    def remove_channel(self, channel: str, callback: Optional[Callback] = None) -> None:
        _remove(self.channels, channel, callback)

    def callbacks(self, method: str, params: List[Any]) -> List[Callback]:
        """The callbacks an event goes to, with their arguments bound."""
        if method == "freed" and len(params) == 3:
            ref, type_name, cause = params
            obj_id = ref.id if isinstance(ref, BaseRef) else ref
            return [_bound(cb, obj_id, type_name, cause) for cb in self.watchers.pop(obj_id, [])]
        if method == "weakref" and len(params) == 1:
            w = params[0]
            w_id = w.id if isinstance(w, BaseRef) else w
            return [_bound(cb, w) for cb in self.weakrefs.pop(w_id, [])]
        if method == "error":
            log.warning("heapd reported an error on this connection: %r", params)
            return []
        return [_bound(cb, *params) for cb in self.channels.get(method, [])]


def _remove(table: Dict[Any, List[Callback]], key: Any, callback: Optional[Callback]) -> None:
    if callback is None:
        table.pop(key, None)
        return
    cbs = table.get(key, [])
    if callback in cbs:
        cbs.remove(callback)
    if not cbs:
        table.pop(key, None)


def _bound(callback: Callback, *args: Any) -> Callable[[], Any]:
    def run() -> Any:
        return callback(*args)
    run.__qualname__ = getattr(callback, "__qualname__", repr(callback))
    return run


def run_safely(call: Callable[[], Any]) -> Any:
    """Runs one bound callback; its exception is logged, not raised."""
    try:
        return call()
    except Exception:
        log.exception("heapd event callback %s raised", call.__qualname__)
        return None
