"""`stockade run` starts without importing re or json (~8 ms of every start):
the environment scrub, the argument redaction, bubblewrap's status line and
the recorder's pipe use plain string code.  These tests hold that code to
the regular expressions and the json module it stands for, on generated
names and values with the characters where the two could part: separators,
whitespace of every kind, non-ASCII letters that case-fold to ASCII ones."""

from __future__ import annotations

import enum
import json
import os
import random
import re
import subprocess
import sys

import pytest

from stockade.sandbox import envscrub, netns, recorder, verdicts

SECRET_NAME = re.compile(envscrub._SECRET_NAME_PATTERN, re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
TOKEN = re.compile(r"[A-Za-z0-9+/_=.~-]{20,}")
OPTION_NAME = re.compile(r"-{0,2}([A-Za-z][A-Za-z0-9_.-]*)\Z")


def high_entropy_token_re(value: str) -> bool:
    for part in re.split(r"[/:;,\s]", value):
        for tok in TOKEN.findall(part):
            if any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok) \
                    and envscrub.shannon(tok) >= 3.3:
                return True
    return False


WORDS = ["KEY", "TOKEN", "PWD", "FILE", "CONN", "STR", "ACCESS", "CLIENT", "SECRET", "PASS",
         "MY", "PATH", "X", "", "ſECRET", "TO\u212aEN", "ıd", "KEY\n", "\nKEY", "PASS\n\n",
         "A\rB", "TOKEN ", "PASSWORD1", "KEY22", "XSECRET", "2", "PWD1", "CREDENTIALS9"]
ODD = "_:/@ \t\n\x1c\x0b;,.+-=~%ſ\u212aéı\udcff0123456789"


def _names(rng: random.Random) -> list[str]:
    out = [w for w in WORDS]
    for _ in range(4000):
        out.append("_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))))
        out.append("".join(rng.choice("AKEYTOPS_ſ\u212a\n12") for _ in range(rng.randint(1, 9))))
    return out


def _values(rng: random.Random) -> list[str]:
    alphabet = "abcXYZ019" + ODD
    out = ["postgres://app:pw@db", "https://user:@host", "x://:p@h", "1a://u:p@h", "a1://u:p@h",
           "HTTP://U:P@H", "s3://a/b:c@d", "ſ://u:p@h", "git+ssh://u:p@h", "://u:p@h",
           "a://u:p:q@h", "a://u:p\x1c@h", "a://u:p\u2003@h", "k://u:p@h a://u:p@h"]
    for _ in range(4000):
        n = rng.randint(0, 60)
        out.append("".join(rng.choice(alphabet) for _ in range(n)))
        out.append(rng.choice(["", "x", "ab"]) + "://" + "".join(
            rng.choice("ab:@/ 1ſ") for _ in range(rng.randint(0, 8))))
        out.append("".join(rng.choice("aB3xZ9+=_.~-/") for _ in range(rng.randint(15, 45))))
    return out


def test_secret_names_match_as_the_regular_expression_does() -> None:
    for name in _names(random.Random(7)):
        upper = name.upper()
        assert envscrub._secret_name(upper) == (SECRET_NAME.search(upper) is not None), name


def test_url_passwords_are_found_as_the_regular_expression_finds_them() -> None:
    for value in _values(random.Random(11)):
        assert envscrub.has_url_password(value) == (
            URL_WITH_PASSWORD.search(value) is not None), repr(value)


def test_high_entropy_tokens_are_found_as_with_the_regular_expressions() -> None:
    for value in _values(random.Random(13)):
        assert envscrub.high_entropy_token(value) == high_entropy_token_re(value), repr(value)


def test_credential_option_names_are_parsed_as_the_regular_expression_does() -> None:
    rng = random.Random(17)
    options = ["--password", "-p", "---password", "--", "-", "", "--1pass", "--api.key",
               "--db-password", "TOKEN", "--ſecret", "-\u212aey"]
    for _ in range(4000):
        options.append("-" * rng.randint(0, 3) + "".join(
            rng.choice("apsTOKEN_.-1ſé") for _ in range(rng.randint(0, 10))))
    for opt in options:
        m = OPTION_NAME.match(opt)
        if m is None:
            expected = False
        else:
            name = m.group(1).replace("-", "_").replace(".", "_")
            expected = envscrub.name_reason(name) == "name" or \
                name.upper().endswith(verdicts._GLUED_SECRET_WORDS)
        assert verdicts._credential_option(opt) == expected, opt


@pytest.mark.parametrize("line", [
    (b'{ "child-pid": 12, "cgroup-namespace": 4026531835, "ipc-namespace": 4026532, '
     b'"mnt-namespace": 4026532, "net-namespace": 4026533, "pid-namespace": 4026534, '
     b'"uts-namespace": 4026535 }'),
    b'{"child-pid":7}',
    b'{ "child-pid": 12, "child-pid": 13 }',
    b'{ "child-pid": "12" }',
    b'{ "child-pid": 1.5 }',
    b'{ "child-pid": -1 }',
    b'{ "Child-Pid": 1 }',
    b'{ "child\\u002dpid": 1 }',
    b'{}',
])
def test_bubblewraps_status_line_reads_as_json_reads_it(line: bytes) -> None:
    r, w = os.pipe()
    try:
        os.write(w, line + b"\n" + b'{"exit-code": 0}\n')
        msg, rest = netns.first_status_line(r)
    finally:
        os.close(r)
        os.close(w)
    assert msg == json.loads(line)
    assert rest == b'{"exit-code": 0}\n'


def test_the_recorders_pipe_carries_what_json_would() -> None:
    class Named(tuple[int, ...]):  # a NamedTuple in the details becomes a list, as with json
        pass

    class Colour(str, enum.Enum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    details: dict[object, object] = {
        "t": (1, 2), "n": Named((3,)), "f": 1.5, "b": True, "none": None, 3: "int key",
        2.5: "float key", None: "null key", False: "bool key", "s": "caf\u00e9 \udcff",
        "e": Colour.RED, "l": Level.HIGH, Colour.RED: "enum key", float("nan"): "nan key",
        float("inf"): "inf key"}
    msg = {"op": "append", "details": details}
    r, w = os.pipe()
    try:
        os.write(w, recorder._frame(msg))
        got = recorder._read_frame(r)
    finally:
        os.close(r)
        os.close(w)
    # (json cannot encode the lone surrogate either way; compare the rest)
    expected = json.loads(json.dumps({k: v for k, v in details.items() if k != "s"}))
    assert {k: v for k, v in got["details"].items() if k != "s"} == expected
    assert got["details"]["s"] == "caf\u00e9 \udcff"
    with pytest.raises(TypeError):
        recorder._frame({"x": object()})


def test_stockade_runs_launcher_path_imports_neither_re_nor_json() -> None:
    code = ("import sys\n"
            "import stockade.cli, stockade.commands.run, stockade.sandbox.launcher\n"
            "from stockade.sandbox import envscrub, verdicts, netns, recorder, viewcache, layout\n"
            "envscrub.scrub({'A_TOKEN': 'x', 'URL': 'https://u:p@h', 'P': 'a' * 30})\n"
            "print(' '.join(m for m in ('re', 'json', 'enum', 'typing') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_credential_name_ending_in_a_newline_is_still_dropped() -> None:
    # execve accepts any name without "=" or NUL; the regular expression's
    # "$" matched before a final newline, and the string code must too
    res = envscrub.scrub({"DB_PASSWORD\n": "hunter2", "PLAIN\n": "x"})
    assert [(d.name, d.reason) for d in res.dropped] == [("DB_PASSWORD\n", "name")]
    assert res.kept == {"PLAIN\n": "x"}
