"""The hyperscan path and the pure-Python path return identical findings."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockade.dlp import Engine
from stockade.dlp.fakes import GENERATORS, sample
from stockade.dlp.prefilter import hyperscan_available

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")

FAST = Engine(accelerate=True) if hyperscan_available() else None
PLAIN = Engine(accelerate=False)
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bench" / "dlp-dev" / "corpus"

FRAGMENTS = [
    "password", "PASSWORD=", "token: ", "api_key", "secret", "://", "@", "kind: Secret\ndata:\n  a: ",
    "-----BEGIN ", "PRIVATE KEY-----", "eyJ", "\n", " ", "\"", "'", "=", ":", "身份证号：", "手机：", "护照",
    "ssn ", "ENV ", "--token ", "Authorization: Bearer ", "\\n", "é", "İ", "K", "ß", "🙂", "\t",
    "ПАРОЛЬ: ", "Пароль=", "CONTRASEÑA: ", "contraseÑa=", "ſecret=", "paſſword: ", "TOKEN: ", "パスワード：",
]


def _pieces() -> st.SearchStrategy[str]:
    rule_ids = sorted(GENERATORS)
    generated = st.builds(lambda rid, seed: sample(rid, random.Random(seed)).text,
                          st.sampled_from(rule_ids), st.integers(0, 10_000))
    return st.one_of(
        st.sampled_from(FRAGMENTS),
        generated,
        st.text(min_size=0, max_size=30),
        st.text(alphabet="0123456789 -+X", min_size=1, max_size=24),
        st.text(alphabet="ABCDEFabcdef0123456789_-./+=", min_size=1, max_size=60),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pieces(), min_size=1, max_size=12))
def test_paths_agree_on_generated_text(parts: list[str]) -> None:
    text = "".join(parts)
    assert FAST is not None
    assert [f.to_dict() for f in FAST.scan(text)] == [f.to_dict() for f in PLAIN.scan(text)]


def test_lone_surrogates_fall_back_to_python() -> None:
    assert FAST is not None
    s = sample("github_pat_classic", random.Random(1))
    text = "\ud800 " + s.text
    assert [f.rule_id for f in FAST.scan(text)] == ["github_pat_classic"]


@pytest.mark.skipif(not CORPUS.exists(), reason="dev corpus not present")
def test_paths_agree_on_dev_corpus() -> None:
    assert FAST is not None
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            assert [f.to_dict() for f in FAST.scan(text)] == [f.to_dict() for f in PLAIN.scan(text)], path
