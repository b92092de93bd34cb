"""Regex building blocks for ``key <op> value`` in many syntaxes.

Covers shell/.env (``KEY=v``, ``export KEY="v"``), YAML (``key: v``), JSON
(``"key": "v"``, also JSON inside a JSON string: ``\\"key\\": \\"v\\"``),
TOML/INI/properties (``key = v``), Python/JS/TS/Go/Java/C#/Ruby/PHP/HCL
(``key = "v"``, ``key: "v"``, ``key := "v"``, ``'key' => 'v'``,
``define('KEY', 'v')``, ``put("key", "v")``), XML (``<key>v</key>``,
``key="v"`` attributes, ``<add key="K" value="v"/>``), Dockerfile
``ENV KEY v`` / ``ARG KEY=v``, CLI flags (``--key=v``, ``--key v``), logs
(``db_password v``), prose (``the password is v``) and Chinese labels with
full-width punctuation (``密码：v``).

The regexes are *anchored*: they start at the key (where the rule's keyword
was found), so the engine tries one ``match`` per keyword instead of
searching a window.  What comes before the key (``ENV``, ``--``, ``<``) is
checked by :func:`separator_ok`.
"""

from __future__ import annotations

import re

_CLOSE = r"""(?:\\?["'`])?\]?"""
_OP = r"""[ \t]{0,4}(?:=>|:=|==?|::?|<-|->|：|＝)[ \t]{0,4}"""
_COMMA = r"""(?P<cm>\\?["'`][ \t]*,[ \t]*)(?=[@$]?[rRbBuU]{0,2}\\?["'`])"""
_APPSETTING = r"""\\?["'][ \t]+(?i:value)[ \t]*=[ \t]*"""
# A typed declaration: ``api_key: &str = "v"``, ``var apiKey string = "v"``.
_TYPED = r"""(?:[ \t]*:[ \t]*[&'A-Za-z_][A-Za-z0-9_<>\[\]&:'?]{0,30}|[ \t]+[A-Za-z_][A-Za-z0-9_<>\[\]]{0,20})[ \t]*=[ \t]*"""
# A name/value pair: k8s ``- name: KEY`` + ``value: v``, ECS ``{"name": "KEY", "value": "v"}``.
_NAME_VALUE = (
    r"""(?P<nv>\\?["']?[ \t]*\r?\n[ \t]*(?i:value)[ \t]*:[ \t]*"""
    r"""|\\?["'][ \t]*,[ \t]*\\?["'](?i:value)\\?["'][ \t]*:[ \t]*)"""
)
_OPEN = r"""(?:[@$]?[rRbBuU]{0,2}\\?["'`])"""

# A quoted value may hold anything but quotes, backslashes and newlines;
# a bare value ends at whitespace, quotes and the separators of its syntax.
QUOTED_VALUE = r"""[^"'`\\\r\n]"""
BARE_VALUE = r"""(?:[^\s"'`\\,;<>&]|&(?![A-Za-z_][A-Za-z0-9_]*=))"""
XML_VALUE = r"""[^<>\s"'`\\]"""


def assignment(key: str, value: str | None = None, *, min_len: int = 1, max_len: int = 256) -> str:
    """A regex for ``key`` assigned a value, starting at the key.  ``key`` is
    a regex fragment (matched caselessly); ``value`` a fragment for the
    value's exact alphabet, or None for "any literal".  The value is group
    ``v`` when quoted, ``vb`` when bare."""
    if value is None:
        quoted = f"{QUOTED_VALUE}{{{min_len},{max_len}}}"
        bare = f"{BARE_VALUE}{{{min_len},{max_len}}}"
        xml = f"{XML_VALUE}{{{min_len},{max_len}}}"
    else:
        quoted = bare = xml = value
    sep = (
        rf"(?:{_TYPED}|{_CLOSE}{_OP}|{_NAME_VALUE}|{_COMMA}|{_APPSETTING}"
        r"|(?P<yb>[ \t]*:[ \t]*[|>][-+]?[ \t]*\r?\n[ \t]+)"  # YAML block scalar
        r"|(?P<tb>(?:\\?[\"'`])?[ \t]+\|[ \t]+)"  # Markdown table row
        r"|(?P<cv>,)"  # CSV key,value
        r"|(?P<ws>[ \t]+(?:(?i:is|was)[ \t]+)?|[ \t]*(?:是|为|為|は)[ \t]*)"
        r"|(?P<xml>(?:\\?[\"'][^<>\n]{0,80}|[ \t][^<>\n]{0,80})?>))"
    )
    return (
        rf"(?i:{key})(?P<sep>{sep})"
        rf"(?:(?<=>)(?P<vx>{xml})(?=</)|{_OPEN}(?P<v>{quoted})|(?P<vb>{bare}))"
    )


_IDENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-$:")


def key_run(m: re.Match[str]) -> tuple[int, str]:
    """Where the whole identifier the key belongs to starts, and its text."""
    text = m.string
    s = m.start()
    while s > 0 and text[s - 1] in _IDENT_CHARS and m.start() - s < 80:
        s -= 1
    return s, text[s : m.start("sep")]


_HEAD_REACH = 200


def _line_head(text: str, s: int) -> str:
    """What comes before ``s`` on its line, at most the last _HEAD_REACH
    characters of it: looking back to the line's start for every match made
    a 1 MB line of key names quadratic (a minute per scan)."""
    lo = max(0, s - _HEAD_REACH)
    return text[text.rfind("\n", lo, s) + 1 or lo : s]


def separator_ok(m: re.Match[str]) -> bool:
    """The key and its value are really an assignment.

    ``key=v``-style operators always are.  Whitespace alone is accepted in a
    Dockerfile ``ENV``/``ARG``, after a CLI flag, after ``is``/``was``, or
    when the key is a compound identifier (``db_password v``), never after a
    plain English word.  XML element text needs its opening ``<``."""
    text = m.string
    if m.group("xml") is not None:
        if m.start("vx") < 0:
            return False
        s, _ = key_run(m)
        head = text[max(0, s - 120) : s]
        lt = head.rfind("<")
        return lt >= 0 and ">" not in head[lt:] and "\n" not in head[lt:]
    if m.group("tb") is not None:
        s, _ = key_run(m)
        head = text[max(0, s - 8) : s].rstrip("\"'`")
        return head.endswith((" ", "\t")) and head.rstrip(" \t").endswith("|")
    if m.group("cv") is not None:
        s, _ = key_run(m)
        after = text[m.end() : m.end() + 1]
        return not _line_head(text, s).strip("\"' \t") and after in ("", "\n", "\r", ",")
    if m.group("cm") is not None:
        # put("password", "v") / define('DB_PASSWORD', 'v'): the key is the
        # first argument of a call, not an item in a list of names.
        s, _ = key_run(m)
        before = m.string[max(0, s - 40) : s].rstrip()
        return before.endswith(("(\"", "('", "(`", "(\\\"", "( \"", "( '"))
    if m.group("nv") is not None:
        s, _ = key_run(m)
        return m.string[max(0, s - 12) : s].rstrip(" \t\"'").lower().endswith("name:") or \
            m.string[max(0, s - 12) : s].rstrip(" \t\"'").lower().endswith("name\":")
    ws = m.group("ws")
    if ws is None:
        return m.start("vx") < 0
    if ws.strip() or "\t" in ws:
        return True  # "... is v", 密码是 v, TSV
    s, ident = key_run(m)
    if ident.startswith("-"):
        return True  # --password v
    head = _line_head(text, s).strip().upper()
    if head in ("ENV", "ARG", "SET", "EXPORT", "#DEFINE") or " LOGIN " in f" {head} ":
        return True  # Dockerfile, batch, C preprocessor, .netrc
    core = ident.strip("-$:.")
    if core.lower() in ("requirepass", "masterauth"):
        return True  # redis.conf directives
    return any(c in "_.-" for c in core) or (core[:1].islower() and any(c.isupper() for c in core))


def value_group(m: re.Match[str]) -> str:
    for name in ("vx", "v", "vb"):
        if m.start(name) >= 0:
            return name
    return "v"
