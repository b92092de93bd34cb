"""Find the policy layers on disk, read them and merge them.

Layers, strongest first:

1. managed: ``/etc/stockade/policy.yaml`` (``$STOCKADE_MANAGED_POLICY`` overrides)
2. user:    ``--policy FILE``, else ``$STOCKADE_POLICY``, else
            ``$XDG_CONFIG_HOME/stockade/policy.yaml`` (``~/.config/...``)
3. the built-in default
4. project: ``<workspace>/stockade.yaml``

A file named explicitly (argument or variable) must exist; the conventional
locations are optional.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from stockade.config.defaults import DEFAULT
from stockade.config.merge import LOCKED, kind_of, merge
from stockade.config.model import Policy
from stockade.config.schema import PolicyLayer, validate
from stockade.config.yamlsrc import from_plain, parse
from stockade.errors import EnvironmentProblem, PolicyError

MANAGED_POLICY_PATH = Path("/etc/stockade/policy.yaml")
PROJECT_POLICY_NAME = "stockade.yaml"
MAX_POLICY_BYTES = 1 << 20


def _home(env: Mapping[str, str]) -> str:
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.normpath(home)


def display_path(path: Path | str, *, home: str | None = None) -> str:
    """``./x`` under the current directory, ``~/x`` under home, else absolute."""
    p = os.path.abspath(path)
    try:
        cwd = os.getcwd()
    except OSError:  # the current directory was removed
        cwd = "/nonexistent"
    if cwd != "/" and p.startswith(cwd.rstrip("/") + "/"):
        return "./" + os.path.relpath(p, cwd)
    h = home or os.path.expanduser("~")
    if h and h != "/" and p.startswith(h.rstrip("/") + "/"):
        return "~/" + os.path.relpath(p, h)
    return p


def _read(path: Path, shown: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError(
            "policy file not found",
            file=shown,
            hint="check the path, or remove the setting that names it",
        ) from None
    except IsADirectoryError:
        raise PolicyError("is a directory, not a policy file", file=shown) from None
    except PermissionError:
        raise PolicyError(
            "cannot read the policy file (permission denied)",
            file=shown,
            hint="stockade refuses to run without a policy it was told to use",
        ) from None
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file: {exc.strerror}", file=shown) from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(
            "policy file is larger than 1 MiB",
            file=shown,
            hint="a policy is a short YAML file; check you named the right file",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError(
            "the file is not UTF-8 text", file=shown, line=line, hint="save it as UTF-8"
        ) from None


def _load_layer(path: Path, *, kind: str, home: str, workspace: str) -> PolicyLayer:
    shown = display_path(path, home=home)
    root = parse(_read(path, shown), file=shown)
    layer = validate(
        root, file=shown, kind=kind, home=home, workspace=workspace, path=os.path.abspath(path)
    )
    if kind == "project":
        check_project_layer(layer)
    return layer


def check_project_layer(layer: PolicyLayer) -> None:
    """A project file may not set keys only managed/user may set."""
    for key in layer.settings:
        if kind_of(key) == LOCKED:
            file, line = layer.location(key)
            raise PolicyError(
                "only the managed or user policy may set this",
                file=file,
                line=line,
                key=key,
                hint=f"remove it from {file}; a project policy cannot change {key}",
            )


@lru_cache(maxsize=8)
def default_layer(home: str, workspace: str) -> PolicyLayer:
    """The built-in default as a layer (tokens expanded for this home/workspace)."""
    return validate(
        from_plain(DEFAULT),
        file="<built-in default>",
        kind="default",
        home=home,
        workspace=workspace,
    )


def load_policy_file(
    path: str | Path,
    *,
    kind: str = "file",
    workspace: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> PolicyLayer:
    """Read and validate one policy file on its own (``stockade policy check``).

    ``kind="project"`` also refuses keys a project may not set.  Bounds set
    by other layers are not checked here; :func:`load_policy` does that.
    """
    env = os.environ if env is None else env
    home = _home(env)
    ws = _workspace(workspace)
    return _load_layer(Path(path), kind=kind, home=home, workspace=ws)


def _workspace(workspace: Path | str | None) -> str:
    try:
        return os.path.realpath(workspace if workspace is not None else os.getcwd())
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot find the workspace: {exc.strerror}",
            hint="run stockade from an existing directory, or pass --workspace DIR",
        ) from None


def user_policy_path(env: Mapping[str, str]) -> tuple[Path, bool]:
    """The user layer's path and whether it was named explicitly."""
    if env.get("STOCKADE_POLICY"):
        return Path(env["STOCKADE_POLICY"]).expanduser(), True
    xdg = env.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path(_home(env)) / ".config"
    return base / "stockade" / "policy.yaml", False


def managed_policy_path(env: Mapping[str, str]) -> tuple[Path, bool]:
    if env.get("STOCKADE_MANAGED_POLICY"):
        return Path(env["STOCKADE_MANAGED_POLICY"]), True
    return MANAGED_POLICY_PATH, False


def load_policy(
    *,
    policy_file: str | Path | None = None,
    workspace: Path | str | None = None,
    managed_file: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Policy:
    """Load every layer and merge them into the effective policy.

    Raises :class:`~stockade.errors.PolicyError` for any invalid file or a
    weaker layer that tries to loosen a stronger one.
    """
    env = os.environ if env is None else env
    home = _home(env)
    ws = _workspace(workspace)

    if managed_file is not None:
        # An argument moves the managed location (tests, packagers); like
        # /etc/stockade/policy.yaml, the file there is optional.
        mpath, mexplicit = Path(managed_file), False
    else:
        mpath, mexplicit = managed_policy_path(env)
    if policy_file is not None:
        upath, uexplicit = Path(policy_file).expanduser(), True
    else:
        upath, uexplicit = user_policy_path(env)
    ppath = Path(ws) / PROJECT_POLICY_NAME

    def optional(path: Path, explicit: bool, kind: str) -> PolicyLayer | None:
        if not explicit and not os.path.lexists(path):
            return None
        return _load_layer(path, kind=kind, home=home, workspace=ws)

    managed = optional(mpath, mexplicit, "managed")
    user = optional(upath, uexplicit, "user")
    project = None
    if os.path.lexists(ppath) and not (
        user is not None and os.path.realpath(upath) == os.path.realpath(ppath)
    ):
        project = _load_layer(ppath, kind="project", home=home, workspace=ws)
    return merge(
        default=default_layer(home, ws),
        managed=managed,
        user=user,
        project=project,
        workspace=ws,
        login=env.get("USER") or env.get("LOGNAME"),
    )
