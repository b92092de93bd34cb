"""stockade.lite.NamedTuple behaves as typing.NamedTuple does for what the
start-up path uses: annotated fields, trailing defaults, keyword
construction, methods and properties, a custom __repr__, _replace/_asdict,
tuple equality and unpacking, immutability, pickling."""

from __future__ import annotations

import pickle
import subprocess
import sys
import typing

import pytest

from stockade import lite


def make(base: typing.Any) -> typing.Any:
    class Point(base):  # type: ignore[misc, valid-type]
        """A point."""

        x: int
        y: int = 0
        label: str | None = None

        def norm1(self) -> int:
            return abs(self.x) + abs(self.y)

        @property
        def origin(self) -> bool:
            return self.x == 0 and self.y == 0

        def __repr__(self) -> str:
            return f"Point<{self.x},{self.y}>"

    return Point


@pytest.mark.parametrize("base", [typing.NamedTuple, lite.NamedTuple], ids=["typing", "lite"])
def test_same_behaviour(base: typing.Any) -> None:
    point = make(base)
    p = point(3, y=-4)
    assert (p.x, p.y, p.label) == (3, -4, None)
    assert p == (3, -4, None) and tuple(p) == (3, -4, None)
    assert p.norm1() == 7 and not p.origin and point(0).origin
    assert repr(p) == "Point<3,-4>"
    assert p._replace(label="a").label == "a" and p._asdict()["y"] == -4
    assert point._fields == ("x", "y", "label")
    assert point._field_defaults == {"y": 0, "label": None}
    assert point.__doc__ == "A point."
    assert hash(p) == hash((3, -4, None))
    with pytest.raises(AttributeError):
        p.x = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        point()  # x has no default
    x, y, label = p
    assert (x, y, label) == (3, -4, None)
    assert isinstance(p, tuple)
    assert list(point.__annotations__) == ["x", "y", "label"]


def test_errors_like_typing() -> None:
    with pytest.raises(TypeError, match="cannot follow"):
        class Bad(lite.NamedTuple):  # type: ignore[misc, valid-type]
            a: int = 1
            b: int
    with pytest.raises(AttributeError):
        class Worse(lite.NamedTuple):  # type: ignore[misc, valid-type]
            a: int

            def _replace(self) -> None: ...  # type: ignore[override]
    with pytest.raises(TypeError):
        lite.NamedTuple("X", [("a", int)])


Pickled = make(lite.NamedTuple)


def test_pickles() -> None:
    p = Pickled(1, 2)
    # defined at module level under the same name: pickle finds it
    Pickled.__qualname__ = "Pickled"
    assert pickle.loads(pickle.dumps(p)) == p


def test_the_run_path_does_not_import_typing() -> None:
    code = ("import sys\n"
            "import stockade.cli, stockade.commands.run, stockade.sandbox.launcher\n"
            "import stockade.sandbox.layout, stockade.sandbox.seccomp, stockade.sandbox.presets\n"
            "import stockade.sandbox.envscrub, stockade.sandbox.netns, stockade.sandbox.ports\n"
            "import stockade.sandbox.cmdcheck, stockade.sandbox.spawn, stockade.sandbox.viewcache\n"
            "print('typing' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
