"""Which upstream a request goes to, and why (pure: choose_upstream and config)."""

from __future__ import annotations

from typing import Any

import pytest

from stockade.config.model import Route
from stockade.errors import UsageError
from stockade.gateway.config import (
    ConfigError,
    GatewayConfig,
    Upstream,
    choose_upstream,
    parse_route_arg,
)
from stockade.gateway.translate import Identity, MessagesOverChat, ResponsesOverChat, translator_for

UPS = {
    "anthropic": Upstream(name="anthropic", url="https://api.anthropic.com", protocol="anthropic"),
    "openai": Upstream(name="openai", url="https://api.openai.com/v1", protocol="chat"),
    "local": Upstream(name="local", url="http://10.0.0.5:8000/v1", protocol="chat",
                      fallback=("cloud",)),
    "cloud": Upstream(name="cloud", url="https://llm.internal.test/v1", protocol="chat"),
}


def _cfg(**kw: Any) -> GatewayConfig:
    return GatewayConfig(upstreams=dict(UPS), **kw)


def _choose(cfg: GatewayConfig, **kw: Any) -> Any:
    args: dict[str, Any] = {"protocol": "anthropic", "labels": frozenset(), "dlp_route": None,
                            "team": None, "repository": None, "model": "claude-opus-4-8"}
    args.update(kw)
    return choose_upstream(cfg, **args)


def test_default_is_the_protocols_own_vendor() -> None:
    c = _choose(_cfg())
    assert (c.upstream.name, c.reason, c.pinned) == ("anthropic", "default", False)
    assert _choose(_cfg(), protocol="responses").upstream.name == "openai"


@pytest.mark.parametrize(("route", "kw", "hit"), [
    (Route(upstream="local", label="regulated"), {"labels": frozenset({"regulated"})}, True),
    (Route(upstream="local", label="regulated"), {"labels": frozenset({"pii"})}, False),
    (Route(upstream="local", team="payments"), {"team": "payments"}, True),
    (Route(upstream="local", team="payments"), {"team": "web"}, False),
    (Route(upstream="local", repository="*/payments-*"),
     {"repository": "/home/ana/src/payments-api"}, True),
    (Route(upstream="local", repository="*/payments-*"), {"repository": None}, False),
    (Route(upstream="local", model="claude-haiku-*"), {}, False),
    (Route(upstream="local"), {}, True),  # everything
])
def test_route_criteria(route: Route, kw: dict[str, Any], hit: bool) -> None:
    c = _choose(_cfg(routes=(route,)), **kw)
    assert c.upstream.name == ("local" if hit else "anthropic")
    if hit:
        assert c.reason == "models.routes[0]"
        assert c.pinned is (route.label is not None)


def test_first_matching_route_wins_and_the_ledger_learns_why() -> None:
    cfg = _cfg(routes=(Route(upstream="cloud", team="payments"),
                       Route(upstream="local", team="payments", repository="*")))
    c = _choose(cfg, team="payments", repository="/w")
    assert (c.upstream.name, c.reason, dict(c.match)) == ("cloud", "models.routes[0]",
                                                          {"team": "payments"})


def test_dlp_route_action_comes_first_and_is_pinned() -> None:
    cfg = _cfg(routes=(Route(upstream="cloud"),), cli_routes=(Route(upstream="openai"),))
    c = _choose(cfg, labels=frozenset({"secret"}), dlp_route="local", dlp_label="secret")
    assert (c.upstream.name, c.reason) == ("local", "dlp.actions.secret -> route:local")
    assert c.pinned and c.fallbacks(cfg) == []  # data kept in-house never falls back


def test_command_line_routes_come_before_the_policy() -> None:
    cfg = _cfg(routes=(Route(upstream="cloud"),), cli_routes=(Route(upstream="local"),))
    c = _choose(cfg)
    assert (c.upstream.name, c.reason) == ("local", "--route[0]")


def test_command_line_cannot_take_labelled_data_from_its_policy_route() -> None:
    cfg = _cfg(routes=(Route(upstream="local", label="regulated"),),
               cli_routes=(Route(upstream="openai"),))
    assert _choose(cfg).upstream.name == "openai"
    c = _choose(cfg, labels=frozenset({"regulated"}))
    assert (c.upstream.name, c.reason, c.pinned) == ("local", "models.routes[0]", True)


def test_fallbacks_only_for_routes_not_chosen_by_a_label() -> None:
    cfg = _cfg(routes=(Route(upstream="local", label="pii"), Route(upstream="local")))
    assert [u.name for u in _choose(cfg).fallbacks(cfg)] == ["cloud"]
    assert _choose(cfg, labels=frozenset({"pii"})).fallbacks(cfg) == []


@pytest.mark.parametrize(("kw", "says"), [
    ({"routes": (Route(upstream="nowhere"),)}, "models.routes[0] names upstream 'nowhere'"),
    ({"cli_routes": (Route(upstream="nowhere"),)}, "--route[0] names upstream 'nowhere'"),
])
def test_a_route_to_an_unknown_upstream_refuses_to_start(kw: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
        _cfg(**kw)


def test_an_unknown_fallback_refuses_to_start() -> None:
    ups = dict(UPS, local=Upstream(name="local", url="http://h/v1", fallback=("ghost",)))
    with pytest.raises(ConfigError, match="fallback 'ghost'"):
        GatewayConfig(upstreams=ups)


@pytest.mark.parametrize(("arg", "route"), [
    ("secret=local", Route(upstream="local", label="secret")),
    ("*=local", Route(upstream="local")),
    (" pii = cloud ", Route(upstream="cloud", label="pii")),
])
def test_parse_route_arg(arg: str, route: Route) -> None:
    assert parse_route_arg(arg) == route


@pytest.mark.parametrize("arg", ["local", "=local", "secret=", ""])
def test_bad_route_arg(arg: str) -> None:
    with pytest.raises(UsageError, match="LABEL=UPSTREAM"):
        parse_route_arg(arg)


@pytest.mark.parametrize(("client", "upstream", "kind"), [
    ("anthropic", "anthropic", Identity), ("anthropic", "local", MessagesOverChat),
    ("anthropic", "openai", MessagesOverChat), ("chat", "local", Identity),
    ("responses", "local", ResponsesOverChat), ("responses", "openai", Identity),
    ("chat", "anthropic", type(None)), ("responses", "anthropic", type(None)),
])
def test_translator_per_protocol_pair(client: Any, upstream: str, kind: type) -> None:
    assert type(translator_for(client, UPS[upstream])) is kind


def test_a_responses_upstream_serves_codex_untranslated() -> None:
    up = Upstream(name="vllm", url="http://h/v1", protocol="responses")
    assert type(translator_for("responses", up)) is Identity
    assert type(translator_for("anthropic", up)) is MessagesOverChat


@pytest.mark.parametrize(("pattern", "workspace", "hit"), [
    ("acme/payments-*", "/home/ana/src/acme/payments-api", True),
    ("payments-api", "/home/ana/src/acme/payments-api", True),
    ("*/payments-*", "/home/ana/src/acme/payments-api", True),
    ("acme/payments-*", "/home/ana/src/other/payments-api", False),
    ("payments-api", "/home/ana/src/payments-api-old", False),
    ("/srv/*", "/srv/x/y", True),
])
def test_repository_globs_match_the_workspace_or_its_last_directories(
        pattern: str, workspace: str, hit: bool) -> None:
    assert Route(upstream="local", repository=pattern).matches(repository=workspace) is hit


def test_a_dlp_route_action_to_an_unknown_upstream_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="dlp.actions.secret routes to upstream 'lokal'"):
        _cfg(actions={"secret": "route:lokal", "pii": "redact"})
