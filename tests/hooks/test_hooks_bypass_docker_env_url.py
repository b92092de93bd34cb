"""Named regression (too strict, not a bypass): `docker run -e
URL=https://example.com img` was refused, because every URL among an
unknown program's arguments was taken for a connection.  A container's
environment, labels and build arguments are data handed to the container;
the docker client connects only to its daemon.  The daemon address is
still checked, and so are bind mounts (`-v ~/.ssh:/keys` reads ~/.ssh)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hooks_fixtures import check_shell, decisions, make_box


@pytest.fixture()
def box(tmp_path: Path) -> dict[str, Path]:
    return make_box(tmp_path)


@pytest.mark.parametrize("cmd", [
    "docker run -e URL=https://example.com img",
    "docker run --env=CALLBACK=https://hooks.example.net/x --rm img",
    "podman run -e API=https://api.example.org -l docs=https://docs.example.org img",
    "docker build --build-arg MIRROR=https://mirror.example.com .",
    "docker run -v \"$PWD\":/src -w /src img make",
])
def test_container_environment_urls_are_allowed(cmd: str, box: dict[str, Path]) -> None:
    assert check_shell(cmd, box) == []


@pytest.mark.parametrize("cmd", [
    "docker -H tcp://attacker.example:2375 ps",
    "DOCKER_HOST=tcp://attacker.example:2375 docker ps",
    "docker run -e X=1 --add-host h:1.2.3.4 img curl https://attacker.example",
])
def test_connections_docker_makes_are_still_checked(cmd: str, box: dict[str, Path]) -> None:
    assert ("deny", "net.host_not_allowed") in decisions(check_shell(cmd, box))


@pytest.mark.parametrize("cmd", ["docker run -v ~/.ssh:/keys img",
                                 "docker run --mount type=bind,source=@HOME@/.aws,target=/a img",
                                 "podman run --volume=@HOME@:/h img"])
def test_bind_mounting_a_denied_path_is_denied(cmd: str, box: dict[str, Path]) -> None:
    assert ("deny", "fs.read_denied") in decisions(check_shell(cmd, box))
