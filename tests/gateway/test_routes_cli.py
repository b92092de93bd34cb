"""`stockade gateway --route LABEL=UPSTREAM` as users type it (a real process)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gwsupport import FakeUpstream, sse_events

RUN_CLI = ("import sys; from stockade import cli; "
           "cli.COMMANDS.setdefault('gateway', ('stockade.commands.gateway', 'gateway')); "
           "sys.exit(cli.main(sys.argv[1:]))")


@contextmanager
def _gateway(tmp: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "STOCKADE_POLICY",
                        "STOCKADE_MANAGED_POLICY")}
    env.update(STOCKADE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "xdg"))
    proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, "gateway", "--listen",
                             "127.0.0.1:0", "--workspace", str(tmp), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        deadline, url = time.monotonic() + 30, None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://\S+)", line)
            url = m.group(1) if m else None
        if url is None:
            proc.kill()
            raise AssertionError("gateway did not start: " + (proc.stderr.read() or ""))
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(10)


def _post(url: str, path: str, body: object) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_route_everything_to_a_local_model(tmp_path: Path) -> None:
    with FakeUpstream([{"text": "vendor"}]) as vendor, FakeUpstream([{"text": "local"}]) as local, \
            _gateway(tmp_path, "--upstream", f"anthropic={vendor.url}",
                     "--upstream", f"local={local.url}/v1", "--route", "*=local") as (url, _):
        st, out = _post(url, "/v1/messages", {"model": "claude-x", "max_tokens": 10,
                                              "stream": True, "messages": [
                                                  {"role": "user", "content": "hi"}]})
        assert st == 200
        text = "".join(d["delta"].get("text", "") for e, d in sse_events(out)
                       if e == "content_block_delta")
        assert text == "local" and vendor.posts() == []
        assert local.posts()[0]["path"] == "/v1/chat/completions"


def test_route_to_an_unknown_upstream_refuses_to_start(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-c", RUN_CLI, "gateway", "--listen", "127.0.0.1:0",
                        "--workspace", str(tmp_path), "--route", "secret=nowhere"],
                       env={**os.environ, "STOCKADE_HOME": str(tmp_path / "state"),
                            "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                       capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 2
    assert "--route[0] names upstream 'nowhere', which is not configured" in r.stderr
