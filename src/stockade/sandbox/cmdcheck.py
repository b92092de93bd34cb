"""Will the agent's command be there inside the sandbox?

``stockade run claude`` with claude installed under ``/tmp`` (a private tmpfs
inside) or in a directory the policy does not list would fail inside with a
bare "No such file or directory".  Before starting anything, the launcher
looks the command up on the host the way ``execvp`` will inside, and when it
exists only where the sandbox shows nothing, says where it is and what to do.
Pure but for ``os.path`` look-ups on the host.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PRIVATE_INSIDE = ("/tmp", "/var/tmp", "/run", "/proc", "/dev")


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _candidates(cmd: str, *, env: Mapping[str, str], workspace: str) -> list[str]:
    if "/" in cmd:
        return [os.path.normpath(os.path.join(workspace, cmd))]
    out = []
    for entry in (env.get("PATH") or "").split(os.pathsep):
        if os.path.isabs(entry):
            out.append(os.path.join(entry, cmd))
    return out


def _shown(path: str, *, visible: Sequence[str], masked: Sequence[str]) -> bool:
    # the directory it is looked up in, and the file it leads to (merged-/usr
    # links like /bin are recreated inside, so resolved paths are compared)
    for p in (os.path.realpath(os.path.dirname(path)), os.path.realpath(path)):
        if not any(_under(p, v) for v in visible) or any(_under(p, m) for m in masked):
            return False
    return True


def unreachable(cmd: str, *, env: Mapping[str, str], workspace: str, visible: Sequence[str],
                masked: Sequence[str], policy: str) -> str | None:
    """The message (and hint) when ``cmd`` exists on the host only where the
    sandbox does not show it; None when it will be found (or is nowhere: the
    sandbox then says so itself)."""
    hidden_at: str | None = None
    for cand in _candidates(cmd, env=env, workspace=workspace):
        if not (os.path.isfile(cand) and os.access(cand, os.X_OK)):
            continue
        if _shown(cand, visible=visible, masked=masked):
            return None  # execvp inside finds this one (or an earlier one)
        hidden_at = hidden_at or cand
    if hidden_at is None:
        return None
    real = os.path.realpath(hidden_at)
    where = hidden_at if real == hidden_at else f"{hidden_at} (-> {real})"
    named_dir = os.path.realpath(os.path.dirname(hidden_at))
    private = next((p for p in PRIVATE_INSIDE if _under(named_dir, p) or _under(real, p)), None)
    why = (f"{private} is private to the sandbox (an empty tmpfs inside)" if private
           else "the sandbox does not show that directory")
    directory = os.path.dirname(real)
    how = (f"list {directory} under filesystem.read in your policy (`stockade policy show` "
           f"names its files; network.allow came from {policy})")
    if _under(named_dir, private or "/nonexistent") and not _under(real, private or "/"):
        how = f"run it as {real} and " + how
    return (f"stockade: cannot run {cmd}: it is installed at {where} on this machine, "
            f"but {why}\n"
            f"  hint: install it where the sandbox shows it (/usr/local/bin, ~/.local/bin), "
            f"or {how}")


__all__ = ["unreachable"]
