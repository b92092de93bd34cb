"""With a memo, a body is indexed exactly as without one: same decoded body,
same segments (paths, kinds, parts), same refusals.  Random bodies built from
the spellings that could confuse a text-keyed reuse: escapes that decode
alike, numbers that are prefixes of others, duplicate keys, whitespace, data
URLs, trailing garbage; each sent twice so the second one is served from the
memo wherever it can be."""

from __future__ import annotations

import json
import random
from typing import Any

from stockade.wire.exchange import WireError, parse_request
from stockade.wire.jsonbody import BlockMemo

_ATOMS = ['"A"', '"\\u0041"', "1", "1.50", "12345678901", "123456789012", "1e400", "NaN",
          "-0", "true", "null", '"x\\"y"', '"data:text/plain,hello"', '""', '"\\ud800"']
_KEYS = ['"a"', '"b"', '"role"', '"type"', '"text"', '"content"', '"value"', '"name"',
         '"\\u0061"', '"tool_result"']
_SECTIONS = {"anthropic": ["system", "tools", "messages"], "chat": ["messages", "tools"],
             "responses": ["input", "tools", "instructions"]}


def _value(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if depth > 3 or r < 0.4:
        return rng.choice(_ATOMS)
    if r < 0.7:
        keys = [rng.choice(_KEYS) for _ in range(rng.randint(0, 3))]
        sep = rng.choice([",", " , ", ",\n"])
        return "{" + sep.join(f'{k}{rng.choice([":", " : "])}{_value(rng, depth + 1)}'
                              for k in keys) + "}"
    return "[" + rng.choice([",", " ,"]).join(
        _value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"


def _body(rng: random.Random) -> tuple[Any, str]:
    proto = rng.choice(list(_SECTIONS))
    sections = _SECTIONS[proto]
    parts = []
    for key in rng.sample([*sections, "model", "x"], rng.randint(1, 4)):
        if key in sections and rng.random() < 0.8:
            value = "[" + rng.choice([",", ", ", " ,\n "]).join(
                _value(rng, 1) for _ in range(rng.randint(0, 4))) + rng.choice(["", " "]) + "]"
        else:
            value = _value(rng, 1)
        parts.append(f'"{key}":{rng.choice(["", " "])}{value}')
    if rng.random() < 0.1:
        parts.append(parts[0])
    return proto, "{" + ",".join(parts) + "}" + rng.choice(["", " ", "x", "\n"])


def _outcome(proto: Any, raw: bytes, memo: BlockMemo | None) -> tuple[str, Any]:
    try:
        ex = parse_request(proto, raw, memo=memo)
    except WireError as exc:
        return "refused", str(exc)
    return "ok", (json.dumps(ex.body, default=str), ex.segments, ex.uninspected, ex.model,
                  ex.stream)


def test_memo_and_reference_index_every_body_alike() -> None:
    rng = random.Random(20261121)
    memo = BlockMemo(max_bytes=1 << 22)
    for _ in range(4000):
        proto, text = _body(rng)
        raw = text.encode("utf-8", "surrogatepass")
        expected = _outcome(proto, raw, None)
        for _ in range(2):
            assert _outcome(proto, raw, memo) == expected, text
    assert memo.hits > 100  # reuse really happened
