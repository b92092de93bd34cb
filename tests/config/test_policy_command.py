"""`stockade policy check|show|default` as a user runs them."""

from __future__ import annotations

import json

import pytest
import yaml

from stockade.cli import main


@pytest.fixture
def cli_env(layers, monkeypatch):
    """Point the command at the tmp layers (never /etc or the real home)."""
    layers.write_managed("version: 1\nnetwork:\n  upstream_proxy: 'http://proxy.corp:3128'\n")
    monkeypatch.setenv("HOME", str(layers.home))
    monkeypatch.setenv("USER", "tester")
    monkeypatch.setenv("STOCKADE_MANAGED_POLICY", str(layers.managed))
    for var in ("XDG_CONFIG_HOME", "STOCKADE_POLICY"):
        monkeypatch.delenv(var, raising=False)
    return layers


def test_check_ok(cli_env, capsys):
    a = cli_env.write(cli_env.root / "a.yaml", "version: 1\ntools: {default: ask}\n")
    b = cli_env.write(cli_env.root / "b.yaml", "version: 1\n")
    assert main(["policy", "check", str(a), str(b)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [x.split(" (")[0] for x in out] == [f"ok: {a}", f"ok: {b}"]
    assert all("checked on its own" in x for x in out)


def test_check_reports_the_error_with_exit_2(cli_env, capsys):
    bad = cli_env.write(
        cli_env.root / "bad.yaml", "version: 1\nnetwork:\n  allow: [pypi.org, '*']\n"
    )
    assert main(["policy", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "./bad.yaml:3: network.allow[1]: '*' would allow every domain" in err
    assert "hint: list the domains the agent needs" in err


def test_check_several_files_reports_each(cli_env, capsys):
    good = cli_env.write(cli_env.root / "good.yaml", "version: 1\n")
    bad = cli_env.write(cli_env.root / "bad.yaml", "version: 1\ntools: {defualt: deny}\n")
    assert main(["policy", "check", str(bad), str(good)]) == 2
    cap = capsys.readouterr()
    assert f"ok: {good}" in cap.out
    assert "./bad.yaml:2: tools.defualt: unknown key" in cap.err
    assert "did you mean 'default'" in cap.err


def test_check_treats_stockade_yaml_as_a_project_policy(cli_env, capsys):
    proj = cli_env.write_project("version: 1\nledger:\n  content: full\n")
    assert main(["policy", "check", str(proj)]) == 2
    assert "ledger.content: only the managed or user policy may set this" in capsys.readouterr().err
    assert main(["policy", "check", "--layer", "user", str(proj)]) == 0


def test_show_prints_each_value_with_its_layer(cli_env, capsys):
    cli_env.write_user("version: 1\nnetwork:\n  allow:\n    - pypi.org\n    - '*.corp.example'\n")
    cli_env.write_project("version: 1\ndlp:\n  actions:\n    secret: block\n")
    assert main(["policy", "show", "--workspace", str(cli_env.workspace)]) == 0
    out = capsys.readouterr().out
    assert (
        '  upstream_proxy: "http://proxy.corp:3128"   # from managed ./etc/stockade/policy.yaml:3'
        in out
    )
    assert '    - "*.corp.example"   # from user ./home/.config/stockade/policy.yaml:5' in out
    assert "    secret: block   # from project ./home/proj/stockade.yaml:4" in out
    assert "    pii: redact   # from default" in out
    # the annotated output is still the effective policy, as YAML
    from stockade.config import load_policy

    p = load_policy(workspace=cli_env.workspace)
    assert yaml.safe_load(out) == p.to_dict()
    assert f"# digest: {p.digest}" in out


def test_show_json(cli_env, capsys, tmp_path):
    other = cli_env.write(tmp_path / "mine.yaml", "version: 1\nidentity: {team: core}\n")
    assert (
        main(
            [
                "policy",
                "show",
                "--policy",
                str(other),
                "--format",
                "json",
                "--workspace",
                str(cli_env.workspace),
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["policy"]["identity"]["team"] == "core"
    assert doc["sources"]["identity.team"] == "user ./mine.yaml:2"
    assert doc["digest"].startswith("sha256:")
    assert [x["kind"] for x in doc["layers"]] == ["managed", "user", "default"]


def test_show_fails_on_a_loosening_project(cli_env, capsys):
    cli_env.write_project("version: 1\nnetwork:\n  allow: [evil.example]\n")
    assert main(["policy", "show", "--workspace", str(cli_env.workspace)]) == 2
    err = capsys.readouterr().err
    assert (
        "./home/proj/stockade.yaml:3: network.allow[0]: 'evil.example' is not allowed by the built-in default"
        in err
    )


def test_default_prints_a_valid_annotated_policy(cli_env, capsys):
    assert main(["policy", "default"]) == 0
    out = capsys.readouterr().out
    assert "# stockade built-in default policy" in out
    path = cli_env.write(cli_env.root / "from-default.yaml", out)
    assert main(["policy", "check", str(path)]) == 0


def test_shipped_examples_are_valid_and_combine(layers):
    from pathlib import Path

    from stockade.config import load_policy, load_policy_file

    examples = Path(__file__).resolve().parents[2] / "examples" / "policy"
    company, project = examples / "company.yaml", examples / "stockade.yaml"
    load_policy_file(company, kind="managed", env=layers.env)
    load_policy_file(project, kind="project", env=layers.env)
    layers.write_project(project.read_text())
    p = load_policy(workspace=layers.workspace, managed_file=company, env=layers.env)
    assert p.network.allow == ("pypi.org", "files.pythonhosted.org")
    assert p.dlp_action("regulated") == "route:onprem" and p.dlp_action("pii") == "block"
    assert "openai" not in p.models.upstreams
    assert p.tools.default == "ask" and p.tools.dependencies.vulnerable == "block"


def test_check_applies_the_bounds_loading_applies(cli_env, capsys, monkeypatch):
    """UX item 13: `policy check` refuses what every other command refuses."""
    user = cli_env.write_user("version: 1\ntools:\n  default: deny\n")
    monkeypatch.setenv("STOCKADE_POLICY", str(user))
    proj = cli_env.write_project("version: 1\ntools:\n  default: allow\n")
    monkeypatch.chdir(cli_env.workspace)
    assert main(["policy", "check", str(proj)]) == 2
    err = capsys.readouterr().err
    assert "tools.default" in err and "'allow' would lower 'deny'" in err
    assert main(["policy", "show"]) == 2  # the same refusal when loading
    capsys.readouterr()
    cli_env.write_project("version: 1\ntools:\n  default: deny\n")
    assert main(["policy", "check", str(proj)]) == 0
    out = capsys.readouterr().out
    assert "as project policy, within the bounds of: managed" in out and "user " in out


def test_check_of_a_user_file_is_bounded_by_managed(cli_env, capsys, monkeypatch):
    cli_env.write_managed("version: 1\ntools:\n  default: ask\n")
    f = cli_env.write(cli_env.root / "mine.yaml", "version: 1\ntools:\n  default: allow\n")
    assert main(["policy", "check", str(f)]) == 0  # on its own: says so
    assert "checked on its own" in capsys.readouterr().out
    assert main(["policy", "check", "--layer", "user", str(f)]) == 2
    assert "'allow' would lower 'ask'" in capsys.readouterr().err


def test_workspace_root_says_run_from_the_project_directory(cli_env, capsys, monkeypatch):
    """UX item 9: ${WORKSPACE} is '/' because stockade was started in /."""
    monkeypatch.chdir("/")
    assert main(["policy", "show"]) == 2
    err = capsys.readouterr().err
    assert "${WORKSPACE} is '/'" in err and "run from the project directory" in err
    assert main(["policy", "show", "--workspace", str(cli_env.workspace)]) == 0
