"""Bypass class: a requirement with more than one package in it.

`uv run --with requests,evilpkg x.py` handed the guard `requests,evilpkg`,
and the PyPI reader kept `requests` and dropped the rest: `evilpkg` was
installed unchecked.  Such a spec is now unreadable (ask), and a Spec's
repr never shows an index or direct URL (they may carry user:token@)."""

from __future__ import annotations

import secrets

import pytest

from stockade.deps.model import Spec
from stockade.deps.names import BadSpec, parse


@pytest.mark.parametrize("raw", ["requests,evilpkg", "requests, evilpkg", "requests evilpkg",
                                 "requests==2.0,evilpkg", "requests>=2 evilpkg"])
def test_more_than_one_package_is_unreadable(raw: str) -> None:
    with pytest.raises(BadSpec):
        parse("pypi", raw)


@pytest.mark.parametrize("raw", ["requests", "requests==2.31.0", "requests>=2,<3",
                                 "requests[socks]~=2.31; python_version >= '3.8'",
                                 "requests (>=2.0)", "requests==2.*"])
def test_one_package_with_its_specifiers_still_reads(raw: str) -> None:
    spec = parse("pypi", raw)
    assert spec is not None and spec.name == "requests"


def test_a_spec_repr_shows_no_url_credential() -> None:
    tok = secrets.token_hex(12)
    s = Spec("pypi", "x", None, "", None, "x", direct=f"https://u:{tok}@h/x.whl",
             index=f"https://u:{tok}@h/simple")
    assert tok not in repr(s)
