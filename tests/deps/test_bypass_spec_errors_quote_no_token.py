"""Regression: an install spec that could not be read was quoted in the error
(``cannot read the requirement '...'``), and the hook put that error into
its reason and the ledger; a pasted token or a URL with credentials came
back out."""

from __future__ import annotations

import secrets

import pytest

from stockade.deps.names import BadSpec, parse


@pytest.mark.parametrize(("eco", "template"), [
    ("pypi", "!{t}"),
    ("pypi", "=={t}"),
    ("npm", "a@npm:b@npm:{t}"),
])
def test_an_unreadable_spec_is_not_quoted_with_its_token(eco: str, template: str) -> None:
    token = "tk" + secrets.token_hex(16)
    with pytest.raises(BadSpec) as exc:
        parse(eco, template.format(t=token), source="command")
    assert token not in exc.value.message and token not in (exc.value.hint or "")


def test_an_ordinary_bad_spec_is_still_quoted() -> None:
    with pytest.raises(BadSpec) as exc:
        parse("pypi", "requests==", source="command")
    assert "requests" in exc.value.message
