"""Spec strings as typed on a command line, per ecosystem."""

from __future__ import annotations

import pytest

from stockade.deps.names import BadSpec, normalise, parse, valid_name


@pytest.mark.parametrize(("eco", "text", "name", "version"), [
    ("pypi", "requests", "requests", None),
    ("pypi", "requests==2.32.3", "requests", "2.32.3"),
    ("pypi", "requests[socks]==2.32", "requests", "2.32"),
    ("pypi", "Django>=4.2,<5", "Django", None),
    ("pypi", "rich ; python_version>'3.8'", "rich", None),
    ("pypi", "numpy===1.26.0", "numpy", "1.26.0"),
    ("npm", "lodash", "lodash", None),
    ("npm", "lodash@4.17.21", "lodash", "4.17.21"),
    ("npm", "lodash@^4.17.0", "lodash", None),
    ("npm", "@types/node", "@types/node", None),
    ("npm", "@types/node@20.1.0", "@types/node", "20.1.0"),
    ("npm", "npm:left-pad@1.3.0", "left-pad", "1.3.0"),
    ("crates", "serde", "serde", None),
    ("crates", "serde@1.0.200", "serde", "1.0.200"),
    ("go", "github.com/pkg/errors@v0.9.1", "github.com/pkg/errors", "v0.9.1"),
    ("go", "golang.org/x/tools@latest", "golang.org/x/tools", None),
])
def test_specs_are_read(eco: str, text: str, name: str, version: str | None) -> None:
    s = parse(eco, text)
    assert s is not None
    assert (s.name, s.version) == (name, version)


@pytest.mark.parametrize(("eco", "text"), [
    ("pypi", "./local/pkg"), ("pypi", "/abs/path.whl"), ("pypi", "pkg @ file:///tmp/pkg.whl"),
    ("npm", "file:../x"), ("npm", "x@file:../x"), ("npm", "x@workspace:*"),
])
def test_local_paths_are_not_registry_packages(eco: str, text: str) -> None:
    assert parse(eco, text) is None


@pytest.mark.parametrize(("eco", "text", "name", "host"), [
    ("pypi", "git+https://x.example/r.git", "https://x.example/.../r.git", "https://x.example"),
    ("pypi", "pkg @ https://x.example/pkg.whl", "pkg", "https://x.example"),
    ("pypi", "pkg[extra] @ git+ssh://git@x.example/r.git ; python_version>'3'", "pkg",
     "ssh://x.example"),
    ("npm", "foo@github:user/foo", "foo", "github:"),
    ("npm", "foo@git+https://x.example/r.git", "foo", "https://x.example"),
    ("npm", "foo@user/foo", "foo", "github:"),
    ("npm", "user/foo", "user/foo", "github:"),
    ("npm", "https://x.example/foo.tgz", "https://x.example/.../foo.tgz", "https://x.example"),
    ("crates", "https://x.example/r", "https://x.example/.../r", "https://x.example"),
])
def test_url_and_vcs_references_are_kept_as_direct_specs(eco: str, text: str, name: str,
                                                         host: str) -> None:
    """Regression: these were dropped (None), so `pip install git+https://...`
    or `npm i lodash@git+https://...` reached the hook as "nothing to check"
    and was allowed."""
    from stockade.deps.names import host_of

    s = parse(eco, text)
    assert s is not None and s.direct is not None and s.name == name
    assert host_of(s.direct) == host


def test_a_url_token_never_reaches_a_message() -> None:
    from stockade.deps.names import host_of

    token = "tk" + "x" * 20
    assert token not in host_of(f"git+https://user:{token}@x.example/r.git?t={token}")


@pytest.mark.parametrize(("text", "name", "version"), [
    ("react@npm:evil-pkg", "evil-pkg", None),
    ("react@npm:evil-pkg@1.2.3", "evil-pkg", "1.2.3"),
    ("@types/node@npm:@evil/node@^1", "@evil/node", None),
])
def test_npm_alias_checks_the_package_that_is_installed(text: str, name: str,
                                                        version: str | None) -> None:
    """Regression: `npm i react@npm:evil-pkg` was checked as `react`
    (popular, allowed) while npm installs `evil-pkg` under that name."""
    s = parse("npm", text)
    assert s is not None and (s.name, s.version) == (name, version)


def test_an_unreadable_requirement_names_where_it_is() -> None:
    with pytest.raises(BadSpec) as exc:
        parse("pypi", "[broken", source="requirements.txt", line=3)
    assert "requirements.txt:3" in exc.value.message


def test_names_are_normalised_as_each_registry_does() -> None:
    assert normalise("pypi", "Python_DateUtil") == normalise("pypi", "python.dateutil") \
        == "python-dateutil"
    assert normalise("crates", "serde_json") == "serde-json"
    assert normalise("npm", "cross_env") != normalise("npm", "cross-env")


@pytest.mark.parametrize(("eco", "name", "ok"), [
    ("pypi", "requests", True), ("pypi", "rеquests", False), ("pypi", "-x", False),
    ("npm", "@types/node", True), ("npm", "a/b/c", False), ("crates", "serde_json", True),
])
def test_names_a_registry_cannot_hold(eco: str, name: str, ok: bool) -> None:
    assert valid_name(eco, name) is ok
