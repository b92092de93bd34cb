"""Start-up: no DLP engine means no gateway; settings it cannot honour are refused."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest

from stockade.config.model import Route
from stockade.errors import EnvironmentProblem, StockadeError, UsageError
from stockade.gateway.config import parse_upstream_arg
from stockade.gateway.deps import config_from_policy, dlp_scanner


# built at run time: a URL with a password in it must not be committed
_PASSWORD = "pw" + os.urandom(6).hex()
_CRED_URL = "http://me:" + _PASSWORD + "@127.0.0.1:8000/v1"


def test_missing_dlp_engine_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "stockade.dlp", None)  # import now raises ImportError
    with pytest.raises(EnvironmentProblem, match="DLP engine"):
        dlp_scanner(None)


def _policy(*, content: str = "redacted", upstreams: dict | None = None,
            actions: dict | None = None, routes: tuple = ()) -> SimpleNamespace:
    return SimpleNamespace(
        models=SimpleNamespace(upstreams=upstreams or {}, routes=routes),
        dlp=SimpleNamespace(actions=actions or {}), ledger=SimpleNamespace(content=content),
        identity=SimpleNamespace(user="u", team=None))


def _up(url: str, protocol: str = "chat") -> SimpleNamespace:
    return SimpleNamespace(url=url, protocol=protocol, key_env=None, models=(), fallback=())


def test_policy_routes_and_actions_are_the_policys_own_objects() -> None:
    route = Route(upstream="openai", label="pii")
    cfg = config_from_policy(_policy(routes=(route,), actions={"pii": "route:openai"}))
    assert cfg.routes == (route,)
    assert cfg.action_for("pii") == "route:openai" and cfg.action_for("other") == "block"


@pytest.mark.parametrize("policy,needle", [
    (_policy(content="everything"), "ledger.content"),
    (_policy(upstreams={"x": _up("http://h/v1", protocol="grpc")}), "unknown protocol"),
    (_policy(upstreams={"x": _up(_CRED_URL)}), "holds credentials"),
    (_policy(upstreams={"x": _up("ftp://h/v1")}), "http(s)"),
])
def test_settings_the_gateway_cannot_honour_are_refused(policy: SimpleNamespace,
                                                        needle: str) -> None:
    with pytest.raises(StockadeError, match=needle.replace("(", r"\(").replace(")", r"\)")) as e:
        config_from_policy(policy)
    assert _PASSWORD not in str(e.value) + str(e.value.hint)


def test_upstream_argument_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(UsageError) as e:
        parse_upstream_arg("local=" + _CRED_URL)
    assert _PASSWORD not in str(e.value) + str(e.value.hint)
