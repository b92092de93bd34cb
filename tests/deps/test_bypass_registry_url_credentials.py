"""Regression: a registry URL with credentials (``https://user:TOKEN@host``,
from the policy or the environment) put ``user:TOKEN@host`` into the
"registry unavailable" messages, which reach the hook's reason and the
ledger.  Messages name the scheme and host only."""

from __future__ import annotations

import secrets
import socket

import pytest

from stockade.deps.registry import RegistryUnavailable, fetch


def test_an_unreachable_registry_is_named_without_its_credentials() -> None:
    token = "t" + secrets.token_hex(12)
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://ci-user:{token}@127.0.0.1:{port}/simple"
    with pytest.raises(RegistryUnavailable) as exc:
        fetch("pypi", "requests", base=base, timeout=2)
    assert token not in str(exc.value) and "ci-user" not in str(exc.value)
    assert "127.0.0.1" in str(exc.value)
