"""Bypass class: paths compared before symlinks are resolved.

With ``$HOME`` a symlink (``/home/me -> /data/me``), the workspace check
compared the resolved workspace with the unresolved home, so ``/data/me``
itself was accepted as the workspace: the whole real home, writable.  And a
``filesystem.deny_read`` entry under a symlinked directory was compared with
the resolved mounts, so it was never masked.  Home and every deny_read entry
are resolved now.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from stockade.errors import UsageError
from stockade.sandbox.launcher import check_workspace, resolved_paths

pytestmark = pytest.mark.e2e


def linked_home(stockade) -> tuple[Path, Path]:
    real: Path = stockade.home
    link = real.parent / "home-link"
    link.symlink_to(real)
    return real, link


def test_real_home_behind_a_symlinked_home_is_refused_as_workspace(stockade) -> None:
    real, link = linked_home(stockade)
    (real / ".ssh").mkdir()
    (real / ".ssh" / "id_ed25519").write_text("rtc" + secrets.token_hex(12))
    r = stockade("run", "--", "cat", ".ssh/id_ed25519", cwd=real, env={"HOME": str(link)})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "contains your home directory" in r.stderr
    assert "rtc" not in r.stdout


def test_deny_read_under_a_symlinked_directory_is_masked(stockade, tmp_path: Path) -> None:
    real, link = linked_home(stockade)
    ws = real / "proj"
    (ws / "private").mkdir(parents=True)
    canary = "rtc" + secrets.token_hex(12)
    (ws / "private" / "token.txt").write_text(canary)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nfilesystem:\n  deny_read: ['~/proj/private']\n")
    r = stockade("run", "--policy", str(policy), "--", "sh", "-c",
                 "cat private/token.txt; echo HOME=$HOME", cwd=ws, env={"HOME": str(link)})
    assert r.returncode == 0, r.stderr
    assert canary not in r.stdout
    assert f"HOME={real}" in r.stdout  # the sandbox's home is where its mounts are


def test_workspace_checks_take_resolved_deny_entries(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "secrets" / "ws").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    deny = resolved_paths((str(tmp_path / "link" / "secrets"),))
    assert str(real / "secrets") in deny
    with pytest.raises(UsageError, match="deny_read"):
        check_workspace(str(real / "secrets" / "ws"), home=None, state="/nope", deny_read=deny)
