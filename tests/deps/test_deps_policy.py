"""`tools.dependencies.offline`, `cache_ttl_hours` and `registries` in the
policy: validation with file and line, tighten-only layering, and the
registry URL reaching the checker (hook and CLI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fake_registry import FakeRegistry

from stockade.config import load_policy
from stockade.errors import PolicyError


def _layers(tmp_path: Path, *, user: str | None = None, project: str | None = None,
            managed: str | None = None) -> tuple[Path, Path, dict[str, str]]:
    home = tmp_path / "home"
    ws = home / "proj"
    ws.mkdir(parents=True, exist_ok=True)
    managed_file = tmp_path / "etc" / "policy.yaml"
    for path, text in ((home / ".config" / "stockade" / "policy.yaml", user),
                       (ws / "stockade.yaml", project), (managed_file, managed)):
        if text is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return ws, managed_file, {"HOME": str(home), "USER": "tester"}


def _load(tmp_path: Path, **layers: str) -> object:
    ws, managed, env = _layers(tmp_path, **layers)
    return load_policy(workspace=ws, managed_file=managed, env=env).tools.dependencies


def test_the_defaults() -> None:
    from stockade.config import DependencyPolicy

    d = DependencyPolicy()
    assert (d.offline, d.cache_ttl_hours, dict(d.registries)) == (False, 24, {})


def test_the_builtin_policy_names_the_public_registries(tmp_path: Path) -> None:
    from stockade.deps.registry import DEFAULT_URLS

    deps = _load(tmp_path)
    assert dict(deps.registries) == DEFAULT_URLS  # type: ignore[attr-defined]


@pytest.mark.parametrize(("body", "line", "key", "says"), [
    ("    offline: yes please\n", 4, "tools.dependencies.offline", "true or false"),
    ("    cache_ttl_hours: 721\n", 4, "tools.dependencies.cache_ttl_hours", "out of range"),
    ("    cache_ttl_hours: -1\n", 4, "tools.dependencies.cache_ttl_hours", "out of range"),
    ("    registries:\n      pipy: https://m.example/pypi\n", 5,
     "tools.dependencies.registries.pipy", "unknown key"),
    ("    registries:\n      pypi: ftp://m.example/pypi\n", 5,
     "tools.dependencies.registries.pypi", "scheme"),
    ("    registries:\n      npm: https://u:pw@m.example/npm\n", 5,
     "tools.dependencies.registries.npm", "user or password"),
    ("    registires: {}\n", 4, "tools.dependencies.registires", "unknown key"),
])
def test_policy_typos_name_file_line_and_fix(tmp_path: Path, body: str, line: int, key: str,
                                             says: str) -> None:
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, user="version: 1\ntools:\n  dependencies:\n" + body)
    err = info.value
    assert err.key == key and err.line == line and says in err.message
    assert err.file is not None and err.file.endswith("policy.yaml")
    assert err.hint
    assert "pw@" not in f"{err.message} {err.hint}"


def test_the_unknown_registry_hint_suggests_the_key(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, user="version: 1\ntools:\n  dependencies:\n    registries:\n"
                             "      pipy: https://m.example/pypi\n")
    assert "pypi" in (info.value.hint or "")


def test_a_project_may_turn_offline_on_and_shorten_the_cache(tmp_path: Path) -> None:
    deps = _load(tmp_path, project="version: 1\ntools:\n  dependencies:\n    offline: true\n"
                                   "    cache_ttl_hours: 1\n")
    assert deps.offline is True and deps.cache_ttl_hours == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(("body", "key"), [
    ("    offline: false\n", "tools.dependencies.offline"),
    ("    cache_ttl_hours: 48\n", "tools.dependencies.cache_ttl_hours"),
])
def test_a_project_cannot_loosen_offline_or_the_cache(tmp_path: Path, body: str,
                                                      key: str) -> None:
    user = "version: 1\ntools:\n  dependencies:\n    offline: true\n    cache_ttl_hours: 12\n"
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, user=user, project="version: 1\ntools:\n  dependencies:\n" + body)
    assert info.value.key == key and "only raise" in info.value.message


def test_a_project_cannot_choose_the_registry(tmp_path: Path) -> None:
    """An agent can write stockade.yaml: pointing the guard at a registry it
    controls would make every invented name "exist"."""
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, project="version: 1\ntools:\n  dependencies:\n    registries:\n"
                                "      pypi: https://evil.example/pypi\n")
    assert info.value.key == "tools.dependencies.registries.pypi"
    assert "managed or user" in info.value.message


def test_the_user_cannot_change_a_registry_the_managed_policy_sets(tmp_path: Path) -> None:
    managed = ("version: 1\ntools:\n  dependencies:\n    registries:\n"
               "      pypi: https://mirror.corp.example/pypi\n")
    user = ("version: 1\ntools:\n  dependencies:\n    registries:\n"
            "      pypi: https://other.example/pypi\n")
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, managed=managed, user=user)
    assert info.value.key == "tools.dependencies.registries.pypi"
    deps = _load(tmp_path / "ok", managed=managed)
    registries = deps.registries  # type: ignore[attr-defined]
    assert registries["pypi"] == "https://mirror.corp.example/pypi"
    assert registries["npm"] == "https://registry.npmjs.org"


def test_policy_show_prints_them_with_provenance(tmp_path: Path) -> None:
    from stockade.config.render import policy_to_dict

    ws, managed, env = _layers(tmp_path, user="version: 1\ntools:\n  dependencies:\n"
                                              "    offline: true\n")
    p = load_policy(workspace=ws, managed_file=managed, env=env)
    d = policy_to_dict(p)["tools"]["dependencies"]
    assert d["offline"] is True and d["cache_ttl_hours"] == 24 and "pypi" in d["registries"]
    assert "policy.yaml" in p.sources["tools.dependencies.offline"]
    assert p.sources["tools.dependencies.registries.pypi"].startswith("default")


def _use_policy_registry(registry: FakeRegistry, deps_env: dict[str, str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake registry named in the user policy, not in the environment."""
    home = Path(deps_env["HOME"])
    conf = home / ".config" / "stockade" / "policy.yaml"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("version: 1\ntools:\n  dependencies:\n    registries:\n"
                    f"      pypi: {registry.base}/pypi\n      npm: {registry.base}/npm\n",
                    encoding="utf-8")
    for eco in ("PYPI", "NPM", "CRATES", "GO"):
        monkeypatch.delenv(f"STOCKADE_DEPS_{eco}_URL", raising=False)
        deps_env.pop(f"STOCKADE_DEPS_{eco}_URL", None)


def test_the_policy_registry_reaches_the_hook(registry: FakeRegistry,
                                              deps_env: dict[str, str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.hooks.depcheck import check_packages

    _use_policy_registry(registry, deps_env, monkeypatch)
    registry.add_pypi("policy-only-pkg")
    ws = tmp_path / "ws"
    ws.mkdir()
    v = check_packages("pypi", ("policy-only-pkg",), cwd=str(ws), record=False)
    assert v.action == "allow", v.reason
    assert "/pypi/policy-only-pkg/json" in registry.requests


def test_the_policy_registry_reaches_the_cli(registry: FakeRegistry, deps_env: dict[str, str],
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    _use_policy_registry(registry, deps_env, monkeypatch)
    ws = tmp_path / "ws"
    ws.mkdir()
    p = subprocess.run([sys.executable, "-m", "stockade", "deps", "check-command", "--no-ledger",
                        "--", "npm", "i", "policy-only-npm"], cwd=ws, env=deps_env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "deps.nonexistent" in p.stdout, p.stdout + p.stderr
    assert "/npm/policy-only-npm" in registry.requests
    assert os.environ.get("STOCKADE_DEPS_NPM_URL") is None


def test_policy_offline_reaches_the_checker(registry: FakeRegistry, deps_env: dict[str, str],
                                            tmp_path: Path) -> None:
    from stockade.hooks.depcheck import check_packages

    conf = Path(deps_env["HOME"]) / ".config" / "stockade" / "policy.yaml"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("version: 1\ntools:\n  dependencies:\n    offline: true\n", encoding="utf-8")
    registry.add_pypi("offline-pkg")
    ws = tmp_path / "ws"
    ws.mkdir()
    v = check_packages("pypi", ("offline-pkg",), cwd=str(ws), record=False)
    assert (v.action, v.rule_id) == ("ask", "deps.unverifiable")
    assert registry.requests == []


@pytest.mark.parametrize("example", sorted(
    (Path(__file__).resolve().parents[2] / "examples" / "policy").glob("deps-*.yaml")))
def test_the_example_policies_load(example: Path, tmp_path: Path) -> None:
    from stockade.config import load_policy_file

    layer = load_policy_file(example, kind="user", workspace=tmp_path, env={"HOME": str(tmp_path)})
    assert any(k.startswith("tools.dependencies.") for k in layer.settings)
