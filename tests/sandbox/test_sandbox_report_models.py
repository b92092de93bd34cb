"""`stockade report egress` lists the model API calls the session's gateway
recorded under the session, next to its network destinations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stockade.commands.report import model_calls


@dataclass
class Ev:
    kind: str
    details: dict[str, Any] = field(default_factory=dict)


def test_model_calls_are_counted_by_path_model_and_upstream() -> None:
    req = {"protocol": "anthropic", "path": "/v1/messages", "model": "claude-x",
           "upstream": "anthropic"}
    events = [Ev("session.start"), Ev("llm.request", req), Ev("llm.response", req),
              Ev("llm.request", req), Ev("llm.request", dict(req, model="small", upstream="local")),
              Ev("net.connect", {"host": "pypi.org", "port": 443})]
    assert model_calls(events) == {
        ("anthropic", "/v1/messages", "claude-x", "anthropic"): 2,
        ("anthropic", "/v1/messages", "small", "local"): 1,
    }
    assert model_calls([Ev("llm.request", {})]) == {("-", "-", "-", "-"): 1}
