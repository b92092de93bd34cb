"""git's config format, read leniently (no git process, no imports).

Read character by character as git's own parser does (config.c): lines end
at ``\\n`` only; a comment runs to the end of its line (a backslash there
continues nothing); a header's subsection is quoted and may hold ``]``; the
old ``[section.sub]`` form names a subsection too; a backslash-newline
continues a value.  Held to ``git config --list`` in
``tests/sandbox/test_sandbox_gitaudit.py``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_ESCAPES = {"n": "\n", "t": "\t", "b": "\b"}
_SPACE = " \t\r\v\f"


def lenient_pairs(text: str) -> list[tuple[str, str]]:
    """``(section[.x].key, value)`` of a git config text: a subsection shows
    as ``x``, keys in lower case; a key without ``=`` has the value ``""``.
    For where git itself cannot be asked (start-up; no git).  What git would
    refuse is skipped to the end of its line, never taken further."""
    text = text.lstrip("\ufeff")
    n = len(text)
    pairs: list[tuple[str, str]] = []
    section = ""
    i = 0
    while i < n:
        c = text[i]
        if c in _SPACE or c == "\n":
            i += 1
        elif c in "#;":
            i = _end_of_line(text, i)
        elif c == "[":
            head, i = _header(text, i + 1)
            if head is None:
                i = _end_of_line(text, i)
            else:
                section = head
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "-"):
                j += 1
            key = text[i:j].lower()
            while j < n and text[j] in _SPACE:
                j += 1
            if j < n and text[j] == "=":
                value, i = _value(text, j + 1)
            elif j >= n or text[j] in "\n#;":
                value, i = "", j
            else:  # junk after a key: git refuses the file; skip the line
                i = _end_of_line(text, j)
                continue
            pairs.append((f"{section}.{key}", value))
        else:
            i = _end_of_line(text, i)
    return pairs


def _end_of_line(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end == -1 else end + 1


def _header(text: str, i: int) -> tuple[str | None, int]:
    """The section of a header that starts after ``[`` at ``i`` (``name`` or
    ``name.x``) and the index after its ``]``; None when git would refuse it."""
    n = len(text)
    j = i
    while j < n and text[j].isascii() and (text[j].isalnum() or text[j] in "-."):
        j += 1
    name = text[i:j].lower()
    if not name:
        return None, j
    if j < n and text[j] == "]":
        # [section] or the old [section.sub]
        base, dot, _ = name.partition(".")
        return (base + ".x" if dot else name), j + 1
    while j < n and text[j] in " \t":
        j += 1
    if j >= n or text[j] != '"' or "." in name:
        return None, j
    j += 1
    while j < n and text[j] != '"':
        if text[j] == "\n":
            return None, j
        j += 2 if text[j] == "\\" else 1
    if j + 1 >= n or text[j + 1] != "]":
        return None, j
    return name + ".x", j + 2


def _value(text: str, i: int) -> tuple[str, int]:
    """The value that starts at ``i`` as git reads it (quotes removed, what
    they hold kept as it is; ``\\`` escapes; a backslash-newline continues;
    ``#`` or ``;`` outside quotes starts a comment; whitespace outside quotes
    trimmed at both ends) and the index after its line."""
    n = len(text)
    out: list[str] = []
    space = ""  # unquoted whitespace, kept only if more of the value follows
    quoted = False
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "\n":
                i += 2
                continue
            if nxt == "\r" and i + 2 < n and text[i + 2] == "\n":
                i += 3
                continue
            out += [space, _ESCAPES.get(nxt, nxt)]
            space = ""
            i += 2
            continue
        if c == "\n":
            return "".join(out), i + 1
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "#;":
            return "".join(out), _end_of_line(text, i)
        elif not quoted and c in _SPACE:
            if out:
                space += c
        else:
            out += [space, c]
            space = ""
        i += 1
    return "".join(out), n


# git's own limit on nested includes; and a bound on the files read in all
MAX_INCLUDE_DEPTH = 10
MAX_CONFIG_FILES = 64


def chain_pairs(files: Sequence[str], read_text: Callable[[str], str], *,
                home: str | None) -> tuple[list[tuple[str, str]], list[str]]:
    """The pairs of the config ``files`` read in git's order, each file's
    ``include.path`` and ``includeIf.*.path`` files read in place, and the
    paths of every file so included (normalised, whether it exists or not).
    Conditions are not weighed: an ``includeIf`` counts as if it held (what
    the user's git reads in some repository, never less).  Relative include
    paths are taken from the including file's folder, ``~/`` from ``home``
    (a file not there is taken from where its link points, as git does)."""
    pairs: list[tuple[str, str]] = []
    included: list[str] = []
    budget = [MAX_CONFIG_FILES]

    def read(path: str, depth: int) -> None:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        real = os.path.realpath(path)
        for key, value in lenient_pairs(read_text(real)):
            pairs.append((key, value))
            if not value or depth >= MAX_INCLUDE_DEPTH or not (
                    key == "include.path"
                    or (key.startswith("includeif.") and key.endswith(".path"))):
                continue
            if value.startswith("~/"):
                if not home:
                    continue
                target = home + value[1:]
            elif value.startswith("~"):
                continue  # another user's home: not this one's to guard
            else:
                target = os.path.join(os.path.dirname(real), value)
            target = os.path.normpath(target)
            included.append(target)
            read(target, depth + 1)

    for f in files:
        read(f, 0)
    return pairs, included


__all__ = ["chain_pairs", "lenient_pairs"]
