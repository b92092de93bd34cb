"""Registry look-ups against a fake registry over a real socket: found,
missing, failures (always unverifiable, never found), cache and offline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fake_registry import FakeRegistry, serve

from stockade.deps.registry import Registry, Settings, url_for


def _registry(reg: FakeRegistry, tmp_path: Path, *, offline: bool = False,
              timeout: str = "1", budget_s: float | None = None) -> Registry:
    env = {**reg.env(), "STOCKADE_DEPS_TIMEOUT": timeout}
    return Registry(Settings.from_env(env, state_root=str(tmp_path / "state"), offline=offline),
                    budget_s=budget_s)


def test_each_registry_api_is_read(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.add_pypi("Requests", days_old=5000, versions=("2.31.0", "2.32.3"))
    registry.add_npm("@types/node", versions=("20.0.0",), scripts={"postinstall": "node x"})
    registry.add_crate("serde", version="1.0.200")
    registry.add_go("github.com/Pkg/errors", ("v0.9.0", "v0.9.1"))
    r = _registry(registry, tmp_path)
    py = r.lookup("pypi", "requests").info
    assert py is not None and py.exists and py.latest == "2.32.3"
    assert py.created is not None and time.time() - py.created > 4000 * 86400
    npm = r.lookup("npm", "@types/node").info
    assert npm is not None and npm.exists and npm.script_versions == ("20.0.0",)
    crate = r.lookup("crates", "serde").info
    assert crate is not None and crate.latest == "1.0.200"
    go = r.lookup("go", "github.com/Pkg/errors").info
    assert go is not None and go.exists and go.versions == 2
    assert any("/go/github.com/!pkg/errors/@v/list" in p for p in registry.requests)
    assert any(p == "/npm/@types%2Fnode" for p in registry.requests)


def test_a_404_is_nonexistent(registry: FakeRegistry, tmp_path: Path) -> None:
    look = _registry(registry, tmp_path).lookup("pypi", "no-such-package")
    assert look.info is not None and look.info.exists is False and look.how == "network"


def test_a_server_error_is_unverifiable_never_found(registry: FakeRegistry,
                                                    tmp_path: Path) -> None:
    registry.add_pypi("flaky")
    registry.broken.add("flaky")
    look = _registry(registry, tmp_path).lookup("pypi", "flaky")
    assert look.info is None and "HTTP 500" in look.why


def test_a_slow_registry_times_out_as_unverifiable(registry: FakeRegistry,
                                                   tmp_path: Path) -> None:
    registry.add_npm("slowpoke")
    registry.slow.add("slowpoke")
    registry.delay = 2.0
    t0 = time.monotonic()
    look = _registry(registry, tmp_path, timeout="0.3").lookup("npm", "slowpoke")
    assert look.info is None and "cannot reach" in look.why
    assert time.monotonic() - t0 < 1.5


def test_no_registry_listening_is_unverifiable(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"STOCKADE_DEPS_PYPI_URL": f"http://127.0.0.1:{port}/pypi"}
    r = Registry(Settings.from_env(env, state_root=str(tmp_path)))
    look = r.lookup("pypi", "anything")
    assert look.info is None and "cannot reach http://127.0.0.1" in look.why


def test_a_garbled_answer_is_unverifiable(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.npm["weird"] = {"unexpected": True}
    look = _registry(registry, tmp_path).lookup("npm", "weird")
    assert look.info is None and "cannot read" in look.why


def test_answers_are_cached_and_offline_uses_the_cache(registry: FakeRegistry,
                                                       tmp_path: Path) -> None:
    registry.add_pypi("cached-pkg")
    r = _registry(registry, tmp_path)
    assert r.lookup("pypi", "cached-pkg").how == "network"
    assert r.lookup("pypi", "cached-pkg").how == "cache"
    assert len(registry.requests) == 1
    r.close()
    off = _registry(registry, tmp_path, offline=True)
    look = off.lookup("pypi", "cached-pkg")
    assert look.info is not None and look.info.exists
    missing = off.lookup("pypi", "never-seen")
    assert missing.info is None and "offline" in missing.why
    assert len(registry.requests) == 1  # offline made no request


def test_the_time_budget_makes_later_lookups_unverifiable(registry: FakeRegistry,
                                                          tmp_path: Path) -> None:
    registry.add_pypi("a-pkg")
    r = _registry(registry, tmp_path, budget_s=0.0)
    look = r.lookup("pypi", "a-pkg")
    assert look.info is None and "no time left" in look.why


def test_names_are_escaped_in_urls() -> None:
    assert url_for("pypi", "a/../b", "http://h/pypi") == "http://h/pypi/a%2F..%2Fb/json"
    assert url_for("npm", "@s/n", "http://h") == "http://h/@s%2Fn"


def test_settings_precedence() -> None:
    from stockade.config.model import DependencyPolicy

    pol = DependencyPolicy(registries={"pypi": "https://mirror.example/pypi/"}, offline=True,
                         cache_ttl_hours=2)
    s = Settings.from_env({}, policy=pol)
    assert s.urls["pypi"] == "https://mirror.example/pypi" and s.offline and s.ttl == 7200
    assert s.urls["npm"] == "https://registry.npmjs.org"
    s = Settings.from_env({"STOCKADE_DEPS_PYPI_URL": "http://127.0.0.1:1/p",
                           "STOCKADE_DEPS_CACHE_TTL": "60"}, policy=pol, offline=False)
    assert s.urls["pypi"] == "http://127.0.0.1:1/p" and s.ttl == 60
    assert s.offline  # the policy forbids look-ups: neither flag nor environment lifts that
    assert not Settings.from_env({}).offline


def test_a_zero_cache_ttl_means_always_ask() -> None:
    """Regression: `cache_ttl_hours: 0` fell back to the 24 h default."""
    from stockade.config.model import DependencyPolicy

    assert Settings.from_env({}, policy=DependencyPolicy(cache_ttl_hours=0)).ttl == 0


# -- adversarial answers: each is unverifiable, never "exists" ------------------

def test_a_redirect_to_another_host_is_not_an_answer(registry: FakeRegistry,
                                                      tmp_path: Path) -> None:
    """Regression: urllib followed any redirect, so a registry (or a proxy in
    the way) could send the look-up to a host that says every name exists."""
    with serve() as other:
        other.add_pypi("made-up-pkg")
        # the same server on another host name (localhost vs 127.0.0.1)
        target = other.base.replace("127.0.0.1", "localhost") + "/pypi/made-up-pkg/json"
        registry.tricks["made-up-pkg"] = ("redirect", target)
        look = _registry(registry, tmp_path).lookup("pypi", "made-up-pkg")
    assert look.info is None and "redirected to another host" in look.why


def test_a_same_host_redirect_is_followed(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.add_pypi("real-pkg")
    registry.tricks["Real_Pkg"] = ("redirect", f"{registry.base}/pypi/real-pkg/json")
    look = _registry(registry, tmp_path).lookup("pypi", "Real_Pkg")
    assert look.info is not None and look.info.exists


def test_a_trickling_answer_cannot_hold_the_caller(registry: FakeRegistry,
                                                   tmp_path: Path) -> None:
    """Regression: the timeout bounded each socket read, so a registry that
    sent a byte every half second kept a hook waiting far past its deadline."""
    registry.tricks["drip-pkg"] = ("drip", 0.2)
    start = time.monotonic()
    look = _registry(registry, tmp_path, timeout="1").lookup("pypi", "drip-pkg")
    assert look.info is None
    assert time.monotonic() - start < 3  # the 1 s timeout, not 100000 x 0.2 s


def test_a_huge_answer_is_refused(registry: FakeRegistry, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import stockade.deps.registry as reg_mod

    monkeypatch.setattr(reg_mod, "MAX_BODY", 1 << 20)
    registry.tricks["huge-pkg"] = ("huge", 4 << 20)
    look = _registry(registry, tmp_path, timeout="3").lookup("pypi", "huge-pkg")
    assert look.info is None and "more than" in look.why


@pytest.mark.parametrize(("eco", "body"), [
    ("pypi", b"[1, 2]"), ("pypi", b'"info"'), ("pypi", b'{"info": [], "releases": {}}'),
    ("npm", b'["name"]'), ("npm", b"null"), ("crates", b'{"crate": 1}'),
    ("go", b"<html><body>Welcome to the hotel wifi</body></html>"),
])
def test_an_answer_of_the_wrong_shape_is_unverifiable(registry: FakeRegistry, tmp_path: Path,
                                                      eco: str, body: bytes) -> None:
    """Regression (go): any 200 body counted as "exists", so a captive portal
    or a wrong base URL vouched for every module."""
    name = "example.com/shape" if eco == "go" else "shape-pkg"
    registry.tricks[name] = ("raw", body)
    look = _registry(registry, tmp_path).lookup(eco, name)
    assert look.info is None and "cannot read" in look.why


def test_the_cache_is_kept_per_registry(registry: FakeRegistry, tmp_path: Path) -> None:
    """Regression: answers were cached by (ecosystem, name) only, so an answer
    from one registry URL (a mirror, a test server) stood in for another's."""
    registry.add_pypi("mirror-only")
    first = _registry(registry, tmp_path).lookup("pypi", "mirror-only").info
    assert first is not None and first.exists
    with serve() as other:  # another registry, where the name does not exist
        env = {**other.env(), "STOCKADE_DEPS_TIMEOUT": "1"}
        r = Registry(Settings.from_env(env, state_root=str(tmp_path / "state")))
        look = r.lookup("pypi", "mirror-only")
    assert look.how == "network" and look.info is not None and not look.info.exists


def test_a_tampered_cache_row_is_a_miss(registry: FakeRegistry, tmp_path: Path) -> None:
    import sqlite3

    r = _registry(registry, tmp_path)
    r.lookup("pypi", "tamper-pkg")  # 404, cached
    r.close()
    db = sqlite3.connect(tmp_path / "state" / "cache" / "deps-registry.sqlite")
    with db:
        db.execute("UPDATE answers_v2 SET info=? WHERE name='tamper-pkg'",
                   ('{"exists": "yes", "created": null, "latest": null, '
                    '"script_versions": [], "versions": 0}',))
    db.close()
    look = _registry(registry, tmp_path, offline=True).lookup("pypi", "tamper-pkg")
    assert look.info is None


def test_npm_names_that_differ_in_case_are_not_one_cache_entry(registry: FakeRegistry,
                                                                 tmp_path: Path) -> None:
    """Regression: the cache key was lower-cased, so a cached `jsonstream`
    vouched for `JSONStream` (two packages on npm)."""
    registry.add_npm("jsonstream-zz")
    r = _registry(registry, tmp_path)
    assert r.lookup("npm", "jsonstream-zz").info.exists  # type: ignore[union-attr]
    look = r.lookup("npm", "JSONStream-zz")
    assert look.how == "network" and look.info is not None and not look.info.exists


def test_pypi_spellings_of_one_name_share_the_cache(registry: FakeRegistry,
                                                    tmp_path: Path) -> None:
    registry.add_pypi("zope-interface-zz")
    r = _registry(registry, tmp_path)
    r.lookup("pypi", "zope-interface-zz")
    assert r.lookup("pypi", "Zope.Interface_zz").how == "cache"
