"""Immutable records for the hook's hot path.

``class X(Record)`` with annotated fields behaves like ``typing.NamedTuple``
(and is one, for the type checker): a tuple subclass with named, read-only
fields, defaults, ``_replace`` and ``_asdict``.  It is built here without
:mod:`typing` or :mod:`collections`, whose imports and per-class work would
be a noticeable share of a hook call's start-up time.
"""

from __future__ import annotations

from _operator import itemgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    _SKIP = {"__annotations__", "__module__", "__qualname__", "__dict__", "__weakref__",
             "__orig_bases__", "_record_root"}

    def _build(name, ns):
        fields = tuple(ns.get("__annotations__", {}))
        defaults = {f: ns[f] for f in fields if f in ns}
        n = len(fields)
        index = {f: i for i, f in enumerate(fields)}

        def __new__(cls, *args, **kw):
            if len(args) > n:
                raise TypeError(f"{name}() takes {n} arguments, got {len(args)}")
            values = list(args)
            for f in fields[len(args):]:
                if f in kw:
                    values.append(kw.pop(f))
                elif f in defaults:
                    values.append(defaults[f])
                else:
                    raise TypeError(f"{name}() missing argument {f!r}")
            if kw:
                raise TypeError(f"{name}() got unexpected arguments {sorted(kw)}")
            return tuple.__new__(cls, values)

        def __repr__(self):
            inner = ", ".join(f"{f}={v!r}" for f, v in zip(fields, self, strict=True))
            return f"{name}({inner})"

        def _asdict(self):
            return dict(zip(fields, self, strict=True))

        def _replace(self, **kw):
            values = list(self)
            for k, v in kw.items():
                values[index[k]] = v
            return tuple.__new__(type(self), values)

        def __getnewargs__(self):
            return tuple(self)

        body = {"__slots__": (), "__new__": __new__, "__repr__": __repr__,
                "_asdict": _asdict, "_replace": _replace, "__getnewargs__": __getnewargs__,
                "_fields": fields, "_field_defaults": dict(defaults),
                "__match_args__": fields}
        for i, f in enumerate(fields):
            body[f] = property(itemgetter(i), doc=f"field {i}: {f}")
        for key, value in ns.items():
            if key not in _SKIP and key not in defaults:
                body[key] = value
        body["__annotations__"] = dict(ns.get("__annotations__", {}))
        return body

    class _RecordMeta(type):
        def __new__(mcls, name, bases, ns):
            if ns.get("_record_root"):
                return super().__new__(mcls, name, bases, ns)
            return type(name, (tuple,), _build(name, ns))

    class Record(metaclass=_RecordMeta):
        _record_root = True

__all__ = ["Record"]
