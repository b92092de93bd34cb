"""The HTML report in a real headless Chromium: it renders the drill-down,
runs only its own script, and makes no request, even when a transcript's
project name, branch, command and file path are HTML built to do both."""

from __future__ import annotations

import http.server
import os
import random
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fakehome import ClaudeSession, Clock, recent
from historyworld import World, run_cli


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    reason = "chromium is not installed: scripts/system-deps.sh chromium:chromium (Debian `chromium`)"
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set: the HTML report must be checked in a browser)")
    pytest.skip(reason)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that records every request: the report must make none."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1], hits
    finally:
        srv.shutdown()
        srv.server_close()


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    c = _Collect()
    c.feed(html)
    return c.tags


def _links(html: str) -> list[tuple[str, str]]:
    return [(t, v or "") for t, attrs in _tags(html) for k, v in attrs.items()
            if k in ("src", "href", "action", "data", "poster", "srcset", "background")]


def _dump_dom(browser: str, page: Path, profile: Path) -> str:
    r = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_report_renders_drilldown_and_runs_no_injected_html(world: World, cli_env, tmp_path: Path,
                                                            listener: tuple[int, list[str]]) -> None:
    browser = chromium()
    port, hits = listener
    base = f"http://127.0.0.1:{port}"
    home = tmp_path / "mallory"
    evil = (f"/work/<script>document.title='pwned'</script><img src={base}/img "
            f"onerror=\"document.title='pwned'\"><link rel=stylesheet href={base}/css>")
    s = ClaudeSession(home, evil, clock=Clock(recent(1)), rng=random.Random(11),
                      branch=f"<iframe src={base}/frame></iframe>")
    s.prompt("hello")
    s.tool("Bash", {"command": f"echo '<script src={base}/js></script>'"}, "ok")
    s.tool("Write", {"file_path": f"/tmp/<img src={base}/path>", "content": "x"}, "ok")
    s.write()
    page = tmp_path / "report.html"
    r = run_cli("history", "--home", str(world.alice), "--home", str(world.bob), "--home", str(home),
                "--format", "html", "--out", str(page), env=cli_env)
    assert r.returncode == 1, r.stderr
    html = page.read_text()
    # no element of the file itself points anywhere but inside the page
    assert [(t, a) for t, a in _links(html) if not a.startswith("#")] == []
    assert {t for t, _ in _tags(html)} <= {"html", "head", "meta", "title", "style", "body", "h1", "h2",
                                           "h4", "p", "div", "b", "svg", "rect", "line", "text", "table",
                                           "thead", "tbody", "tr", "th", "td", "code", "input", "a",
                                           "details", "summary", "span", "script"}
    csp = [a.get("content") or "" for t, a in _tags(html)
           if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(csp) == 1 and "default-src 'none'" in csp[0] and "script-src 'nonce-" in csp[0]

    dom = _dump_dom(browser, page, tmp_path / "profile")
    assert hits == []  # no image, style sheet, frame or script was fetched
    assert re.search(r"<title>stockade history</title>", dom)  # no injected script ran
    assert 'data-ready="1"' in dom  # the report's own script did
    assert "<iframe" not in dom and f'src="{base}' not in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # shown as text
    # the per-session drill-down holds each session's exposures and actions
    blocks = re.findall(r'<details id="s\d+" class="session">(.*?)</details>', dom, re.DOTALL)
    assert len(blocks) == 6
    claude = next(b for b in blocks if world.sessions["claude"] in b)
    for rule in ("aws_access_key_id", "github_pat_classic", "us_ssn", "http_bearer_token"):
        assert rule in claude
    assert "/work/alice/payments/.env" in claude and "https://docs.payments.example/refunds" in claude
    assert "feature/refund" in claude
    for p in world.plants.items:
        assert p.value not in dom


def test_screenshot_renders(world: World, cli_env, tmp_path: Path) -> None:
    """A smoke check that the page paints (the screenshot is what a reviewer looks at)."""
    browser = chromium()
    page = tmp_path / "report.html"
    r = run_cli("history", "--home", str(world.alice), "--home", str(world.bob), "--format", "html",
                "--out", str(page), env=cli_env)
    assert r.returncode == 1, r.stderr
    shot = tmp_path / "shot.png"
    p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600",
                        f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120,
                       check=False)
    assert p.returncode == 0, p.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000
