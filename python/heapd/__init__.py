"""heapd: Python's memory model as a network service — the Python client.

    import heapd

    with heapd.connect() as c:                   # heapctl's default socket
        c.bind("E", 26)                          # E = 26
        c.bind("K", 26)                          # K = 26
        print(c.refcount("E"), c.is_("E", "K"))  # 2 True, on a fresh heapd

Values map to heapd's objects both ways (tuples, sets, dicts with any
hashable keys, :class:`Name` for a name's object, :class:`Ref` for an
object); errors are ``heapd.KeyError``... (each also the built-in of that
name); ``heapd.aio`` is the same API for asyncio. See docs/python.md.
"""

from __future__ import annotations

from .client import Client, connect, default_socket_path
from .errors import (
    AttributeError, AuthError, ConnectionError, Error, IndexError, KeyError, MemoryError, NameError,
    OverflowError, ProtocolError, RecursionError, ReferenceError, RuntimeError,
    TimeoutError, TypeError, ValueError, error_class,
)
from .pipeline import Pipeline
from .protocol import PendingCall
from .refs import Ref
from .values import Instance, Name

__version__ = "0.1.0"

__all__ = [
    "connect", "Client", "Pipeline", "PendingCall", "Ref", "Name", "Instance", "default_socket_path",
    "Error", "ConnectionError", "TimeoutError", "NameError", "KeyError", "IndexError",
    "TypeError", "ValueError", "OverflowError", "ReferenceError", "MemoryError",
    "RecursionError", "RuntimeError", "AuthError", "ProtocolError", "AttributeError",
    "error_class",
]


def __getattr__(name: str) -> object:
    if name == "aio":  # `import heapd` then heapd.aio.connect(): loaded on first use
        import importlib
        return importlib.import_module(".aio", __name__)
    # An error type met in a server's api_info after import (error_class
    # made it): heapd.<ThatError> works like the ones above.
    from . import errors
    cls = errors._CLASSES.get(name)
    if cls is None:
        raise AttributeError("module 'heapd' has no attribute %r" % name)
    return cls
