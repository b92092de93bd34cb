"""Policy errors never echo a value that could be a credential (UX review item 2).

Every command prints policy errors (run, gateway, the hooks), so a key pasted
into the wrong place would end up on the terminal and in CI logs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from stockade import cli
from stockade.config.shown import harmless, shown
from stockade.dlp.fakes import sample
from stockade.errors import EXIT_USAGE

RULES = ("anthropic_api_key", "aws_access_key_id", "github_pat_classic", "openai_api_key")

# Where a pasted value lands; {v} is the secret.
PLACES = {
    "enum": "version: 1\ntools:\n  default: {v}\n",
    "network_allow": "version: 1\nnetwork:\n  allow: [{v}]\n",
    "network_allow_path": "version: 1\nnetwork:\n  allow: [{v}/x]\n",
    "network_allow_scheme": "version: 1\nnetwork:\n  allow: ['https://{v}']\n",
    "allow_private": "version: 1\nnetwork:\n  allow_private: ['{v}/8']\n",
    "top_level_key": "version: 1\n{v}: 1\n",
    "nested_key": "version: 1\nnetwork:\n  {v}: 1\n",
    "upstream_name":
        "version: 1\nmodels:\n  upstreams:\n    '{v}!': {{url: 'https://a.example'}}\n",
    "relative_path": "version: 1\nfilesystem:\n  write: ['{v}']\n",
    "dlp_label": "version: 1\ndlp:\n  actions:\n    '{v}!': block\n",
    "version": "version: '{v}'\n",
}


@pytest.mark.parametrize("rule_id", RULES)
@pytest.mark.parametrize("place", sorted(PLACES))
def test_policy_check_never_echoes_a_planted_secret(
    rule_id: str, place: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    value = sample(rule_id, random.Random(f"{rule_id}-{place}")).value
    f = tmp_path / "policy.yaml"
    f.write_text(PLACES[place].format(v=value), encoding="utf-8")
    rc = cli.main(["policy", "check", "--workspace", str(tmp_path), str(f)])
    out = capsys.readouterr()
    assert rc == EXIT_USAGE, out
    assert value not in out.out + out.err
    # The error still names the file and line, so the user can find it.
    assert "policy.yaml:" in out.err


def test_harmless_words_are_still_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text("version: 1\ntools:\n  default: maybe\n", encoding="utf-8")
    assert cli.main(["policy", "check", str(f)]) == EXIT_USAGE
    assert "'maybe' is not one of: allow, ask, deny" in capsys.readouterr().err
    f.write_text("version: 1\nnetwork:\n  alow: []\n", encoding="utf-8")
    assert cli.main(["policy", "check", str(f)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "network.alow: unknown key" in err and "did you mean 'allow'" in err
    f.write_text("version: 1\nnetwork:\n  allow: [com]\n", encoding="utf-8")
    assert cli.main(["policy", "check", str(f)]) == EXIT_USAGE
    assert "'com' is a bare top-level domain" in capsys.readouterr().err


@pytest.mark.parametrize("word", ["allow", "pypi.org", "*.example.com", "${WORKSPACE}/out",
                                  "claude-3-5-sonnet-20241022", "10.0.0.0/8"])
def test_ordinary_values_are_harmless(word: str) -> None:
    assert harmless(word)
    assert shown(word) == repr(word)


def test_a_random_token_no_rule_knows_is_masked() -> None:
    rng = random.Random(7)
    token = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(24))
    assert not harmless(token)
    assert token not in shown(token) and "24 characters" in shown(token)


def test_loading_a_valid_policy_does_not_build_the_engine(tmp_path: Path) -> None:
    """Masking happens on the error path only: the hooks load the policy on
    every call and must not pay for compiling the DLP rules."""
    import subprocess
    import sys

    f = tmp_path / "policy.yaml"
    f.write_text("version: 1\nnetwork:\n  allow: [pypi.org, '*.example.com']\n"
                 "  allow_private: [10.0.0.0/8]\ntools:\n  default: ask\n", encoding="utf-8")
    ws = tmp_path / "ws"
    ws.mkdir()
    code = ("import sys; from stockade.config import load_policy; "
            f"load_policy(policy_file={str(f)!r}, workspace={str(ws)!r}); "
            "print('stockade.dlp.engine' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_a_broken_engine_masks_instead_of_crashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.dlp.engine import Engine

    def broken(cls: type) -> Engine:
        raise ImportError("stockade.dlp.engine")

    monkeypatch.setattr(Engine, "default", classmethod(broken))
    assert not harmless("allow")
    assert shown("allow") == "a 5-character value"
