"""Bypass: each JSON string was scanned alone, so rules that recognise a value by
the name it is assigned to never fired on tool input such as
``{"AWS_SECRET_ACCESS_KEY": "<40 characters>"}`` (or the ECS / Kubernetes form
``{"name": "AWS_SECRET_ACCESS_KEY", "value": "..."}``): the value alone is just
40 base64 characters.  Such strings are also scanned read with their key, and a
finding lands on the value itself, so ``redact`` rewrites it; a value found
both ways is reported once."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from gwsupport import RunningGateway, fake_secret, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream
from stockade.dlp.fakes import sample


def _aws_secret() -> str:
    return sample("aws_secret_access_key", random.Random()).value


def _with_tool_input(tool_input: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "deploy it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Deploy",
                                           "input": tool_input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "ok"}]}]}


@pytest.fixture
def redacting(fake: FakeUpstream) -> Any:
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "redact"}),
                      scanner=real_scanner())
    yield g
    g.stop()


def test_the_value_alone_is_not_recognised() -> None:
    """Why context matters (if this starts failing, the cases below lost their point)."""
    assert list(real_scanner()(_aws_secret())) == []


@pytest.mark.parametrize("make,where", [
    (lambda v: {"AWS_SECRET_ACCESS_KEY": v}, ("AWS_SECRET_ACCESS_KEY",)),
    (lambda v: {"env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": v}]}, ("env", 0, "value")),
    (lambda v: {"Environment": [{"Name": "aws_secret_access_key", "Value": v}]},
     ("Environment", 0, "Value")),
], ids=["key-value", "name-value", "Name-Value"])
def test_value_named_by_its_key_is_redacted(redacting: RunningGateway, fake: FakeUpstream,
                                            make, where) -> None:  # type: ignore[no-untyped-def]
    value = _aws_secret()
    st, _, out = redacting.request("POST", "/v1/messages", _with_tool_input(make(value)))
    assert st == 200, out[:300]
    sent = fake.posts()[-1]
    assert value.encode() not in sent["raw"]
    leaf: Any = sent["body"]["messages"][1]["content"][0]["input"]
    for k in where:
        leaf = leaf[k]
    assert leaf != value and isinstance(leaf, str)  # a placeholder in the value's place
    [ev] = redacting.events("llm.request")
    [finding] = ev["details"]["findings"]
    assert finding["rule_id"] == "aws_secret_access_key" and finding["part"] == "text"
    assert finding["location"].startswith("$.messages[1].content[0].input.")
    assert value not in json.dumps(redacting.ledger.events)


def test_value_named_by_its_key_blocks_under_a_block_policy(blocking: RunningGateway,
                                                            fake: FakeUpstream) -> None:
    value = _aws_secret()
    ev, msg = blocking.assert_blocked(fake, "/v1/messages",
                                      _with_tool_input({"AWS_SECRET_ACCESS_KEY": value}),
                                      value=value)
    assert "aws_secret_access_key" in msg
    assert "$.messages[1].content[0].input.AWS_SECRET_ACCESS_KEY" in msg


def test_a_value_found_alone_and_with_its_key_is_reported_once(
        redacting: RunningGateway, fake: FakeUpstream) -> None:
    token = fake_secret()
    st, _, _ = redacting.request("POST", "/v1/messages",
                                 _with_tool_input({"GITHUB_TOKEN": token}))
    assert st == 200
    [ev] = redacting.events("llm.request")
    assert len(ev["details"]["findings"]) == 1
    assert token.encode() not in fake.posts()[-1]["raw"]


def test_a_key_that_is_itself_a_secret_is_reported_once_as_the_key(
        blocking: RunningGateway, fake: FakeUpstream) -> None:
    token = fake_secret()
    ev, _ = blocking.assert_blocked(fake, "/v1/messages", _with_tool_input({token: "x"}),
                                    value=token)
    [finding] = ev["details"]["findings"]
    assert finding["part"] == "key"
