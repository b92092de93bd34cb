"""Regressions from the policy security review: what an error may show, which
file is the managed policy, what a policy file may be, and which layer a file
inside the workspace is.

Every secret here is made at run time; none is ever allowed in an error.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

import pytest

import stockade.config.loader as loader
from stockade.config import load_policy, load_policy_file
from stockade.errors import PolicyError


def _secret() -> str:
    return "Zq" + secrets.token_hex(10)


def _refusal(path: Path, **kwargs: object) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy_file(path, **kwargs)  # type: ignore[arg-type]
    return info.value


# -- 1. no credential in an error --------------------------------------------
# (name, policy body with {s} for the secret, words the error must say)
LEAKS = [
    (
        "password-with-slash-in-upstream-url",
        "models:\n  upstreams:\n    x: {{url: 'https://u:{s}/x@host/v1', key_env: K}}\n",
        "URL must not contain a user or password",
    ),
    (
        "password-in-proxy-url-with-bad-port",
        "network:\n  upstream_proxy: 'http://u:p@proxy:{s}'\n",
        "URL must not contain a user or password",
    ),
    (
        "bad-port-alone",
        "network:\n  upstream_proxy: 'http://proxy:{s}'\n",
        "port is not a number",
    ),
    (
        "password-in-postgres-ledger-url",
        "ledger:\n  url: 'postgresql://u:{s}/x@db/ledger'\n",
        "URL must not contain a user or password",
    ),
    (
        "plain-password-in-upstream-url",
        "models:\n  upstreams:\n    x: {{url: 'https://u:{s}@host/v1'}}\n",
        "URL must not contain a user or password",
    ),
    (
        "key-pasted-into-key-env",
        "models:\n  upstreams:\n    x: {{url: 'https://host/v1', key_env: 'sk-{s}'}}\n",
        "key_env names an environment variable, never the key itself",
    ),
    (
        "name-equals-value-in-env-passthrough",
        "sandbox:\n  env_passthrough: ['DEPLOY_TOKEN={s}']\n",
        "write the variable's name only (DEPLOY_TOKEN)",
    ),
    (
        "value-in-env-passthrough",
        "sandbox:\n  env_passthrough: ['{s}-x']\n",
        "not an environment variable name",
    ),
    (
        "credentials-in-allow-private",
        "network:\n  allow_private: ['u:{s}@10.0.0.1']\n",
        "user name or password",
    ),
    (
        "url-with-credentials-in-allow-private",
        "network:\n  allow_private: ['https://u:{s}@git.corp/x']\n",
        "user name or password",
    ),
    (
        "user-colon-password-in-network-allow",
        "network:\n  allow: ['corp-proxy:{s}']\n",
        "not a port number",
    ),
    (
        "user-colon-password-in-allow-private",
        "network:\n  allow_private: ['corp:{s}']\n",
        "allow_private takes a CIDR",
    ),
    (
        "int-tag-quoting-its-value",
        "identity:\n  team: !!int '{s}'\n",
        "cannot read this value as a YAML int",
    ),
]


@pytest.mark.parametrize("body, words", [c[1:] for c in LEAKS], ids=[c[0] for c in LEAKS])
def test_a_credential_in_a_bad_value_is_never_echoed(tmp_path: Path, body: str,
                                                      words: str) -> None:
    s = _secret()
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\n" + body.format(s=s), encoding="utf-8")
    err = _refusal(path, workspace=tmp_path)
    shown = err.diagnostic() + repr(err) + str(err.args)
    assert words in shown, shown
    assert s not in shown and s[-10:] not in shown, shown
    assert err.line is not None and err.hint


def test_a_date_that_does_not_exist_is_a_policy_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nidentity:\n  team: 2024-13-45\n", encoding="utf-8")
    err = _refusal(path, workspace=tmp_path)
    assert err.line == 3 and "timestamp" in err.message and "quote it" in (err.hint or "")


# -- 2. the managed policy cannot be swapped by the environment --------------
def test_the_environment_cannot_replace_an_installed_managed_policy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "etc" / "stockade" / "policy.yaml"
    real.parent.mkdir(parents=True)
    real.write_text("version: 1\ntools: {default: deny}\n", encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\ntools: {default: allow}\n", encoding="utf-8")
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.setattr(loader, "MANAGED_POLICY_PATH", real)
    env = {"HOME": str(tmp_path / "home"), "STOCKADE_MANAGED_POLICY": str(mine)}
    p = load_policy(workspace=ws, env=env)
    assert p.tools.default == "deny"
    assert [x.path for x in p.layers if x.kind == "managed"] == [str(real)]
    # Where no managed policy is installed, the variable still moves it (tests, demo).
    real.unlink()
    assert load_policy(workspace=ws, env=env).tools.default == "allow"


# -- 3. only a regular file can be a policy ----------------------------------
def test_a_fifo_named_stockade_yaml_is_refused_without_hanging(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    fifo = ws / "stockade.yaml"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_policy(workspace=ws, managed_file=tmp_path / "none.yaml",
                        env={"HOME": str(tmp_path / "home")})
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(timeout=10)
    if t.is_alive():  # the bug: open() waits for a writer forever; release it
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        t.join(timeout=10)
        pytest.fail("loading a policy with a FIFO named stockade.yaml hung")
    assert isinstance(outcome[0], PolicyError), outcome
    assert "not a regular file" in outcome[0].message
    assert outcome[0].file == str(fifo) or str(outcome[0].file).endswith("stockade.yaml")


def test_a_device_is_not_a_policy(tmp_path: Path) -> None:
    err = _refusal(Path("/dev/zero"), workspace=tmp_path)
    assert "not a regular file" in err.message


def test_a_policy_larger_than_1_mib_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("version: 1\n" + "# padding\n" * 120_000, encoding="utf-8")
    assert "larger than 1 MiB" in _refusal(path, workspace=tmp_path).message


# -- 4. a policy file inside the workspace is a project policy ---------------
@pytest.fixture()
def ws_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    ws = tmp_path / "home" / "proj"
    ws.mkdir(parents=True)
    return ws, {"HOME": str(tmp_path / "home"), "USER": "tester"}


LOOSENING = "version: 1\nnetwork:\n  allow: [pypi.org, exfil.example]\n"


@pytest.mark.parametrize("how", ["argument", "variable"])
def test_a_named_policy_inside_the_workspace_cannot_loosen(
        tmp_path: Path, ws_env: tuple[Path, dict[str, str]], how: str) -> None:
    ws, env = ws_env
    named = ws / "policies" / "mine.yaml"  # the agent can write this file
    named.parent.mkdir()
    named.write_text(LOOSENING, encoding="utf-8")
    kwargs: dict[str, object] = {"policy_file": named} if how == "argument" else {}
    if how == "variable":
        env = {**env, "STOCKADE_POLICY": str(named)}
    with pytest.raises(PolicyError) as info:
        load_policy(workspace=ws, managed_file=tmp_path / "none.yaml", env=env,
                    **kwargs)  # type: ignore[arg-type]
    assert "'exfil.example' is not allowed by" in info.value.message
    assert "a project policy can only narrow network.allow" in info.value.message


def test_a_symlink_outside_the_workspace_into_it_is_a_project_policy(
        tmp_path: Path, ws_env: tuple[Path, dict[str, str]]) -> None:
    ws, env = ws_env
    (ws / "stockade.yaml").write_text(
        "version: 1\nmodels:\n  upstreams:\n    evil: {url: 'https://exfil.example'}\n",
        encoding="utf-8")
    link = tmp_path / "my-policy.yaml"
    link.symlink_to(ws / "stockade.yaml")
    with pytest.raises(PolicyError) as info:
        load_policy(policy_file=link, workspace=ws, managed_file=tmp_path / "none.yaml",
                    env=env)
    assert str(info.value.key).startswith("models.upstreams")
    assert "only the managed or user policy may set this" in info.value.message


def test_a_tightening_policy_inside_the_workspace_still_applies_as_project(
        tmp_path: Path, ws_env: tuple[Path, dict[str, str]]) -> None:
    ws, env = ws_env
    (ws / "stockade.yaml").write_text("version: 1\ntools: {default: ask}\n", encoding="utf-8")
    named = ws / "policy.yaml"
    named.write_text("version: 1\ndlp:\n  actions: {secret: block}\n", encoding="utf-8")
    p = load_policy(policy_file=named, workspace=ws, managed_file=tmp_path / "none.yaml",
                    env=env)
    assert p.dlp_action("secret") == "block" and p.tools.default == "ask"
    source = p.source_of("dlp.actions.secret")
    assert source.startswith("project ") and source.endswith("policy.yaml:3"), source
    assert [x.kind for x in p.layers] == ["default", "project", "project"]


def test_locked_key_in_a_named_workspace_file_says_to_move_it(
        tmp_path: Path, ws_env: tuple[Path, dict[str, str]]) -> None:
    ws, env = ws_env
    named = ws / "policy.yaml"
    named.write_text("version: 1\nledger:\n  content: none\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(policy_file=named, workspace=ws, managed_file=tmp_path / "none.yaml",
                    env=env)
    assert "inside the workspace" in (info.value.hint or "")
    assert "outside the workspace" in (info.value.hint or "")


def test_without_the_project_layer_a_broken_stockade_yaml_is_not_read(
        tmp_path: Path, ws_env: tuple[Path, dict[str, str]]) -> None:
    ws, env = ws_env
    (ws / "stockade.yaml").write_text("version: 1\nnetwork: [\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(workspace=ws, managed_file=tmp_path / "none.yaml", env=env)
    p = load_policy(workspace=ws, managed_file=tmp_path / "none.yaml", env=env,
                    include_project=False)
    assert [x.kind for x in p.layers] == ["default"]


# -- 7. one canonical JSON -----------------------------------------------------
def test_the_policy_digest_uses_the_ledgers_canonical_json() -> None:
    from stockade.config import render
    from stockade.ledger import canonical_json

    assert render.canonical_json is canonical_json
    with pytest.raises(ValueError):
        render.canonical_json({"confidence": float("nan")})  # NaN is not JSON
