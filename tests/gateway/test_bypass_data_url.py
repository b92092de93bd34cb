"""Bypass: strings starting with ``data:`` were never scanned.

Only a whole image/audio base64 data URL may go uninspected (and is counted in
the ledger); text and JSON data URLs are decoded and scanned, anything else is
scanned as it stands.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream


def _chat_part(url: str) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is in this file?"},
        {"type": "image_url", "image_url": {"url": url}}]}]}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("make_url", [
    pytest.param(lambda v: f"data:text/plain;base64,{_b64('TOKEN=' + v)}", id="text-base64"),
    pytest.param(lambda v: "data:application/json," + quote(json.dumps({"token": v})),
                 id="json-percent"),
    pytest.param(lambda v: f"data:text/plain;charset=utf-8;base64,{_b64(v)}", id="charset"),
    pytest.param(lambda v: f"data:image/svg+xml;base64,{_b64('<svg><text>' + v + '</text></svg>')}",
                 id="svg-is-text"),
    pytest.param(lambda v: f"data:application/x-anything,{v}", id="other-media-raw"),
    pytest.param(lambda v: f"data:image/png;base64,iVBORw0KGgo {v}", id="not-whole-base64"),
    pytest.param(lambda v: f"data: the deploy token is {v}", id="plain-text-prefix"),
])
def test_data_url_content_is_scanned(blocking: RunningGateway, fake: FakeUpstream,
                                     make_url) -> None:  # type: ignore[no-untyped-def]
    value = fake_secret()
    ev, msg = blocking.assert_blocked(fake, "/v1/chat/completions", _chat_part(make_url(value)),
                                      value=value)
    assert ev["decision"] == "block"
    assert "$.messages[0].content[1].image_url.url" in msg
    # the base64 form of the value never left either
    assert _b64(value).encode() not in b"".join(r["raw"] for r in fake.requests)


def test_data_url_in_a_responses_input_file_is_scanned(blocking: RunningGateway,
                                                       fake: FakeUpstream) -> None:
    value = fake_secret()
    body = {"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_file", "filename": "notes.txt",
         "file_data": f"data:text/plain;base64,{_b64(value)}"}]}]}
    blocking.assert_blocked(fake, "/v1/responses", body, value=value)


def test_a_real_image_is_forwarded_and_counted_as_uninspected(blocking: RunningGateway,
                                                              fake: FakeUpstream) -> None:
    png = base64.b64encode(bytes(range(256)) * 4).decode()
    raw = json.dumps(_chat_part(f"data:image/png;base64,{png}")).encode()
    st, _, _ = blocking.request("POST", "/v1/chat/completions", raw=raw)
    assert st == 200 and fake.posts()[-1]["raw"] == raw
    ev = blocking.events("llm.request")[-1]
    assert ev["decision"] == "allow"
    assert ev["details"]["uninspected_parts"] == 1
    assert ev["details"]["uninspected_media_types"] == ["image/png"]
