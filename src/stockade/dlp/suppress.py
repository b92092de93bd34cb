"""False-positive suppressors: placeholders, documented examples, references
to a secret held elsewhere, and values that are plainly not secrets
(hashes, UUIDs, identifiers, paths).

Each predicate is pure and answers about one candidate value.
"""

from __future__ import annotations

import re

from stockade.dlp.validators import char_classes, shannon

# Keys and tokens printed in vendors' documentation; never live credentials.
DOCUMENTED_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "AKIAI44QH8DHBEXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "AIDACKCEVSQ6C2EXAMPLE",
        "AROADBQP57FF2AEXAMPLE",
        "xoxb-not-a-real-token-this-will-not-work",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "whsec_test_secret",
    }
)

# Words that mark a stand-in.  A random secret can contain "todo" or "mock"
# by chance, so a word only counts where a word would start and end
# (value edge, separator, or a camel-case hump): see _word_at_boundary.
_PLACEHOLDER_WORDS = re.compile(
    r"example|sample|dummy|placeholder|your|my[_-]?(?:api|secret|token|pass)|"
    r"changeme|change[_-]me|replace|redacted|insert|"
    r"fixme|todo|notreal|not[_-]a[_-]real|fake|mock|test[_-]?(?:key|token|secret|pass)|"
    r"secret[_-]?here|token[_-]?here|key[_-]?here|goes[_-]?here|null",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"xxxx|\*\*\*|\.\.\.|<[^>]*>|^\{[^{}]*\}$|^%\(?[A-Za-z_]*\)?[sd]$|^:[A-Za-z_]+$|"
    r"^(?:none|nil|undefined|empty|true|false|required|optional|string|secret|password|"
    r"token|hidden|masked|sensitive|default|disabled|enabled|env|auto|unset|n/?a|value)$",
    re.IGNORECASE,
)


def _word_at_boundary(value: str) -> bool:
    for m in _PLACEHOLDER_WORDS.finditer(value):
        s, e = m.span()
        start_ok = s == 0 or not value[s - 1].isalnum() or (value[s - 1].islower() and value[s].isupper())
        end_ok = e == len(value) or not value[e].islower() or value[e - 1].isupper() and value[s].isupper()
        if start_ok and end_ok:
            return True
    return False

# A reference to a value kept elsewhere: env vars, templating, secret stores.
_REFERENCE = re.compile(
    r"\$\{|\$\(|\{\{|\}\}|%\(|^\$[A-Za-z_]|^%[A-Za-z_]+%$|^@|os\.environ|os\.getenv|getenv\(|"
    r"process\.env|System\.getenv|ENV\[|Environment\.|env\(|secrets\.|vault:|ssm:|"
    r"^arn:|ref\+|valueFrom|secretKeyRef|^!|^\[\[|^#\{|^<%|\bvar\.|\blocal\.|\bdata\.",
)

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(?:(?:\.|::|->)[A-Za-z_$][A-Za-z0-9_$]*)*(?:\(\))?")
_WORDS = re.compile(r"[a-z]+(?:[_\-. ][a-z]+)*|[A-Z]+(?:[_\-. ][A-Z]+)*|[A-Z][a-z]+(?:[_\-. ]?[A-Z][a-z]+)*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HASH_PREFIX = re.compile(
    r"^(?:sha(?:1|224|256|384|512)|md5|blake2b?|sha3)[-:=]|^\$(?:2[abxy]?|argon2(?:id|i|d)|"
    r"scrypt|pbkdf2[-a-z0-9]*|[156])\$",
    re.IGNORECASE,
)
_VERSION = re.compile(r"v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.\-]+)?")
_PATHLIKE = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://|/|\./|\.\./|~/|[A-Za-z]:\\)|\.(?:pem|key|json|ya?ml|txt|crt|p12|env)$")
_REGEX_SOURCE = re.compile(r"\(\?[:=!<P]|\[[a-zA-Z0-9]-[a-zA-Z0-9]|\]\{\d|\\[dswbDSW]|\{\d+,\d*\}")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_LOWER_RUN = re.compile(r"[a-z]{3,}")
_NUMBER = re.compile(r"[+\-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?[lLuUfF]?")


_CONSONANTS = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")


def _pronounceable(run: str) -> bool:
    vowels = sum(c in "aeiouy" for c in run)
    return vowels * 5 >= len(run) and not _CONSONANTS.search(run)


def _wordy(value: str) -> bool:
    """Mostly made of lowercase runs of 3+ letters, like an identifier made
    of words; random strings almost never are."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return False
    # only runs that could be words count: random letters often make long
    # lowercase runs too, but rarely pronounceable ones ("nmltf", "bbwwou")
    runs = [r for r in _LOWER_RUN.findall(value) if _pronounceable(r)]
    covered = sum(len(r) for r in runs)
    long_runs = sum(len(r) >= 4 for r in runs)
    return covered >= 0.6 * len(value) or (long_runs >= 2 and covered >= 0.45 * len(value))


_CALL = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:\(|\[)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?")


def is_documented_example(value: str) -> bool:
    return value in DOCUMENTED_EXAMPLES or "EXAMPLE" in value


def is_placeholder(value: str) -> bool:
    """A stand-in written where a real value will go."""
    if not value.strip():
        return True
    if is_documented_example(value) or _FILLER.search(value) or _word_at_boundary(value):
        return True
    if _REFERENCE.search(value):
        return True
    core = value.strip("\"'`")
    if len(core) >= 4 and len(set(core.lower())) <= 2:
        return True  # xxxxxxxx, ********, 00000000
    # Long runs of one character (aaaaaaaa..., 0000000...) are filler.
    if re.search(r"(.)\1{5,}", core):
        return True
    low = core.lower()
    return any(seq in low for seq in ("abcdefgh", "12345678", "qwertyui", "0123456789"))


def is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


def is_hex(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdefABCDEF" for c in value)


def is_hash_like(value: str) -> bool:
    """Digests and password hashes: not credentials on their own."""
    if _HASH_PREFIX.search(value):
        return True
    return is_hex(value) and len(value) in (40, 64, 96, 128)


def plausible_secret(value: str, *, kind: str, quoted: bool) -> bool:
    """Does a value assigned to a secret-named key look like a real secret?

    ``kind`` is ``"password"`` (human passwords: shorter, fewer classes) or
    ``"token"`` (machine secrets: longer, random).  ``quoted`` values are
    string literals; bare values also have to not look like code."""
    v = value.strip()
    if not quoted:
        v = v.rstrip(".,;:!?)")  # prose and code punctuation after a bare value
    n = len(v)
    if n < 8 or n > 256:
        return False
    if is_placeholder(v) or is_uuid(v) or _VERSION.fullmatch(v) or _IPV4.fullmatch(v):
        return False
    if _HASH_PREFIX.search(v) or _PATHLIKE.search(v):
        return False
    if any(c.isspace() for c in v):
        return False
    if _NUMBER.fullmatch(v):
        return False  # -2146893773, 3.14159265: a number, not a secret
    if _WORDS.fullmatch(v):
        return False  # plain words or identifiers: a name, not a value
    if _REGEX_SOURCE.search(v):
        return False  # a regular expression, not a value
    if v.isalpha() and _wordy(v):
        return False  # letters making words: a name (PKPaymentToken, challengePassword)
    if not quoted:
        bare = v.rstrip(":,;)")
        if _IDENTIFIER.fullmatch(bare) and not any(c.isdigit() for c in bare):
            return False
        if _DOTTED.fullmatch(bare) or _wordy(bare):
            return False  # rfc3447.RSAPrivateKey, PKCS7PrivateKeyTypes
        if v[0] in "([{<$%&*|\\" or v.endswith(("(", ")", "()")) or "()" in v:
            return False
        if _CALL.match(v):
            return False  # a function call: code, not a literal
    if re.fullmatch(r"[A-Za-z_]+(?:\.[A-Za-z_]\w*)+", v):
        return False  # dotted reference such as settings.SECRET_KEY
    classes = char_classes(v)
    ent = shannon(v)
    if is_hex(v):
        return n >= 16 and ent >= 2.8
    if kind == "password":
        return classes >= 2 and ent >= 2.5 and (classes >= 3 or n >= 10)
    return n >= 12 and classes >= 2 and ent >= 3.0


def token_body_ok(body: str, *, min_entropy: float = 3.0) -> bool:
    """A vendor token's random part: not a placeholder, varied enough."""
    if is_placeholder(body[:48]):
        return False
    return shannon(body) >= min_entropy and len(set(body)) >= 8


# Addresses the agent CLIs' own system prompts and tool descriptions carry:
# vendor contacts, not personal data of the user.
VENDOR_EMAIL_DOMAINS = (
    "anthropic.com",
    "openai.com",
    "github.com",
    "users.noreply.github.com",
    "noreply.github.com",
    "google.com",
    "googlegroups.com",
    "python.org",
    "apache.org",
    "gnu.org",
    "kernel.org",
    "mozilla.org",
    "microsoft.com",
)
RESERVED_EMAIL_DOMAINS = (
    "example.com", "example.org", "example.net", "example.edu", "test", "invalid",
    "localhost", "example", "local", "localdomain", "domain.com", "email.com", "company.com",
    "yourcompany.com", "yourdomain.com", "acme.com", "sentry.io", "amazonaws.com", "internal",
    "gserviceaccount.com", "iam.gserviceaccount.com", "developer.gserviceaccount.com",
)
ROLE_MAILBOXES = frozenset(
    "noreply no-reply donotreply do-not-reply support help info admin root postmaster "
    "webmaster hostmaster abuse security sales contact privacy legal team hello "
    "notifications mailer-daemon nobody user username someone you me foo bar test git".split()
)


def _domain_in(domain: str, domains: tuple[str, ...]) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in domains)


def email_is_personal(address: str) -> bool:
    """An e-mail address that identifies a person, not a documentation,
    vendor, role or reserved address."""
    local, _, domain = address.rpartition("@")
    domain = domain.lower().rstrip(".")
    local_l = local.lower()
    if not local or "." not in domain:
        return False
    if _domain_in(domain, RESERVED_EMAIL_DOMAINS) or _domain_in(domain, VENDOR_EMAIL_DOMAINS):
        return False
    if local_l in ROLE_MAILBOXES or local_l.startswith(("noreply", "no-reply", "git@")):
        return False
    if is_placeholder(local) or _word_at_boundary(domain.replace(".", " ")):
        return False
    tld = domain.rsplit(".", 1)[1]
    if not tld.isalpha() or tld in ("png", "jpg", "gif", "svg", "js", "css", "py", "webp"):
        return False  # image@2x.png and friends
    return True


# -- numbers that are code, not personal data ------------------------------
#
# A long number in source code is far more often a constant (a timestamp in
# ms, a seed, a size, a coefficient, an expected value in a test) than a
# phone or card number.  Personal numbers in code and data sit as a whole
# field: a quoted string, a ``key=value`` or a CSV cell.  A number that is
# an operand of arithmetic, a comparison, a call argument or an element of a
# numeric list is code.  Callers still accept any number a label such as
# ``phone:`` or ``card_number=`` names (see rules_pii), so this only
# decides numbers that stand with no such word.

# Operators, comparisons, literal suffixes and list neighbours: the number is
# an operand.  Prose and tables ("Li Lei - 138...", "<td>138...</td>", CSV
# cells after an amount) deliberately do not match.
_OPERATOR_AFTER = re.compile(
    r"[ \t]*(?:\*|/|%|\^|<<|>>|==|!=|[ \t][<>]=?|\.(?![0-9 \t]|$)|[+\-][ \t]*[0-9(]|[+\-][A-Za-z_]|"
    r"[)\]][ \t]*[*/%+\-]|,[ \t]+-?[0-9])"
    r"|[Ll]\b|[uU][lL]*\b|[nN]\b|_[0-9]"
)
_OPERATOR_BEFORE = re.compile(
    r"(?:\*|/|%|\^|<<|>>|==|!=|[ \t][<>]=?|[0-9_)\]][ \t]*[+\-]|[A-Za-z0-9_.\]]\(|[(\[,][ \t]*-|"
    r"[0-9][ \t]*,[ \t]+|\[)[ \t]*$"
)
# Names under which long numbers are not personal data.  Not the names data
# records use for whatever number they hold (amount, value, total, balance,
# price, result): a card number sent as {"amount": N} must still be found.
NON_PERSONAL_KEY = re.compile(
    r"(?:^|[^a-z])(?:id|ids|uid|gid|pid|seed|size|bytes|count|time|timestamp|ts|ms|us|ns|epoch|"
    r"date|offset|length|len|version|ver|serial|hash|checksum|crc|port|max|min|limit|num|index|idx|"
    r"mask|magic|flags?|nonce|salt|order|seq|sequence|expected|want|got|expires?|created|updated|"
    r"duration|ttl|timeout|interval|memory|capacity|quota|usage|weight|height|width|"
    r"build|revision|rev|tag|channel|chat|guild|snowflake|account_?id|user_?id|message_?id|object_?id)"
    r"[\"'\]\s]*[:=]",
    re.IGNORECASE,
)
_KEY_BEFORE = re.compile(r"[\"'\[]?([A-Za-z_][A-Za-z0-9_.\-]{0,40})[\"'\]]?[ \t]*[:=][ \t]*[\"']?[ \t]*$")


def number_is_code(text: str, start: int, end: int) -> bool:
    """Does the number at ``text[start:end]`` read as a code constant?

    Quoted numbers are data; an unquoted one is code when it is an operand
    or stands among other numbers, or is named by a key that long numbers
    are commonly stored under (ids, sizes, timestamps, seeds ...)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    before = text[max(line_start, start - 40):start]
    after = text[end:min(line_end, end + 24)]
    quoted = before[-1:] in ("'", '"', "`") and after[:1] == before[-1:]
    if quoted:
        # a quoted number is data: only an identifier's key (ids are often
        # sent as strings, e.g. snowflakes) keeps it from being reported;
        # {"order": "<card>"} or {"num": "<card>"} is found
        return bool(_QUOTED_ID_KEY.search(before))
    if non_personal_key(before):
        return True
    return bool(_OPERATOR_BEFORE.search(before) or _OPERATOR_AFTER.match(after))


_QUOTED_ID_KEY = re.compile(
    r"(?:^|[^a-z])(?:id|ids|uid|gid|pid|[a-z]+_id|id_str|snowflake|guild|channel)"
    r"[\"'\]\s]*[:=][ \t]*[\"'`]$",
    re.IGNORECASE,
)


def non_personal_key(before: str) -> bool:
    """``before`` (the text up to a value) ends in ``key = `` / ``"key": ``
    whose name stores numbers that are not personal (ids, sizes, times)."""
    m = _KEY_BEFORE.search(before)
    if m is None:
        return False
    key = m.group(1)
    # camelCase to snake so "messageId" and "createdAt" read like their words.
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return bool(NON_PERSONAL_KEY.search(key + "="))


# -- e-mail addresses published as attribution -----------------------------
#
# Authors, maintainers and contributors publish their address on purpose, in
# source headers, package metadata, AUTHORS files, changelogs and commit
# trailers.  Passing one to a model is not a leak, and flagging them drowns
# real findings (a site-packages tree has thousands).  Customer addresses in
# data files, logs and tool output carry none of these marks and stay found.
# The marks are read close to the address only: a word on the same line a
# short way before it, a metadata key whose value block encloses it, or a
# roster line (``Name <address>``) under an authors heading.

_ATTRIBUTION_WORD = re.compile(
    r"author|maintainer|copyright|\(c\)|©|contributed|contributor|written by|credits|"
    r"[a-z]+(?:-[a-z]+)*-by:|__email__|thanks to|ported by|modified by|packager|uploaders|"
    r"committer|commit:|moduleauthor|sectionauthor|codeauthor|作者|维护者|贡献者|版权",
    re.IGNORECASE,
)
# How far before an address a same-line mark may be: far enough for
# "Copyright (c) 2009-2024 Some Long Name <", short enough that one
# "author" key in a long JSON log line does not cover every address on it.
ATTRIBUTION_REACH = 96
# A key whose value lists people: package.json, pyproject, Cargo, gemspec,
# composer, pom.xml, CITATION.cff, Python release modules.
_PEOPLE_KEY = re.compile(
    r"^([ \t]*)(?:[\"']?(?:[A-Za-z_.]*[_.])?(?:authors?|maintainers?|contributors?|developers?|credits|"
    r"committers|owners|people)[\"']?[ \t]*(?:[:=]|=>)|<(?:authors?|maintainers?|contributors?|"
    r"developers?)>|(?:authors?|maintainers?|contributors?)[ \t]*\{)",
    re.IGNORECASE | re.MULTILINE,
)
# Inside the string value of an authors key, the value still open.
_PEOPLE_STRING = re.compile(
    r"(?:author|maintainer|contributor)s?[\"']?[ \t]*[:=][ \t]*[\"'][^\"'\n]*$", re.IGNORECASE
)
# A heading that introduces a list of people (AUTHORS, THANKS, CREDITS ...).
_PEOPLE_HEADING = re.compile(
    r"^[ \t#=*\-/.:]*(?:main |core |code |other |original |past |current |project )?(?:authors|contributors|"
    r"maintainers|credits|thanks|acknowledg[a-z]*|committers|developers|people)\b",
    re.IGNORECASE | re.MULTILINE,
)
# "Name <address>": an optional bullet, a name, an optional (@handle) or
# years, then the address in angle brackets closing the line (a trailing
# parenthesis or years may follow).
_ROSTER_LINE = re.compile(
    r"[ \t]*(?:[#*\-+>;]+|//|--|\.\.)?[ \t]*(?:\d{4}(?:[-,]\s?\d{4})*[ \t]+)?"
    r"[^\s<>@:=\"'{}\[\](),;](?:[^<>@:=\"'{}\[\]\n]|\(@[\w.\-]+\)){0,80}<$"
)
_ROSTER_TAIL = re.compile(r">[ \t]*(?:\([^()\n]{0,60}\)|\d{4}(?:[-,]\s?\d{4})*|[,;])?[ \t]*$")
# Changelog entry heads: GNU ChangeLog "2020-01-01  Name  <addr>", Debian
# " -- Name <addr>  date", RPM "* Mon Jan 01 2020 Name <addr> - 1.0".
_CHANGELOG_HEAD = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}[ \t]|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*[ ,]|\*[ \t]+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[ \t]|"
    r"[ \t]--[ \t])"
)


def email_is_attribution(text: str, start: int, end: int) -> bool:
    """Is the address at ``text[start:end]`` published as attribution?"""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    if _ATTRIBUTION_WORD.search(text, max(line_start, start - ATTRIBUTION_REACH), start):
        return True
    if _PEOPLE_STRING.search(text, max(line_start, start - 4000), start):
        return True  # "author": "A <a@x>, B <b@y>, ..." however long the list
    head = text[line_start:start]
    if head.endswith("<") and _CHANGELOG_HEAD.match(head):
        return True
    angled = head.endswith("<") and _ROSTER_TAIL.match(text, end, line_end) is not None
    if _inside_people_value(text, line_start):
        return True
    if angled and _ROSTER_LINE.fullmatch(head):
        # A roster line in a list of people: an authors heading a few lines
        # up, or at the top of the document (AUTHORS, THANKS, a METADATA
        # credits section), or a header comment block that names an author.
        lo = max(0, line_start - 1200)
        if _PEOPLE_HEADING.search(text, lo, line_start):
            return True
        if _ATTRIBUTION_WORD.search(text, max(0, line_start - 400), line_start):
            return True
        top = min(line_start, 600)
        return bool(_PEOPLE_HEADING.search(text, 0, top) or _ATTRIBUTION_WORD.search(text, 0, top))
    return False


def _inside_people_value(text: str, line_start: int, reach: int = 3000) -> bool:
    """The line sits inside the value of an ``authors`` / ``maintainers``
    key: every line between that key and this one is indented deeper than
    the key (or is blank), so the key's block has not closed."""
    lo = max(0, line_start - reach)
    last = None
    for m in _PEOPLE_KEY.finditer(text, lo, line_start):
        last = m
    if last is None:
        return False
    indent = len(last.group(1).expandtabs(4))
    key_line_end = text.find("\n", last.end())
    if key_line_end < 0 or key_line_end >= line_start:
        return False
    for line in text[key_line_end + 1:line_start].split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if len(line.expandtabs(4)) - len(line.lstrip().expandtabs(4)) <= indent:
            return False
    cur = text[line_start:text.find("\n", line_start) if text.find("\n", line_start) >= 0 else len(text)]
    return len(cur.expandtabs(4)) - len(cur.lstrip().expandtabs(4)) > indent
