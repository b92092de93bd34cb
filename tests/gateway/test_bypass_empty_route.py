"""Bypass: a ``route:`` action with no upstream name fell through to the default
upstream, so the labelled value went to the vendor unredacted."""

from __future__ import annotations

from gwsupport import fake_secret, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream


def test_route_action_without_a_target_blocks(fake: FakeUpstream) -> None:
    g = start_gateway(make_config(openai=fake.url, local=fake.url,
                                  actions={"secret": "route:", "pii": "redact"}),
                      scanner=real_scanner())
    try:
        value = fake_secret()
        ev, msg = g.assert_blocked(fake, "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": f"token {value}"}]}, value=value)
        assert ev["decision"] == "block"
        assert "$.messages[0].content" in msg
    finally:
        g.stop()
