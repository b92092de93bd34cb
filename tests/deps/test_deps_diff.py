"""`--diff BASE` per manifest format, against a real git repository: what
changed in a way that fetches other code must be checked again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stockade.deps import manifests
from stockade.deps.service import added_since

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def _added(tmp_path: Path, name: str, before: str, after: str) -> list[tuple[str, str | None]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run([*GIT, "init", "-q"], cwd=repo, check=True)
    (repo / name).write_text(before)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=repo, check=True)
    (repo / name).write_text(after)
    found = manifests.find(repo)
    specs = [s for m in found for s in manifests.read(m)]
    return [(s.name, s.direct or s.index) for s in added_since("HEAD", found, specs, cwd=repo)]


@pytest.mark.parametrize(("name", "before", "after", "added"), [
    # a direct reference that now points elsewhere
    ("requirements.txt", "requests\nfoo @ https://good.example/foo.whl\n",
     "requests\nfoo @ https://evil.example/foo.whl\n",
     [("foo", "https://evil.example/foo.whl")]),
    # an index added: every package may now come from it
    ("requirements.txt", "requests\n",
     "--extra-index-url https://priv.example/simple\nrequests\n",
     [("requests", "https://priv.example/simple")]),
    # an npm alias: same key, another package
    ("package.json", '{"dependencies": {"react": "^18", "lodash": "^4"}}',
     '{"dependencies": {"react": "npm:evil-zz@1.0.0", "lodash": "^4"}}', [("evil-zz", None)]),
    # a git dependency (was skipped: not a registry package)
    ("Cargo.toml", '[dependencies]\nserde = "1"\n',
     '[dependencies]\nserde = "1"\nrand = { git = "https://evil.example/rand" }\n',
     [("rand", "https://evil.example/rand")]),
    ("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.11"\n',
     '[tool.poetry.dependencies]\npython = "^3.11"\nfoo = {git = "https://evil.example/f"}\n',
     [("foo", "https://evil.example/f")]),
    # go.mod replace: what is built is the replacement
    ("go.mod", "module m\n\nrequire github.com/good/x v1.0.0\n",
     "module m\n\nrequire github.com/good/x v1.0.0\n\n"
     "replace github.com/good/x => github.com/evil/x v1.0.0\n",
     [("github.com/evil/x", None)]),
    ("go.mod", "module m\n\nrequire github.com/good/x v1.0.0\n",
     "module m\n\nrequire github.com/good/x v1.0.0\n\nreplace github.com/good/x => ../x\n", []),
])
def test_diff_flags_changes_that_fetch_other_code(tmp_path: Path, name: str, before: str,
                                                  after: str,
                                                  added: list[tuple[str, str | None]]) -> None:
    """Regression: the diff compared (name, version) only, so re-pointing a
    URL, adding an index or a replace went unnoticed; git/url tables and
    replace lines were not read at all."""
    assert _added(tmp_path, name, before, after) == added
