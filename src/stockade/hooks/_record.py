"""Immutable records for the hook's hot path.

``class X(Record)`` with annotated fields behaves like ``typing.NamedTuple``
(and is one, for the type checker), but is built with
:func:`collections.namedtuple` directly: importing :mod:`typing` and its
per-class checks would cost a noticeable share of a hook call's start-up.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    _SKIP = {"__annotations__", "__module__", "__qualname__", "__dict__", "__weakref__",
             "__orig_bases__"}

    class _RecordMeta(type):
        def __new__(mcls, name, bases, ns):  # noqa: N804
            if ns.get("_record_root"):
                return super().__new__(mcls, name, bases, ns)
            ann = ns.get("__annotations__", {})
            fields = list(ann)
            defaults = [ns[f] for f in fields if f in ns]
            cls = namedtuple(name, fields, defaults=defaults, module=ns.get("__module__"))
            for key, value in ns.items():
                if key not in _SKIP and key not in ann:
                    setattr(cls, key, value)
            cls.__annotations__ = dict(ann)
            cls.__qualname__ = ns.get("__qualname__", name)
            return cls

    class Record(metaclass=_RecordMeta):
        _record_root = True

__all__ = ["Record"]
