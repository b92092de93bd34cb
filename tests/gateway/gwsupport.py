"""Helpers: the scripted upstream on a real socket and a gateway on a real socket.

The gateway runs in its own thread with its own event loop, so tests talk to
it with plain blocking HTTP, like an agent does.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import re
import string
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.ledger import MemoryLedger  # noqa: E402
from fakes.upstream import FakeUpstream  # noqa: E402

from stockade.gateway.config import GatewayConfig, Limits, Upstream  # noqa: E402
from stockade.gateway.keys import KeyStore  # noqa: E402
from stockade.gateway.server import Gateway  # noqa: E402
from stockade.model import Finding  # noqa: E402
from stockade.state import StateDir  # noqa: E402

_RULES = [
    ("aws-access-key-id", "secret", re.compile(r"AKIA[0-9A-Z]{16}")),
    ("email", "pii", re.compile(r"[a-z0-9.]+@customer\.test")),
    ("acme-customer-id", "regulated", re.compile(r"ACME-[0-9]{8}")),
]


def fake_aws_key() -> str:
    """Built at test time so no secret-looking literal is committed."""
    return "AKIA" + "".join(random.choice(string.ascii_uppercase + "234567")
                            for _ in range(16))


def rule_scanner(text: str) -> list[Finding]:
    """A tiny deterministic stand-in for the DLP engine: the gateway's behaviour
    (what it does with findings) is under test here, not detection."""
    out = []
    for rule_id, label, rx in _RULES:
        for m in rx.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            out.append(Finding(rule_id=rule_id, label=label, start=m.start(), end=m.end(),
                               line=line, column=col, end_line=line,
                               end_column=col + m.end() - m.start(), confidence=0.99,
                               preview=m.group()[:4] + "..."))
    if "EXPLODE-INSPECTOR" in text:
        raise RuntimeError("inspector crashed")
    return sorted(out, key=lambda f: f.start)


_REAL: list[Any] = []


def real_scanner() -> Any:
    """The real DLP engine with the default rules (built once per test process)."""
    if not _REAL:
        from stockade.gateway.deps import dlp_scanner
        _REAL.append(dlp_scanner(None)[0])
    return _REAL[0]


def fake_secret(rule: str = "github_pat_classic") -> str:
    """A well-formed secret the real engine labels ``secret``, built at test time."""
    from stockade.dlp.fakes import sample
    return sample(rule, random.Random()).value


BLOCK_SECRETS = {"secret": "block", "pii": "redact"}


@dataclass
class RunningGateway:
    gateway: Gateway
    ledger: MemoryLedger
    host: str
    port: int
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(self, method: str, path: str, body: Any = None, *,
                headers: dict[str, str] | list[tuple[str, str]] | None = None,
                raw: bytes | None = None,
                timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
        """``headers`` as a list: sent as they are, repeated names included."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if isinstance(headers, list):
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in [("content-type", "application/json"),
                         ("content-length", str(len(data or b""))), *headers]:
                conn.putheader(k, v)
            conn.endheaders(data)
        else:
            hdrs = {"content-type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        out = resp.read()
        h = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        return resp.status, h, out

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Ledger events, once no request is in flight (the response event is
        written after the client got its last byte)."""
        deadline = time.monotonic() + 5
        while self.gateway.metrics.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        return [e for e in self.ledger.events if kind is None or e["kind"] == kind]

    def assert_blocked(self, fake: FakeUpstream, path: str, body: Any = None, *,
                       value: str, raw: bytes | None = None, status: int = 403,
                       headers: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
        """The request is refused with ``status``, nothing reached the upstream, and
        ``value`` appears neither in the answer nor in the ledger.  Returns the
        ledger's request event and the error message."""
        st, _, out = self.request("POST", path, body, raw=raw, headers=headers)
        assert st == status, (st, out[:400])
        assert fake.posts() == [], "the upstream received the request"
        seen = b"".join(r["raw"] for r in fake.requests)
        assert value.encode() not in seen
        text = out.decode()
        assert value not in text
        assert value not in json.dumps(self.ledger.events)
        ev = self.events("llm.request")[-1]
        err = json.loads(out)["error"]
        return ev, err["message"]

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self.gateway.close(), self.loop)
        fut.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_gateway(cfg: GatewayConfig, *, scanner: Any = rule_scanner,
                  env: dict[str, str] | None = None, keystore: KeyStore | None = None,
                  ledger: MemoryLedger | None = None) -> RunningGateway:
    ledger = ledger or MemoryLedger()
    loop = asyncio.new_event_loop()
    gw = Gateway(cfg, scanner=scanner, ledger=ledger.sink(), hmac_key=b"k" * 32,
                 keystore=keystore, env=env or {})
    ready = threading.Event()
    addr: list[Any] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        addr.extend(loop.run_until_complete(gw.start("127.0.0.1", 0)))
        ready.set()
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(10)
    return RunningGateway(gw, ledger, addr[0], addr[1], loop, t)


def make_config(*, anthropic: str | None = None, openai: str | None = None,
                local: str | None = None, **kw: Any) -> GatewayConfig:
    ups = {}
    if anthropic:
        ups["anthropic"] = Upstream(name="anthropic", url=anthropic, protocol="anthropic",
                                    key_env="ANTHROPIC_API_KEY")
    if openai:
        ups["openai"] = Upstream(name="openai", url=openai + "/v1", protocol="chat",
                                 key_env="OPENAI_API_KEY")
    if local:
        ups["local"] = Upstream(name="local", url=local + "/v1", protocol="chat",
                                key_env=kw.pop("local_key_env", None))
    kw.setdefault("limits", Limits(first_byte_timeout_s=5, idle_timeout_s=5))
    return GatewayConfig(upstreams=ups, **kw)


def sse_events(raw: bytes) -> list[tuple[str | None, Any]]:
    out = []
    for block in raw.decode().split("\n\n"):
        ev, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                ev = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            d = "\n".join(data)
            out.append((ev, d if d == "[DONE]" else json.loads(d)))
    return out
