"""Regex building blocks for ``key <op> value`` in many syntaxes.

Covers shell/.env (``KEY=v``, ``export KEY="v"``), YAML (``key: v``), JSON
(``"key": "v"``, also JSON inside a JSON string: ``\\"key\\": \\"v\\"``),
TOML/INI/properties (``key = v``), Python/JS/TS/Go/Java/C#/Ruby/PHP/HCL
(``key = "v"``, ``key: "v"``, ``key := "v"``, ``'key' => 'v'``,
``define('KEY', 'v')``, ``put("key", "v")``), XML (``<key>v</key>``,
``key="v"`` attributes, ``<add key="K" value="v"/>``), Dockerfile
``ENV KEY v`` / ``ARG KEY=v``, CLI flags (``--key=v``, ``--key v``) and
Chinese labels with full-width punctuation (``密码：v``).
"""

from __future__ import annotations

import re

# What may follow the key before the value starts.
_CLOSE = r"""(?:\\?["'`])?\]?"""
_OP = r"""[ \t]{0,4}(?:=>|:=|==?|::?|<-|->|：|＝)[ \t]{0,4}"""
_COMMA = r"""\\?["'`][ \t]*,[ \t]*"""
_OPEN = r"""(?:[@$]?[rRbBuU]{0,2}\\?(?P<q>["'`]))"""

# A quoted value may hold anything but quotes, backslashes and newlines;
# a bare value ends at whitespace, quotes and the separators of its syntax.
QUOTED_VALUE = r"""[^"'`\\\r\n]"""
BARE_VALUE = r"""(?:[^\s"'`\\,;<>&]|&(?![A-Za-z_][A-Za-z0-9_]*=))"""


def assignment(key: str, value: str | None = None, *, min_len: int = 1, max_len: int = 256) -> str:
    """A regex for ``key`` assigned a value.  ``key`` is a regex fragment
    (matched caselessly); ``value`` a fragment for the value's alphabet, or
    None for "any plausible literal".  The value is group ``v`` (or ``vb``
    for bare / ``vx`` for XML element text)."""
    k = f"(?i:{key})"
    if value is None:
        quoted = f"{QUOTED_VALUE}{{{min_len},{max_len}}}"
        bare = f"{BARE_VALUE}{{{min_len},{max_len}}}"
    else:
        quoted = bare = value
    lead = (
        rf"(?:(?m:^)[ \t]*(?:ENV|ARG|env|arg)[ \t]+[A-Za-z0-9_.\-]*{k}[ \t]+"  # Dockerfile ENV K v
        rf"|--?[A-Za-z0-9\-]*{k}(?:[ \t]+|=)"  # CLI flag
        rf"|(?<![A-Za-z0-9_.\-])[A-Za-z0-9]+[_.\-]{k}[ \t]+(?:(?:is|was)[ \t]+)?"  # log: db_password v
        rf"|{k}[ \t]+(?:is|was)[ \t]+"  # prose: the password is v
        rf"|{k}(?:{_CLOSE}{_OP}|{_COMMA})(?:\[[ \t]*)?)"  # key = value
    )
    plain = rf"{lead}(?:{_OPEN}(?P<v>{quoted})|(?P<vb>{bare}))"
    xml = rf"<(?:[A-Za-z0-9_.\-]+:)?[A-Za-z0-9_.\-]*{k}(?:[ \t][^<>]{{0,80}})?>(?P<vx>{bare})</"
    appsetting = (
        rf"""(?i:key|name)=\\?["'][A-Za-z0-9_.:\-]*{k}\\?["'][ \t]+(?i:value)=\\?["'](?P<va>{quoted})"""
    )
    return rf"(?:{plain}|{xml}|{appsetting})"


def compile_assignment(key: str, value: str | None = None, **kw: int) -> re.Pattern[str]:
    return re.compile(assignment(key, value, **kw))


def is_quoted(m: re.Match[str], start: int) -> bool:
    """Whether the value starting at ``start`` was written as a string literal."""
    return start > 0 and m.string[start - 1] in "\"'`" or (m.re.groupindex.get("va") is not None
                                                          and m.start("va") == start)
