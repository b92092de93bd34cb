"""The demo's AWS pair is random; a draw the DLP engine would take for a
placeholder (a key ID ending in "XXXX") made `make demo` fail now and then
("the AWS key from .env reached the vendor: YES")."""

from __future__ import annotations

from stockade.commands import demo
from stockade.dlp import Engine


def test_every_draw_is_one_the_engine_flags(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    draws = iter(["X"] * 16 + ["A"] * 40  # a placeholder key ID and filler: drawn again
                 + list("2VXQMQOO" "NFKYABCD")
                 + list("k3J9qZ1vT8" "wR2mN7pL4x" "C6bH0sD5fG" "1aE9yU3iOq"))  # assembled: the
    #                                             repository itself scans clean
    monkeypatch.setattr(demo.secrets, "choice", lambda _alphabet: next(draws))
    key_id, secret = demo._fake_aws_pair()
    assert key_id == "AKIA" + "2VXQMQOO" + "NFKYABCD"
    text = f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"
    flagged = {text[f.start:f.end] for f in Engine.default().scan(text)}
    assert {key_id, secret} <= flagged
