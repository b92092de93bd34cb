"""`stockade repos scan` prints paths: a file or a repository named after the
token it holds must not print the token (table, JSON, policy snippet), the
snippet must still route that repository, and a file name that is not UTF-8
must not end the report."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml

from stockade.dlp.fakes import sample


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stockade", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False, errors="surrogateescape")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "me"),
            "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_paths_named_after_secrets_are_masked_and_still_routed(tmp_path: Path, env) -> None:
    rng = random.Random(51)
    in_file = sample("github_pat_classic", rng)
    repo_name = sample("gitlab_pat", rng).value
    repo = tmp_path / "src" / repo_name
    (repo / ".git").mkdir(parents=True)
    (repo / "keys").mkdir()
    (repo / "keys" / f"{in_file.value}.txt").write_text(in_file.text + "\n")
    # a file name that is not UTF-8, holding a secret
    with open(os.fsencode(repo) + b"/caf\xe9.env", "w") as fh:
        fh.write(sample("aws_access_key_id", rng).text + "\n")

    outs = {fmt: cli("repos", "scan", str(tmp_path / "src"), "--format", fmt, env=env)
            for fmt in ("table", "json")}
    policy = cli("repos", "scan", str(tmp_path / "src"), "--suggest-policy", env=env)
    for r in (*outs.values(), policy):
        assert r.returncode == 1, r.stderr
        for v in (in_file.value, repo_name):
            assert v not in r.stdout and v not in r.stderr
    data = json.loads(outs["json"].stdout)
    [rep] = data["repositories"]
    assert rep["rules"] == {"github_pat_classic": 1, "aws_access_key_id": 1}
    assert any(f["path"].startswith("keys/ghp_") and "*" in f["path"] for f in rep["top_files"])
    doc = yaml.safe_load(policy.stdout)
    globs = [x["repository"] for x in doc["models"]["routes"]]
    assert any(fnmatchcase(str(repo), g) for g in globs)  # masked, yet still this repository
    assert any(fnmatchcase(str(repo / "keys"), g) for g in globs)
