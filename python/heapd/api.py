"""Client methods made at run time from the server's ``api_info``.

heapd describes its methods (name, parameters, help) in ``api_info``; the
clients turn each into a Python method with that docstring and signature,
so a method added to the server is a method of the client with no change
here. A Python keyword (``is``) gets a trailing underscore (``c.is_(a, b)``;
``getattr(c, "is")`` works too).
"""

from __future__ import annotations

import inspect
import keyword
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Sequence, Tuple

from .refs import OMITTED

__all__ = ["Param", "MethodSpec", "parse_methods", "build_class", "python_name"]


class Param(NamedTuple):
    name: str
    optional: bool


class MethodSpec(NamedTuple):
    """One row of api_info's method table."""

    name: str
    params: Tuple[Param, ...]
    min_args: int
    max_args: int
    help: str

    @property
    def usage(self) -> str:
        """``bind(name, value, [opts])``"""
        parts = ["[%s]" % p.name if p.optional else p.name for p in self.params]
        return "%s(%s)" % (self.name, ", ".join(parts))


def python_name(name: str) -> str:
    """The attribute name of wire method `name` (``is`` → ``is_``)."""
    return name + "_" if keyword.iskeyword(name) else name


def _parse_params(text: str, max_args: int) -> Tuple[Param, ...]:
    params: List[Param] = []
    for i, word in enumerate(text.split()):
        optional = word.startswith("[") and word.endswith("]")
        name = word.strip("[]")
        if not name.isidentifier() or keyword.iskeyword(name):
            name = "arg%d" % i
        params.append(Param(name, optional))
    while len(params) < max_args:  # a table whose params text says less
        params.append(Param("arg%d" % len(params), True))
    return tuple(params)


def parse_methods(api_info: Mapping[str, Any]) -> Tuple[MethodSpec, ...]:
    """The method specs of an api_info answer."""
    specs = []
    for row in api_info.get("methods", ()):
        name = row.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            continue
        max_args = int(row.get("max_args", 0))
        specs.append(MethodSpec(
            name=name,
            params=_parse_params(str(row.get("params", "")), max_args),
            min_args=int(row.get("min_args", 0)),
            max_args=max_args,
            help=str(row.get("help", "")),
        ))
    return tuple(specs)


def _bind(spec: MethodSpec, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Tuple[Any, ...]:
    """Positional wire params from Python args and keywords."""
    out = list(args)
    for param in spec.params[len(args):]:
        if param.name not in kwargs:
            break
        out.append(kwargs.pop(param.name))
    if kwargs:
        raise TypeError("%s() got unexpected keyword argument(s) %s (parameters: %s)"
                        % (spec.name, ", ".join(sorted(kwargs)), spec.usage))
    return tuple(x for x in out if x is not OMITTED)


def _signature(spec: MethodSpec) -> inspect.Signature:
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for p in spec.params:
        default = OMITTED if p.optional else inspect.Parameter.empty
        params.append(inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        default=default, annotation=Any))
    return inspect.Signature(params, return_annotation=Any)


def _make_method(spec: MethodSpec, is_async: bool) -> Callable[..., Any]:
    wire = spec.name
    if is_async:
        async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs:
                args = _bind(spec, args, kwargs)
            return await self.call(wire, *args)
    else:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            if kwargs:
                args = _bind(spec, args, kwargs)
            return self.call(wire, *args)
    method.__name__ = python_name(wire)
    method.__doc__ = "%s\n\n%s.\n\n(heapd method %r, from the server's api_info.)" % (
        spec.usage, spec.help[:1].upper() + spec.help[1:], wire)
    method.__signature__ = _signature(spec)  # type: ignore[attr-defined]
    return method


_CLASSES: Dict[Tuple[type, Tuple[MethodSpec, ...]], type] = {}


def build_class(base: type, specs: Sequence[MethodSpec], is_async: bool = False) -> type:
    """A subclass of `base` with one method per spec (those `base` already
    defines keep their hand-written version). Cached per base and table."""
    key = (base, tuple(specs))
    cls = _CLASSES.get(key)
    if cls is not None:
        return cls
    namespace: Dict[str, Any] = {"__module__": base.__module__, "__doc__": base.__doc__,
                                 "__slots__": (), "method_specs": tuple(specs)}
    for spec in specs:
        pyname = python_name(spec.name)
        if hasattr(base, pyname):
            continue
        method = _make_method(spec, is_async)
        method.__qualname__ = "%s.%s" % (base.__qualname__, pyname)
        namespace[pyname] = method
        if pyname != spec.name:
            namespace[spec.name] = method
    cls = type(base.__name__, (base,), namespace)
    cls.__qualname__ = base.__qualname__
    _CLASSES[key] = cls
    return cls
