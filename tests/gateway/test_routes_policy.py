"""The `models` section as an administrator writes it: routes, fallback, protocols."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.config.loader import load_policy
from stockade.config.model import Route
from stockade.errors import PolicyError

POLICY = """version: 1
models:
  upstreams:
    anthropic: {url: "https://api.anthropic.com", key_env: ANTHROPIC_API_KEY}
    local:
      url: http://10.0.0.5:8000/v1
      models: {"claude-*": qwen2.5-coder-32b-instruct}
      fallback: [cloud]
    cloud: {url: "https://llm.internal.test/v1", protocol: responses}
  routes:
    - {label: regulated, upstream: local}
    - {team: payments, upstream: local}
    - {repository: "*/legacy-*", upstream: cloud}
dlp:
  actions: {secret: "route:local", pii: redact}
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    f = tmp_path / "outside" / "policy.yaml"
    f.parent.mkdir()
    f.write_text(text)
    ws = tmp_path / "ws"
    ws.mkdir()
    return load_policy(policy_file=f, workspace=ws, env={"HOME": str(tmp_path)},
                       managed_file=tmp_path / "none.yaml")


def test_routes_fallback_and_protocols_load(tmp_path: Path) -> None:
    p = _load(tmp_path, POLICY)
    ups = p.models.upstreams
    assert (ups["anthropic"].protocol, ups["local"].protocol, ups["cloud"].protocol) == (
        "anthropic", "chat", "responses")
    assert ups["local"].fallback == ("cloud",) and ups["cloud"].fallback == ()
    assert ups["local"].map_model("claude-opus-4-8") == "qwen2.5-coder-32b-instruct"
    assert p.models.routes == (Route(upstream="local", label="regulated"),
                               Route(upstream="local", team="payments"),
                               Route(upstream="cloud", repository="*/legacy-*"))
    assert p.dlp_action("secret") == "route:local"


@pytest.mark.parametrize(("bad", "says"), [
    ("fallback: [local]", "cannot be a fallback of upstream 'local'"),
    ("fallback: cloud", "fallback"),
    ("protocol: grpc", "protocol"),
])
def test_bad_upstream_settings_name_the_line(tmp_path: Path, bad: str, says: str) -> None:
    text = POLICY.replace("fallback: [cloud]", bad)
    with pytest.raises(PolicyError) as exc:
        _load(tmp_path, text)
    assert says in exc.value.message
    assert "policy.yaml:" in exc.value.message or "policy.yaml:" in str(exc.value.diagnostic())


def test_the_self_hosted_example_policy_routes_as_documented(tmp_path: Path) -> None:
    from stockade.gateway.config import choose_upstream
    from stockade.gateway.deps import config_from_policy

    example = Path(__file__).resolve().parents[2] / "examples" / "policy" / "self-hosted.yaml"
    p = _load(tmp_path, example.read_text())
    cfg = config_from_policy(p)
    assert p.models.upstreams["local"].fallback == ("local-ollama",)

    def where(**kw: object) -> str:
        args: dict[str, object] = {"protocol": "anthropic", "labels": frozenset(),
                                   "dlp_route": None, "team": None, "repository": None,
                                   "model": "claude-opus-4-8"}
        args.update(kw)
        return choose_upstream(cfg, **args).upstream.name  # type: ignore[arg-type]

    assert where() == "anthropic"
    assert where(labels=frozenset({"regulated"})) == "local"
    assert where(repository="/home/ana/acme/payments-api") == "local"
    assert where(team="platform") == "local"
    assert p.models.upstreams["local"].map_model("claude-opus-4-8") == \
        "qwen2.5-coder-32b-instruct"
