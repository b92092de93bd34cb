"""Bypass class: a quoted credential with spaces in a reported command.

`redact_command` stopped a value at its first space, so
`PASSWORD="my secret pass"` was reported as `"*** secret pass"`; a URL
password holding an `@` kept its tail, and `sshpass -p"PW"` was not masked.
The history report must show none of it."""

from __future__ import annotations

import pytest

from stockade.history.redact import redact_command

CASES = [
    ('export PASSWORD="{pw}" && run', "{pw}"),
    ("x --password='{pw}' y", "{pw}"),
    ('x --token "{pw}" z', "{pw}"),
    ('curl -u "admin:{pw}" https://h', "{pw}"),
    ('sshpass -p"{pw}" ssh host', "{pw}"),
    ("git clone https://u:{pw}@host/repo", "{pw}"),
]


@pytest.mark.parametrize(("template", "secret"), CASES)
def test_no_part_of_the_value_is_shown(template: str, secret: str) -> None:
    pw = "correct-horse@battery" if "https://" in template else "correct horse battery"
    command = template.format(pw=pw)
    shown = redact_command(command)
    for word in ("correct", "horse", "battery"):
        assert word not in shown, shown


def test_unquoted_values_still_end_at_a_space() -> None:
    assert redact_command("--password hunter2 --verbose") == "--password ******* --verbose"
