"""First-use paths of `stockade deps check`: every error says what to do, a
repository with no commits yet is no "no such commit", an empty version after
``==`` is a bad spec, and the deciding finding is listed first."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.deps import manifests
from stockade.deps.model import Finding, Result, Spec
from stockade.deps.names import BadSpec, parse
from stockade.deps.report import write_table
from stockade.deps.service import added_since
from stockade.errors import UsageError

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stockade", "deps", "check", "--no-ledger",
                           *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_a_missing_path_has_a_hint(tmp_path: Path, deps_env: dict[str, str]) -> None:
    r = _cli(str(tmp_path / "nonexistent"), cwd=tmp_path, env=deps_env)
    assert r.returncode == 2
    assert "no such file or directory" in r.stderr and "hint:" in r.stderr


def test_diff_outside_git_has_a_hint(tmp_path: Path, deps_env: dict[str, str]) -> None:
    (tmp_path / "requirements.txt").write_text("requests\n")
    r = _cli("--diff", "HEAD", cwd=tmp_path, env=deps_env)
    assert r.returncode == 2
    assert "needs a git repository" in r.stderr and "hint:" in r.stderr


def test_diff_in_a_repository_without_commits_checks_everything(tmp_path: Path) -> None:
    subprocess.run([*GIT, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "requirements.txt").write_text("requests\nflask\n")
    found = manifests.find(tmp_path)
    specs = [s for m in found for s in manifests.read(m)]
    added = added_since("HEAD", found, specs, cwd=tmp_path)
    assert [s.name for s in added] == ["requests", "flask"]


def test_diff_with_a_bad_revision_in_a_real_history_is_still_refused(tmp_path: Path) -> None:
    subprocess.run([*GIT, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "requirements.txt").write_text("requests\n")
    subprocess.run([*GIT, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    found = manifests.find(tmp_path)
    with pytest.raises(UsageError, match="no such commit"):
        added_since("no-such-branch", found, [], cwd=tmp_path)


def test_invalid_toml_hint_names_no_command_that_does_not_exist(tmp_path: Path) -> None:
    bad = tmp_path / "pyproject.toml"
    bad.write_text("[project\nx=")
    with pytest.raises(UsageError) as exc:
        manifests.read(bad)
    assert "pyproject.toml:1" in exc.value.message
    assert exc.value.hint and "python -m tomllib" not in exc.value.hint


@pytest.mark.parametrize("text", ["requests==", "requests ==", "requests>=", "requests~=  ",
                                  "requests>=1.0,<", "requests== ; python_version>'3'"])
def test_an_operator_without_a_version_is_a_bad_spec(text: str) -> None:
    with pytest.raises(BadSpec) as exc:
        parse("pypi", text)
    assert exc.value.hint and "==1.2.3" in exc.value.hint


@pytest.mark.parametrize(("text", "version"), [("requests", None), ("requests==2.0", "2.0"),
                                               ("requests>=2,<3", None),
                                               ("requests ; python_version>'3'", None)])
def test_well_formed_specs_still_parse(text: str, version: str | None) -> None:
    s = parse("pypi", text)
    assert s is not None and s.name == "requests" and s.version == version


def test_a_requirements_line_with_an_empty_version_names_its_line(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("flask\nrequests==\n")
    with pytest.raises(UsageError) as exc:
        manifests.read(req, display="requirements.txt")
    assert "requirements.txt:2" in exc.value.message


def test_block_is_listed_before_ask_for_one_package() -> None:
    r = Result(Spec("pypi", "evil", None, "requirements.txt", 1, "evil"),
               (Finding("new", "ask", "published 2 days ago"),
                Finding("malicious", "block", "MAL-2026-1")))
    out = io.StringIO()
    write_table([r], out)
    rows = [ln.split()[0] for ln in out.getvalue().splitlines()[1:3]]
    assert rows == ["block", "ask"]
