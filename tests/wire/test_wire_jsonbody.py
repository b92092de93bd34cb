"""The memo of repeated request parts: same result as a cold parse, never a stale
one, duplicate keys still refused, shared values read-only."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from stockade.wire.exchange import WireError, apply_replacements, parse_request
from stockade.wire.jsonbody import BlockMemo, FrozenDict, FrozenList, freeze, writable_path

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "agents" / "examples"


def _turn(tools: int = 6, messages: int = 4) -> dict[str, Any]:
    return {
        "model": "claude-x", "max_tokens": 100, "stream": True,
        "system": [{"type": "text", "text": f"system block {i}"} for i in range(3)],
        "tools": [{"name": f"T{i}", "description": f"tool {i} " * 20,
                   "input_schema": {"type": "object", "properties": {
                       "path": {"type": "string", "description": "where"}}}}
                  for i in range(tools)],
        "messages": [{"role": "user" if i % 2 == 0 else "assistant",
                      "content": [{"type": "text", "text": f"message {i}"}]}
                     for i in range(messages)],
        "metadata": {"user_id": "u1"},
    }


def _same(a: Any, b: Any) -> None:
    assert a.segments == b.segments
    assert a.uninspected == b.uninspected
    assert a.body == b.body and json.dumps(a.body) == json.dumps(b.body)
    assert (a.model, a.stream) == (b.model, b.stream)


@pytest.mark.parametrize("name,protocol", [
    ("claude_request_turn1.json", "anthropic"),
    ("claude_request_turn2.json", "anthropic"),
    ("codex_request_turn1.json", "responses"),
])
def test_memo_parse_equals_the_reference_parse(name: str, protocol: str) -> None:
    p = EXAMPLES / name
    if not p.exists():
        pytest.skip(f"captured request {p} not available")
    raw = json.dumps(json.loads(p.read_text())["body"], indent=1).encode()
    memo = BlockMemo()
    cold = parse_request(protocol, raw)  # type: ignore[arg-type]
    first = parse_request(protocol, raw, memo=memo)  # type: ignore[arg-type]
    again = parse_request(protocol, raw, memo=memo)  # type: ignore[arg-type]
    _same(cold, first)
    _same(cold, again)
    assert memo.hits > 0 and again.blocks
    assert all(a is b for (a, _), (b, _) in zip(first.blocks, again.blocks))


def test_next_turn_reuses_the_unchanged_blocks_and_indexes_the_new_ones() -> None:
    memo = BlockMemo()
    t1 = _turn(messages=3)
    parse_request("anthropic", json.dumps(t1).encode(), memo=memo)
    t2 = _turn(messages=5)
    raw2 = json.dumps(t2).encode()
    before = memo.misses
    ex = parse_request("anthropic", raw2, memo=memo)
    assert memo.misses - before == 2  # messages 3 and 4 only
    _same(parse_request("anthropic", raw2), ex)


def test_a_changed_element_is_indexed_again_never_served_stale() -> None:
    memo = BlockMemo()
    body = _turn()
    parse_request("anthropic", json.dumps(body).encode(), memo=memo)
    changed = copy.deepcopy(body)
    changed["tools"][3]["description"] += " NEW-TEXT"
    ex = parse_request("anthropic", json.dumps(changed).encode(), memo=memo)
    assert any("NEW-TEXT" in s.text for s in ex.segments)
    assert ex.body["tools"][3]["description"].endswith("NEW-TEXT")


def test_an_element_that_only_starts_like_a_known_one_is_not_taken_for_it() -> None:
    memo = BlockMemo()
    parse_request("chat", b'{"messages": [12, {"role": "user", "content": "a"}]}', memo=memo)
    ex = parse_request("chat", b'{"messages": [1234567890, {"role": "user", "content": "a"}]}',
                       memo=memo)
    assert ex.body["messages"][0] == 1234567890
    assert any(s.part == "number" and s.text == "1234567890" for s in ex.segments)


def test_duplicate_keys_are_refused_with_and_without_a_memo() -> None:
    memo = BlockMemo()
    clean = b'{"messages": [{"role": "user", "content": "a"}]}'
    parse_request("chat", clean, memo=memo)
    dup = b'{"messages": [{"role": "user", "content": "a", "content": "b"}]}'
    for m in (memo, None):
        with pytest.raises(WireError, match=r"duplicate key at \$\.messages\[0\]"):
            parse_request("chat", dup, memo=m)
    with pytest.raises(WireError, match="duplicate key"):
        parse_request("chat", b'{"messages": [], "messages": []}', memo=memo)


@pytest.mark.parametrize("raw,match", [
    (b'{"messages": [{"role": "user"}', "not valid JSON"),
    (b'{"messages": [1] } x', "not valid JSON"),
    (b'[1, 2]', "must be a JSON object"),
    (b'{"messages": [' + b'[' * 300 + b']' * 300 + b']}', "nests deeper"),
])
def test_errors_are_the_reference_errors(raw: bytes, match: str) -> None:
    with pytest.raises(WireError, match=match):
        parse_request("chat", raw, memo=BlockMemo())


def test_shared_values_are_read_only_and_copy_on_write() -> None:
    memo = BlockMemo()
    raw = json.dumps(_turn()).encode()
    parse_request("anthropic", raw, memo=memo)
    ex = parse_request("anthropic", raw, memo=memo)
    shared = ex.body["tools"][2]
    assert isinstance(shared, FrozenDict)
    with pytest.raises(TypeError, match="read-only"):
        shared["description"] = "changed"
    with pytest.raises(TypeError, match="read-only"):
        shared["input_schema"]["properties"].pop("path")
    apply_replacements(ex.body, {("tools", 2, "description"): "[REDACTED]"})
    assert ex.body["tools"][2]["description"] == "[REDACTED]"
    # the next request that sends the original text gets the original value
    again = parse_request("anthropic", raw, memo=memo)
    assert again.body["tools"][2]["description"].startswith("tool 2")
    assert json.loads(json.dumps(again.body)) == json.loads(raw)


def test_frozen_containers_serialise_and_copy_like_plain_ones() -> None:
    v = freeze({"a": [1, {"b": "c"}], "d": None})
    assert isinstance(v["a"], FrozenList)
    assert json.dumps(v) == '{"a": [1, {"b": "c"}], "d": null}'
    c = copy.deepcopy(v)
    c["a"].append(2)  # a copy is an ordinary, writable value
    assert v["a"] == [1, {"b": "c"}]
    body = {"x": v}
    writable_path(body, ("x", "a", 1, "b"))["b"] = "z"
    assert body["x"]["a"][1]["b"] == "z" and v["a"][1]["b"] == "c"


def test_the_memo_is_bounded() -> None:
    memo = BlockMemo(max_bytes=4 * 4000)
    for i in range(50):
        parse_request("chat", json.dumps({"messages": [
            {"role": "user", "content": f"{i} " + "x" * 200}]}).encode(), memo=memo)
    assert memo.held_bytes <= 4 * 4000 and len(memo) <= 4 * 4000 // 400
