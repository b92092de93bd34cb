"""Fixtures for policy tests: every layer lives in a tmp dir, never /etc or ~."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from stockade.config import Policy, PolicyLayer, load_policy, load_policy_file


@dataclass
class Layers:
    root: Path
    home: Path
    workspace: Path
    managed: Path
    user: Path

    @property
    def project(self) -> Path:
        return self.workspace / "stockade.yaml"

    @property
    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home), "USER": "tester"}

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def write_managed(self, text: str) -> Path:
        return self.write(self.managed, text)

    def write_user(self, text: str) -> Path:
        return self.write(self.user, text)

    def write_project(self, text: str) -> Path:
        return self.write(self.project, text)

    def load(self) -> Policy:
        return load_policy(workspace=self.workspace, managed_file=self.managed, env=self.env)

    def check(self, text: str, *, kind: str = "file", name: str = "policy.yaml") -> PolicyLayer:
        path = self.write(self.root / name, text)
        return load_policy_file(path, kind=kind, workspace=self.workspace, env=self.env)


@pytest.fixture
def layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layers:
    home = tmp_path / "home"
    ws = home / "proj"
    ws.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return Layers(
        root=tmp_path,
        home=home,
        workspace=ws,
        managed=tmp_path / "etc" / "stockade" / "policy.yaml",
        # the conventional user location, found through HOME
        user=home / ".config" / "stockade" / "policy.yaml",
    )
