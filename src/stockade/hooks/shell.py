"""A parser for the POSIX shell subset coding agents write.

Pure: text in, a syntax tree out.  No expansion happens here (that needs the
hook's view of the environment, see :mod:`stockade.hooks.commands`); a word
keeps its parts (literal, quoted literal, ``$VAR``, ``$(...)``, ``~``) so the
analyser can tell a literal ``/etc/passwd`` from ``$X/passwd``.

Anything outside the subset (``case``, function definitions, ``for ((;;))``,
unbalanced quotes) raises :class:`ShellSyntaxError`: the caller fails closed.
"""

from __future__ import annotations

from stockade.hooks._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union

MAX_DEPTH = 40
MAX_LEN = 200_000

_META = set("|&;()<> \t\n")
_KEYWORDS_PREFIX = {"if", "then", "else", "elif", "do", "while", "until", "!"}
_KEYWORDS_END = {"fi", "done"}
_UNSUPPORTED = {"case", "esac", "function", "select", "coproc"}


class ShellSyntaxError(ValueError):
    """The command is outside what stockade can analyse."""


class Part(Record):
    """One piece of a word.

    kind: ``lit`` (text; ``quoted`` says whether glob characters are inert),
    ``var`` (``text`` is the name, or the whole ``${...}`` body), ``sub``
    (command substitution, ``node``), ``arith`` (``$((...))``), ``tilde``
    (``text`` is the user name, empty for the current user).
    """

    kind: str
    text: str
    quoted: bool = False
    node: Node | None = None


class Word(Record):
    raw: str
    parts: tuple[Part, ...]


class Redirect(Record):
    fd: int | None
    op: str
    target: Word | None
    # Here-document or here-string text (parts, so `$(...)` inside is seen).
    body: Word | None = None


class Simple(Record):
    assigns: tuple[tuple[str, Word], ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]


class Pipeline(Record):
    commands: tuple[Node, ...]


class Sequence(Record):
    """Commands joined by ``;``, ``&``, ``&&``, ``||`` or newlines.
    ``ops[i]`` joins ``items[i]`` and ``items[i+1]``."""

    items: tuple[Node, ...]
    ops: tuple[str, ...]


class Subshell(Record):
    body: Node
    redirects: tuple[Redirect, ...]
    # ( ... ) runs in a child: `cd` inside does not leak; { ...; } does.
    isolated: bool = True


if TYPE_CHECKING:
    Node = Union[Simple, Pipeline, Sequence, Subshell]


class _Heredoc:
    """A here-document whose body is read after the next newline."""

    def __init__(self, delim: str, quoted: bool, strip_tabs: bool):
        self.delim = delim
        self.quoted = quoted
        self.strip_tabs = strip_tabs
        self.body: Word | None = None


def parse(src: str) -> Node:
    """Parse a whole command line (possibly many lines)."""
    if len(src) > MAX_LEN:
        raise ShellSyntaxError(f"command is too long to analyse ({len(src)} characters)")
    p = _Parser(src, depth=0)
    node = p.parse_list(terminators=())
    p.skip_blank(newlines=True)
    if p.i < len(p.s):
        raise ShellSyntaxError(f"unexpected {p.s[p.i]!r} at offset {p.i}")
    if p.pending:
        raise ShellSyntaxError("here-document without its end marker")
    return p.finish(node)


class _Parser:
    def __init__(self, src: str, *, depth: int):
        if depth > MAX_DEPTH:
            raise ShellSyntaxError("commands nested too deeply")
        self.s = src
        self.i = 0
        self.depth = depth
        self.pending: list[_Heredoc] = []
        self.heredocs: list[_Heredoc] = []

    # -- helpers ---------------------------------------------------------
    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def startswith(self, t: str) -> bool:
        return self.s.startswith(t, self.i)

    def skip_blank(self, *, newlines: bool = False) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t" or (newlines and c == "\n"):
                if c == "\n":
                    self.i += 1
                    self.read_heredocs()
                    continue
                self.i += 1
            elif c == "\\" and self.peek(1) == "\n":
                self.i += 2
            elif c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            else:
                break

    def finish(self, node: Node) -> Node:
        # Here-document bodies were read after their command was built; patch
        # them into the redirects now (the tree is frozen, so rebuild).
        return _attach_heredocs(node, {id(h): h for h in self.heredocs})

    # -- grammar ---------------------------------------------------------
    def parse_list(self, terminators: tuple[str, ...]) -> Node:
        items: list[Node] = []
        ops: list[str] = []
        while True:
            self.skip_blank(newlines=True)
            if self.at_end(terminators):
                break
            items.append(self.parse_and_or(terminators))
            self.skip_blank()
            c = self.peek()
            if c == ";" and self.peek(1) != ";":
                self.i += 1
                ops.append(";")
            elif c == "&" and self.peek(1) != "&" and self.peek(1) != ">":
                self.i += 1
                ops.append("&")
            elif c == "\n":
                self.i += 1
                self.read_heredocs()
                ops.append(";")
            else:
                break
        if not items:
            return Sequence((), ())
        ops = ops[: len(items) - 1]
        if len(items) == 1:
            return items[0]
        return Sequence(tuple(items), tuple(ops))

    def at_end(self, terminators: tuple[str, ...]) -> bool:
        if self.i >= len(self.s):
            return True
        for t in terminators:
            if self.startswith(t):
                if t == "}" or t in _KEYWORDS_END:
                    # a reserved word only where a command starts
                    end = self.i + len(t)
                    if end < len(self.s) and self.s[end] not in _META:
                        continue
                return True
        return False

    def parse_and_or(self, terminators: tuple[str, ...]) -> Node:
        items = [self.parse_pipeline(terminators)]
        ops: list[str] = []
        while True:
            self.skip_blank()
            if self.startswith("&&") or self.startswith("||"):
                ops.append(self.s[self.i : self.i + 2])
                self.i += 2
                self.skip_blank(newlines=True)
                items.append(self.parse_pipeline(terminators))
            else:
                break
        return items[0] if len(items) == 1 else Sequence(tuple(items), tuple(ops))

    def parse_pipeline(self, terminators: tuple[str, ...]) -> Node:
        cmds = [self.parse_command(terminators)]
        while True:
            self.skip_blank()
            if self.peek() == "|" and self.peek(1) != "|":
                self.i += 2 if self.peek(1) == "&" else 1
                self.skip_blank(newlines=True)
                cmds.append(self.parse_command(terminators))
            else:
                break
        return cmds[0] if len(cmds) == 1 else Pipeline(tuple(cmds))

    def parse_command(self, terminators: tuple[str, ...]) -> Node:
        self.skip_blank()
        c = self.peek()
        if c == "(":
            if self.peek(1) == "(":
                return self.parse_arith_command()
            self.i += 1
            body = self.parse_list(terminators=(")",))
            self.skip_blank(newlines=True)
            if self.peek() != ")":
                raise ShellSyntaxError("unclosed '('")
            self.i += 1
            return Subshell(body, self.parse_trailing_redirects(), isolated=True)
        if c == "{" and self.peek(1) in (" ", "\t", "\n"):
            self.i += 1
            body = self.parse_list(terminators=("}",))
            self.skip_blank(newlines=True)
            if self.peek() != "}":
                raise ShellSyntaxError("unclosed '{'")
            self.i += 1
            return Subshell(body, self.parse_trailing_redirects(), isolated=False)
        if c in (")", "|", ";", "&") or c == "":
            if c == "" or c == ")":
                return Simple((), (), ())
            raise ShellSyntaxError(f"unexpected {c!r} at offset {self.i}")
        return self.parse_simple(terminators)

    def parse_arith_command(self) -> Node:
        end = self.s.find("))", self.i + 2)
        if end < 0:
            raise ShellSyntaxError("unclosed '(('")
        text = self.s[self.i + 2 : end]
        self.i = end + 2
        word = Word(text, (Part("arith", text),))
        return Simple((), (Word("((", (Part("lit", "((", True),)), word), ())

    def parse_trailing_redirects(self) -> tuple[Redirect, ...]:
        out: list[Redirect] = []
        while True:
            self.skip_blank()
            r = self.try_redirect()
            if r is None:
                return tuple(out)
            out.append(r)

    def parse_simple(self, terminators: tuple[str, ...]) -> Node:
        assigns: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            self.skip_blank()
            if self.i >= len(self.s) or self.peek() in "|;&)\n":
                if self.peek() == "&" and self.peek(1) == ">":
                    pass  # &> redirection
                else:
                    break
            if not words and not assigns and self.at_end(terminators):
                break
            r = self.try_redirect()
            if r is not None:
                redirects.append(r)
                continue
            if self.peek() == "(":
                if words and self.peek(1) == ")":
                    raise ShellSyntaxError("function definitions are not analysed")
                raise ShellSyntaxError(f"unexpected '(' at offset {self.i}")
            start = self.i
            word = self.read_word()
            if not words:
                name = word.raw
                if not assigns and name in _UNSUPPORTED:
                    raise ShellSyntaxError(f"'{name}' statements are not analysed")
                if not assigns and name in _KEYWORDS_PREFIX:
                    continue  # `if cmd`, `then cmd`, `do cmd`, `! cmd`: the command follows
                if not assigns and name in _KEYWORDS_END:
                    continue
                if not assigns and name == "}":
                    self.i = start
                    break
                eq = _assignment_name(word)
                if eq is not None:
                    assigns.append(eq)
                    continue
                if name == "[[":
                    words.append(word)
                    words.extend(self.read_until_double_bracket())
                    continue
                if name == "for":
                    self.skip_blank()
                    if self.startswith("(("):
                        raise ShellSyntaxError("arithmetic for loops are not analysed")
            words.append(word)
        return Simple(tuple(assigns), tuple(words), tuple(redirects))

    def read_until_double_bracket(self) -> list[Word]:
        out: list[Word] = []
        while True:
            self.skip_blank()
            if self.i >= len(self.s):
                raise ShellSyntaxError("unclosed '[['")
            c = self.peek()
            if c in "&|<>()":
                j = self.i
                while j < len(self.s) and self.s[j] in "&|<>()":
                    j += 1
                text = self.s[self.i : j]
                self.i = j
                out.append(Word(text, (Part("lit", text, True),)))
                continue
            w = self.read_word()
            out.append(w)
            if w.raw == "]]":
                return out

    def try_redirect(self) -> Redirect | None:
        j = self.i
        fd: int | None = None
        while j < len(self.s) and self.s[j].isdigit():
            j += 1
        if j > self.i and j < len(self.s) and self.s[j] in "<>":
            fd = int(self.s[self.i : j])
        else:
            j = self.i
        for op in ("<<<", "<<-", "&>>", "<<", ">>", ">&", "<&", "&>", "<>", ">|", ">", "<"):
            if self.s.startswith(op, j):
                break
        else:
            return None
        self.i = j + len(op)
        self.skip_blank()
        if self.i >= len(self.s) or self.peek() in "|;&()<>\n":
            raise ShellSyntaxError(f"redirection {op!r} without a target")
        if op in ("<<", "<<-"):
            target = self.read_word()
            delim = "".join(p.text for p in target.parts)
            quoted = any(p.quoted for p in target.parts) or "\\" in target.raw
            doc = _Heredoc(delim, quoted, op == "<<-")
            self.pending.append(doc)
            self.heredocs.append(doc)
            ref = Word(f"<<{len(self.heredocs) - 1}>>", (Part("heredoc", str(id(doc))),))
            return Redirect(fd, op, target, body=ref)
        target = self.read_word()
        if op == "<<<":
            return Redirect(fd, op, None, body=target)
        return Redirect(fd, op, target)

    def read_heredocs(self) -> None:
        while self.pending:
            doc = self.pending.pop(0)
            lines: list[str] = []
            while True:
                if self.i >= len(self.s):
                    raise ShellSyntaxError(f"here-document without its end marker {doc.delim!r}")
                nl = self.s.find("\n", self.i)
                line = self.s[self.i : nl if nl >= 0 else len(self.s)]
                self.i = nl + 1 if nl >= 0 else len(self.s)
                check = line.lstrip("\t") if doc.strip_tabs else line
                if check == doc.delim:
                    break
                lines.append(check)
            text = "\n".join(lines) + ("\n" if lines else "")
            if doc.quoted:
                doc.body = Word(text, (Part("lit", text, True),))
            else:
                sub = _Parser(text, depth=self.depth + 1)
                doc.body = Word(text, tuple(sub.read_dquoted_body(end=None)))

    # -- words -----------------------------------------------------------
    def read_word(self) -> Word:
        start = self.i
        parts: list[Part] = []
        lit: list[str] = []

        def flush(quoted: bool = False) -> None:
            if lit:
                parts.append(Part("lit", "".join(lit), quoted))
                lit.clear()

        if self.peek() == "~":
            j = self.i + 1
            while j < len(self.s) and (self.s[j].isalnum() or self.s[j] in "._-"):
                j += 1
            if j >= len(self.s) or self.s[j] in _META or self.s[j] == "/":
                parts.append(Part("tilde", self.s[self.i + 1 : j]))
                self.i = j
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in _META:
                break
            if c == "\\":
                nxt = self.peek(1)
                if nxt == "\n":
                    self.i += 2
                    continue
                if nxt == "":
                    raise ShellSyntaxError("command ends with a lone backslash")
                flush()
                parts.append(Part("lit", nxt, True))
                self.i += 2
            elif c == "'":
                end = self.s.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError("unclosed single quote")
                flush()
                parts.append(Part("lit", self.s[self.i + 1 : end], True))
                self.i = end + 1
            elif c == '"':
                flush()
                self.i += 1
                parts.extend(self.read_dquoted_body(end='"'))
            elif c == "$" and self.peek(1) == "'":
                flush()
                parts.append(Part("lit", self.read_ansi_c(), True))
            elif c == "$" and self.peek(1) == '"':
                flush()
                self.i += 2
                parts.extend(self.read_dquoted_body(end='"'))
            elif c == "$":
                part = self.read_dollar(quoted=False)
                if part is None:
                    lit.append("$")
                    self.i += 1
                else:
                    flush()
                    parts.append(part)
            elif c == "`":
                flush()
                parts.append(self.read_backtick(quoted=False))
            else:
                lit.append(c)
                self.i += 1
        flush()
        if self.i == start:
            raise ShellSyntaxError(f"expected a word at offset {start}")
        return Word(self.s[start : self.i], tuple(parts))

    def read_dquoted_body(self, *, end: str | None) -> list[Part]:
        """Inside "...": only $, ` and \\ are special.  ``end=None`` reads
        to the end of the text (an unquoted here-document body)."""
        parts: list[Part] = []
        lit: list[str] = []

        def flush() -> None:
            if lit:
                parts.append(Part("lit", "".join(lit), True))
                lit.clear()

        while True:
            if self.i >= len(self.s):
                if end is None:
                    break
                raise ShellSyntaxError("unclosed double quote")
            c = self.s[self.i]
            if end is not None and c == end:
                self.i += 1
                break
            if c == "\\" and self.peek(1) in ('$', '`', '"', "\\", "\n"):
                if self.peek(1) != "\n":
                    lit.append(self.peek(1))
                self.i += 2
            elif c == "$":
                part = self.read_dollar(quoted=True)
                if part is None:
                    lit.append("$")
                    self.i += 1
                else:
                    flush()
                    parts.append(part)
            elif c == "`":
                flush()
                parts.append(self.read_backtick(quoted=True))
            else:
                lit.append(c)
                self.i += 1
        flush()
        if not parts:
            parts.append(Part("lit", "", True))
        return parts

    def read_dollar(self, *, quoted: bool) -> Part | None:
        nxt = self.peek(1)
        if nxt == "(":
            if self.peek(2) == "(":
                end = self.s.find("))", self.i + 3)
                if end < 0:
                    raise ShellSyntaxError("unclosed '$(('")
                text = self.s[self.i + 3 : end]
                self.i = end + 2
                return Part("arith", text, quoted)
            self.i += 2
            sub = _Parser(self.s, depth=self.depth + 1)
            sub.i = self.i
            node = sub.parse_list(terminators=(")",))
            sub.skip_blank(newlines=True)
            if sub.peek() != ")":
                raise ShellSyntaxError("unclosed '$('")
            text = self.s[self.i : sub.i]
            self.i = sub.i + 1
            return Part("sub", text, quoted, sub.finish(node))
        if nxt == "{":
            end = self.s.find("}", self.i + 2)
            if end < 0:
                raise ShellSyntaxError("unclosed '${'")
            text = self.s[self.i + 2 : end]
            self.i = end + 1
            return Part("var", text, quoted)
        if nxt and (nxt.isalpha() or nxt == "_"):
            j = self.i + 1
            while j < len(self.s) and (self.s[j].isalnum() or self.s[j] == "_"):
                j += 1
            name = self.s[self.i + 1 : j]
            self.i = j
            return Part("var", name, quoted)
        if nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
            self.i += 2
            return Part("var", nxt, quoted)
        return None

    def read_backtick(self, *, quoted: bool) -> Part:
        j = self.i + 1
        buf: list[str] = []
        while j < len(self.s) and self.s[j] != "`":
            if self.s[j] == "\\" and j + 1 < len(self.s) and self.s[j + 1] in "$`\\":
                buf.append(self.s[j + 1])
                j += 2
                continue
            buf.append(self.s[j])
            j += 1
        if j >= len(self.s):
            raise ShellSyntaxError("unclosed backquote")
        text = "".join(buf)
        self.i = j + 1
        sub = _Parser(text, depth=self.depth + 1)
        node = sub.parse_list(terminators=())
        sub.skip_blank(newlines=True)
        if sub.i < len(text):
            raise ShellSyntaxError("cannot parse backquoted command")
        return Part("sub", text, quoted, sub.finish(node))

    def read_ansi_c(self) -> str:
        """$'...': decode escapes, so $'\\x63url' is seen as curl."""
        j = self.i + 2
        out: list[str] = []
        simple = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f",
                  "v": "\v", "e": "\x1b", "E": "\x1b", "\\": "\\", "'": "'", '"': '"', "?": "?"}
        s = self.s
        while j < len(s) and s[j] != "'":
            c = s[j]
            if c != "\\":
                out.append(c)
                j += 1
                continue
            e = s[j + 1] if j + 1 < len(s) else ""
            if e in simple:
                out.append(simple[e])
                j += 2
            elif e in ("x", "u", "U"):
                width = {"x": 2, "u": 4, "U": 8}[e]
                k = j + 2
                while k < len(s) and k < j + 2 + width and s[k] in "0123456789abcdefABCDEF":
                    k += 1
                if k == j + 2:
                    out.append("\\" + e)
                else:
                    out.append(chr(min(int(s[j + 2 : k], 16), 0x10FFFF)))
                j = k
            elif e in "01234567":
                k = j + 1
                while k < len(s) and k < j + 4 and s[k] in "01234567":
                    k += 1
                out.append(chr(int(s[j + 1 : k], 8) & 0xFF))
                j = k
            elif e == "c" and j + 2 < len(s):
                out.append(chr(ord(s[j + 2]) & 0x1F))
                j += 3
            else:
                out.append("\\" + e)
                j += 2
        if j >= len(s):
            raise ShellSyntaxError("unclosed $'...' quote")
        self.i = j + 1
        return "".join(out)


def _assignment_name(word: Word) -> tuple[str, Word] | None:
    first = word.parts[0] if word.parts else None
    if first is None or first.kind != "lit" or first.quoted or "=" not in first.text:
        return None
    name, _, rest = first.text.partition("=")
    if not name or not (name[0].isalpha() or name[0] == "_"):
        return None
    if not all(ch.isalnum() or ch == "_" for ch in name.rstrip("+")):
        return None
    head: tuple[Part, ...] = ()
    if rest == "~" or rest.startswith("~/") or (rest == "" and len(word.parts) == 1):
        # bash expands ~ after the = of an assignment
        head = (Part("tilde", ""), Part("lit", rest[1:], False)) if rest else ()
    elif rest:
        head = (Part("lit", rest, False),)
    value_parts = head + word.parts[1:]
    value = value_parts or (Part("lit", "", True),)
    return name.rstrip("+"), Word(word.raw[len(name) + 1 :], value)


def _attach_heredocs(node: Node, docs: dict[int, _Heredoc]) -> Node:
    if not docs:
        return node
    if isinstance(node, Simple):
        return Simple(node.assigns, node.words, _fix_redirects(node.redirects, docs))
    if isinstance(node, Pipeline):
        return Pipeline(tuple(_attach_heredocs(c, docs) for c in node.commands))
    if isinstance(node, Sequence):
        return Sequence(tuple(_attach_heredocs(c, docs) for c in node.items), node.ops)
    return Subshell(_attach_heredocs(node.body, docs), _fix_redirects(node.redirects, docs),
                    node.isolated)


def _fix_redirects(reds: tuple[Redirect, ...], docs: dict[int, _Heredoc]) -> tuple[Redirect, ...]:
    out = []
    for r in reds:
        if r.body is not None and r.body.parts and r.body.parts[0].kind == "heredoc":
            doc = docs.get(int(r.body.parts[0].text))
            body = doc.body if doc is not None else None
            if body is None:
                raise ShellSyntaxError("here-document without its end marker")
            r = Redirect(r.fd, r.op, r.target, body)
        out.append(r)
    return tuple(out)


__all__ = ["Node", "Part", "Pipeline", "Redirect", "Sequence", "ShellSyntaxError", "Simple",
           "Subshell", "Word", "parse"]
