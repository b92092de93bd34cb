"""Reading dependencies out of each manifest kind, with their lines, and
clear errors for files that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.deps.manifests import ManifestError, find, read


def _names(path: Path) -> list[tuple[str, str, str | None, int | None]]:
    return [(s.ecosystem, s.name, s.version, s.line) for s in read(path)]


def test_requirements_txt(tmp_path: Path) -> None:
    p = tmp_path / "requirements-dev.txt"
    (tmp_path / "base.txt").write_text("urllib3==2.2.0\n")
    p.write_text("# tools\nrequests==2.32.3\n-r base.txt\n--index-url https://x.example/\n"
                 "rich>=13  # pretty\n\nflask \\\n  ==3.0.0\n./local\n")
    assert _names(p) == [("pypi", "requests", "2.32.3", 2), ("pypi", "urllib3", "2.2.0", 1),
                         ("pypi", "rich", None, 5), ("pypi", "flask", "3.0.0", 7)]


def test_requirements_options_that_change_what_is_installed(tmp_path: Path) -> None:
    """Regression: `-r`, `-e` and index lines were skipped, so an included
    file, an editable VCS URL or a private index went unchecked."""
    from stockade.deps.manifests import read

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("colourama\n")
    p = tmp_path / "requirements.txt"
    p.write_text("--extra-index-url https://priv.example/simple\n-r sub/more.txt\n"
                 "-e git+https://evil.example/x.git#egg=x\n-e ./local\ninternal-lib\n")
    specs = read(p)
    assert [(s.name, s.direct is not None, s.index) for s in specs] == [
        # pip applies an index option to the whole install, included files too
        ("colourama", False, "https://priv.example/simple"),
        ("https://evil.example/.../x.git", True, None),
        ("internal-lib", False, "https://priv.example/simple")]
    assert specs[0].source.endswith("sub/more.txt")


def test_a_requirements_include_loop_is_an_error(tmp_path: Path) -> None:
    from stockade.deps.manifests import ManifestError, read

    (tmp_path / "requirements.txt").write_text("-r requirements.txt\n")
    with pytest.raises(ManifestError) as exc:
        read(tmp_path / "requirements.txt")
    assert "requirements.txt:1" in exc.value.message and "loop" in (exc.value.hint or "")


def test_pyproject_pep621_and_poetry(tmp_path: Path) -> None:
    p = tmp_path / "pyproject.toml"
    p.write_text('[project]\nname = "x"\ndependencies = [\n  "httpx>=0.27",\n  "attrs==23.2.0",\n]\n'
                 '[project.optional-dependencies]\ndev = ["pytest"]\n'
                 '[tool.poetry.dependencies]\npython = "^3.11"\npydantic = "2.7.1"\n'
                 'local = {path = "../local"}\n')
    assert _names(p) == [("pypi", "httpx", None, 4), ("pypi", "attrs", "23.2.0", 5),
                         ("pypi", "pytest", None, 8), ("pypi", "pydantic", "2.7.1", 11)]


def test_setup_cfg_and_pipfile(tmp_path: Path) -> None:
    cfg = tmp_path / "setup.cfg"
    cfg.write_text("[metadata]\nname = x\n[options]\ninstall_requires =\n    click>=8\n"
                   "    six==1.16.0\n")
    assert _names(cfg) == [("pypi", "click", None, 5), ("pypi", "six", "1.16.0", 6)]
    pf = tmp_path / "Pipfile"
    pf.write_text('[packages]\nrequests = "*"\nflask = "==3.0.0"\n[dev-packages]\n'
                  'black = {version = "==24.1.0"}\n')
    assert _names(pf) == [("pypi", "requests", None, 2), ("pypi", "flask", "3.0.0", 3),
                          ("pypi", "black", "24.1.0", 5)]


def test_package_json(tmp_path: Path) -> None:
    p = tmp_path / "package.json"
    p.write_text('{\n  "name": "app",\n  "dependencies": {\n    "react": "^18.2.0",\n'
                 '    "lodash": "4.17.21",\n    "mine": "file:../mine"\n  },\n'
                 '  "devDependencies": {\n    "@types/node": "20.1.0"\n  }\n}\n')
    assert _names(p) == [("npm", "react", None, 4), ("npm", "lodash", "4.17.21", 5),
                         ("npm", "@types/node", "20.1.0", 9)]


def test_go_mod_and_cargo_toml(tmp_path: Path) -> None:
    g = tmp_path / "go.mod"
    g.write_text("module example.com/x\n\ngo 1.22\n\nrequire github.com/pkg/errors v0.9.1\n"
                 "require (\n\tgolang.org/x/sys v0.20.0 // indirect\n)\n")
    assert _names(g) == [("go", "github.com/pkg/errors", "v0.9.1", 5),
                         ("go", "golang.org/x/sys", "v0.20.0", 7)]
    c = tmp_path / "Cargo.toml"
    c.write_text('[package]\nname = "x"\n[dependencies]\nserde = "1.0"\n'
                 'tokio = { version = "=1.37.0", features = ["full"] }\n'
                 'mine = { path = "../mine" }\n[dev-dependencies]\nproptest = "1"\n')
    assert _names(c) == [("crates", "serde", None, 4), ("crates", "tokio", "1.37.0", 5),
                         ("crates", "proptest", None, 8)]


def test_a_malformed_package_json_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "package.json"
    p.write_text('{\n  "dependencies": {\n    "react": "^18",\n  }\n}\n')
    with pytest.raises(ManifestError) as exc:
        read(p, display="package.json")
    assert exc.value.message.startswith("package.json:4:")
    assert exc.value.hint


def test_a_wrong_type_in_package_json_names_its_line(tmp_path: Path) -> None:
    p = tmp_path / "package.json"
    p.write_text('{\n  "dependencies": {\n    "react": 18\n  }\n}\n')
    with pytest.raises(ManifestError, match=r"package.json:3: the version of 'react'"):
        read(p, display="package.json")


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "pyproject.toml"
    p.write_text('[project]\nname = "x"\ndependencies = ["a",\n')
    with pytest.raises(ManifestError, match=r"pyproject.toml:3: not valid TOML"):
        read(p, display="pyproject.toml")


def test_a_malformed_requirement_names_its_line(tmp_path: Path) -> None:
    p = tmp_path / "requirements.txt"
    p.write_text("requests\n[oops\n")
    with pytest.raises(ManifestError, match=r"requirements.txt:2: cannot read"):
        read(p, display="requirements.txt")


def test_find_skips_vendored_trees(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "package.json").write_text("{}")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text("requests\n")
    (tmp_path / "package.json").write_text("{}")
    assert [p.relative_to(tmp_path).as_posix() for p in find(tmp_path)] == \
        ["package.json", "svc/requirements.txt"]


def test_a_toml_error_inside_the_file_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "Cargo.toml"
    p.write_text('[package]\nname = "x"\n[dependencies]\nserde = = "1"\n')
    with pytest.raises(ManifestError, match=r"Cargo.toml:4:\d+: not valid TOML"):
        read(p, display="Cargo.toml")


def test_a_hash_pinned_lock_file_is_read(tmp_path: Path) -> None:
    # pip-compile --generate-hashes: per-requirement options name no package
    p = tmp_path / "requirements.txt"
    p.write_text("cffi==1.17.1 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n"
                 "pyyaml==6.0.2 --hash=sha256:cccc\n")
    assert [(s.name, s.version, s.line) for s in read(p)] == [("cffi", "1.17.1", 1),
                                                               ("pyyaml", "6.0.2", 4)]
    # any other option on a requirement line is still refused, never skipped
    p.write_text("requests --index-url=https://evil.example/simple\n")
    with pytest.raises(ManifestError):
        read(p)


def test_a_specs_repr_never_shows_a_token_it_was_written_with() -> None:
    from stockade.deps.names import parse

    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    spec = parse("pypi", f"pkg @ git+https://user:{token}@github.com/o/pkg.git")
    assert spec is not None and token not in repr(spec)
