"""A value can reach a report through what is not scanned as content: the
project path, the branch, a model name, a session id, the transcript's own
path (Claude Code names it after the working directory), an aider project
folder, or a command line (a password as ``-p``, ``-u user:pw``, a URL's
userinfo, a git remote, ``TOKEN=``).  None of them may print it in any format,
on stderr, or in the ledger."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from fakehome import AiderHistory, ClaudeSession, Clock, CodexSession, recent
from historyworld import run_cli

from stockade.dlp.fakes import sample


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, list[str]]:
    rng = random.Random(31)
    home = tmp_path / "home" / "eve"
    values: list[str] = []

    def value(rule: str) -> str:
        v = sample(rule, rng).value
        values.append(v)
        return v

    pw = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(18))
    values.append(pw)
    tok_dir = value("github_pat_classic")
    s = ClaudeSession(home, f"/srv/{tok_dir}/app", clock=Clock(recent(1)), rng=rng,
                      branch="fix/" + value("gitlab_pat"), model="m-" + value("npm_token"))
    s.id = value("slack_bot_token")  # a session id is a transcript's word, not ours
    s.path = s.path.with_name(f"{s.id}.jsonl")
    s.prompt("deploy it")
    for cmd in (f"mysql -u root -p{pw} shop", f"curl -u admin:{pw} https://h.example/api",
                f"psql postgres://bob:{pw}@db.example/app",
                f"git remote add origin https://bob:{pw}@git.example/r.git && git push origin main",
                f"docker login -u bob -p {pw} registry.example", f"DEPLOY_TOKEN={pw} ./deploy.sh",
                f"./manage.py createsuperuser --password {pw}"):
        s.tool("Bash", {"command": cmd}, "ok")
    s.tool("WebFetch", {"url": f"https://bob:{pw}@intranet.example/wiki"}, "ok")
    s.raw("{not json")
    s.write()

    x = CodexSession(home, f"/work/{value('stripe_secret_key')}", clock=Clock(recent(1)), rng=rng,
                     branch=value("openai_api_key"))
    x.run(f"git clone https://deploy:{pw}@git.example/infra.git", "Cloning")
    x.write()

    a = AiderHistory(home / "src" / value("anthropic_api_key"))
    a.start(recent(1))
    a.user(f"/run curl -u admin:{pw} https://h.example")
    a.write()
    return home, values


def test_no_identifier_or_command_prints_a_value(planted: tuple[Path, list[str]], cli_env,
                                                  tmp_path: Path) -> None:
    home, values = planted
    outputs: list[str] = []
    data = None
    for fmt in ("json", "table", "html"):
        r = run_cli("history", "--home", str(home), "--format", fmt, env=cli_env)
        assert r.returncode in (0, 1), r.stderr
        outputs += [r.stdout, r.stderr]
        if fmt == "json":
            data = json.loads(r.stdout)
    ledger = b"".join(p.read_bytes() for p in Path(cli_env["STOCKADE_HOME"]).rglob("*") if p.is_file())
    for v in values:
        for out in outputs:
            assert v not in out
        assert v.encode() not in ledger
    assert data is not None
    # the report is still useful: the sessions, commands and destinations are there, masked
    agents = sorted(s["agent"] for s in data["sessions"])
    assert agents == ["aider", "claude-code", "codex"]
    claude = next(s for s in data["sessions"] if s["agent"] == "claude-code")
    assert claude["project"].startswith("/srv/ghp_") and "*" in claude["project"]
    assert claude["branch"].startswith("fix/") and "*" in claude["branch"]
    targets = [a["target"] for a in data["actions"]]
    assert any(t.startswith("mysql -u root -p*") for t in targets)
    assert any(t.startswith("https://bob:*") and t.endswith("@intranet.example/wiki") for t in targets)
    assert any(k["reason"] == "not valid JSON" and "*" in k["file"] for k in data["skipped"])
