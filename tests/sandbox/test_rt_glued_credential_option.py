"""Bypass class: a credential option whose name runs its words together.

``redis-server --requirepass PW``, ``--masterauth PW``, ``--dbpassword PW``:
the option says its value is a credential, but the name rule matched only
whole words between underscores (``--require-pass``), so the value reached
the ledger's ``session.start`` whenever the DLP engine did not judge it
(a random 16-character password often is not: the test beside it,
test_rt_argv_secrets_in_ledger, failed now and then for exactly that).
"""

from __future__ import annotations

import secrets

import pytest

from stockade.sandbox.verdicts import REDACTED, redact_argv


def never(_: str) -> bool:
    return False  # the DLP engine says nothing: only the option's name can tell


@pytest.mark.parametrize("option", ["--requirepass", "--masterauth", "--dbpassword",
                                    "-accesstoken", "--clientsecret", "--apikey"])
def test_the_value_of_a_glued_credential_option_is_redacted(option: str) -> None:
    pw = secrets.token_urlsafe(12)
    assert redact_argv(["tool", option, pw], looks_secret=never) == ["tool", option, REDACTED]


@pytest.mark.parametrize("option", ["--masterauth", "--password", "--api-key"])
def test_a_credential_value_that_starts_with_a_dash_is_redacted(option: str) -> None:
    # secrets.token_urlsafe starts with "-" one time in 64: CI once drew one
    pw = "-" + secrets.token_urlsafe(12)
    assert redact_argv(["tool", option, pw], looks_secret=never) == ["tool", option, REDACTED]


def test_ordinary_options_keep_their_values() -> None:
    # (`--compass north` would be redacted: too much hidden in the ledger is
    # the safe side of this rule)
    argv = ["tool", "--bypass-cache", "yes", "--author", "me", "--output", "x.txt"]
    assert redact_argv(argv, looks_secret=never) == argv
