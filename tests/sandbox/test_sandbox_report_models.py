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


def test_a_refusal_for_the_relay_cap_does_not_count_against_the_policy() -> None:
    """Review: one relay-cap refusal marked an allowed host "not in policy"."""
    from types import SimpleNamespace

    from stockade.commands.report import aggregate

    ok = {"host": "pypi.org", "port": 443, "in_policy": True, "bytes_up": 1, "bytes_down": 2}
    events = [SimpleNamespace(kind="net.connect", details=ok),
              SimpleNamespace(kind="net.deny",
                              details={"host": "pypi.org", "port": 443, "reason": "relay-cap"})]
    dest = aggregate(events)[("pypi.org", 443)]
    assert dest.in_policy is not False and dest.denied == 1 and "relay-cap" in dest.reasons
    refused = [SimpleNamespace(kind="net.deny", details={"host": "evil.example", "port": 443,
                                                         "reason": "not-allowed"})]
    assert aggregate(refused)[("evil.example", 443)].in_policy is False
