"""Find the policy layers on disk, read them and merge them.

Layers, strongest first:

1. managed: ``/etc/stockade/policy.yaml``.  The ``managed_file=`` argument
            moves it (tests, packagers); ``$STOCKADE_MANAGED_POLICY`` does
            only while ``/etc/stockade/policy.yaml`` does not exist, so no
            process environment can replace a managed policy that is there.
2. user:    ``--policy FILE``, else ``$STOCKADE_POLICY``, else
            ``$XDG_CONFIG_HOME/stockade/policy.yaml`` (``~/.config/...``)
3. the built-in default
4. project: ``<workspace>/stockade.yaml``, and a ``--policy``/``$STOCKADE_POLICY``
            file that is inside the workspace (the agent can write it, so it
            may only tighten, like the project file)

A file named explicitly (argument or variable) must exist; the conventional
locations are optional.  Policy files are opened without blocking and must be
regular files of at most 1 MiB: a FIFO or a device never hangs a load.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from stockade.config import paths
from stockade.config.defaults import DEFAULT
from stockade.config.merge import LOCKED, kind_of, merge
from stockade.config.model import Policy
from stockade.config.schema import PolicyLayer, validate
from stockade.config.yamlsrc import from_plain, parse
from stockade.errors import EnvironmentProblem, PolicyError

MANAGED_POLICY_PATH = Path("/etc/stockade/policy.yaml")
PROJECT_POLICY_NAME = "stockade.yaml"
MAX_POLICY_BYTES = 1 << 20
_TOO_BIG = "policy file is larger than 1 MiB"
_TOO_BIG_HINT = "a policy is a short YAML file; check you named the right file"
_NOT_REGULAR = "not a regular file (a FIFO, socket or device cannot be a policy)"
_NOT_REGULAR_HINT = "name a YAML file; if something replaced it, find out what did"


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
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
    # forever (and a policy file is something an agent may be able to plant).
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
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
        if exc.errno == errno.ENXIO:  # a socket, or a device with no driver
            raise PolicyError(_NOT_REGULAR, file=shown, hint=_NOT_REGULAR_HINT) from None
        raise PolicyError(f"cannot read the policy file: {exc.strerror}", file=shown) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise PolicyError("is a directory, not a policy file", file=shown)
        if not stat.S_ISREG(st.st_mode):
            raise PolicyError(_NOT_REGULAR, file=shown, hint=_NOT_REGULAR_HINT)
        if st.st_size > MAX_POLICY_BYTES:
            raise PolicyError(_TOO_BIG, file=shown, hint=_TOO_BIG_HINT)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_POLICY_BYTES:  # the file may grow while it is read
            chunk = os.read(fd, MAX_POLICY_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file: {exc.strerror}", file=shown) from None
    finally:
        os.close(fd)
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(_TOO_BIG, file=shown, hint=_TOO_BIG_HINT)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError(
            "the file is not UTF-8 text", file=shown, line=line, hint="save it as UTF-8"
        ) from None


def _load_layer(
    path: Path, *, kind: str, home: str, workspace: str, named_in_workspace: bool = False
) -> PolicyLayer:
    shown = display_path(path, home=home)
    root = parse(_read(path, shown), file=shown)
    layer = validate(
        root, file=shown, kind=kind, home=home, workspace=workspace, path=os.path.abspath(path)
    )
    if kind == "project":
        check_project_layer(layer, named_in_workspace=named_in_workspace)
    return layer


def check_project_layer(layer: PolicyLayer, *, named_in_workspace: bool = False) -> None:
    """A project file may not set keys only managed/user may set."""
    for key in layer.settings:
        if kind_of(key) == LOCKED:
            file, line = layer.location(key)
            hint = f"remove it from {file}; a project policy cannot change {key}"
            if named_in_workspace:
                hint = (
                    f"{file} is inside the workspace, where the agent can write it, so it is "
                    "read as a project policy; keep your own policy outside the workspace "
                    "(e.g. ~/.config/stockade/policy.yaml)"
                )
            raise PolicyError(
                "only the managed or user policy may set this",
                file=file,
                line=line,
                key=key,
                hint=hint,
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


def check_layer_bounds(
    layer: PolicyLayer,
    *,
    workspace: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """Apply the bounds loading applies to ``layer`` (a ``project`` or
    ``user`` layer): merge it under the stronger layers present on this
    machine, raising :class:`PolicyError` where it loosens one.

    Returns the layers it was checked against (``"managed /etc/..."``), so
    ``policy check`` can say what it compared with.  A stronger file that
    is the checked file itself is not counted twice."""
    if layer.kind not in ("project", "user"):
        raise ValueError(f"no bounds apply to a {layer.kind} layer")
    env = os.environ if env is None else env
    home = _home(env)
    ws = _workspace(workspace)
    me = Path(layer.path) if layer.path else None

    def present(path: Path, kind: str) -> PolicyLayer | None:
        if not os.path.lexists(path) or (me is not None and _same_file(path, me)):
            return None
        return _load_layer(path, kind=kind, home=home, workspace=ws)

    managed = present(managed_policy_path(env)[0], "managed")
    user = layer
    projects: tuple[PolicyLayer, ...] = ()
    if layer.kind == "project":
        user = present(user_policy_path(env)[0], "user")  # type: ignore[assignment]
        projects = (layer,)
    merge(default=default_layer(home, ws), managed=managed, user=user, projects=projects,
          workspace=ws, login=env.get("USER") or env.get("LOGNAME"))
    against = [f"{x.kind} {x.file}" for x in (managed, user) if x is not None and x is not layer]
    return (*against, "the built-in default")


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
    """The managed layer's path and whether it must exist.

    ``$STOCKADE_MANAGED_POLICY`` is honoured only where there is no
    ``/etc/stockade/policy.yaml``: any process can set a variable, and none
    may swap the managed policy an administrator installed for its own.
    """
    named = env.get("STOCKADE_MANAGED_POLICY")
    if named and not os.path.lexists(MANAGED_POLICY_PATH):
        return Path(named), True
    return MANAGED_POLICY_PATH, False


def _inside_workspace(path: Path, ws: str, project: Path) -> bool:
    """Is ``path`` the workspace's project file, or anywhere in the workspace
    (after symlinks), so that the agent may be able to write it?"""
    # samefile: a hard link to stockade.yaml is the same file wherever it is.
    return _same_file(path, project) or paths.is_under(os.path.realpath(path), ws)


def load_policy(
    *,
    policy_file: str | Path | None = None,
    workspace: Path | str | None = None,
    managed_file: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    include_project: bool = True,
) -> Policy:
    """Load every layer and merge them into the effective policy.

    Raises :class:`~stockade.errors.PolicyError` for any invalid file or a
    weaker layer that tries to loosen a stronger one.  A user policy file
    (``policy_file`` or ``$STOCKADE_POLICY``) inside the workspace is read as a
    project layer.  ``include_project=False`` leaves the project layers out:
    for the keys only managed and user may set (``ledger.*``, ``identity.*``),
    whose values a project file can never change, so a broken project file
    need not stop the reader.
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
    # A named file the agent can write is no stronger than the project file.
    named_in_ws = uexplicit and os.path.lexists(upath) and _inside_workspace(upath, ws, ppath)
    user = None if named_in_ws else optional(upath, uexplicit, "user")
    projects: list[PolicyLayer] = []
    if include_project:
        if os.path.lexists(ppath):
            projects.append(_load_layer(ppath, kind="project", home=home, workspace=ws))
        if named_in_ws and not _same_file(upath, ppath):
            projects.append(
                _load_layer(
                    upath, kind="project", home=home, workspace=ws, named_in_workspace=True
                )
            )
    return merge(
        default=default_layer(home, ws),
        managed=managed,
        user=user,
        projects=tuple(projects),
        workspace=ws,
        login=env.get("USER") or env.get("LOGNAME"),
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
