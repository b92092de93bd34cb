"""Readers never trust a transcript: wrong types, huge lines and hostile
values become skips or are ignored, never a crash; a failing dependency
check is reported as data."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from fakehome import ClaudeSession, Clock, CodexSession, Plants, recent
from historyworld import build_world

from stockade.dlp import Engine
from stockade.history import lines
from stockade.history.audit import audit
from stockade.history.discover import Source, discover
from stockade.history.worker import masked, scan_source

ENGINE = Engine(fingerprint_key=b"k" * 32)


def _source(path: Path, agent: str, home: Path) -> Source:
    return Source(str(path), agent, str(home), "tester", path.stat().st_size)


WRONG_TYPES = [
    {"type": "user", "message": 5},
    {"type": "user", "message": {"content": {"not": "a list"}}},
    {"type": "user", "message": {"content": [5, None, {"type": "tool_result", "content": 7}]}},
    {"type": "assistant", "message": {"content": [{"type": "tool_use", "input": "str", "name": 3}]}},
    {"type": "assistant", "message": {"content": [{"type": "tool_use", "name": "Bash",
                                                   "input": {"command": ["not", "a", "string"]}}]}},
    {"type": "assistant", "message": {"content": [{"type": "tool_use", "name": "Bash",
                                                   "input": {"command": "echo $(( \"unclosed"}}]}},
    {"type": "attachment", "attachment": [[[[]]]]},
    {"type": "user", "sessionId": 12, "timestamp": {"x": 1}, "message": {"content": "hi"}},
    {"type": ["user"]},
]


def test_wrong_types_in_claude_lines_never_crash(tmp_path: Path) -> None:
    home = tmp_path / "h"
    s = ClaudeSession(home, "/p", clock=Clock(recent(1)), rng=random.Random(1))
    for obj in WRONG_TYPES:
        s.raw(json.dumps(obj))
    s.raw("[" * 100000 + "]" * 100000)  # nesting deeper than the JSON parser's recursion limit
    path = s.write()
    res = scan_source(_source(path, "claude-code", home), ENGINE)
    assert not [k for k in res.skipped if k.line == 0], res.skipped  # the file was read to the end
    assert any(k.reason == "JSON nested too deeply" for k in res.skipped)
    assert any(k.reason == "user line without a message object" for k in res.skipped)


def test_wrong_types_in_codex_lines_never_crash(tmp_path: Path) -> None:
    home = tmp_path / "h"
    x = CodexSession(home, "/p", clock=Clock(recent(1)), rng=random.Random(2))
    x.raw(json.dumps({"type": "response_item", "payload": []}))
    x.raw(json.dumps({"type": "response_item", "payload": {"type": "function_call", "name": "exec_command",
                                                           "arguments": "{not json"}}))
    x.raw(json.dumps({"type": "response_item", "payload": {"type": "function_call", "name": "exec_command",
                                                           "arguments": json.dumps({"cmd": 5})}}))
    x.raw(json.dumps({"type": "response_item", "payload": {"type": "message", "content": "plain"}}))
    path = x.write()
    res = scan_source(_source(path, "codex", home), ENGINE)
    assert [k.reason for k in res.skipped] == ["response_item line without a payload object"]


def test_a_line_longer_than_the_limit_is_skipped_without_being_held(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "MAX_LINE", 4096)
    home = tmp_path / "h"
    rng = random.Random(5)
    plants = Plants()
    s = ClaudeSession(home, "/p", clock=Clock(recent(1)), rng=rng)
    s.prompt("x" * 10000)  # too long (twice: the queue line holds the prompt too)
    t, _ = plants.plant(rng, "npm_token", session=s.id, source="prompt", agent="claude-code")
    s.prompt(t)  # the next line is still read
    path = s.write()
    res = scan_source(_source(path, "claude-code", home), ENGINE)
    assert [k.reason for k in res.skipped] == ["line longer than 4096 bytes"] * 2
    assert [(e.session_id, e.rule_id) for e in res.exposures] == [(s.id, "npm_token")]


def test_a_failing_dependency_check_is_reported_as_error(tmp_path: Path) -> None:
    home = tmp_path / "h"
    s = ClaudeSession(home, "/p", clock=Clock(recent(1)), rng=random.Random(4))
    s.tool("Bash", {"command": "npm install left-pad && pip install requests"}, "ok")
    path = s.write()

    def broken(eco: str, pkgs: tuple[str, ...]) -> object:
        raise ConnectionError("registry down")

    rep = audit([_source(path, "claude-code", home)], engine=ENGINE, check_install=broken)
    pkgs = [a for a in rep.actions if a.kind == "package"]
    assert {(a.ecosystem, a.verdict) for a in pkgs} == {("npm", "error"), ("pypi", "error")}
    assert all("ConnectionError" in (a.reason or "") for a in pkgs)


def test_symlinked_transcripts_are_not_followed(tmp_path: Path) -> None:
    home = tmp_path / "h"
    proj = home / ".claude" / "projects" / "-p"
    proj.mkdir(parents=True)
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("{}\n")
    (proj / "link.jsonl").symlink_to(target)
    skips: list = []
    found = discover([str(home)], own_home=False, agents=frozenset({"claude-code"}), since=None,
                     env={}, skips=skips)
    assert found == []
    assert [k.reason for k in skips] == ["symbolic link not followed"]


def test_masked_replaces_every_value_in_a_command() -> None:
    from stockade.dlp.fakes import sample

    rng = random.Random(9)
    a = sample("github_pat_classic", rng).value
    b = sample("slack_bot_token", rng).value
    out = masked(ENGINE, f"curl -H 'x: {a}' -d token={b} https://x.example")
    assert a not in out and b not in out and out.startswith("curl -H 'x: ghp_")


def test_aider_history_sessions_lines_and_binary_lines(tmp_path: Path) -> None:
    from fakehome import AiderHistory, aider_session_id

    from stockade.dlp.fakes import sample

    rng = random.Random(12)
    proj = tmp_path / "h" / "proj"
    a = AiderHistory(proj)
    s1 = aider_session_id(a.path, a.start(recent(2)))
    a.user("add a health check")
    a.assistant("Here it is.")
    a.raw("> junk \x00\x01 line  \n")
    s2 = aider_session_id(a.path, a.start(recent(1)))
    secret = sample("gitlab_pat", rng)
    a.user("/run curl -s https://status.example.com/health")
    a.assistant("The token " + secret.value + " is in the reply.")
    path = a.write()
    res = scan_source(_source(path, "aider", proj.parent), ENGINE)
    assert set(res.sessions) == {s1, s2}
    text = path.read_text()
    nul_line = text[: text.index("\x00")].count("\n") + 1
    assert [(k.line, k.reason) for k in res.skipped] == [(nul_line, "binary data in a text history")]
    [exp] = res.exposures
    assert (exp.session_id, exp.rule_id, exp.source) == (s2, "gitlab_pat", "assistant")
    at = int(exp.transcript.rsplit(":", 1)[1])
    assert secret.value in text.splitlines()[at - 1]  # the exposure names the right line
    acts = {(a.session_id, a.kind, a.target) for a in res.actions}
    assert (s2, "network", "https://status.example.com/health") in acts
    assert (s2, "command", "curl -s https://status.example.com/health") in acts


def test_json_report_keeps_the_contract_keys(tmp_path: Path) -> None:
    from stockade.history.render import to_json

    home = tmp_path / "h"
    rng = random.Random(13)
    plants = Plants()
    s = ClaudeSession(home, "/p", clock=Clock(recent(1)), rng=rng)
    t, _ = plants.plant(rng, "iban", session=s.id, source="prompt", agent="claude-code")
    s.prompt(t)
    s.tool("Bash", {"command": "pip install rich"}, "ok")
    s.raw("nope")
    path = s.write()
    data = to_json(audit([_source(path, "claude-code", home)], engine=ENGINE,
                         check_install=lambda e, p: type("V", (), {"action": "allow", "reason": ""})()))
    assert {"sessions", "exposures", "actions", "skipped"} <= set(data)
    assert {"id", "agent", "project", "branch", "user", "start", "end", "models"} <= set(data["sessions"][0])
    assert {"session_id", "rule_id", "label", "timestamp", "source", "path", "preview"} <= set(
        data["exposures"][0])
    assert {"file", "line", "reason"} == set(data["skipped"][0])
    pkg = next(a for a in data["actions"] if a["kind"] == "package")
    assert {"session_id", "kind", "timestamp", "target", "ecosystem", "packages", "verdict"} <= set(pkg)
    json.dumps(data)  # serialisable as is


def test_the_process_pool_finds_what_one_process_finds(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.history import audit as audit_mod

    world = build_world(tmp_path / "w", seed=17)
    skips: list = []
    sources = discover([str(world.alice), str(world.bob)], own_home=False,
                       agents=frozenset({"claude-code", "codex", "aider"}), since=None, env={},
                       skips=skips)
    one = audit(sources, engine=ENGINE, jobs=1)
    monkeypatch.setattr(audit_mod, "POOL_MIN_BYTES", 0)
    seen: list[tuple[int, int]] = []
    many = audit(sources, engine=ENGINE, jobs=2, progress=lambda d, t, b: seen.append((d, t)))

    def key(rep: audit_mod.Report) -> tuple:
        return (sorted((e.session_id, e.rule_id, e.preview) for e in rep.exposures),
                sorted((a.session_id, a.kind, a.target, a.count) for a in rep.actions),
                sorted((s.id, s.start, s.end) for s in rep.sessions), sorted(rep.skipped))

    assert key(one) == key(many) and len(one.exposures) >= len(world.plants.items)
    assert seen[-1] == (len(sources), len(sources))


def test_progress_bar_only_on_a_terminal_and_for_large_sets() -> None:
    import io

    from stockade.history.runtime import progress_bar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress_bar(io.StringIO(), total_bytes=1 << 40, verb="reading") is None
    assert progress_bar(Tty(), total_bytes=10, verb="reading") is None
    tty = Tty()
    bar = progress_bar(tty, total_bytes=100 << 20, verb="reading")
    assert bar is not None
    bar(1, 2, 50 << 20)
    bar(2, 2, 100 << 20)
    assert "reading [###############---------------] 1/2 files" in tty.getvalue()
    assert tty.getvalue().endswith("\r")  # cleared when done
