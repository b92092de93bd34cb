"""Fixtures for the gateway tests (helpers live in gwsupport.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gwsupport import FakeUpstream, RunningGateway, make_config, start_gateway

from stockade.state import StateDir


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def gw(fake: FakeUpstream) -> Iterator[RunningGateway]:
    g = start_gateway(make_config(anthropic=fake.url, openai=fake.url))
    yield g
    g.stop()


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "state").ensure()


@pytest.fixture
def blocking(fake: FakeUpstream) -> Iterator[RunningGateway]:
    """The real DLP engine, ``dlp.actions.secret: block``, every protocol to ``fake``."""
    from gwsupport import BLOCK_SECRETS, real_scanner

    g = start_gateway(make_config(anthropic=fake.url, openai=fake.url, actions=BLOCK_SECRETS),
                      scanner=real_scanner())
    yield g
    g.stop()
