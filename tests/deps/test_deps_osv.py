"""OSV import (a fixture export built at test time) and version matching."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from osv_fixture import advisory, build

from stockade.deps.osv import Database, OsvError, affects, import_zip, version_key


def test_import_and_query(tmp_path: Path) -> None:
    counts = import_zip(build(tmp_path / "all.zip"), state_root=str(tmp_path))
    assert counts == {"pypi": 3, "npm": 2}
    db = Database(str(tmp_path))
    assert db.has("pypi") and db.has("npm") and not db.has("go")
    mal = db.advisories("pypi", "Evil_Pkg", None)
    assert [(a.id, a.malicious) for a in mal] == [("MAL-2024-0001", True)]
    old = db.advisories("pypi", "oldlib", "1.9")
    assert old[0].affects is True and not old[0].malicious
    assert db.advisories("pypi", "oldlib", "2.0.1")[0].affects is False
    assert db.advisories("pypi", "requests", "2.0") == []


def test_a_new_import_replaces_the_ecosystem(tmp_path: Path) -> None:
    import_zip(build(tmp_path / "a.zip"), state_root=str(tmp_path))
    import_zip(build(tmp_path / "b.zip", [advisory("MAL-2025-9", "PyPI", "other")]),
               state_root=str(tmp_path))
    db = Database(str(tmp_path))
    assert db.advisories("pypi", "evil-pkg", None) == []
    assert db.advisories("pypi", "other", None)[0].id == "MAL-2025-9"
    assert db.advisories("npm", "bad-npm-thing", None)  # npm untouched


@pytest.mark.parametrize(("version", "hit"), [
    ("1.1.0", False), ("1.2.0", True), ("1.3.9", True), ("1.4.0", False), ("1.4.0-rc1", True),
])
def test_ranges(version: str, hit: bool) -> None:
    entry = {"ranges": [{"type": "SEMVER", "events": [{"introduced": "1.2.0"},
                                                     {"fixed": "1.4.0"}]}]}
    assert affects(entry, version) is hit


def test_last_affected_and_explicit_versions() -> None:
    entry = {"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                        {"last_affected": "2.0"}]}],
             "versions": ["9.9"]}
    assert affects(entry, "2.0") and not affects(entry, "2.0.1") and affects(entry, "9.9")


def test_version_order() -> None:
    assert version_key("1.0a1") < version_key("1.0b2") < version_key("1.0rc1") \
        < version_key("1.0") == version_key("1.0.0") < version_key("1.0.post1") \
        < version_key("1.10")


def _r(kind: str, *events: tuple[str, str]) -> dict[str, object]:
    return {"ranges": [{"type": kind, "events": [{k: v} for k, v in events]}]}


@pytest.mark.parametrize(("entry", "version", "hit"), [
    # numeric pre-release ids order as numbers (SemVer 11, PEP 440)
    (_r("SEMVER", ("introduced", "0"), ("fixed", "2.0.0-alpha.10")), "2.0.0-alpha.9", True),
    (_r("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0rc10")), "1.0rc9", True),
    (_r("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0.dev3")), "1.0.dev10", False),
    # build metadata and local versions are the release they decorate
    (_r("SEMVER", ("introduced", "0"), ("fixed", "1.0.0")), "1.0.0+build.5", False),
    (_r("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0")), "1.0+ubuntu1", False),
    (_r("SEMVER", ("introduced", "0"), ("fixed", "2.0.0")), "v2.0.0+incompatible", False),
    # PEP 440 epochs and implicit post-releases
    (_r("ECOSYSTEM", ("introduced", "0"), ("fixed", "1!1.0")), "5.0", True),
    (_r("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0")), "1!0.5", False),
    (_r("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0")), "1.0-1", False),
    # SemVer: any suffix is a pre-release of the release
    (_r("SEMVER", ("introduced", "0"), ("fixed", "1.0.0")), "1.0.0-1", True),
    # Go pseudo-versions
    (_r("SEMVER", ("introduced", "0"), ("fixed", "v0.0.0-20200101000000-abcdef")),
     "v0.0.0-20190101000000-abcdef", True),
    # last_affected includes that version; limit excludes
    (_r("ECOSYSTEM", ("introduced", "0"), ("last_affected", "1.2")), "1.2.0", True),
    (_r("ECOSYSTEM", ("introduced", "0"), ("limit", "1.5")), "1.6", False),
    # a version that cannot be ordered is affected (fail closed)
    (_r("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.5")), "not-a-version", True),
])
def test_version_matching_edge_cases(entry: dict[str, object], version: str, hit: bool) -> None:
    """Regression: ids were compared as strings (alpha.10 < alpha.9, rc10 <
    rc9), `+build` sorted after the release, epochs were not read."""
    assert affects(entry, version) is hit


def test_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "all.zip"
    bad.write_text("not a zip")
    with pytest.raises(OsvError, match="not a zip file"):
        import_zip(bad, state_root=str(tmp_path))
    with pytest.raises(OsvError, match="no such file"):
        import_zip(tmp_path / "missing.zip", state_root=str(tmp_path))


def test_a_broken_entry_is_named(tmp_path: Path) -> None:
    p = tmp_path / "all.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("GHSA-1.json", '{"id": "GHSA-1",\n "affected": [}')
    with pytest.raises(OsvError, match=r"GHSA-1.json:2 is not valid JSON"):
        import_zip(p, state_root=str(tmp_path))
    assert not Database(str(tmp_path)).has("pypi")  # nothing half-imported
