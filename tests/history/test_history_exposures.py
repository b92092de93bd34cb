"""`stockade history` over fake homes: every planted value is reported once,
in its session, from the right source, and never in clear anywhere."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from historyworld import HOSTILE_PROJECT, World, run_cli


def _json(world: World, env: dict[str, str], *extra: str) -> dict:
    r = run_cli("history", "--home", str(world.alice), "--home", str(world.bob),
                "--format", "json", *extra, env=env)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def test_every_planted_exposure_is_reported_once_in_its_session(world: World, cli_env) -> None:
    data = _json(world, cli_env)
    got = Counter((e["session_id"], e["rule_id"]) for e in data["exposures"])
    for p in world.plants.items:
        assert got[(p.session_id, p.rule_id)] == 1, (p.rule_id, p.agent, got)
    # and each planted value is attributed to the source it was planted in
    by_key = {(e["session_id"], e["rule_id"]): e for e in data["exposures"]}
    for p in world.plants.items:
        assert by_key[(p.session_id, p.rule_id)]["source"] == p.source, p


def test_file_reads_carry_the_path_and_previews_are_masked(world: World, cli_env) -> None:
    data = _json(world, cli_env)
    reads = {e["rule_id"]: e for e in data["exposures"] if e["source"] == "file_read"}
    assert reads["github_pat_classic"]["path"] == "/work/alice/payments/.env"
    assert reads["stripe_secret_key"]["path"] == "/work/alice/infra/secrets.txt"
    assert all("*" in e["preview"] for e in data["exposures"])
    assert all(e["timestamp"] for e in data["exposures"])


def test_sessions_have_project_branch_user_span_and_models(world: World, cli_env) -> None:
    data = _json(world, cli_env)
    sessions = {s["id"]: s for s in data["sessions"]}
    c = sessions[world.sessions["claude"]]
    assert (c["agent"], c["project"], c["branch"]) == ("claude-code", "/work/alice/payments", "feature/refund")
    assert c["models"] == ["claude-opus-4-8"] and c["start"] < c["end"] and c["user"]
    x = sessions[world.sessions["codex"]]
    assert (x["agent"], x["project"], x["branch"], x["models"]) == (
        "codex", "/work/alice/infra", "dev", ["gpt-5-codex"])
    a = sessions[world.sessions["aider2"]]
    assert a["agent"] == "aider" and a["project"].endswith("/bob/src/webapp")
    assert a["models"] == ["openai/gpt-4o"]
    assert sessions[world.sessions["hostile"]]["project"] == HOSTILE_PROJECT
    assert world.old_session not in sessions  # last active 200 days ago


def test_since_all_includes_old_sessions_and_agent_filters(world: World, cli_env) -> None:
    data = _json(world, cli_env, "--since", "all")
    assert world.old_session in {s["id"] for s in data["sessions"]}
    only = _json(world, cli_env, "--agent", "aider")
    assert {s["agent"] for s in only["sessions"]} == {"aider"}
    assert {e["session_id"] for e in only["exposures"]} == {world.sessions["aider1"], world.sessions["aider2"]}


def test_actions_commands_files_network_packages(world: World, cli_env) -> None:
    data = _json(world, cli_env)
    acts = data["actions"]
    by_kind: dict[str, list[dict]] = {}
    for a in acts:
        by_kind.setdefault(a["kind"], []).append(a)
    net = {a["target"] for a in by_kind["network"]}
    assert "https://api.payments.example/v1/refunds" in net  # curl
    assert "https://docs.payments.example/refunds" in net     # WebFetch
    assert any(t.endswith("@git.corp.net/repo.git") and "*" in t for t in net)  # git push, masked
    written = {a["target"] for a in by_kind["file_written"]}
    assert {"/work/alice/payments/refund.py", "src/deploy.py", "config.py"} <= written
    assert {a["target"] for a in by_kind["file_shared"]} == {"config.py"}
    pkgs = {(a["ecosystem"], tuple(a["packages"])): a for a in by_kind["package"]}
    assert ("pypi", ("requests==2.32.3", "leftpad-py")) in pkgs
    assert ("npm", ("left-pad@1.3.0",)) in pkgs
    assert all(a["verdict"] for a in pkgs.values())
    cmds = {a["target"] for a in by_kind["command"]}
    assert "cat secrets.txt" in cmds and "env | grep IBAN" in cmds
    curl = next(c for c in cmds if c.startswith("curl"))
    assert "Bearer ***" in curl  # the token in the command line is masked


def test_bad_lines_are_reported_with_file_line_and_reason(world: World, cli_env) -> None:
    data = _json(world, cli_env)
    reasons = Counter(s["reason"] for s in data["skipped"])
    assert reasons["not valid JSON"] == 3
    assert reasons["not a JSON object"] == 1
    assert reasons["unknown line type brand-new-line-kind"] == 1
    assert reasons["unknown line type mystery_line"] == 1
    assert reasons["unknown response_item type hologram"] == 1
    claude_file = next(s for s in data["skipped"] if s["reason"] == "not a JSON object")
    assert claude_file["file"].endswith(world.sessions["claude"] + ".jsonl") and claude_file["line"] > 1


def test_nothing_is_printed_in_clear(world: World, cli_env, tmp_path: Path) -> None:
    outputs: list[str] = []
    for fmt in ("table", "json", "html"):
        r = run_cli("history", "--home", str(world.alice), "--home", str(world.bob), "--since", "all",
                    "--format", fmt, env=cli_env)
        assert r.returncode == 1, r.stderr
        outputs += [r.stdout, r.stderr]
    out_file = tmp_path / "report.html"
    r = run_cli("history", "--home", str(world.alice), "--home", str(world.bob), "--format", "html",
                "--out", str(out_file), env=cli_env)
    outputs += [r.stdout, r.stderr, out_file.read_text()]
    ledger = b"".join(p.read_bytes() for p in Path(cli_env["STOCKADE_HOME"]).rglob("*") if p.is_file())
    for p in world.plants.items:
        for text in outputs:
            assert p.value not in text, (p.rule_id, "printed in clear")
        assert p.value.encode() not in ledger, (p.rule_id, "in the state directory")
    assert "\x1b" not in "".join(outputs)  # a transcript's escape sequence never reaches the terminal


def test_each_run_is_recorded_in_the_ledger(world: World, cli_env) -> None:
    _json(world, cli_env)
    db = next(Path(cli_env["STOCKADE_HOME"]).rglob("ledger.db"))
    con = sqlite3.connect(db)
    try:
        names = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        rows = [r for t in names for r in con.execute(f"select * from {t}")]
    finally:
        con.close()
    text = "\n".join(str(r) for r in rows)
    assert "history.run" in text and '"exposures":11' in text.replace(" ", "")


def test_claude_config_dir_is_honoured_for_your_own_home(tmp_path: Path, cli_env) -> None:
    import random

    from fakehome import ClaudeSession, Clock, Plants, recent

    rng = random.Random(3)
    plants = Plants()
    cfg = tmp_path / "claude-config"
    s = ClaudeSession(tmp_path / "unused", "/srv/app", clock=Clock(recent(1)), rng=rng, config_dir=cfg)
    t, _ = plants.plant(rng, "gitlab_pat", session=s.id, source="prompt", agent="claude-code")
    s.prompt(t)
    s.write()
    env = dict(cli_env, CLAUDE_CONFIG_DIR=str(cfg))
    r = run_cli("history", "--format", "json", env=env)
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert [(e["session_id"], e["rule_id"]) for e in data["exposures"]] == [(s.id, "gitlab_pat")]


@pytest.mark.parametrize("args,needle", [
    (("--since", "last tuesday"), "--since"),
    (("--agent", "cursor"), "unknown agent cursor"),
    (("--home", "/nonexistent/home"), "not a directory"),
])
def test_bad_arguments_are_refused_with_a_hint(args: tuple[str, ...], needle: str, cli_env) -> None:
    r = run_cli("history", *args, env=cli_env)
    assert r.returncode == 2
    assert needle in r.stderr and "hint:" in r.stderr
