"""Bypass: request headers other than the credentials were forwarded to the
vendor unscanned, so an agent (or a prompt-injected tool) could carry a secret
out in ``x-anything: <value>``.  Every header that goes upstream is scanned
(the client's own credentials excepted: they go only to their own vendor), a
finding blocks (a header cannot be redacted in place), and a header name that
holds a finding is shown by its position only."""

from __future__ import annotations

from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream

_BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def test_secret_in_a_custom_header_blocks(blocking: RunningGateway, fake: FakeUpstream) -> None:
    value = fake_secret()
    ev, msg = blocking.assert_blocked(fake, "/v1/messages", _BODY, value=value,
                                      headers={"x-debug-note": f"token {value}"})
    [finding] = ev["details"]["findings"]
    assert finding["location"] == "request header x-debug-note"
    assert finding["kind"] == "request_header" and finding["part"] == "header"
    assert "request header x-debug-note" in msg


def test_secret_in_a_header_name_blocks_without_showing_the_name(
        blocking: RunningGateway, fake: FakeUpstream) -> None:
    value = fake_secret()
    ev, msg = blocking.assert_blocked(fake, "/v1/messages", _BODY, value=value,
                                      headers={f"x-{value}": "1"})
    [finding] = ev["details"]["findings"]
    assert finding["location"].startswith("request header #")


def test_a_session_header_is_scanned_too(blocking: RunningGateway, fake: FakeUpstream) -> None:
    value = fake_secret()
    blocking.assert_blocked(fake, "/v1/messages", _BODY, value=value,
                            headers={"X-Claude-Code-Session-Id": value})


def test_ordinary_client_headers_and_its_own_key_pass(blocking: RunningGateway,
                                                      fake: FakeUpstream) -> None:
    """Claude Code's headers as captured, with a real-looking key of the client's own
    (personal mode): forwarded, nothing found."""
    key = fake_secret("anthropic_api_key")
    headers = {
        "User-Agent": "claude-cli/2.1.197 (external, sdk-cli)",
        "X-Claude-Code-Session-Id": "c5ae883e-7e1f-4073-82ab-cd98f626cfd5",
        "X-Stainless-Arch": "x64", "X-Stainless-Lang": "js", "X-Stainless-OS": "Linux",
        "X-Stainless-Package-Version": "0.94.0", "X-Stainless-Retry-Count": "0",
        "X-Stainless-Runtime": "node", "X-Stainless-Runtime-Version": "v26.3.0",
        "X-Stainless-Timeout": "600", "anthropic-version": "2023-06-01", "x-app": "cli",
        "anthropic-beta": "claude-code-20250219,context-1m-2025-08-07,"
                          "interleaved-thinking-2025-05-14",
        "anthropic-dangerous-direct-browser-access": "true", "x-api-key": key,
    }
    st, _, out = blocking.request("POST", "/v1/messages", _BODY, headers=headers)
    assert st == 200, out[:300]
    [ev] = blocking.events("llm.request")
    assert ev["details"]["findings"] == []
    assert fake.posts()[-1]["headers"]["x-api-key"] == key
