"""Places in a Claude Code transcript where content that went to the vendor
can sit, each with a planted value that must be reported (or, for an image,
counted in ``skipped``): none may be passed over in silence."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from fakehome import ClaudeSession, Clock, recent

from stockade.dlp import Engine
from stockade.dlp.fakes import sample
from stockade.history.discover import Source
from stockade.history.records import FileResult
from stockade.history.worker import scan_source

ENGINE = Engine(fingerprint_key=b"c" * 32)


def _session(tmp_path: Path, seed: int) -> tuple[ClaudeSession, random.Random]:
    rng = random.Random(seed)
    return ClaudeSession(tmp_path / "h", "/work/p", clock=Clock(recent(1)), rng=rng), rng


def _scan(s: ClaudeSession, tmp_path: Path) -> FileResult:
    path = s.write()
    return scan_source(Source(str(path), "claude-code", str(tmp_path / "h"), "t", path.stat().st_size),
                       ENGINE)


def _found(res: FileResult) -> set[tuple[str, str]]:
    return {(e.rule_id, e.source) for e in res.exposures}


def _user(s: ClaudeSession, content: Any) -> None:
    s.lines.append({**s._common(), "type": "user", "message": {"role": "user", "content": content}})


def _assistant(s: ClaudeSession, content: Any) -> None:
    s.lines.append({**s._common(), "type": "assistant",
                    "message": {"role": "assistant", "model": s.model, "content": content}})


def test_a_tool_result_block_that_is_not_text_is_scanned(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 1)
    t = sample("github_pat_classic", rng)
    _user(s, [{"type": "tool_result", "tool_use_id": "t1", "content": [
        {"type": "text", "text": "listing"}, {"type": "tool_reference", "tool_name": t.text}]}])
    assert ("github_pat_classic", "tool_output") in _found(_scan(s, tmp_path))


def test_an_image_in_a_tool_result_is_counted_as_skipped(tmp_path: Path) -> None:
    s, _ = _session(tmp_path, 2)
    _user(s, [{"type": "tool_result", "tool_use_id": "t1", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}])
    _user(s, [{"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}])
    res = _scan(s, tmp_path)
    assert [k.reason for k in res.skipped] == ["1 image or binary attachment not scanned"] * 2


def test_a_value_nested_deeper_than_64_levels_in_a_tool_call_is_found(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 3)
    t = sample("slack_bot_token", rng)
    deep: Any = t.text
    for _ in range(200):
        deep = {"k": [deep]}
    s.tool("mcp__db__query", {"payload": deep}, "ok")
    assert ("slack_bot_token", "tool_call") in _found(_scan(s, tmp_path))


def test_an_mcp_tool_use_block_is_scanned(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 4)
    t = sample("npm_token", rng)
    _assistant(s, [{"type": "mcp_tool_use", "id": "m1", "name": "q", "server_name": "db",
                    "input": {"sql": t.text}}])
    assert ("npm_token", "tool_call") in _found(_scan(s, tmp_path))


def test_a_server_tool_result_is_scanned(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 5)
    t = sample("gitlab_pat", rng)
    _assistant(s, [{"type": "web_fetch_tool_result", "tool_use_id": "s1", "content": {
        "type": "web_fetch_result", "url": "https://x.example",
        "content": {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                   "data": t.text}}}}])
    assert ("gitlab_pat", "tool_output") in _found(_scan(s, tmp_path))


def test_a_text_document_sent_as_base64_is_decoded_and_scanned(tmp_path: Path) -> None:
    import base64

    s, rng = _session(tmp_path, 6)
    t = sample("stripe_secret_key", rng)
    _user(s, [{"type": "document", "title": "notes.txt", "source": {
        "type": "base64", "media_type": "text/plain", "data": base64.b64encode(t.text.encode()).decode()}}])
    res = _scan(s, tmp_path)
    assert ("stripe_secret_key", "file_read") in _found(res)
    assert not res.skipped


def test_a_subagent_message_in_a_progress_line_is_scanned(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 7)
    t = sample("openai_api_key", rng)
    s.lines.append({**s._common(), "type": "progress", "data": {"type": "agent_progress", "message": {
        "type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "q", "content": t.text}]}}}})
    res = _scan(s, tmp_path)
    assert ("openai_api_key", "tool_output") in _found(res)
    assert {e.session_id for e in res.exposures} == {s.id}


def test_a_line_with_invalid_utf8_is_still_scanned(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 8)
    t = sample("anthropic_api_key", rng)
    s.raw(json.dumps({**s._common(), "type": "user",
                      "message": {"role": "user", "content": "@@BAD@@ " + t.text}}))
    path = s.write()
    path.write_bytes(path.read_bytes().replace(b"@@BAD@@", b"\xff\xfe"))
    res = scan_source(Source(str(path), "claude-code", str(tmp_path / "h"), "t", path.stat().st_size),
                      ENGINE)
    assert ("anthropic_api_key", "prompt") in _found(res)
    assert not res.skipped


def test_a_cut_line_is_counted_and_its_raw_text_scanned(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 9)
    s.prompt("hello")
    t = sample("aws_access_key_id", rng)
    whole = json.dumps({**s._common(), "type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t", "content": "config:\n" + t.text + "\nmore"}]}})
    s.raw(whole[: whole.index("more")])  # the session was killed mid-write
    res = _scan(s, tmp_path)
    assert ("aws_access_key_id", "unparsed") in _found(res)
    assert [k.reason for k in res.skipped] == ["not valid JSON"]
    [e] = res.exposures
    assert e.session_id == s.id and e.timestamp  # dated by the line before it


def test_text_that_only_starts_like_a_data_url_is_scanned(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 10)
    t = sample("github_pat_classic", rng)
    s.tool("Bash", {"command": "cat notes"}, "data:image/png;base64,iVBORw0KGgo= and then " + t.text)
    res = _scan(s, tmp_path)
    assert ("github_pat_classic", "tool_output") in _found(res)
    assert not res.skipped


def test_content_of_an_unexpected_shape_is_scanned_not_dropped(tmp_path: Path) -> None:
    s, rng = _session(tmp_path, 11)
    a, b, c = (sample(r, rng) for r in ("npm_token", "gitlab_pat", "slack_bot_token"))
    _user(s, {"type": "text", "text": a.text})  # an object where a list or a string was expected
    _assistant(s, ["a bare string block " + b.text])
    s.lines.append({**s._common(), "type": "system", "subtype": "x", "content": [{"text": c.text}]})
    found = _found(_scan(s, tmp_path))
    assert {("npm_token", "prompt"), ("gitlab_pat", "assistant"), ("slack_bot_token", "context")} <= found
