"""Filesystem paths in a policy: token expansion and containment.

Containment is decided on path components, never on string prefixes, so
``/home/u/.sshx`` is not under ``/home/u/.ssh``.  Paths are literal: no globs.
"""

from __future__ import annotations

import os


def shown(raw: str) -> str:
    """The value as an error may show it (imported on error only: the hooks
    load this module on every call)."""
    from stockade.config.shown import shown as _shown

    return _shown(raw)


TOKENS_HINT = "start it with /, ~, ${HOME} or ${WORKSPACE}"


class PathSyntaxError(ValueError):
    """A policy path that cannot be expanded; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def expand(raw: str, *, home: str, workspace: str) -> str:
    """Expand ``~``, ``${HOME}`` and ``${WORKSPACE}`` and normalise.

    The result is absolute and has no ``.``/``..`` components.  Anything that
    would make the meaning depend on where stockade runs (a relative path,
    another variable, ``~user``) is refused.
    """
    if "\x00" in raw:
        raise PathSyntaxError("a path cannot contain a NUL byte", "remove it")
    text = raw.strip()
    if not text:
        raise PathSyntaxError("empty path", f"write a path; {TOKENS_HINT}")
    if text == "~" or text.startswith("~/"):
        text = home + text[1:]
    elif text.startswith("~"):
        raise PathSyntaxError(
            f"{shown(raw)}: ~user is not supported", "write the full path, or ~/... for your home"
        )
    text = text.replace("${HOME}", home).replace("${WORKSPACE}", workspace)
    if "$" in text:
        raise PathSyntaxError(
            f"{shown(raw)}: unknown variable", "the only tokens are ~, ${HOME} and ${WORKSPACE}"
        )
    if any(c in text for c in "*?["):
        raise PathSyntaxError(
            f"{shown(raw)}: globs are not supported in filesystem paths",
            "list the directory itself; everything under it is covered",
        )
    if not text.startswith("/"):
        raise PathSyntaxError(f"{shown(raw)} is a relative path", TOKENS_HINT)
    norm = os.path.normpath(text)
    # POSIX keeps a leading '//' as is; it means nothing special on Linux.
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm


def is_under(child: str, parent: str) -> bool:
    """True when ``child`` is ``parent`` or inside it (component-wise).

    Both must be absolute and normalised (as :func:`expand` returns).
    """
    if parent == "/":
        return child.startswith("/")
    return child == parent or child.startswith(parent + "/")


def candidates(path: str | os.PathLike[str], *, base: str) -> tuple[str, str]:
    """The lexical and the resolved form of ``path`` (relative to ``base``).

    ``..`` is collapsed in both; symlinks are followed in the second.  Raises
    ValueError for a path no file can have (a NUL byte).
    """
    p = os.fspath(path)
    if "\x00" in p:
        raise ValueError("NUL byte in path")
    p = os.path.expanduser(p) if p.startswith("~") else p
    if not os.path.isabs(p):
        p = os.path.join(base, p)
    lexical = os.path.normpath(p)
    if lexical.startswith("//"):
        lexical = "/" + lexical.lstrip("/")
    return lexical, os.path.realpath(lexical)
