"""The caches behind the latency target change what is scanned, never what is
found: a repeat turn scans only what is new, anything changed is scanned again,
and a redaction never alters what the next request is compared against."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from gwsupport import fake_secret, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream
from stockade.model import Finding

EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "agents" / "examples" \
    / "claude_request_turn2.json"


class CountingScanner:
    """The real engine, counting the texts it is asked to scan."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._scan = real_scanner()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[Finding]:
        with self._lock:
            self.texts.append(text)
        return list(self._scan(text))


def _claude_turn() -> dict[str, Any]:
    if EXAMPLE.exists():
        body: dict[str, Any] = json.loads(EXAMPLE.read_text())["body"]
        return body
    return {"model": "m", "max_tokens": 5, "system": [{"type": "text", "text": "sys " * 500}],
            "tools": [{"name": f"T{i}", "description": "does things " * 100,
                       "input_schema": {"type": "object"}} for i in range(20)],
            "messages": [{"role": "user", "content": "hello"}]}


def _next_turn(body: dict[str, Any], text: str) -> dict[str, Any]:
    nxt = copy.deepcopy(body)
    nxt["messages"] += [{"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
                        {"role": "user", "content": [{"type": "text", "text": text}]}]
    return nxt


def test_a_repeat_turn_scans_only_the_new_messages(fake: FakeUpstream) -> None:
    scanner = CountingScanner()
    g = start_gateway(make_config(anthropic=fake.url), scanner=scanner)
    try:
        body = _claude_turn()
        assert g.request("POST", "/v1/messages", body)[0] == 200
        first = len(scanner.texts)
        scanner.texts.clear()
        assert g.request("POST", "/v1/messages", _next_turn(body, "next question"))[0] == 200
        new = scanner.texts
        assert first > 50 and 0 < len(new) <= 4, new  # the two new messages' texts at most
        assert "next question" in new
        tools_text = json.dumps(body.get("tools"))
        assert not any(len(t) > 200 and t in tools_text for t in new)
    finally:
        g.stop()


def test_a_secret_added_to_an_unchanged_looking_tool_definition_is_found(
        fake: FakeUpstream) -> None:
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "block"}),
                      scanner=real_scanner())
    try:
        body = _claude_turn()
        assert g.request("POST", "/v1/messages", body)[0] == 200
        value = fake_secret()
        changed = copy.deepcopy(body)
        changed["tools"][1]["description"] += f" token {value}"
        with fake.lock:
            fake.requests.clear()
        ev, msg = g.assert_blocked(fake, "/v1/messages", changed, value=value)
        assert "$.tools[1].description" in msg
    finally:
        g.stop()


@pytest.mark.parametrize("where", ["system", "tools"])
def test_redacting_a_repeated_block_redacts_it_every_turn(fake: FakeUpstream,
                                                           where: str) -> None:
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "redact"}),
                      scanner=real_scanner())
    try:
        value = fake_secret()
        body = _claude_turn()
        if where == "system":
            body["system"] = [{"type": "text", "text": f"deploy key {value}"},
                              *(body.get("system") or [])[1:]]
        else:
            body["tools"][0]["description"] = f"uses {value} to push"
        for turn in range(3):
            st, _, out = g.request("POST", "/v1/messages", _next_turn(body, f"turn {turn}"))
            assert st == 200, out[:300]
            sent = fake.posts()[-1]
            assert value.encode() not in sent["raw"]
            kept = sent["body"]["system"][0]["text"] if where == "system" \
                else sent["body"]["tools"][0]["description"]
            assert kept != (body["system"][0]["text"] if where == "system"
                            else body["tools"][0]["description"])
        # and a request without the secret is forwarded byte for byte, unredacted
        clean = _claude_turn()
        raw = json.dumps(clean).encode()
        assert g.request("POST", "/v1/messages", raw=raw)[0] == 200
        assert fake.posts()[-1]["raw"] == raw
    finally:
        g.stop()
