"""Regression: `--upstream NAME=URL` accepted a query string (``?api_key=``,
printed at start-up and kept in reprs) and a non-numeric port, whose
ValueError quoted it into the log on the first request."""

from __future__ import annotations

import secrets

import pytest

from stockade.errors import StockadeError
from stockade.gateway.config import check_upstream_url


@pytest.mark.parametrize("template", [
    "https://api.example/v1?api_key={t}",
    "https://api.example/v1#{t}",
    "https://api.example:{t}/v1",
])
def test_an_upstream_url_that_could_carry_a_key_is_refused(template: str) -> None:
    token = "k" + secrets.token_hex(12)
    with pytest.raises(StockadeError) as exc:
        check_upstream_url("local", template.format(t=token))
    assert token not in str(exc.value) and token not in (exc.value.hint or "")


def test_an_ordinary_upstream_url_passes() -> None:
    check_upstream_url("local", "http://127.0.0.1:8000/v1")
