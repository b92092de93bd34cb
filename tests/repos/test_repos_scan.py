"""`stockade repos scan`: repositories found and classified without a value
in any output; --suggest-policy gives a snippet `stockade policy check`
accepts, routing exactly the sensitive repositories."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stockade.dlp.fakes import sample


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stockade", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "me"),
            "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def _repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, list[str], dict[str, Path]]:
    rng = random.Random(21)
    values: list[str] = []

    def put(path: Path, *rules: str) -> None:
        texts = []
        for r in rules:
            s = sample(r, rng)
            values.append(s.value)
            texts.append(s.text)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(texts) + "\n")

    root = tmp_path / "src"
    pay = _repo(root / "team-a" / "payments")
    put(pay / "db" / "customers.sql", "us_ssn", "email", "iban")
    put(pay / "config" / "prod.yaml", "stripe_secret_key")
    (pay / ".gitignore").write_text(".env\n")
    put(pay / ".env", "aws_access_key_id")  # ignored by git: only with --all-files
    web = _repo(root / "team-b" / "deep" / "er" / "web")
    put(web / "src" / "settings.py", "github_pat_classic", "slack_bot_token")
    clean = _repo(root / "team-b" / "docs")
    (clean / "README.md").write_text("# docs\nnothing to see\n")
    odd = _repo(root / "we[ird]*?\"\n  evil: 1")  # a hostile directory name
    put(odd / "notes.txt", "email")
    put(root / "not-a-repo" / "dump.txt", "us_ssn")
    return root, values, {"payments": pay, "web": web, "docs": clean, "odd": odd}


def test_repositories_are_found_and_classified(roots, env) -> None:
    root, values, repos = roots
    r = cli("repos", "scan", str(root), "--format", "json", env=env)
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    by = {Path(x["path"]).name: x for x in data["repositories"]}
    assert set(by) == {"payments", "web", "docs", repos["odd"].name}  # not-a-repo is no repository
    pay = by["payments"]
    assert pay["level"] == "secret"
    assert pay["labels"] == {"pii": 3, "secret": 1}
    assert pay["rules"] == {"us_ssn": 1, "email": 1, "iban": 1, "stripe_secret_key": 1}
    assert pay["top_files"][0] == {"path": "db/customers.sql", "findings": 3}
    assert by["web"]["labels"] == {"secret": 2}
    assert by["docs"]["findings"] == 0 and by["docs"]["level"] == "clean"
    every = r.stdout + r.stderr + cli("repos", "scan", str(root), env=env).stdout
    for v in values:
        assert v not in every


def test_all_files_includes_what_gitignore_hides(roots, env) -> None:
    _, _, repos = roots
    r = cli("repos", "scan", str(repos["payments"]), "--all-files", "--format", "json", env=env)
    data = json.loads(r.stdout)
    assert data["repositories"][0]["rules"]["aws_access_key_id"] == 1


def test_suggested_policy_passes_policy_check_and_routes_sensitive_repos(roots, env,
                                                                           tmp_path: Path) -> None:
    root, values, repos = roots
    r = cli("repos", "scan", str(root), "--suggest-policy", env=env)
    assert r.returncode == 1, r.stderr
    snippet = tmp_path / "suggested.yaml"
    snippet.write_text(r.stdout)
    for layer in ((), ("--layer", "user"), ("--layer", "managed")):
        chk = cli("policy", "check", *layer, str(snippet), env=env)
        assert chk.returncode == 0, chk.stdout + chk.stderr
    doc = yaml.safe_load(r.stdout)
    assert set(doc) == {"version", "models", "dlp"}  # the hostile name added no key
    assert doc["dlp"]["actions"]["secret"] == "block"
    routed = {x["repository"] for x in doc["models"]["routes"]}
    assert all(x["upstream"] == "local" for x in doc["models"]["routes"])
    from fnmatch import fnmatchcase

    for name in ("payments", "web", "odd"):
        assert any(fnmatchcase(str(repos[name]), g) for g in routed), name
        assert any(fnmatchcase(str(repos[name] / "sub" / "dir"), g) for g in routed), name
    assert not any(fnmatchcase(str(repos["docs"]), g) for g in routed)
    # the escaped glob of the odd name matches it, and not a look-alike
    assert not any(fnmatchcase(str(repos["odd"].parent / "weXrd"), g) for g in routed)
    for v in values:
        assert v not in r.stdout


def test_each_scan_is_recorded_in_the_ledger(roots, env) -> None:
    root, values, _ = roots
    cli("repos", "scan", str(root), env=env)
    db = next(Path(env["STOCKADE_HOME"]).rglob("ledger.db"))
    con = sqlite3.connect(db)
    try:
        tables = [t[0] for t in con.execute("select name from sqlite_master where type='table'")]
        text = "\n".join(str(row) for t in tables for row in con.execute(f"select * from {t}"))
    finally:
        con.close()
    assert "repos.scan" in text and '"repositories":4' in text.replace(" ", "")
    for v in values:
        assert v not in text


def test_a_missing_root_is_a_usage_error(env) -> None:
    r = cli("repos", "scan", "/nonexistent/dir", env=env)
    assert r.returncode == 2 and "not a directory" in r.stderr and "hint:" in r.stderr
