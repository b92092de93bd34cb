"""Paths and URLs that interpreter code (``python -c``, ``node -e`` ...)
builds at run time.

Code is not executed, so this is a best effort in two steps.  First, what
can be folded without running anything is folded: the user's home
(``process.env.HOME``, ``os.path.expanduser('~')``, ``Path.home()`` ...)
becomes its value, and string literals joined by ``+``, ``/`` (pathlib) or
``os.path.join`` become one literal, so ``'/home/u/.ss' + 'h/id_rsa'`` is
checked as the path it spells.  Second, code that still builds a path or URL
from parts the hook cannot see (variables, environment, decoding, formatting)
*and* opens files or connects is reported, so the caller can ask a person
instead of allowing what it could not read.  Pure functions on text.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

_LIT = r"(?:'[^'\n]{0,400}'|\"[^\"\n]{0,400}\")"
_CACHE: dict[str, re.Pattern[str]] = {}

_HOME_EXPR = (
    r"process\.env\.HOME\b|process\.env\[\s*['\"]HOME['\"]\s*\]|"
    r"(?:require\(\s*['\"](?:node:)?os['\"]\s*\)|\bos)\.homedir\(\s*\)|"
    r"\bos\.environ\[\s*['\"]HOME['\"]\s*\]|\bos\.environ\.get\(\s*['\"]HOME['\"]\s*\)|"
    r"\bos\.getenv\(\s*['\"]HOME['\"]\s*\)|\bos\.path\.expanduser\(\s*['\"]~['\"]\s*\)|"
    r"\b(?:pathlib\.)?Path\.home\(\s*\)|\$ENV\{\s*['\"]?HOME['\"]?\s*\}|\bENV\[\s*['\"]HOME['\"]\s*\]|"
    r"\bDir\.home\b|\bDeno\.env\.get\(\s*['\"]HOME['\"]\s*\)|\bgetenv\(\s*['\"]HOME['\"]\s*\)")
# the home directory interpolated inside a string literal (perl, ruby, JS)
_HOME_INTERP = (
    r"\$ENV\{\s*['\"]?HOME['\"]?\s*\}|\$HOME\b|#\{\s*(?:Dir\.home|ENV\[['\"]HOME['\"]\])\s*\}|"
    r"\$\{\s*(?:process\.env\.HOME|os\.homedir\(\s*\)|require\(['\"]os['\"]\)\.homedir\(\s*\))\s*\}")
# literal (+|/) literal ..., and (os.)path.join(literal, literal ...)
_CONCAT = rf"{_LIT}(?:\s*[+/]\s*{_LIT})+"
_JOIN = rf"\b(?:os\.)?path\.(?:join|resolve)\(\s*{_LIT}(?:\s*,\s*{_LIT})*\s*\)"
_PIECE = _LIT

# Building a string from parts the hook cannot see.
_BUILDS = (
    r"['\"]\s*\+|\+\s*['\"]|\bos\.environ|\bos\.getenv|\bprocess\.env|\$ENV\{|\bENV\[|"
    r"\bgetenv\s*\(|expanduser|expandvars|\bPath\.home|\bhomedir\s*\(|\bDir\.home|"
    r"\bpath\.join|\bjoinpath|\bpath\.resolve|(?<![\w.])[fF][rR]?['\"]|\.format\s*\(|"
    r"['\"]\s*%\s*[(\w]|\$\{|\bchr\s*\(|fromCharCode|fromhex|b64decode|\batob\s*\(|"
    r"\bBuffer\.from|\.decode\s*\(|\[::-1\]|\.reverse\s*\(|\.join\s*\(|\bsprintf\b|"
    r"\.concat\s*\(|#\{|\bcodecs\b|\brot13\b")
# Opening, listing, copying or deleting files (not merely testing existence).
_TOUCHES_FS = (
    r"\b(?:open|read_text|read_bytes|readFile|readFileSync|createReadStream|readdir|readdirSync|"
    r"listdir|scandir|walk|glob|iglob|copy|copy2|copyfile|copytree|rmtree|remove|unlink|rename|"
    r"fopen|file_get_contents|readlines|read|slurp|sysopen|opendir|loadtxt|read_csv|"
    r"readFileAsync|cpSync|rmSync|Bun\.file|readTextFile|readTextFileSync)\s*\(|"
    r"\brequire\s*\(\s*[^'\"\s)]|\bimport\s*\(\s*[^'\"\s)]|<\$?\w*>|\bFile\.|\bIO\.read|"
    r"\bfs\.|\bfsp\.")
# a URL literal whose host part is followed by something added at run time
_URL_BUILT = r"(?i)\b(?:https?|wss?|ftp)://[^/\s'\"`]*['\"]\s*(?:\+|%|\.format|\.concat)"


def _rx(name: str, pattern: str) -> re.Pattern[str]:
    rx = _CACHE.get(name)
    if rx is None:
        import re

        rx = _CACHE[name] = re.compile(pattern)
    return rx


def _unquote(lit: str) -> str:
    return lit[1:-1]


def fold(code: str, *, home: str) -> str:
    """``code`` with the home directory and literal-only concatenations
    folded into single string literals (quoted with ``'``)."""
    text = _rx("interp", _HOME_INTERP).sub(lambda m: home, code)
    text = _rx("home", _HOME_EXPR).sub(lambda m: repr(home), text)
    # a JS template literal left with nothing to substitute is a plain string
    text = _rx("tmpl", r"`([^`$\n]{0,400})`").sub(lambda m: repr(m.group(1)), text)

    def concat(m: re.Match[str]) -> str:
        pieces = _rx("piece", _PIECE).findall(m.group(0))
        ops = _rx("ops", rf"{_LIT}\s*([+/])\s*").findall(m.group(0))
        out = _unquote(pieces[0])
        for op, piece in zip(ops, pieces[1:], strict=False):
            out += ("/" if op == "/" and not out.endswith("/") else "") + _unquote(piece)
        return repr(out)

    def join(m: re.Match[str]) -> str:
        pieces = [_unquote(p) for p in _rx("piece", _PIECE).findall(m.group(0))]
        out = ""
        for p in pieces:
            out = p if p.startswith("/") else (out.rstrip("/") + "/" + p if out else p)
        return repr(out)

    for _ in range(3):  # nested: join('~' + 'x', 'y')
        new = _rx("join", _JOIN).sub(join, _rx("concat", _CONCAT).sub(concat, text))
        if new == text:
            break
        text = new
    return text


def builds_at_run_time(code: str) -> bool:
    return _rx("builds", _BUILDS).search(code) is not None


def touches_files(code: str) -> bool:
    return _rx("fs", _TOUCHES_FS).search(code) is not None


def url_built_at_run_time(code: str) -> bool:
    return _rx("url", _URL_BUILT).search(code) is not None


__all__ = ["builds_at_run_time", "fold", "touches_files", "url_built_at_run_time"]
