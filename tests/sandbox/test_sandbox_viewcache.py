"""The authenticated cache of the sandbox's policy view: a hit is the same
view the policy gives, any change to what it depends on misses, and an entry
the state key did not sign is never used."""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.sandbox import deps, viewcache
from stockade.state import StateDir


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    for name in ("STOCKADE_POLICY", "STOCKADE_MANAGED_POLICY", "STOCKADE_LEDGER",
                 "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    StateDir(tmp_path / "state").ensure()
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.chdir(ws)
    return tmp_path


def entries(tmp: Path) -> list[Path]:
    return sorted((tmp / "state" / "cache").glob(viewcache.PREFIX + "*"))


def test_mac_is_hmac_sha256() -> None:
    for key in (b"k" * 32, os.urandom(64), os.urandom(100)):
        data = os.urandom(300)
        assert viewcache.mac(key, data) == hmac.new(key, data, hashlib.sha256).hexdigest()


def test_a_hit_enforces_what_the_policy_says(env: Path) -> None:
    policy = env / "policy.yaml"
    policy.write_text("version: 1\nnetwork:\n  allow: [pypi.org]\n  allow_private: [10.1.0.0/16]\n"
                      "filesystem:\n  deny_read: ['~/secrets']\n")
    ws = str(env / "ws")
    fresh = deps.load_view(policy_file=str(policy), workspace=ws)
    assert len(entries(env)) == 1
    cached = deps.load_view(policy_file=str(policy), workspace=ws)
    assert cached is not fresh
    for view in (fresh, cached):
        assert view.allow("pypi.org", 443) and not view.allow("example.org", 443)
        assert view.allow_private("10.1.2.3") and not view.allow_private("10.2.0.1")
    for name in ("source", "digest", "workspace", "write", "read", "deny_read",
                 "env_passthrough", "upstream_proxy", "model_hosts", "model_key_envs",
                 "policy_files", "identity"):
        assert getattr(fresh, name) == getattr(cached, name), name
    for name in ("url", "durability", "checkpoint_every"):
        assert getattr(fresh.ledger, name) == getattr(cached.ledger, name), name
    assert "ANTHROPIC_API_KEY" in cached.model_key_envs


def test_an_edited_policy_is_read_again(env: Path) -> None:
    policy = env / "policy.yaml"
    policy.write_text("version: 1\nnetwork:\n  allow: [pypi.org]\n")
    ws = str(env / "ws")
    assert deps.load_view(policy_file=str(policy), workspace=ws).allow("pypi.org", 443)
    # same size, same second: only the content tells them apart
    policy.write_text("version: 1\nnetwork:\n  allow: [pypa.io]\n")
    view = deps.load_view(policy_file=str(policy), workspace=ws)
    assert not view.allow("pypi.org", 443) and view.allow("pypa.io", 443)
    # a project file appearing is a change too
    (env / "ws" / "stockade.yaml").write_text("version: 1\nnetwork:\n  allow: []\n")
    assert not deps.load_view(policy_file=str(policy), workspace=ws).allow("pypa.io", 443)


def test_a_forged_entry_is_not_used(env: Path) -> None:
    policy = env / "policy.yaml"
    policy.write_text("version: 1\nnetwork:\n  allow: [pypi.org]\n")
    ws = str(env / "ws")
    deps.load_view(policy_file=str(policy), workspace=ws)
    (entry,) = entries(env)
    tag, _, body = entry.read_bytes().partition(b"\n")
    data = marshal.loads(body)
    data["network"]["allow"] = ["*.example.org", "evil.example"]
    data["deny_read"] = []
    forged = marshal.dumps(data)
    entry.write_bytes(tag + b"\n" + forged)  # the old MAC over a new body
    view = deps.load_view(policy_file=str(policy), workspace=ws)
    assert not view.allow("evil.example", 443)
    assert view.deny_read  # the default deny list, as the policy says
    # and a MAC made with another key does not pass either
    other = viewcache.mac(os.urandom(32), entry.name.encode() + b"\0" + forged)
    entry.write_bytes(other.encode() + b"\n" + forged)
    assert not deps.load_view(policy_file=str(policy), workspace=ws).allow("evil.example", 443)


def test_custom_dlp_rules_are_never_cached(env: Path) -> None:
    policy = env / "policy.yaml"
    policy.write_text("version: 1\ndlp:\n  rules:\n    - {id: tck-ref, label: secret, "
                      "regex: 'TCK-[0-9]{6}'}\n")
    view = deps.load_view(policy_file=str(policy), workspace=str(env / "ws"))
    assert view.dlp_rules
    assert entries(env) == []


def test_importing_a_config_leaf_does_not_load_the_yaml_parser() -> None:
    code = ("import sys, stockade.config.paths, stockade.config.domains, "
            "stockade.config.model; print(sorted(m for m in sys.modules "
            "if m == 'yaml' or m.startswith('stockade.config.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "yaml" not in out.stdout and "loader" not in out.stdout and "schema" not in out.stdout
    code = ("from stockade.config import load_policy, Policy, PolicyLayer; "
            "print(load_policy.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "stockade.config.loader"


@pytest.mark.parametrize("variables", [
    {"STOCKADE_HOME": "/srv/st"}, {"STOCKADE_HOME": "~/st/"}, {"STOCKADE_HOME": "rel/./st"},
    {"STOCKADE_HOME": "/a/../b//c"}, {"XDG_DATA_HOME": "/xdg"}, {"XDG_DATA_HOME": "x/../y"},
    {},
])
def test_state_root_is_the_state_modules_answer(monkeypatch: pytest.MonkeyPatch,
                                                variables: dict[str, str]) -> None:
    from stockade.state import default_root

    for name in ("STOCKADE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert deps.state_root() == str(default_root())


def test_cached_network_rules_answer_as_the_policy_does() -> None:
    from stockade.config.model import NetworkPolicy

    allow = ("pypi.org", "*.github.com", "internal.example:8443", "10.0.0.5", "[::1]:8080")
    private = ("10.1.0.0/16", "fd00::/8", "db.internal", "192.168.1.7")
    cached = deps._LazyNetwork(allow, private, None)
    policy = NetworkPolicy(allow=allow, allow_private=private)
    hosts = ["pypi.org", "PyPI.org.", "files.pypi.org", "api.github.com", "github.com",
             "internal.example", "10.0.0.5", "10.1.2.3", "10.2.0.1", "fd00::1", "[fd00::1]",
             "::1", "db.internal", "DB.Internal", "192.168.1.7", "bücher.example",
             "xn--bcher-kva.example", "", "a..b", "127.0.0.1", "evil.com"]
    for host in hosts:
        for port in (None, 80, 443, 8080, 8443):
            assert cached.allows(host, port) == policy.allows(host, port), (host, port)
        assert cached.allows_private(host) == policy.allows_private(host), host
