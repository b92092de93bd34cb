"""stockade.lite.NamedTuple behaves as typing.NamedTuple does for what the
start-up path uses: annotated fields, trailing defaults, keyword
construction, methods and properties, a custom __repr__, _replace/_asdict,
tuple equality and unpacking, immutability, pickling."""

from __future__ import annotations

import collections
import copy
import pickle
import typing

import pytest

from stockade import lite
from tests.conftest import modules_after


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


@pytest.mark.parametrize("base", [typing.NamedTuple, lite.NamedTuple], ids=["typing", "lite"])
def test_the_rest_of_namedtuple(base: typing.Any) -> None:
    class Pair(base):  # type: ignore[misc, valid-type]
        left: str
        right: int = 2

    p = Pair("a")
    assert repr(p) == "Pair(left='a', right=2)"
    assert Pair._make(["b", 3]) == Pair("b", 3) and type(Pair._make(["b", 3])) is Pair
    with pytest.raises(TypeError):
        Pair._make(["only one"])
    with pytest.raises(ValueError, match="unexpected field names"):
        p._replace(middle=1)
    with pytest.raises(TypeError):
        Pair("a", 1, 2)
    with pytest.raises(TypeError):
        Pair(right=1)
    assert Pair(right=5, left="z") == ("z", 5)
    match p:
        case Pair(left, right):
            assert (left, right) == ("a", 2)
    assert copy.copy(p) == p and copy.deepcopy(p) == p
    assert p.__getnewargs__() == ("a", 2)
    assert not hasattr(p, "__dict__")
    assert Pair.__new__.__defaults__ == (2,)
    with pytest.raises(TypeError, match=r"__new__\(\) missing"):
        Pair()

    class One(base):  # type: ignore[misc, valid-type]
        only: int

    assert One(1) == (1,) and One(only=2).only == 2


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


def test_the_run_path_does_not_import_heavy_stdlib_modules() -> None:
    """typing, collections, functools, threading, contextlib, struct,
    importlib, socket, enum, re, json: each costs ms of every `stockade run`
    start-up on a small machine (see bench/sandbox.py), and the launcher
    needs none of them before the agent's go."""
    heavy = {"collections", "functools", "threading", "contextlib", "struct", "importlib",
             "warnings", "socket", "enum", "selectors", "subprocess", "typing", "re", "json"}
    loaded = modules_after(
        "import stockade.cli, stockade.commands.run, stockade.sandbox.launcher\n"
        "import stockade.sandbox.layout, stockade.sandbox.seccomp, stockade.sandbox.presets\n"
        "import stockade.sandbox.envscrub, stockade.sandbox.netns, stockade.sandbox.ports\n"
        "import stockade.sandbox.cmdcheck, stockade.sandbox.spawn, stockade.sandbox.viewcache\n"
        "import stockade.sandbox.standins, stockade.sandbox.sessiongw\n"
        "import stockade.sandbox.verdicts, stockade.sandbox.recorder\n"
        "stockade.sandbox.seccomp.build_filter()\n")
    assert "stockade.sandbox.launcher" in loaded
    assert sorted(heavy & loaded) == []


def _cms(make: typing.Any) -> dict[str, typing.Any]:
    log: list[str] = []

    @make
    def plain() -> typing.Iterator[int]:
        log.append("in")
        try:
            yield 1
        finally:
            log.append("out")

    @make
    def commit_or_rollback() -> typing.Iterator[None]:
        try:
            yield
        except BaseException:
            log.append("rollback")
            raise
        log.append("commit")

    @make
    def suppressing() -> typing.Iterator[None]:
        try:
            yield
        except KeyError:
            log.append("suppressed")

    @make
    def translating() -> typing.Iterator[None]:
        try:
            yield
        except KeyError as exc:
            raise ValueError("translated") from exc

    @make
    def no_yield() -> typing.Iterator[None]:
        if False:
            yield

    @make
    def two_yields() -> typing.Iterator[None]:
        yield
        yield

    @make
    def swallow_then_yield() -> typing.Iterator[None]:
        try:
            yield
        except KeyError:
            pass
        yield

    return {"log": log, "plain": plain, "commit": commit_or_rollback, "suppress": suppressing,
            "translate": translating, "no_yield": no_yield, "two": two_yields,
            "swallow_then_yield": swallow_then_yield}


def _outcome(cms: dict[str, typing.Any], name: str, raise_in: BaseException | None) -> object:
    try:
        with cms[name]() as got:
            if raise_in is not None:
                raise raise_in
        return ("ok", got, list(cms["log"]))
    except BaseException as exc:  # noqa: BLE001 - compared below
        return ("raised", type(exc).__name__, str(exc), exc is raise_in,
                type(exc.__cause__).__name__, list(cms["log"]))


@pytest.mark.parametrize("name", ["plain", "commit", "suppress", "translate", "no_yield", "two",
                                  "swallow_then_yield"])
@pytest.mark.parametrize("raised", [None, KeyError("k"), ValueError("v"), StopIteration(),
                                    RuntimeError("r"), KeyboardInterrupt(), GeneratorExit()],
                         ids=repr)
def test_contextmanager_behaves_as_contextlibs(name: str, raised: BaseException | None) -> None:
    import contextlib

    theirs = _outcome(_cms(contextlib.contextmanager), name, raised)
    # a fresh exception object: the first run set its traceback and context
    again = None if raised is None else type(raised)(*raised.args)
    ours = _outcome(_cms(lite.contextmanager), name, again)
    assert ours == theirs


def test_contextmanager_keeps_the_functions_name_and_doc() -> None:
    @lite.contextmanager
    def named() -> typing.Iterator[None]:
        """Doc."""
        yield

    assert named.__name__ == "named" and named.__doc__ == "Doc."
    assert named.__wrapped__ is not None  # type: ignore[attr-defined]


@pytest.mark.parametrize("arity", range(1, 15))
def test_every_arity_builds_by_position_and_keyword(arity: int) -> None:
    """Up to 12 fields __new__ comes from a template compiled with the module
    (its arguments renamed), beyond from compiled source: alike either way."""
    names = [f"f{i}" for i in range(arity)]
    ns: dict[str, typing.Any] = {"__annotations__": {n: "int" for n in names},
                                 "__module__": __name__, names[-1]: -1}
    cls = lite._Meta("Wide", (lite._Root,), ns)  # the class statement's call
    ref = collections.namedtuple("Wide", names, defaults=[-1])
    values = list(range(arity))
    assert cls(*values) == ref(*values) == tuple(values)
    assert cls(**dict(zip(names, values))) == tuple(values)
    assert cls(*values[:-1]) == (*values[:-1], -1)
    if arity > 1:
        with pytest.raises(TypeError, match=r"__new__\(\) missing 1 required positional "
                                            r"argument: 'f0'"):
            cls(**{n: 0 for n in names[1:]})
    with pytest.raises(TypeError, match="unexpected keyword argument 'zz'"):
        cls(*values, zz=1)
    assert cls.__new__.__defaults__ == (-1,)
