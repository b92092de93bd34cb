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
methods, a docstring), built on ``collections.namedtuple``; the annotations
are kept as the strings they are.  Only the class form is supported, and
methods may not use ``super()`` (as with ``typing.NamedTuple``).
``tests/core/test_lite.py`` holds it to ``typing.NamedTuple``'s behaviour.
"""

from __future__ import annotations

import collections

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
        cls = collections.namedtuple(typename, fields, defaults=defaults,  # type: ignore[misc]
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


_Root = type.__new__(_Meta, "NamedTuple", (), {})


def NamedTuple(typename: str, fields: object = None) -> type:
    """Only the class form (``class X(NamedTuple): ...``) is supported."""
    raise TypeError("stockade.lite.NamedTuple supports only the class form")


def _mro_entries(bases: tuple[object, ...]) -> tuple[type, ...]:
    return (_Root,)


NamedTuple.__mro_entries__ = _mro_entries  # type: ignore[attr-defined]

__all__ = ["NamedTuple"]
