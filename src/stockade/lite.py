"""``typing.NamedTuple`` without importing ``typing``, for ``stockade run``'s
start-up path.

Importing ``typing`` costs ~4 ms, and a ``typing.NamedTuple`` class body
under ``from __future__ import annotations`` compiles a ``ForwardRef`` for
every field (another ~3 ms over the launcher's dozen classes).  Modules on
that path write::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from stockade.lite import NamedTuple

so type checkers see the real ``typing.NamedTuple`` and the interpreter runs
this one: the same class syntax (annotated fields, trailing defaults,
methods, a docstring), built as ``collections.namedtuple`` builds its
classes, without importing ``collections`` (its module, with ``operator``,
``keyword`` and ``reprlib``, is another ~4 ms); the annotations are kept as
the strings they are.  Only the class form is supported, and
methods may not use ``super()`` (as with ``typing.NamedTuple``).
``tests/core/test_lite.py`` holds it to ``typing.NamedTuple``'s behaviour.
"""

from __future__ import annotations

import sys
from _collections import _tuplegetter  # type: ignore[import-not-found]  # namedtuple's C field accessor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from types import TracebackType
    from typing import Any

_SKIP = frozenset({"__module__", "__qualname__", "__annotations__", "__slots__", "__dict__",
                   "__weakref__", "__orig_bases__"})


class _Meta(type):
    def __new__(mcls, typename: str, bases: tuple[type, ...],
                ns: dict[str, object]) -> type:
        if bases != (_Root,):
            raise TypeError("stockade.lite.NamedTuple: subclass NamedTuple directly")
        annotations = dict(ns.get("__annotations__", {}))  # type: ignore[call-overload]
        fields = list(annotations)
        defaults: list[object] = []
        for name in fields:
            if name in ns:
                defaults.append(ns[name])
            elif defaults:
                raise TypeError(f"non-default namedtuple field {name} cannot follow "
                                "default field(s)")
        cls = _namedtuple(typename, fields, defaults,
                          module=str(ns.get("__module__", __name__)))
        cls.__annotations__ = annotations
        for key, value in ns.items():
            if key in _SKIP or key in annotations:
                continue
            if key in ("_fields", "_make", "_replace", "_asdict", "_field_defaults", "__new__",
                       "__init__", "__getnewargs__"):
                raise AttributeError(f"cannot overwrite NamedTuple attribute {key}")
            setattr(cls, key, value)
        return cls


_Function: Any = type(lambda: None)
_tuple_new = tuple.__new__
# __new__ for 1..12 fields: what _namedtuple's eval would compile, but in
# this module's bytecode (the argument names are replaced per class)
_NEW_TEMPLATES: tuple[Any, ...] = (
    None,
    lambda _cls, a: _tuple_new(_cls, (a,)),
    lambda _cls, a, b: _tuple_new(_cls, (a, b)),
    lambda _cls, a, b, c: _tuple_new(_cls, (a, b, c)),
    lambda _cls, a, b, c, d: _tuple_new(_cls, (a, b, c, d)),
    lambda _cls, a, b, c, d, e: _tuple_new(_cls, (a, b, c, d, e)),
    lambda _cls, a, b, c, d, e, f: _tuple_new(_cls, (a, b, c, d, e, f)),
    lambda _cls, a, b, c, d, e, f, g: _tuple_new(_cls, (a, b, c, d, e, f, g)),
    lambda _cls, a, b, c, d, e, f, g, h: _tuple_new(_cls, (a, b, c, d, e, f, g, h)),
    lambda _cls, a, b, c, d, e, f, g, h, i: _tuple_new(_cls, (a, b, c, d, e, f, g, h, i)),
    lambda _cls, a, b, c, d, e, f, g, h, i, j: _tuple_new(
        _cls, (a, b, c, d, e, f, g, h, i, j)),
    lambda _cls, a, b, c, d, e, f, g, h, i, j, k: _tuple_new(
        _cls, (a, b, c, d, e, f, g, h, i, j, k)),
    lambda _cls, a, b, c, d, e, f, g, h, i, j, k, m: _tuple_new(
        _cls, (a, b, c, d, e, f, g, h, i, j, k, m)),
)


def _namedtuple(typename: str, fields: list[str], defaults: list[object], *,
                module: str) -> type:
    """What ``collections.namedtuple(typename, fields, defaults=defaults,
    module=module)`` makes, for the class form's valid field names."""
    for name in fields:
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"invalid field name for a NamedTuple: {name!r}")
    if len(set(fields)) != len(fields):
        raise ValueError(f"duplicate field name in NamedTuple {typename}")
    names = tuple(sys.intern(n) for n in fields)
    count = len(names)
    args = ", ".join(names)
    # a real signature (keywords, defaults, "missing argument" errors), as
    # collections.namedtuple makes it; the names are identifiers (above)
    scope = {"_tuple_new": tuple.__new__, "__name__": f"namedtuple_{typename}",
             "__builtins__": {}}
    if 0 < count < len(_NEW_TEMPLATES):
        # a template compiled with this module, its arguments renamed: compiling
        # the source below was ~0.12 ms of each class on the start-up path
        code = _NEW_TEMPLATES[count].__code__.replace(co_varnames=("_cls", *names))
        new = _Function(code, scope)
    else:
        new = eval(f"lambda _cls, {args}: _tuple_new(_cls, ({args}{',' if count == 1 else ''}))",
                   scope)
    new.__name__ = "__new__"
    new.__doc__ = f"Create new instance of {typename}({args})"
    if defaults:
        new.__defaults__ = tuple(defaults)

    def _make(cls: type, iterable: object) -> object:
        result: tuple[object, ...] = tuple.__new__(cls, iterable)  # type: ignore[arg-type]
        if len(result) != count:
            raise TypeError(f"Expected {count} arguments, got {len(result)}")
        return result

    def _replace(self: tuple[object, ...], /, **kwds: object) -> object:
        result = _make(type(self), map(kwds.pop, names, self))
        if kwds:
            raise ValueError(f"Got unexpected field names: {list(kwds)!r}")
        return result

    def __repr__(self: tuple[object, ...]) -> str:
        return f"{type(self).__name__}(" + ", ".join(
            f"{n}={v!r}" for n, v in zip(names, self)) + ")"

    def _asdict(self: tuple[object, ...]) -> dict[str, object]:
        return dict(zip(names, self))

    def __getnewargs__(self: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(self)

    for method in (new, _make, _replace, __repr__, _asdict, __getnewargs__):
        method.__qualname__ = f"{typename}.{method.__name__}"  # as errors name them
    body: dict[str, object] = {
        "__doc__": f"{typename}({args})", "__slots__": (), "_fields": names,
        "_field_defaults": dict(zip(names[count - len(defaults):], defaults)) if defaults else {},
        "__new__": new, "_make": classmethod(_make), "_replace": _replace,
        "__repr__": __repr__, "_asdict": _asdict, "__getnewargs__": __getnewargs__,
        "__match_args__": names,
    }
    if sys.version_info >= (3, 13):
        body["__replace__"] = _replace  # copy.replace(), as namedtuple has it there
    for i, name in enumerate(names):
        body[name] = _tuplegetter(i, f"Alias for field number {i}")
    cls = type(typename, (tuple,), body)
    cls.__module__ = module
    return cls


_Root = type.__new__(_Meta, "NamedTuple", (), {})


def NamedTuple(typename: str, fields: object = None) -> type:
    """Only the class form (``class X(NamedTuple): ...``) is supported."""
    raise TypeError("stockade.lite.NamedTuple supports only the class form")


def _mro_entries(bases: tuple[object, ...]) -> tuple[type, ...]:
    return (_Root,)


NamedTuple.__mro_entries__ = _mro_entries  # type: ignore[attr-defined]



class _GeneratorContext:
    """What :func:`contextmanager` returns: contextlib's
    ``_GeneratorContextManager`` for the ``with`` statement (no decorator use,
    no async), with its handling of exceptions thrown into the generator."""

    __slots__ = ("_gen",)

    def __init__(self, gen: Generator[Any, None, None]) -> None:
        self._gen = gen

    def __enter__(self) -> Any:
        try:
            return next(self._gen)
        except StopIteration:
            raise RuntimeError("generator didn't yield") from None

    def __exit__(self, typ: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if typ is None:
            try:
                next(self._gen)
            except StopIteration:
                return False
            raise RuntimeError("generator didn't stop")
        if value is None:
            value = typ()
        try:
            self._gen.throw(value)
        except StopIteration as exc:
            return exc is not value  # suppressed, unless it was the StopIteration thrown in
        except RuntimeError as exc:
            if exc is value:
                exc.__traceback__ = tb
                return False
            if isinstance(value, StopIteration) and exc.__cause__ is value:
                value.__traceback__ = tb
                return False
            raise
        except BaseException as exc:
            if exc is not value:
                raise
            exc.__traceback__ = tb
            return False
        raise RuntimeError("generator didn't stop after throw()")


def _contextmanager(func: Callable[..., Generator[Any, None, None]]) -> Callable[..., Any]:
    """``contextlib.contextmanager`` for ``with`` blocks, without importing
    contextlib (with functools and collections under it, ~4 ms of the
    ledger's writers: the sandbox's recorder, every hook call).
    ``tests/core/test_lite.py`` holds it to contextlib's behaviour."""

    def helper(*args: Any, **kwds: Any) -> _GeneratorContext:
        return _GeneratorContext(func(*args, **kwds))

    helper.__name__ = func.__name__
    helper.__qualname__ = func.__qualname__
    helper.__doc__ = func.__doc__
    helper.__module__ = func.__module__
    helper.__wrapped__ = func  # type: ignore[attr-defined]
    return helper


if TYPE_CHECKING:  # type checkers see contextlib's, with its precise types
    from contextlib import contextmanager
else:
    contextmanager = _contextmanager

__all__ = ["NamedTuple", "contextmanager"]
