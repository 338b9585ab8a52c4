"""heapd's exceptions.

Every error the server answers has a type name (``"KeyError"``, ...). Each
type is a class here that subclasses :class:`Error` *and* Python's built-in
exception of the same name where one exists, so ``except KeyError:`` catches
heapd's KeyError. Types the server lists in ``api_info`` but this module does
not know yet get a class made on first sight by :func:`error_class`.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Mapping, Optional, Type

__all__ = [
    "Error",
    "ConnectionError",
    "TimeoutError",
    "NameError",
    "KeyError",
    "IndexError",
    "TypeError",
    "ValueError",
    "OverflowError",
    "ReferenceError",
    "MemoryError",
    "RecursionError",
    "RuntimeError",
    "AuthError",
    "ProtocolError",
    "AttributeError",
    "error_class",
    "from_wire",
]


class Error(Exception):
    """Base class of every exception heapd raises.

    ``type`` is the server's error type name (``"KeyError"``) and
    ``message`` its text (``"name 'x' is not defined"``).
    """

    type: str = "Error"

    def __init__(self, message: str = "", *args: Any) -> None:
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        # KeyError's str() would repr its argument; heapd's messages are text.
        return self.message


class ConnectionError(Error, builtins.ConnectionError):
    """The connection could not be made, was closed, or broke.

    The client never reconnects by itself: after this error it is closed.
    """

    type = "ConnectionError"


class TimeoutError(ConnectionError, builtins.TimeoutError):
    """No answer within the client's timeout; the client is then closed
    (an answer may still be on its way, so the stream cannot be reused)."""

    type = "TimeoutError"


def _server_error(name: str, doc: str) -> Type[Error]:
    """A class for server error type `name`, subclassing the built-in of
    that name when Python has one."""
    builtin = getattr(builtins, name, None)
    usable = isinstance(builtin, type) and issubclass(builtin, Exception)
    bases = (Error, builtin) if usable else (Error,)
    return type(name, bases, {"__doc__": doc, "type": name, "__module__": "heapd"})


NameError = _server_error("NameError", "A name is not bound (``name 'x' is not defined``).")
KeyError = _server_error("KeyError", "A dict has no such key, or a set no such member.")
IndexError = _server_error("IndexError", "A list or tuple index is out of range.")
TypeError = _server_error(
    "TypeError",
    "Wrong argument count, an operation on an object of the wrong type, an "
    "unhashable key; also raised by the client for values heapd cannot hold.",
)
ValueError = _server_error("ValueError", "A value is not acceptable (bad UTF-8, no such handle...).")
OverflowError = _server_error("OverflowError", "An int does not fit in 64 bits.")
ReferenceError = _server_error("ReferenceError", "A reference names no live object.")
MemoryError = _server_error("MemoryError", "A configured limit (objects, memory, output) would be exceeded.")
RecursionError = _server_error("RecursionError", "A value nests deeper than limits.max_depth, or too many scopes.")
RuntimeError = _server_error("RuntimeError", "The operation cannot run now (no scope to pop, no persistence...).")
AuthError = _server_error("AuthError", "Authentication is required, or the token is wrong.")
ProtocolError = _server_error("ProtocolError", "A malformed message, an unknown method, or a confused stream.")
AttributeError = _server_error("AttributeError", "An instance or class has no such attribute.")

_CLASSES: Dict[str, Type[Error]] = {
    cls.type: cls
    for cls in (
        NameError, KeyError, IndexError, TypeError, ValueError, OverflowError,
        ReferenceError, MemoryError, RecursionError, RuntimeError, AuthError, ProtocolError,
        AttributeError,
    )
}


def error_class(name: str) -> Type[Error]:
    """The exception class of server error type `name`, made (and exported
    from this module) the first time an unknown type is seen."""
    cls = _CLASSES.get(name)
    if cls is None:
        if not name.isidentifier():
            return ProtocolError
        cls = _server_error(name, "heapd error type %s (from the server's api_info)." % name)
        _CLASSES[name] = cls
        globals().setdefault(name, cls)
    return cls


def from_wire(err: Any) -> Error:
    """The exception for a response's error map ``{"type", "message"}``."""
    if not isinstance(err, Mapping):
        return ProtocolError("malformed error from the server: %r" % (err,))
    name: Optional[Any] = err.get("type")
    message = err.get("message")
    cls = error_class(name) if isinstance(name, str) else ProtocolError
    return cls(message if isinstance(message, str) else repr(err))
