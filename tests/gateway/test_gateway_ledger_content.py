"""What the ledger keeps of prompts and answers, per ``ledger.content``."""

from __future__ import annotations

import hashlib
import json

import pytest
from gwsupport import fake_secret, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream
from stockade.state import keyed_hash


@pytest.mark.parametrize("stream", [False, True])
def test_redacted_mode_masks_secrets_in_the_vendors_answer(fake: FakeUpstream,
                                                           stream: bool) -> None:
    value = fake_secret()
    fake.script = [{"text": f"Sure, use this token: {value} and you are done."}]
    g = start_gateway(make_config(openai=fake.url), scanner=real_scanner())
    try:
        st, _, out = g.request("POST", "/v1/chat/completions", {
            "model": "m", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
        assert st == 200 and value in out.decode()  # the agent gets the answer as it was
        [resp] = g.events("llm.response")
        text = resp["details"]["output_text"]
        assert text.startswith("Sure, use this token: ") and text.endswith("you are done.")
        assert value not in json.dumps(g.ledger.events)
    finally:
        g.stop()


def test_hash_mode_uses_keyed_hashes(fake: FakeUpstream) -> None:
    fake.script = [{"text": "yes"}]
    g = start_gateway(make_config(openai=fake.url, ledger_content="hash"))
    try:
        raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "no"}]}).encode()
        assert g.request("POST", "/v1/chat/completions", raw=raw)[0] == 200
        req, resp = g.events()
        assert req["details"]["body_hash"] == keyed_hash(raw, b"k" * 32)
        assert resp["details"]["output_hash"] == keyed_hash("yes", b"k" * 32)
        plain = {hashlib.sha256(raw).hexdigest(), hashlib.sha256(b"yes").hexdigest()}
        assert not plain & {v for e in g.events() for v in map(str, e["details"].values())}
    finally:
        g.stop()
