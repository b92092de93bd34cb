"""stockade.canonical drives json's C encoder and scanner itself, without
importing json (json brings re and enum into every ledger writer's start).
What it makes is hashed into the ledger's chain, so these cases hold it to
json byte for byte, and its reader to json.loads, on generated values with
the corners where the two could part."""

from __future__ import annotations

import json
import math
import random

import pytest

from stockade import canonical
from tests.conftest import modules_after


def reference(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


STRINGS = ["", "a", "é", "\u2028", "\x00\x1f\x7f", '"\\/', "\ud800", "\U0001f600", "ı", "K"]
FLOATS = [0.0, -0.0, 1.5, 1e16, 1e-7, 123456789.123456789, 5e-324, 1.7976931348623157e308]


def value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice(STRINGS) + "".join(rng.choice("ab\n\"\\é\ud83d")
                                             for _ in range(rng.randrange(4)))
    if kind == 1:
        return rng.choice([0, -1, 2**63, -(2**70), 7])
    if kind == 2:
        return rng.choice(FLOATS)
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.choice(STRINGS)
    if kind == 5:
        return rng.randrange(-1000, 1000)
    if kind == 6:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return tuple(value(rng, depth + 1) for _ in range(rng.randrange(3)))
    keys = [rng.choice(STRINGS) + str(i) for i in range(rng.randrange(5))]
    return {k: value(rng, depth + 1) for k in keys}


def test_the_encoder_writes_what_json_writes() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        obj = value(rng)
        assert canonical.dumps(obj) == reference(obj)


@pytest.mark.parametrize("obj", [
    {2: "int keys", 10: "sorted as numbers"}, {2.5: "float keys", 1.0: "y"}, {None: "null"},
    {True: "bool key"},
    {"b": 1, "a": {"d": [], "c": {}}}, "plain string", 3, None, [],
])
def test_keys_and_scalars_like_json(obj: object) -> None:
    assert canonical.dumps(obj) == reference(obj)


@pytest.mark.parametrize("bad", [
    math.nan, [math.inf], {"x": -math.inf}, {"x": object()}, {1: 1, "a": 2}, b"bytes", {1, 2},
    {1: "mixed", None: "keys"}, {(1,): "tuple key"},
])
def test_refusals_like_json(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)) as ours:
        canonical.dumps(bad)
    with pytest.raises((TypeError, ValueError)) as theirs:
        reference(bad)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_a_failed_call_leaves_nothing_behind() -> None:
    """Circular-reference markers are per call, as json's are: a failure must
    not make a later, valid value look circular."""
    shared: list[object] = []
    loop: list[object] = [shared]
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        canonical.dumps(loop)
    assert canonical.dumps([shared, shared]) == "[[],[]]"
    with pytest.raises(TypeError):
        canonical.dumps([shared, object()])
    assert canonical.dumps({"a": shared}) == '{"a":[]}'


def test_the_reader_reads_what_json_reads() -> None:
    rng = random.Random(4)
    for _ in range(3000):
        text = canonical.dumps(value(rng))
        assert canonical.loads(text) == json.loads(text)
        assert repr(canonical.loads(text)) == repr(json.loads(text))  # -0.0, key order


@pytest.mark.parametrize("text", ["", "  ", "{}x", "{} {}", "NaN", "[Infinity]", "{'a':1}",
                                  "[1,]", "\"\\x\"", "\"tab\there\"", b"\xff", "{\"a\" 1}"])
def test_the_reader_refuses_what_json_refuses(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        canonical.loads(text)


@pytest.mark.parametrize("text", [" {} ", "\n[1, 2]\n", '{\n  "a": [\n    1\n  ]\n}\n',
                                  b'{"b": "\xc3\xa9"}', "\t\r\n0"])
def test_the_reader_takes_whitespace_as_json_does(text: str | bytes) -> None:
    assert canonical.loads(text) == json.loads(text)


def test_neither_imports_json() -> None:
    loaded = modules_after("from stockade import canonical\n"
                           "canonical.loads(canonical.dumps({'a': [1, 2.5, None, 'é']}))")
    assert "stockade.canonical" in loaded
    assert sorted({"json", "re", "enum"} & loaded) == []
