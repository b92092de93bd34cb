"""Stdin that is not a hook event is the caller's mistake: the answer says what
was expected (not "internal error ... run stockade doctor") and still refuses,
with exit 2 (a block for Claude Code and Codex alike)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from stockade.hooks import runner


def _call(tmp_path: Path, raw: bytes, client: str = "claude-code") -> tuple[str, str, int]:
    env = {"HOME": str(tmp_path / "home"), "STOCKADE_HOME": str(tmp_path / "state"),
           "PATH": "/usr/bin:/bin"}
    out, err = io.StringIO(), io.StringIO()
    code = runner.run(client, stdin=io.BytesIO(raw), stdout=out, stderr=err,  # type: ignore[arg-type]
                      timeout_s=20.0, background=False, env=env)
    return out.getvalue(), err.getvalue(), code


@pytest.mark.parametrize(("raw", "why"), [
    (b"garbage\n", "not JSON"),
    (b'{"hook_event_name": ', "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b"{}", "no hook_event_name"),
    (b"\xff\xfe{}", "not UTF-8"),
])
@pytest.mark.parametrize("client", ["claude-code", "codex"])
def test_bad_input_is_named_as_such_and_refused(tmp_path: Path, raw: bytes, why: str,
                                                client: str) -> None:
    out, err, code = _call(tmp_path, raw, client)
    assert code == 2  # exit 2 blocks the tool call
    assert "bad hook input" in err and why in err
    assert "hook_event_name" in err  # says what was expected
    assert "internal error" not in err and "doctor" not in err
    answer = json.loads(out)["hookSpecificOutput"]
    assert answer["permissionDecision"] == "deny"
    assert "bad hook input" in answer["permissionDecisionReason"]


def test_the_reason_never_echoes_the_input(tmp_path: Path) -> None:
    import random

    from stockade.dlp.fakes import sample

    secret = sample("github_pat_classic", random.Random(7)).value
    out, err, code = _call(tmp_path, f"token={secret} not json".encode())
    assert code == 2
    assert secret not in out and secret not in err
    assert secret[:12] not in out + err
