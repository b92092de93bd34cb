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


def _wordy(value: str) -> bool:
    """Mostly made of lowercase runs of 3+ letters, like an identifier made
    of words; random strings almost never are."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return False
    runs = _LOWER_RUN.findall(value)
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
    if v.isdigit():
        return False
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
