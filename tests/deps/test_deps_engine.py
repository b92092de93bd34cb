"""One table per check: the package that fires it, and the near-miss that
must not.  A fake registry over a real socket and an OSV fixture export."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_registry import FakeRegistry
from osv_fixture import build

from stockade.config.model import DependencyPolicy
from stockade.deps.engine import Checker
from stockade.deps.model import Result
from stockade.deps.names import parse
from stockade.deps.osv import Database, import_zip
from stockade.deps.registry import Registry, Settings


@pytest.fixture
def checker(registry: FakeRegistry, tmp_path: Path) -> Checker:
    registry.add_pypi("oldlib", versions=("1.9", "2.0.1"))
    registry.add_pypi("evil-pkg")
    registry.add_pypi("fresh-pkg", days_old=3)
    registry.add_pypi("seasoned-pkg", days_old=400)
    registry.add_pypi("Open-Ended", versions=("3.1",))
    registry.add_npm("leftish", versions=("1.3.0", "1.5.0"))
    registry.add_npm("bad-npm-thing")
    registry.add_npm("hooky", scripts={"postinstall": "node steal.js"})
    registry.add_npm("quiet", scripts={"test": "jest"})
    registry.add_npm("@types/node", scripts={})
    registry.add_crate("young-crate", days_old=1)
    registry.add_go("github.com/real/mod")
    registry.broken.add("broken-thing-zz")
    import_zip(build(tmp_path / "all.zip"), state_root=str(tmp_path))
    settings = Settings.from_env({**registry.env(), "STOCKADE_DEPS_TIMEOUT": "1"},
                                 state_root=str(tmp_path))
    return Checker(DependencyPolicy(), registry=Registry(settings), osv=Database(str(tmp_path)))


def _check(c: Checker, eco: str, text: str) -> Result:
    spec = parse(eco, text)
    assert spec is not None
    return c.check(spec)


def _codes(r: Result) -> list[str]:
    return [f.code for f in r.findings]


CASES = [
    # (ecosystem, spec, codes, action)
    ("pypi", "no-such-thing-at-all", ["deps.nonexistent"], "block"),
    ("pypi", "seasoned-pkg", [], "allow"),  # exists, old, no advisory
    ("pypi", "reqeusts", ["deps.typosquat", "deps.nonexistent"], "block"),
    ("pypi", "requests", [], "allow"),  # popular: no look-up needed
    ("pypi", "python-dateutil", [], "allow"),
    ("pypi", "evil-pkg", ["deps.malicious"], "block"),
    ("pypi", "oldlib==1.9", ["deps.vulnerable"], "ask"),
    ("pypi", "oldlib==2.0.1", [], "allow"),  # the fixed version
    ("pypi", "oldlib", [], "allow"),  # unpinned: the latest (2.0.1) is fixed
    ("pypi", "open-ended", ["deps.vulnerable"], "ask"),  # no fix exists
    ("npm", "leftish@1.3.0", ["deps.vulnerable"], "ask"),
    ("npm", "leftish@1.5.0", [], "allow"),
    ("npm", "bad-npm-thing", ["deps.malicious"], "block"),
    ("pypi", "fresh-pkg", ["deps.new"], "warn"),
    ("crates", "young-crate", ["deps.new"], "warn"),
    ("npm", "hooky", ["deps.install_scripts"], "warn"),
    ("npm", "quiet", [], "allow"),  # a test script is not an install script
    ("npm", "@types/node", [], "allow"),
    ("npm", "@typ3s/node", ["deps.typosquat", "deps.nonexistent"], "block"),
    ("pypi", "broken-thing-zz", ["deps.unverifiable"], "ask"),
    ("go", "github.com/real/mod@v1.0.0", [], "allow"),
    ("go", "github.com/hallucinated/mod", ["deps.nonexistent"], "block"),
    ("pypi", "rеquests", ["deps.typosquat", "deps.nonexistent"], "block"),  # Cyrillic е
]


@pytest.mark.parametrize(("eco", "text", "codes", "action"), CASES)
def test_each_check(checker: Checker, eco: str, text: str, codes: list[str],
                    action: str) -> None:
    r = _check(checker, eco, text)
    assert _codes(r) == codes
    assert r.action == action
    for f in r.findings:
        assert r.spec.name in f.reason


def test_the_policy_sets_each_action(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.add_pypi("fresh-pkg", days_old=3)
    settings = Settings.from_env(registry.env(), state_root=str(tmp_path))
    strict = DependencyPolicy(new="block", typosquat="ask")
    c = Checker(strict, registry=Registry(settings), osv=None)
    assert _check(c, "pypi", "fresh-pkg").action == "block"
    assert _check(c, "pypi", "colourama").findings[0].action == "ask"
    lax = Checker(DependencyPolicy(new_days=2), registry=Registry(settings), osv=None)
    assert _check(lax, "pypi", "fresh-pkg").findings == ()  # 3 days > new_days


def test_offline_without_cache_is_unverifiable_but_popular_names_pass(
        registry: FakeRegistry, tmp_path: Path) -> None:
    settings = Settings.from_env(registry.env(), state_root=str(tmp_path), offline=True)
    c = Checker(DependencyPolicy(), registry=Registry(settings), osv=None)
    assert _codes(_check(c, "pypi", "seasoned-pkg")) == ["deps.unverifiable"]
    assert _check(c, "pypi", "requests").action == "allow"
    r = _check(c, "npm", "react")  # popular: exists, but its install scripts are unknown
    assert r.action == "allow" and any("install scripts" in n for n in r.notes)
    assert registry.requests == []


def test_missing_osv_data_is_a_note(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.add_pypi("seasoned-pkg", days_old=400)
    settings = Settings.from_env(registry.env(), state_root=str(tmp_path))
    c = Checker(DependencyPolicy(), registry=Registry(settings), osv=Database(str(tmp_path)))
    r = _check(c, "pypi", "seasoned-pkg")
    assert r.action == "allow" and any("update-db" in n for n in r.notes)
