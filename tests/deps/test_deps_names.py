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
    ("pypi", "./local/pkg"), ("pypi", "/abs/path.whl"), ("pypi", "git+https://x.example/r.git"),
    ("pypi", "pkg @ https://x.example/pkg.whl"), ("npm", "file:../x"),
    ("npm", "foo@github:user/foo"), ("npm", "https://x.example/foo.tgz"),
])
def test_local_and_url_references_are_not_registry_packages(eco: str, text: str) -> None:
    assert parse(eco, text) is None


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
