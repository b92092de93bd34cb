"""Aider histories: values in fenced code and SEARCH/REPLACE blocks of the
model's replies (whose ``>>>>>>> REPLACE`` line looks like aider's own ``>``
output), and a multi-line private key that straddles the reader's chunk
boundary, are each reported once, in their session, at the right line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fakehome import AiderHistory, aider_session_id, recent

from stockade.dlp import Engine
from stockade.dlp.fakes import sample
from stockade.history import aider
from stockade.history.discover import Source
from stockade.history.worker import scan_source

ENGINE = Engine(fingerprint_key=b"a" * 32)


def _scan(path: Path):  # type: ignore[no-untyped-def]
    return scan_source(Source(str(path), "aider", str(path.parent), "t", path.stat().st_size), ENGINE)


def test_values_in_fenced_and_search_replace_blocks_are_reported(tmp_path: Path) -> None:
    rng = random.Random(71)
    a = AiderHistory(tmp_path / "proj")
    sid = aider_session_id(a.path, a.start(recent(1)))
    fenced = sample("stripe_secret_key", rng)
    replaced = sample("github_pat_classic", rng)
    a.user("move the keys to settings")
    a.assistant("settings.py\n```python\n" + fenced.text + "\n```\n\n"
                "config.py\n```python\n<<<<<<< SEARCH\nTOKEN = None\n=======\n" + replaced.text
                + "\n>>>>>>> REPLACE\n```")
    path = a.write()
    res = _scan(path)
    got = {(e.session_id, e.rule_id, e.source) for e in res.exposures}
    assert got == {(sid, "stripe_secret_key", "assistant"), (sid, "github_pat_classic", "assistant")}
    lines = path.read_text().splitlines()
    for e in res.exposures:
        value = fenced.value if e.rule_id == "stripe_secret_key" else replaced.value
        on_its_line = value in lines[int(e.transcript.rsplit(":", 1)[1]) - 1]
        assert on_its_line, f"{e.rule_id} points at the wrong line"  # (no value in the message)


@pytest.mark.parametrize("chunk", [64, 256, 1024])
def test_a_private_key_across_a_chunk_boundary_is_found(tmp_path: Path, chunk: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aider, "CHUNK", chunk)
    rng = random.Random(72)
    a = AiderHistory(tmp_path / "proj")
    sid = aider_session_id(a.path, a.start(recent(1)))
    key = sample("rsa_private_key", rng)
    a.user("what is wrong with my deploy key?")
    a.assistant("Your key file:\n\n" + key.text + "\n\nlooks truncated.")
    res = _scan(a.write())
    assert [(e.session_id, e.rule_id) for e in res.exposures] == [(sid, "rsa_private_key")]


def test_a_value_in_aider_output_after_blank_lines_names_its_own_line(tmp_path: Path) -> None:
    rng = random.Random(73)
    a = AiderHistory(tmp_path / "proj")
    a.start(recent(1))
    a.user("/run env")
    t = sample("slack_bot_token", rng)
    a.tool("PATH=/usr/bin")
    a.raw("\n\n")
    a.tool(t.text)
    path = a.write()
    [e] = _scan(path).exposures
    assert e.source == "tool_output"
    on_its_line = t.value in path.read_text().splitlines()[int(e.transcript.rsplit(":", 1)[1]) - 1]
    assert on_its_line, "the exposure points at the wrong line"
