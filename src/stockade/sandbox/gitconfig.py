"""git's config format, read leniently (no git process, no imports)."""

from __future__ import annotations


def lenient_pairs(text: str) -> list[tuple[str, str]]:
    """``(section[.x].key, value)`` of a git config text, read roughly as
    git reads it: headers (also with a key after them on the same line),
    continuation lines, a BOM; a subsection shows as ``x``, keys in lower
    case.  For where git itself cannot be asked (start-up; no git)."""
    text = text.lstrip("\ufeff").replace("\\\r\n", "").replace("\\\n", "")
    section = ""
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        while line.startswith("["):
            end = line.find("]")
            head = line[1:end] if end != -1 else line[1:]
            name, _, sub = head.strip().partition(" ") if " " in head else head.strip().partition("\t")
            section = name.lower() + (".x" if sub.strip() or "." in name else "")
            line = line[end + 1:].strip() if end != -1 else ""
        if not line or line[0] in "#;":
            continue
        key, _, value = line.partition("=")
        pairs.append((f"{section}.{key.strip().lower()}", _value(value)))
    return pairs


_ESCAPES = {"n": "\n", "t": "\t", "b": "\b"}


def _value(raw: str) -> str:
    """A value as git reads it: quotes removed (what they hold kept as it
    is), ``\\`` escapes, a ``#`` or ``;`` outside quotes starting a comment,
    whitespace outside quotes trimmed at both ends."""
    out: list[str] = []
    space = ""  # unquoted whitespace, kept only if more of the value follows
    quoted = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            out += [space, _ESCAPES.get(raw[i + 1], raw[i + 1])]
            space = ""
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "#;":
            break
        elif not quoted and c in " \t":
            if out:
                space += c
        else:
            out += [space, c]
            space = ""
        i += 1
    return "".join(out)


__all__ = ["lenient_pairs"]
