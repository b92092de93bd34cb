"""`stockade scan` as a user runs it: exit codes, formats, paths, suppressions.

Fake secrets are generated at test time (GitHub classic tokens with a valid
CRC32 tail), so the repository itself scans clean.  Every test that prints
checks that the raw value is nowhere in stdout or stderr.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import string
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from stockade.cli import main
from stockade.model import Finding

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def github_token() -> str:
    # Letters and digits alternate, so no word ("todo", "fake") can appear by chance
    # and make a detector take the token for a placeholder.
    body = "".join(
        random.choice(string.ascii_letters if i % 2 else string.digits) for i in range(30)
    )
    crc = zlib.crc32(body.encode())
    tail = ""
    for _ in range(6):
        crc, r = divmod(crc, 62)
        tail = B62[r] + tail
    return "ghp_" + body + tail


class _StandIn:
    """Used only while stockade.dlp.Engine is not importable (parallel work)."""

    _re = re.compile(r"ghp_[A-Za-z0-9]{36}")

    def scan(self, text: str, *, path: str | None = None) -> list[Finding]:
        out = []
        for m in self._re.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            out.append(
                Finding("github_pat_classic", "secret", m.start(), m.end(), line, col, line,
                        col + 40, 0.99, "ghp_****" + m.group()[-2:])
            )
        return out


@pytest.fixture(autouse=True)
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # No user policy, state key or cache of the developer's leaks into these tests.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("STOCKADE_POLICY", raising=False)
    try:
        from stockade.dlp import Engine  # noqa: F401
    except ImportError:
        import stockade.commands.scan as scan_cmd

        monkeypatch.setattr(scan_cmd, "make_engine", lambda dlp: _StandIn())


def run_scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _err = run_scan(capsys, "--format", "json", *args)
    return code, json.loads(out)


def assert_hidden(value: str, *texts: str) -> None:
    for t in texts:
        assert value not in t
        assert value[4:] not in t  # not even without its well-known prefix


def write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


FINDING_KEYS = {"path", "line", "column", "end_line", "rule_id", "label", "confidence", "preview"}


def check_schema(doc: dict[str, Any]) -> None:
    assert set(doc) >= {"findings", "skipped", "stats"}
    for f in doc["findings"]:
        assert set(f) == FINDING_KEYS
        assert isinstance(f["line"], int) and isinstance(f["column"], int)
        assert isinstance(f["confidence"], float | int) and 0 <= f["confidence"] <= 1
        assert not f["path"].startswith("/")
    for s in doc["skipped"]:
        assert set(s) == {"path", "reason"}
    assert set(doc["stats"]) == {"files", "bytes", "seconds", "skipped", "ignored"}


def test_clean_tree_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "app.py", "def add(a, b):\n    return a + b\n")
    code, doc = scan_json(capsys, str(tmp_path))
    assert code == 0
    check_schema(doc)
    assert doc["findings"] == [] and doc["stats"]["files"] == 1
    assert doc["stats"]["bytes"] == len("def add(a, b):\n    return a + b\n")


def test_finding_exits_1_with_relative_path_and_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = github_token()
    write(tmp_path, "pkg/settings.py", f"import os\n\nGITHUB_TOKEN = '{token}'\n")
    code, out, err = run_scan(capsys, "--format", "json", str(tmp_path))
    assert code == 1
    doc = json.loads(out)
    check_schema(doc)
    (f,) = [f for f in doc["findings"] if f["label"] == "secret"]
    assert f["path"] == "pkg/settings.py"
    assert (f["line"], f["column"], f["end_line"]) == (3, 17, 3)
    assert f["rule_id"].startswith("github")
    assert_hidden(token, out, err)


def test_table_and_sarif_never_show_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = github_token()
    write(tmp_path, "a.env", f"GH_TOKEN={token}\n")
    code, out, err = run_scan(capsys, str(tmp_path))
    assert code == 1 and "a.env:1:10" in out
    assert_hidden(token, out, err)
    code, out, err = run_scan(capsys, "--format", "sarif", str(tmp_path))
    assert code == 1
    assert_hidden(token, out, err)
    assert json.loads(out)["version"] == "2.1.0"


def test_inline_allow_suppresses_visibly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = github_token()
    write(tmp_path, "fixture.py", f"T = '{token}'  # stockade: allow github*\n")
    code, doc = scan_json(capsys, str(tmp_path))
    assert code == 0
    assert doc["findings"] == []
    (s,) = doc["suppressed"]
    assert s["path"] == "fixture.py" and s["suppressed_by"] == "inline"
    # An allow for another rule does not hide it.
    write(tmp_path, "fixture.py", f"T = '{token}'  # stockade: allow aws-access-key-id\n")
    code, doc = scan_json(capsys, str(tmp_path))
    assert code == 1 and doc["suppressed"] == []
    code, out, _ = run_scan(capsys, str(tmp_path / "fixture.py"))
    assert code == 1


def test_inline_allow_in_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = github_token()
    write(tmp_path, "f.py", f"T = '{token}'  # stockade: allow github_pat_classic, github-*\n")
    code, out, err = run_scan(capsys, str(tmp_path))
    assert code == 0
    assert "suppressed (1)" in out and "[inline]" in out
    assert_hidden(token, out, err)


def test_baseline_survives_edits_above(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    token = github_token()
    write(tree, "cfg.py", f"TOKEN = '{token}'\n")
    baseline = tmp_path / "baseline.json"
    code, doc = scan_json(capsys, "--write-baseline", str(baseline), str(tree))
    assert code == 0 and doc["findings"] == []
    assert token not in baseline.read_text() and token[4:] not in baseline.read_text()
    # Lines added above move the finding; the baseline still accepts it.
    write(tree, "cfg.py", f"# header\n\n\nTOKEN = '{token}'\n")
    code, doc = scan_json(capsys, "--baseline", str(baseline), str(tree))
    assert code == 0
    assert [s["suppressed_by"] for s in doc["suppressed"]] == ["baseline"]
    # A new secret is not covered; the same secret in another file is not either.
    fresh = github_token()
    write(tree, "cfg.py", f"# header\nNEW = '{fresh}'\n\nTOKEN = '{token}'\n")
    write(tree, "copy.py", f"TOKEN = '{token}'\n")
    code, out, err = run_scan(capsys, "--format", "json", "--baseline", str(baseline), str(tree))
    assert code == 1
    doc = json.loads(out)
    assert sorted((f["path"], f["line"]) for f in doc["findings"]) == [("cfg.py", 2), ("copy.py", 1)]
    assert_hidden(token, out, err)
    assert_hidden(fresh, out, err)


def test_bad_baseline_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("{}")
    code, _out, err = run_scan(capsys, "--baseline", str(bad), str(tmp_path))
    assert code == 2 and "baseline" in err


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_scan(capsys, str(tmp_path / "nope"))
    assert code == 2 and "no such file" in err


def test_gitignored_files_are_skipped_unless_all_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = github_token()
    write(tmp_path, ".gitignore", "*.local\n")
    write(tmp_path, "dev.local", f"T={token}\n")
    code, doc = scan_json(capsys, str(tmp_path))
    assert code == 0 and doc["stats"]["files"] == 1
    code, doc = scan_json(capsys, "--all-files", str(tmp_path))
    assert code == 1 and doc["findings"][0]["path"] == "dev.local"


def test_binaries_are_skipped_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = github_token()
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" + token.encode() + b"\x00")
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9 " + token.encode())
    code, doc = scan_json(capsys, str(tmp_path))
    assert code == 1  # the Latin-1 file is text: scanned
    assert [f["path"] for f in doc["findings"]] == ["latin.txt"]
    reasons = {s["path"]: s["reason"] for s in doc["skipped"]}
    assert reasons == {"blob.bin": "binary (NUL bytes)"}
    assert doc["stats"]["skipped"] == 1


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    token = github_token()
    data = f"line one\nexport GITHUB_TOKEN={token}\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = run_scan(capsys, "--stdin", "--format", "json")
    assert code == 1
    (f,) = json.loads(out)["findings"]
    assert f["path"] == "<stdin>" and f["line"] == 2
    assert_hidden(token, out, err)


def test_stdin_with_paths_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_scan(capsys, "--stdin", ".")
    assert code == 2 and "--stdin" in err


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def test_staged_scans_the_index_not_the_worktree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    token = github_token()
    write(repo, "src/app.py", f"TOKEN = '{token}'\n")
    write(repo, "notes.txt", "nothing\n")
    git(repo, "add", "src/app.py", "notes.txt")
    # The working copy was cleaned after staging: the commit would still carry the token.
    write(repo, "src/app.py", "TOKEN = os.environ['TOKEN']\n")
    # An unstaged file with a secret is not part of the commit.
    write(repo, "scratch.py", f"T = '{github_token()}'\n")
    monkeypatch.chdir(repo / "src")
    code, out, err = run_scan(capsys, "--staged", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert [(f["path"], f["line"]) for f in doc["findings"]] == [("src/app.py", 1)]
    assert doc["stats"]["files"] == 2
    assert_hidden(token, out, err)
    # Staging the clean version makes the commit clean.
    git(repo, "add", "src/app.py")
    code, out, _ = run_scan(capsys, "--staged", "--format", "json")
    assert code == 0, out


def test_staged_outside_a_repository_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    code, _, err = run_scan(capsys, "--staged")
    assert code == 2 and "git" in err


def test_invalid_policy_stops_the_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("dlp:\n  rules:\n    - {id: x, label: regulated, regex: '(unclosed'}\n")
    write(tmp_path, "a.txt", "hello\n")
    code, out, err = run_scan(capsys, "--policy", str(policy), str(tmp_path / "a.txt"))
    assert code == 2 and "policy.yaml" in err
    assert out == ""


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_for_large_trees() -> None:
    from stockade.commands.scan import _progress_factory

    assert _progress_factory(io.StringIO())(10_000, 10**9) is None  # not a terminal
    tty = FakeTty()
    assert _progress_factory(tty)(3, 100) is None  # small tree
    progress = _progress_factory(tty)(5000, 10**8)
    assert progress is not None
    progress(5000, 5000, 10**8)
    assert "5000/5000 files" in tty.getvalue()
