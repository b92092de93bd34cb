"""Bypass class: a DLP verdict cached under an older rule set.

The launcher remembers which environment values the engine judged clean, so
an unchanged environment does not rebuild the engine.  The memory never
expired: a value judged clean stayed clean after a rule that flags it was
added (to the engine, or to the policy's ``dlp.rules``, which the environment
scrub ignored).  Verdicts are now kept per rule-set digest, and the policy's
custom rules are part of both the engine and the digest.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from stockade.sandbox.verdicts import Verdicts
from stockade.state import StateDir


class FakeDeps:
    """The engine seam (stockade.sandbox.deps) with a rule set we can change."""

    def __init__(self, digest: str, flagged: set[str]) -> None:
        self.digest, self.flagged, self.loads = digest, flagged, 0

    def dlp_rules_digest(self, custom_rules: Sequence[Any]) -> str:
        return self.digest

    def dlp_flags(self, custom_rules: Sequence[Any]) -> Callable[[str], bool]:
        self.loads += 1
        return lambda v: v in self.flagged


def test_a_rule_change_invalidates_earlier_verdicts(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state").ensure()
    value = "zq-" + secrets.token_hex(8)
    old = FakeDeps("rules-v1", set())
    v = Verdicts.open(str(state.root), custom_rules=(), deps=old)
    assert v.flags(value) is False
    v.save()
    again = Verdicts.open(str(state.root), custom_rules=(), deps=old)
    assert again.flags(value) is False and old.loads == 1  # cached: no engine built
    new = FakeDeps("rules-v2", {value})
    assert Verdicts.open(str(state.root), custom_rules=(), deps=new).flags(value) is True
    assert new.loads == 1
    cached = [p.read_text() for p in state.root.glob("sandbox-verdicts-*.txt")]
    assert len(cached) == 1 and value not in cached[0]  # keyed hashes only


@pytest.mark.e2e
def test_custom_rule_added_after_a_session_drops_the_value(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    value = "zq-" + secrets.token_hex(8)
    plain = tmp_path / "plain.yaml"
    plain.write_text("version: 1\n")
    show = ("sh", "-c", 'echo "REF=$PROJECT_REF"')
    r = stockade("run", "--policy", str(plain), "--", *show, cwd=ws, env={"PROJECT_REF": value})
    assert r.returncode == 0 and f"REF={value}" in r.stdout, r.stdout + r.stderr
    r = stockade("run", "--policy", str(plain), "--", *show, cwd=ws, env={"PROJECT_REF": value})
    assert f"REF={value}" in r.stdout  # now from the cache
    strict = tmp_path / "strict.yaml"
    strict.write_text("version: 1\ndlp:\n  rules:\n    - {id: zq-ref, label: secret, "
                      "regex: 'zq-[0-9a-f]{16}'}\n")
    r = stockade("run", "--policy", str(strict), "--", *show, cwd=ws, env={"PROJECT_REF": value})
    assert r.returncode == 0, r.stderr
    assert value not in r.stdout and "REF=" in r.stdout


def _engine_copy(tmp_path: Path) -> Path:
    import shutil

    import stockade.dlp

    folder = tmp_path / "dlp"
    shutil.copytree(Path(stockade.dlp.__file__).parent, folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_the_rule_set_digest_changes_with_any_change_to_the_engine(tmp_path: Path) -> None:
    """Review: a digest taken from what stat says of the engine's files (size,
    inode, times) stayed the same across a same-size edit on read-only images
    (squashfs, erofs) and copies that keep times; the bytes are what count."""
    from stockade.sandbox.deps import dlp_rules_digest

    folder = _engine_copy(tmp_path)
    first = dlp_rules_digest(folder=str(folder))
    assert dlp_rules_digest(folder=str(folder)) == first  # nothing changed: verdicts kept
    assert dlp_rules_digest(("custom",), folder=str(folder)) != first

    rule = folder / "rules_tokens.py"
    text = rule.read_bytes()
    before = rule.stat()
    rule.write_bytes(text.replace(b"a", b"b", 1))  # same size
    os.utime(rule, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime
    assert rule.stat().st_size == before.st_size
    assert dlp_rules_digest(folder=str(folder)) != first
    rule.write_bytes(text)  # back as it was: the same rules, the same digest
    assert dlp_rules_digest(folder=str(folder)) == first

    (folder / "rules_extra.py").write_text("RULES = ()\n")
    with_extra = dlp_rules_digest(folder=str(folder))
    assert with_extra not in (first,)
    (folder / "rules_extra.py").unlink()
    assert dlp_rules_digest(folder=str(folder)) != with_extra
