"""Strings a transcript controls that cannot be encoded (a lone surrogate,
from a ``\\ud800`` escape or a file name that is not UTF-8), C1 controls
(U+009B is CSI on many terminals), line separators (U+2028 ends a line in
older JavaScript) and bidi overrides must neither end the report half-way nor
reach a terminal raw."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from fakehome import AiderHistory, ClaudeSession, Clock, recent
from historyworld import run_cli

from stockade.dlp.fakes import sample

HOSTILE = "/srv/\ud800lone/\u009b2J/\u2028/\u202egnp.exe"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    rng = random.Random(41)
    home = tmp_path / "home" / "mallory"
    s = ClaudeSession(home, HOSTILE, clock=Clock(recent(1)), rng=rng, branch="\udcff\u009b31m")
    s.path = home / ".claude" / "projects" / "-srv-x" / f"{s.id}.jsonl"
    s.prompt("mail " + sample("email", rng).text)  # an exposure: the project is in every table
    s.tool("Bash", {"command": "cat '\ud800'"}, "ok")
    s.write()
    # A folder whose name is not UTF-8: os.walk hands it over with surrogate escapes.
    project = Path(os.fsdecode(bytes(home / "src") + b"/caf\xe9"))
    a = AiderHistory(project)
    a.start(recent(1))
    a.user("run the tests")
    a.write()
    return home


@pytest.mark.parametrize("fmt", ["json", "table", "html"])
def test_unencodable_and_control_characters_do_not_break_a_report(home: Path, fmt: str,
                                                                  cli_env) -> None:
    r = run_cli("history", "--home", str(home), "--format", fmt, env=cli_env)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    raw = r.stdout
    for ch in ("\u009b", "\u2028", "\u202e", "\x1b"):
        assert ch not in raw, (fmt, hex(ord(ch)))
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in raw)
    if fmt == "json":
        assert raw.isascii()
        data = json.loads(raw)
        assert {s["agent"] for s in data["sessions"]} == {"claude-code", "aider"}
        claude = next(s for s in data["sessions"] if s["agent"] == "claude-code")
        assert claude["project"] == HOSTILE  # escaped, not altered: a machine reads it as it was
    elif fmt == "html":
        assert raw.rstrip().endswith("</html>")


def test_html_has_only_its_own_nonced_style_and_script(tmp_path: Path) -> None:
    """Whatever a transcript holds, the page has one <style> and one <script>,
    both carrying the nonce the policy names, and no inline style or handler."""
    import io
    import re
    from html.parser import HTMLParser

    from stockade.history.audit import Report
    from stockade.history.html import write_html
    from stockade.history.records import Action, Exposure, Session

    evil = ('"><style>*{display:none}</style><script>alert(1)</script>'
            "<img src=x onerror=alert(1) style=x></script>\u2028javascript:alert(1)")
    rep = Report(sessions=[Session(id=evil, agent="claude-code", file=evil, user=evil, project=evil,
                                   branch=evil, start="2026-01-01T00:00:00Z", models=[evil])],
                 exposures=[Exposure(session_id=evil, rule_id=evil, label=evil, timestamp=evil,
                                     source=evil, path=evil, preview=evil, transcript=evil)],
                 actions=[Action(session_id=evil, kind="package", timestamp=evil, target=evil,
                                 transcript=evil, verdict=evil, reason=evil)])
    buf = io.StringIO()
    write_html(rep, buf)
    page = buf.getvalue()

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict[str, str | None]]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append((tag, dict(attrs)))

    p = Tags()
    p.feed(page)
    csp = next(a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv"))
    assert csp is not None and "unsafe-inline" not in csp
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
    assert f"style-src 'nonce-{nonce}'" in csp
    assert [(t, a.get("nonce")) for t, a in p.tags if t in ("style", "script")] == [
        ("style", nonce), ("script", nonce)]
    assert not [t for t, a in p.tags if t == "img" or any(k == "style" or k.startswith("on") for k in a)]
    assert "\u2028" not in page
