"""A per-upstream cap on the output tokens asked for (``models.upstreams.X.max_tokens``):
Claude Code asks for 32000 or more, which a self-hosted server with a small
context refuses outright; the gateway lowers the ask to what the server takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from gwsupport import FakeUpstream, start_gateway

from stockade.config.loader import load_policy
from stockade.config.model import Route
from stockade.errors import PolicyError
from stockade.gateway.config import GatewayConfig, Limits, Upstream
from stockade.gateway.deps import config_from_policy


def _load(tmp_path: Path, upstream: str):  # type: ignore[no-untyped-def]
    f = tmp_path / "outside" / "policy.yaml"
    f.parent.mkdir()
    f.write_text("version: 1\nmodels:\n  upstreams:\n"
                 '    anthropic: {url: "https://api.anthropic.com"}\n'
                 f"    local: {upstream}\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    return load_policy(policy_file=f, workspace=ws, env={"HOME": str(tmp_path)},
                       managed_file=tmp_path / "none.yaml")


def test_translate_max_tokens_cap_loads_from_the_policy(tmp_path: Path) -> None:
    p = _load(tmp_path, '{url: "http://h:8000/v1", max_tokens: 4096}')
    assert p.models.upstreams["local"].max_tokens == 4096
    assert config_from_policy(p).upstreams["local"].max_tokens == 4096


def test_translate_max_tokens_cap_that_is_not_a_number_names_file_and_line(
        tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as e:
        _load(tmp_path, '{url: "http://h:8000/v1", max_tokens: lots}')
    text = str(e.value) + str(getattr(e.value, "hint", ""))
    assert "models.upstreams.local.max_tokens" in text and "policy.yaml" in text
    assert ":5" in text  # the line


def test_translate_max_tokens_is_lowered_to_the_upstreams_cap() -> None:
    with FakeUpstream() as vendor, FakeUpstream() as local:
        ups = {"anthropic": Upstream(name="anthropic", url=vendor.url, protocol="anthropic"),
               "openai": Upstream(name="openai", url=local.url + "/v1", protocol="chat",
                                  max_tokens=2048),
               "local": Upstream(name="local", url=local.url + "/v1", protocol="chat",
                                 max_tokens=4096)}
        g = start_gateway(GatewayConfig(upstreams=ups, routes=(Route(upstream="local",
                                                                     model="claude-*"),),
                                        limits=Limits(first_byte_timeout_s=5)))
        try:
            for ask, sent in ((64000, 4096), (1000, 1000)):  # translated Claude Code
                st, _, _ = g.request("POST", "/v1/messages", {
                    "model": "claude-opus-4-8", "max_tokens": ask,
                    "messages": [{"role": "user", "content": "hi"}]})
                assert st == 200 and local.posts()[-1]["body"]["max_tokens"] == sent
            st, _, _ = g.request("POST", "/v1/chat/completions", {  # untranslated
                "model": "m", "max_completion_tokens": 9000,
                "messages": [{"role": "user", "content": "hi"}]})
            assert st == 200 and local.posts()[-1]["body"]["max_completion_tokens"] == 2048
            st, _, _ = g.request("POST", "/v1/responses", {
                "model": "gpt-5", "max_output_tokens": 9000, "input": "hi"})
            # the upstream named openai serves Responses itself: untranslated, capped
            assert st == 200 and local.posts()[-1]["body"]["max_output_tokens"] == 2048
            assert vendor.posts() == []
        finally:
            g.stop()
