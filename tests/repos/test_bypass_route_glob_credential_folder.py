"""Bypass class: a folder named after a credential in `repos scan`'s route.

The repository's path was masked with the DLP engine and the command-line
rules (`API_TOKEN=...`), but its routing glob only with the engine: the
folder's value showed in clear in `route` (and in a suggested policy)."""

from __future__ import annotations

import fnmatch
import secrets

from stockade.dlp.engine import Engine
from stockade.repos.classify import masked_path, route_glob


def test_the_route_hides_what_the_path_hides() -> None:
    value = "hunter" + secrets.token_hex(3)
    path = f"/home/u/API_TOKEN={value}/repo"
    engine = Engine.default()
    assert value not in masked_path(engine, path)
    glob = route_glob(engine, path)
    assert value not in glob and "**" not in glob
    assert fnmatch.fnmatchcase(path, glob)


def test_a_plain_path_routes_as_itself() -> None:
    assert route_glob(Engine.default(), "/home/u/proj") == "/home/u/proj"
