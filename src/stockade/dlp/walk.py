"""Walk a tree the way git sees it: .gitignore files, .git/info/exclude, no .git.

Implements gitignore(5) pattern semantics without calling git (a scan must
work outside a repository and must be fast):

* blank lines and ``#`` comments are ignored; ``\\#`` and ``\\!`` escape;
  trailing spaces are dropped unless escaped;
* ``!pattern`` re-includes what an earlier pattern excluded (but nothing
  inside an excluded directory, which is never entered);
* a trailing ``/`` matches directories only;
* a pattern with a ``/`` at the start or in the middle is anchored to the
  directory of its .gitignore; one without matches a name at any depth;
* ``*``, ``?``, ``[...]`` never match ``/``; ``**/``, ``/**`` and ``/**/``
  match any number of directories;
* the last matching pattern wins; a deeper .gitignore wins over a shallower
  one, and every .gitignore wins over .git/info/exclude.

Symbolic links are never followed (a link to a parent directory would loop,
and a link may point out of the tree); they are reported as skipped, as are
sockets, FIFOs and devices.  What an ignore file excludes is yielded as
:class:`Ignored` (an ignored directory once, not entered), so a caller can
say how much it did not look at.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Entry:
    """A regular file to scan: its path on disk and its path relative to the scan root."""

    path: str
    rel: str
    size: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something that was not scanned, and why.

    ``text`` marks a skip of what is, or may be, text (a file named like
    text whose content looks binary, an unreadable file): a pre-commit scan
    treats those as failures, not as binaries it may pass over."""

    rel: str
    reason: str
    text: bool = False


@dataclass(frozen=True, slots=True)
class Ignored:
    """A path an ignore file excludes (a directory is not entered)."""

    rel: str
    is_dir: bool


@dataclass(frozen=True, slots=True)
class Pattern:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(glob: str) -> str:
    """Regex source for a gitignore glob (already stripped of ``!`` and trailing ``/``)."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("**", i):
                at_seg_start = i == 0 or glob[i - 1] == "/"
                j = i + 2
                at_seg_end = j == n or glob[j] == "/"
                if at_seg_start and at_seg_end:
                    if j == n:  # trailing "/**" (or a lone "**"): everything below
                        out.append(".*")
                        i = j
                        continue
                    # "**/": zero or more directories
                    out.append("(?:.*/)?")
                    i = j + 1
                    continue
                # other consecutive asterisks are ordinary ones
                while i < n and glob[i] == "*":
                    i += 1
                out.append("[^/]*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and glob[j] in "!^":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:  # no closing bracket: a literal "["
                out.append(re.escape(c))
            else:
                body = glob[i + 1:j]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("[", "\\[")
                out.append(f"[{'^' if negate else ''}{body}]" if not negate else f"[^/{body}]")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def parse_gitignore(text: str) -> list[Pattern]:
    """Compile the lines of one .gitignore (or info/exclude) file."""
    patterns: list[Pattern] = []
    for raw in text.splitlines():
        line = raw
        if not line or line.startswith("#"):
            continue
        # Trailing spaces are ignored unless escaped with a backslash.
        stripped = line.rstrip(" ")
        if stripped != line and stripped.endswith("\\"):
            stripped += " "
        line = stripped
        if not line:
            continue
        negate = False
        if line.startswith("!"):
            negate = True
            line = line[1:]
        elif line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dir_only = line.endswith("/") and not line.endswith("\\/")
        if dir_only:
            line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        if line.startswith("/"):
            line = line[1:]
        body = _translate(line)
        source = body if anchored else f"(?:.*/)?{body}"
        patterns.append(Pattern(re.compile(f"(?s:{source})\\Z"), negate, dir_only))
    return patterns


@dataclass(frozen=True, slots=True)
class _Layer:
    base: str  # directory of the ignore file, relative to the origin, "" or "a/b/"
    patterns: tuple[Pattern, ...]
    # One regex per layer that matches when any pattern does: most paths match
    # none, and then one regex call decides instead of one per pattern.
    any_file: re.Pattern[str] | None
    any_dir: re.Pattern[str]

    @classmethod
    def build(cls, base: str, patterns: tuple[Pattern, ...]) -> _Layer:
        def union(ps: list[Pattern]) -> re.Pattern[str] | None:
            if not ps:
                return None
            return re.compile("|".join(f"(?:{p.regex.pattern})" for p in ps))

        any_dir = union(list(patterns)) or re.compile(r"(?!)")
        return cls(base, patterns, union([p for p in patterns if not p.dir_only]), any_dir)


class IgnoreRules:
    """The stack of ignore files that apply at one directory."""

    __slots__ = ("_layers",)

    def __init__(self, layers: tuple[_Layer, ...] = ()) -> None:
        self._layers = layers

    def with_file(self, base: str, path: str) -> IgnoreRules:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                patterns = parse_gitignore(fh.read())
        except OSError:
            return self
        if not patterns:
            return self
        return IgnoreRules(self._layers + (_Layer.build(base, tuple(patterns)),))

    def ignored(self, rel: str, *, is_dir: bool) -> bool:
        """``rel`` is relative to the origin (repository root or scan root), '/'-separated."""
        for layer in reversed(self._layers):
            if layer.base and not rel.startswith(layer.base):
                continue
            sub = rel[len(layer.base):]
            quick = layer.any_dir if is_dir else layer.any_file
            if quick is None or not quick.match(sub):
                continue
            for pat in reversed(layer.patterns):
                if pat.dir_only and not is_dir:
                    continue
                if pat.regex.match(sub):
                    return not pat.negate
        return False


def _find_repo_root(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def _git_dir(repo: Path) -> Path | None:
    dot = repo / ".git"
    if dot.is_dir():
        return dot
    try:  # worktrees and submodules: "gitdir: <path>"
        text = dot.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if text.startswith("gitdir:"):
        gd = Path(text[7:].strip())
        return gd if gd.is_absolute() else (repo / gd)
    return None


def initial_rules(root: Path) -> tuple[IgnoreRules, str]:
    """Rules in force at ``root`` and root's path relative to their origin.

    When ``root`` is inside a repository, .git/info/exclude and the .gitignore
    files of the directories from the repository root down to ``root`` apply."""
    repo = _find_repo_root(root)
    if repo is None:
        return IgnoreRules(), ""
    rules = IgnoreRules()
    gd = _git_dir(repo)
    if gd is not None:
        rules = rules.with_file("", str(gd / "info" / "exclude"))
    rel_parts = root.relative_to(repo).parts
    base = ""
    cur = repo
    rules = rules.with_file("", str(repo / ".gitignore")) if rel_parts else rules
    for part in rel_parts[:-1]:
        cur = cur / part
        base += part + "/"
        rules = rules.with_file(base, str(cur / ".gitignore"))
    prefix = "/".join(rel_parts) + "/" if rel_parts else ""
    return rules, prefix


def walk(
    root: str | os.PathLike[str],
    *,
    respect_gitignore: bool = True,
) -> Iterator[Entry | Skipped | Ignored]:
    """Yield every regular file under ``root`` (sorted, depth first), every skip
    and every ignored path.

    ``Entry.rel`` is relative to ``root``.  Never follows symbolic links;
    never enters ``.git``."""
    root_path = Path(root).absolute()
    if respect_gitignore:
        rules, origin_prefix = initial_rules(root_path)
    else:
        rules, origin_prefix = IgnoreRules(), ""
    # Stack of (directory on disk, path relative to root with trailing "/", rules).
    stack: list[tuple[str, str, IgnoreRules]] = [(str(root_path), "", rules)]
    while stack:
        dir_path, rel_dir, dir_rules = stack.pop()
        if respect_gitignore:
            gi = os.path.join(dir_path, ".gitignore")
            if os.path.isfile(gi):
                dir_rules = dir_rules.with_file(origin_prefix + rel_dir, gi)
        try:
            with os.scandir(dir_path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(rel_dir.rstrip("/") or ".", f"unreadable directory: {exc.strerror}", text=True)
            continue
        subdirs: list[tuple[str, str, IgnoreRules]] = []
        for e in entries:
            rel = rel_dir + e.name
            if e.name == ".git":
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as exc:
                yield Skipped(rel, f"cannot stat: {exc.strerror}", text=True)
                continue
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                if respect_gitignore and dir_rules.ignored(origin_prefix + rel, is_dir=True):
                    yield Ignored(rel, True)
                    continue
                subdirs.append((e.path, rel + "/", dir_rules))
                continue
            if respect_gitignore and dir_rules.ignored(origin_prefix + rel, is_dir=False):
                yield Ignored(rel, False)
                continue
            if stat.S_ISREG(mode):
                yield Entry(e.path, rel, st.st_size)
            elif stat.S_ISLNK(mode):
                yield Skipped(rel, "symbolic link (not followed)")
            else:
                yield Skipped(rel, "not a regular file")
        # Reverse so that popping yields directories in name order.
        stack.extend(reversed(subdirs))


__all__ = ["Entry", "IgnoreRules", "Ignored", "Pattern", "Skipped", "initial_rules", "parse_gitignore", "walk"]
