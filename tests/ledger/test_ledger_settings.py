"""Which ledger `stockade ledger` and the components use: the managed policy's
choice holds against the environment, and a broken project file never stops
a reader of the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

import stockade.config.loader as loader
from stockade.cli import main
from stockade.config import load_policy
from stockade.errors import PolicyError
from stockade.ledgerconf import ENV_LEDGER, ledger_settings
from stockade.state import StateDir


@pytest.fixture()
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine whose /etc/stockade/policy.yaml is tmp_path/etc/policy.yaml."""
    managed = tmp_path / "etc" / "policy.yaml"
    managed.parent.mkdir()
    monkeypatch.setattr(loader, "MANAGED_POLICY_PATH", managed)
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for var in (ENV_LEDGER, "STOCKADE_POLICY", "STOCKADE_MANAGED_POLICY"):
        monkeypatch.delenv(var, raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.chdir(ws)
    return managed


def test_env_cannot_move_the_ledger_the_managed_policy_sets(
        machine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    official = tmp_path / "official" / "ledger.db"
    machine.write_text(f"version: 1\nledger:\n  url: sqlite://{official}\n")
    elsewhere = f"sqlite:///{tmp_path / 'quiet.db'}"
    monkeypatch.setenv(ENV_LEDGER, elsewhere)
    with pytest.raises(PolicyError) as info:
        ledger_settings(policy=load_policy(workspace=Path.cwd()))
    assert f"${ENV_LEDGER}" in info.value.message and "managed" in info.value.message
    assert str(machine.name) in info.value.message  # names the managed file
    assert elsewhere not in info.value.diagnostic()  # a database URL may hold a password
    assert main(["ledger", "append", "--kind", "a.b", "--json", "{}"]) == 2
    assert "managed policy" in capsys.readouterr().err
    assert not (tmp_path / "quiet.db").exists()
    # The same ledger named twice is no conflict, and --ledger stays explicit.
    monkeypatch.setenv(ENV_LEDGER, f"sqlite://{official}")
    assert main(["ledger", "append", "--kind", "a.b", "--json", "{}"]) == 0
    assert official.exists()


def test_env_still_chooses_over_a_user_policy(machine: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "xdg" / "stockade" / "policy.yaml"
    user.parent.mkdir(parents=True)
    user.write_text(f"version: 1\nledger:\n  url: sqlite://{tmp_path / 'user.db'}\n")
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    monkeypatch.setenv(ENV_LEDGER, mine)
    assert ledger_settings(policy=load_policy(workspace=Path.cwd())).url == mine


def test_ledger_commands_read_the_managed_ledger_settings_even_with_the_env_set(
        machine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.commands.ledger import resolve_settings

    machine.write_text("version: 1\nledger:\n  durability: power-loss\n"
                       "  checkpoint_every: 50\n")
    monkeypatch.setenv(ENV_LEDGER, f"sqlite:///{tmp_path / 'x.db'}")
    st = resolve_settings(None, state=StateDir(tmp_path / "state"))
    assert (st.durability, st.checkpoint_every) == ("power-loss", 50)
    assert st.url == f"sqlite:///{tmp_path / 'x.db'}"


def test_a_broken_project_policy_does_not_stop_ledger_verify(
        machine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "append", "--kind", "a.b", "--json", "{}"]) == 0
    Path("stockade.yaml").write_text("version: 1\nnetwork: [unclosed\n")
    assert main(["ledger", "verify"]) == 0
    assert "ledger intact: 1 events" in capsys.readouterr().out
    assert main(["policy", "show"]) == 2  # the project file is still reported where it counts


def test_ledger_option_is_accepted_after_the_action(machine: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'opt.db'}"
    assert main(["ledger", "append", "--ledger", url, "--kind", "a.b", "--json", "{}"]) == 0
    assert main(["ledger", "verify", "--ledger", url]) == 0
    assert "1 events" in capsys.readouterr().out
