"""A fake package registry over a real socket: PyPI's JSON API, the npm
registry, crates.io's API and the Go module proxy, one path prefix each.

Tests point ``STOCKADE_DEPS_<ECOSYSTEM>_URL`` at it; no real registry is
ever contacted.  Packages are added per test; names listed in ``broken``
answer 500, in ``slow`` answer after ``delay`` seconds."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

DAY = timedelta(days=1)


def iso(days_ago: float) -> str:
    return (datetime.now(UTC) - days_ago * DAY).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeRegistry:
    def __init__(self) -> None:
        self.pypi: dict[str, dict[str, Any]] = {}
        self.npm: dict[str, dict[str, Any]] = {}
        self.crates: dict[str, dict[str, Any]] = {}
        self.go: dict[str, list[str]] = {}
        self.broken: set[str] = set()
        self.slow: set[str] = set()
        self.delay = 3.0
        # name -> an adversarial answer: ("redirect", URL), ("drip", seconds
        # between bytes), ("huge", bytes), ("raw", body with status 200)
        self.tricks: dict[str, tuple[str, Any]] = {}
        self.requests: list[str] = []
        self.base = ""

    # -- packages --------------------------------------------------------
    def add_pypi(self, name: str, *, days_old: float = 2000, versions: tuple[str, ...] = ("1.0",)
                 ) -> None:
        releases = {v: [{"upload_time_iso_8601": iso(days_old - k)}]
                    for k, v in enumerate(versions)}
        self.pypi[name.lower()] = {"info": {"name": name, "version": versions[-1]},
                                   "releases": releases}

    def add_npm(self, name: str, *, days_old: float = 2000, versions: tuple[str, ...] = ("1.0.0",),
                scripts: dict[str, str] | None = None) -> None:
        vers = {v: {"name": name, "version": v, "scripts": dict(scripts or {})} for v in versions}
        times = {"created": iso(days_old), "modified": iso(0)}
        times.update({v: iso(days_old - k) for k, v in enumerate(versions)})
        self.npm[name] = {"name": name, "versions": vers, "time": times,
                          "dist-tags": {"latest": versions[-1]}}

    def add_crate(self, name: str, *, days_old: float = 2000, version: str = "1.0.0") -> None:
        self.crates[name] = {"crate": {"name": name, "created_at": iso(days_old),
                                       "max_version": version}, "versions": [{"num": version}]}

    def add_go(self, module: str, versions: tuple[str, ...] = ("v1.0.0",)) -> None:
        self.go[module] = list(versions)

    def env(self) -> dict[str, str]:
        return {f"STOCKADE_DEPS_{eco.upper()}_URL": f"{self.base}/{eco}"
                for eco in ("pypi", "npm", "crates", "go")}

    # -- HTTP ------------------------------------------------------------
    def answer(self, path: str) -> tuple[int, bytes]:
        eco, _, rest = path.lstrip("/").partition("/")
        rest = unquote(rest)
        if eco == "pypi" and rest.endswith("/json"):
            name = rest[:-5]
            key, table = name.lower(), self.pypi
        elif eco == "npm":
            key, table = rest, self.npm
        elif eco == "crates":
            key, table = rest, self.crates
        elif eco == "go" and rest.endswith("/@v/list"):
            # the proxy's case encoding: !x is X
            key = re.sub(r"!([a-z])", lambda m: m.group(1).upper(), rest[:-8])
            if key in self.broken:
                return 500, b"boom"
            if key in self.slow:
                time.sleep(self.delay)
            return (200, "\n".join(self.go[key]).encode()) if key in self.go else (404, b"")
        else:
            return 400, b"bad path"
        if key in self.broken:
            return 500, b"internal error"
        if key in self.slow:
            time.sleep(self.delay)
        if key not in table:
            return 404, b'{"message": "Not Found"}'
        return 200, json.dumps(table[key]).encode()


@contextmanager
def serve(reg: FakeRegistry | None = None) -> Iterator[FakeRegistry]:
    reg = reg or FakeRegistry()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reg.requests.append(self.path)
            status, body = reg.answer(self.path)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    class TrickHandler(Handler):
        def do_GET(self) -> None:
            eco, _, rest = self.path.lstrip("/").partition("/")
            name = unquote(rest).removesuffix("/json").removesuffix("/@v/list")
            trick = reg.tricks.get(name)
            if trick is None:
                return super().do_GET()
            reg.requests.append(self.path)
            kind, arg = trick
            try:
                if kind == "redirect":
                    self.send_response(302)
                    self.send_header("Location", arg)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "raw":
                    body = arg if isinstance(arg, bytes) else str(arg).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif kind == "huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(arg))
                    self.end_headers()
                    block = b" " * (1 << 16)
                    for _ in range(0, int(arg), len(block)):
                        self.wfile.write(block)
                elif kind == "drip":  # a byte at a time, each well within a read timeout
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(100000):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(float(arg))
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), TrickHandler)
    server.daemon_threads = True
    reg.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield reg
    finally:
        server.shutdown()
        server.server_close()
