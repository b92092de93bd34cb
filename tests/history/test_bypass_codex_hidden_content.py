"""Places in a Codex rollout where content that went to the vendor can sit:
each planted value must be reported in its session (or, for an image,
counted in ``skipped``)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from fakehome import Clock, CodexSession, recent

from stockade.dlp import Engine
from stockade.dlp.fakes import sample
from stockade.history.discover import Source
from stockade.history.records import FileResult
from stockade.history.worker import scan_source

ENGINE = Engine(fingerprint_key=b"x" * 32)


def _session(tmp_path: Path, seed: int) -> tuple[CodexSession, random.Random]:
    rng = random.Random(seed)
    return CodexSession(tmp_path / "h", "/work/q", clock=Clock(recent(1)), rng=rng), rng


def _scan_path(path: Path, tmp_path: Path) -> FileResult:
    return scan_source(Source(str(path), "codex", str(tmp_path / "h"), "t", path.stat().st_size), ENGINE)


def _found(res: FileResult) -> set[tuple[str, str, str]]:
    return {(e.session_id, e.rule_id, e.source) for e in res.exposures}


def test_instructions_in_session_meta_and_turn_context_are_scanned(tmp_path: Path) -> None:
    x, rng = _session(tmp_path, 1)
    a = sample("aws_access_key_id", rng)
    b = sample("github_pat_classic", rng)
    x.lines[0]["payload"]["instructions"] = "# AGENTS.md\n" + a.text
    x.line("turn_context", {"cwd": "/work/q", "model": "gpt-5-codex", "user_instructions": b.text})
    res = _scan_path(x.write(), tmp_path)
    assert {(x.id, "aws_access_key_id", "context"), (x.id, "github_pat_classic", "context")} <= _found(res)


def test_an_image_in_a_message_is_counted_and_the_text_beside_it_scanned(tmp_path: Path) -> None:
    x, rng = _session(tmp_path, 2)
    t = sample("npm_token", rng)
    x.item({"type": "message", "role": "user", "content": [
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
        {"type": "input_text", "text": t.text}]})
    res = _scan_path(x.write(), tmp_path)
    assert (x.id, "npm_token", "prompt") in _found(res)
    assert [k.reason for k in res.skipped] == ["1 image or binary attachment not scanned"]


def test_a_function_call_output_given_as_content_items_is_scanned(tmp_path: Path) -> None:
    x, rng = _session(tmp_path, 3)
    t = sample("openai_api_key", rng)
    x.item({"type": "function_call_output", "call_id": "c1", "output": [
        {"type": "input_text", "text": t.text},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]})
    res = _scan_path(x.write(), tmp_path)
    assert (x.id, "openai_api_key", "tool_output") in _found(res)
    assert len(res.skipped) == 1


def test_function_call_arguments_nested_deeper_than_64_levels_are_scanned(tmp_path: Path) -> None:
    x, rng = _session(tmp_path, 4)
    t = sample("anthropic_api_key", rng)
    deep: Any = t.text
    for _ in range(300):
        deep = [{"a": deep}]
    x.item({"type": "function_call", "name": "mcp__db__query", "arguments": json.dumps(deep),
            "call_id": "c2"})
    assert (x.id, "anthropic_api_key", "tool_call") in _found(_scan_path(x.write(), tmp_path))


def test_custom_tool_call_input_and_reasoning_are_scanned(tmp_path: Path) -> None:
    x, rng = _session(tmp_path, 5)
    a = sample("gitlab_pat", rng)
    b = sample("slack_bot_token", rng)
    x.patch("config/prod.env", a.text)
    x.item({"type": "reasoning", "summary": [{"type": "summary_text", "text": "the token " + b.text}],
            "encrypted_content": "gAAAA"})
    found = _found(_scan_path(x.write(), tmp_path))
    assert {(x.id, "gitlab_pat", "tool_call"), (x.id, "slack_bot_token", "assistant")} <= found


def test_web_search_queries_are_scanned(tmp_path: Path) -> None:
    x, rng = _session(tmp_path, 6)
    t = sample("email", rng)
    x.item({"type": "web_search_call", "status": "completed",
            "action": {"type": "search", "queries": ["who is " + t.value]}})
    assert (x.id, "email", "tool_call") in _found(_scan_path(x.write(), tmp_path))


def test_a_rollout_of_an_early_codex_without_envelopes_is_read(tmp_path: Path) -> None:
    rng = random.Random(7)
    sid = "11111111-2222-3333-4444-555555555555"
    a = sample("twilio_api_key", rng)
    b = sample("stripe_secret_key", rng)
    path = tmp_path / "h" / ".codex" / "sessions" / "2025" / "05" / "01" / f"rollout-2025-05-01T10-00-00-{sid}.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        {"id": sid, "timestamp": "2025-05-01T10:00:00.000Z", "instructions": None,
         "git": {"branch": "main"}},
        {"record_type": "state"},
        {"type": "message", "id": None, "role": "user", "content": [{"type": "input_text", "text": a.text}]},
        {"type": "function_call", "name": "shell", "call_id": "c1",
         "arguments": json.dumps({"command": ["bash", "-lc", "cat .env"]})},
        {"type": "function_call_output", "call_id": "c1", "output": json.dumps({"output": b.text,
                                                                               "metadata": {"exit_code": 0}})},
    ]
    path.write_text("".join(json.dumps(ln) + "\n" for ln in lines))
    res = _scan_path(path, tmp_path)
    assert {(sid, "twilio_api_key", "prompt"), (sid, "stripe_secret_key", "file_read")} <= _found(res)
    assert res.skipped == []
    assert res.sessions[sid].branch == "main"
    assert any(a.kind == "command" and a.target == "cat .env" for a in res.actions)


def test_a_cut_line_is_counted_and_its_raw_text_scanned(tmp_path: Path) -> None:
    x, rng = _session(tmp_path, 8)
    t = sample("github_pat_classic", rng)
    whole = json.dumps({"timestamp": "2026-01-01T00:00:00Z", "type": "response_item", "payload": {
        "type": "function_call_output", "call_id": "c", "output": "env:\n" + t.text + "\nmore"}})
    x.raw(whole[: whole.index("more")])
    res = _scan_path(x.write(), tmp_path)
    assert (x.id, "github_pat_classic", "unparsed") in _found(res)
    assert [k.reason for k in res.skipped] == ["not valid JSON"]
