"""Structured credentials: private key blocks, URLs with passwords, JWTs,
Docker registry auths and Kubernetes Secret data."""

from __future__ import annotations

import re

from stockade.dlp.rule import PRIORITY_STRUCT, PRIORITY_VENDOR, Check, Rule
from stockade.dlp.suppress import is_placeholder
from stockade.dlp.validators import base64_decodes, jwt

_MAX_KEY_BLOCK = 16000  # characters; a 8192-bit RSA key in PEM is about 6.5 KB

# Private key block types (RFC 7468 labels, OpenSSH, OpenPGP armor).
KEY_BLOCKS: tuple[tuple[str, str, str], ...] = (
    ("rsa_private_key", "RSA private key (PKCS#1 PEM)", "RSA PRIVATE KEY"),
    ("ec_private_key", "EC private key (SEC1 PEM)", "EC PRIVATE KEY"),
    ("dsa_private_key", "DSA private key (PEM)", "DSA PRIVATE KEY"),
    ("openssh_private_key", "OpenSSH private key", "OPENSSH PRIVATE KEY"),
    ("pkcs8_private_key", "PKCS#8 private key (PEM)", "PRIVATE KEY"),
    ("encrypted_private_key", "Encrypted PKCS#8 private key (PEM)", "ENCRYPTED PRIVATE KEY"),
    ("pgp_private_key", "OpenPGP private key block", "PGP PRIVATE KEY BLOCK"),
    ("ssh2_private_key", "SSH2 (RFC 4716 / Tectia) private key", "SSH2 ENCRYPTED PRIVATE KEY"),
)

# RFC 1421 / 7468 / 4716 / OpenPGP armor headers (``Proc-Type:``, ``DEK-Info:``,
# ``Comment: "..."``, ``Version:``), possibly indented or quoted.
_ARMOR_HEADER = re.compile(r"""^[ \t"']*[A-Za-z][A-Za-z0-9\-]{0,40}:[^\n]*$""", re.MULTILINE)
_ESCAPED_NL = re.compile(r"\\\\?[rn]")
_ELISION = ("...", "…")
# An elided body (``MIIE...``) is a documentation example only while it shows
# little key material: a real key with a ``...`` line added is still a key.
_ELIDED_MAX = 120
# A BEGIN line whose END never comes (a tool read the first 40 lines of the
# file) is reported when this much base64 follows it in whole lines.
_TRUNCATED_MIN = 200
_B64_LINE_MIN = 40

# Pieces of the "no END line" form: line breaks may be real or escaped (a key
# inside a JSON / Python string), lines may be indented, quoted and joined
# with ``+``.  The base64 run is possessive and separators share only ``+``
# with it, so a failed attempt gives back at most one character: linear time.
_NL = r"(?:[\r\n]|\\{1,2}[rn])"
_LINE_SEP = rf"""[ \t"',+]*(?:{_NL}[ \t"',+]*)+"""
_LINE_END = r"""(?=["']?[ \t,+]*(?:[\r\n]|\\{1,2}[rn]|["'}\])]|$))"""
_B64_LINE = rf"[A-Za-z0-9+/=]{{1,{_MAX_KEY_BLOCK}}}+{_LINE_END}"
_HEADER_LINE = rf"""{_NL}[ \t"']*[A-Za-z][A-Za-z0-9\-]{{0,40}}:[^\r\n\\]{{0,200}}"""


def _b64(text: str) -> str:
    return re.sub(r"[\s\"',+]", "", text)


def _key_body(value: str, m: re.Match[str]) -> bool:
    """The block holds real key material: enough base64, and not a short,
    elided documentation example."""
    if "tbody" in m.re.groupindex and m.start("tbody") >= 0:
        return _truncated_body(m.group("tbody"))
    body = _ESCAPED_NL.sub("\n", m.group("body"))
    if "-----BEGIN" in body:
        return False
    body = _ARMOR_HEADER.sub("", body)
    elided = any(e in body for e in _ELISION)
    for e in _ELISION:
        body = body.replace(e, "")
    b64 = _b64(body)
    if len(b64) < (_ELIDED_MAX if elided else 40) or len(set(b64)) < 20:
        return False  # too short, an elided example, or filler such as XXXX... / AAAA...
    return sum(c.isalnum() or c in "+/=" for c in b64) >= 0.95 * len(b64)


def _truncated_body(body: str) -> bool:
    """BEGIN, optional armor headers, whole base64 lines, no END."""
    lines = [_b64(x) for x in _ESCAPED_NL.sub("\n", _ARMOR_HEADER.sub("", body)).split("\n")]
    b64 = "".join(x for x in lines if len(x) >= _B64_LINE_MIN)
    return len(b64) >= _TRUNCATED_MIN and len(set(b64)) >= 30


def _key_block_rule(rule_id: str, title: str, label: str) -> Rule:
    esc = label.replace(" ", "[ ]")
    begin = rf"-----BEGIN[ ]{esc}-----"
    # The body never crosses another BEGIN line, so a decoy or doubled BEGIN
    # line cannot swallow the real block: matching restarts at each BEGIN.
    body = rf"(?P<body>(?:(?!-----BEGIN[ ])[\s\S]){{16,{_MAX_KEY_BLOCK}}}?)"
    truncated = rf"(?P<tbody>(?:{_HEADER_LINE})*(?:{_LINE_SEP}{_B64_LINE})+)"
    return Rule(
        id=rule_id,
        title=title,
        pattern=rf"(?P<v>{begin}{body}-----END[ ]{esc}-----)|(?P<vt>{begin}{truncated})",
        keywords=(f"BEGIN {label}-----",),
        cased=True,
        check=_key_body,
        priority=PRIORITY_STRUCT + 5,
        confidence=0.99,
        before=16,
        after=_MAX_KEY_BLOCK + 64,
        keep_prefix=11 + len(label),
    )


def _putty(value: str, m: re.Match[str]) -> bool:
    body = m.group("body")
    return len(body) >= 40 and len(set(body)) >= 20 and "..." not in body


def _jwt(value: str, m: re.Match[str]) -> bool:
    return jwt(value)


_PLACEHOLDER_PASSWORDS = frozenset((
    "password", "pass", "passwd", "pwd", "secret", "changeme", "guest", "root", "admin",
    "user", "username", "postgres", "mysql", "redis", "rabbitmq", "mongo", "mongodb",
    "example", "test", "testing", "default", "xxx", "xxxx", "pw", "p", "yourpassword",
    "mypassword", "db_password", "dbpass", "dbpassword",
))


_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-:")


def _scheme(m: re.Match[str]) -> str:
    text = m.string
    s = m.start()
    while s > 0 and text[s - 1] in _SCHEME_CHARS and m.start() - s < 40:
        s -= 1
    return text[s : m.start()].lower()


def _url_check(schemes: re.Pattern[str]) -> Check:
    def check(value: str, m: re.Match[str]) -> bool:
        scheme = _scheme(m)
        if not (schemes.fullmatch(scheme) or schemes.fullmatch(scheme.rsplit(":", 1)[-1])):
            return False
        user = m.group("user")
        host = m.group("host").lower()
        low = value.lower()
        if low in _PLACEHOLDER_PASSWORDS or value == user or is_placeholder(value):
            return False
        if value.startswith(("$", "%", "{", "<", "[")) or value.endswith(("}", ">", "]")):
            return False
        if host.startswith(("example.", "host", "hostname", "<", "{", "$")) or ".example." in host or \
                host.endswith((".example", "example.com", "example.org", "example.net")):
            return False
        return len(value) >= 3

    return check


def _url_rule(rule_id: str, title: str, schemes: str) -> Rule:
    """Anchored at ``://``; the scheme before it is checked by the rule."""
    return Rule(
        id=rule_id,
        title=title,
        pattern=(
            r"://(?P<user>[^\s:@/?#'\"`<>\\]{0,128}):"
            r"(?P<v>[^\s@/?#'\"`<>\\]{1,256})@(?P<host>[A-Za-z0-9_\[\]{}$<>.\-]+)"
        ),
        keywords=("://",),
        check=_url_check(re.compile(schemes)),
        priority=PRIORITY_STRUCT,
        confidence=0.9,
        before=0,
        after=400,
        anchored=True,
    )


def _docker_auth(value: str, m: re.Match[str]) -> bool:
    raw = base64_decodes(value)
    if raw is None:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    _user, sep, password = text.partition(":")
    return bool(sep) and text.isprintable() and len(password) >= 4 and not is_placeholder(password)


_DOC_SEP = re.compile(r"^---[ \t]*$", re.MULTILINE)
_KIND_SECRET = re.compile(r"""^\s*\\?["']?kind\\?["']?\s*:\s*\\?["']?Secret\b""", re.MULTILINE)


def _k8s_data(value: str, m: re.Match[str]) -> bool:
    """A value under ``data:`` / ``binaryData:`` of a ``kind: Secret`` document
    that decodes (base64) to a non-placeholder value."""
    text = m.string
    start = m.start("v")
    line_start = text.rfind("\n", 0, start) + 1
    indent = len(text[line_start:start]) - len(text[line_start:start].lstrip(" \t"))
    # Walk up to the parent mapping key (first line indented less).
    pos = line_start
    parent = None
    for _ in range(400):
        if pos <= 0:
            break
        prev_end = pos - 1
        prev_start = text.rfind("\n", 0, prev_end) + 1
        line = text[prev_start:prev_end]
        pos = prev_start
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(stripped) < indent:
            parent = stripped.rstrip()
            break
    if parent not in ("data:", "binaryData:"):
        return False
    doc_start = 0
    for sep in _DOC_SEP.finditer(text, 0, start):
        doc_start = sep.end()
    nxt = _DOC_SEP.search(text, start)
    doc_end = nxt.start() if nxt else len(text)
    if not _KIND_SECRET.search(text, doc_start, doc_end):
        return False
    return _secret_payload(m.group("k"), value)


# Secret data entries that name a thing rather than hold a credential.
_PLAIN_KEYS = re.compile(
    r"(?:^|[_.\-])(?:user(?:name)?|login|host(?:name)?|port|database|db(?:name)?|namespace|name|"
    r"region|endpoint|bucket|email|server|cluster|project|account(?:[_.\-]?id)?|client[_.\-]?id|"
    r"ca\.crt|tls\.crt|crt|cert(?:ificate)?|pub(?:lic)?[_.\-]?key|\w+\.pub)$",
    re.IGNORECASE,
)


def _secret_payload(key: str, value: str) -> bool:
    if _PLAIN_KEYS.search(key):
        return False
    raw = base64_decodes(value)
    if raw is None or len(raw) < 4:
        return False
    if raw.startswith((b"-----BEGIN CERTIFICATE", b"-----BEGIN PUBLIC KEY", b"ssh-")):
        return False
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return len(raw) >= 16  # binary key material
    if "://" in decoded and "@" not in decoded:
        return False  # a plain URL
    return not is_placeholder(decoded)


def _k8s_json_data(value: str, m: re.Match[str]) -> bool:
    return _secret_payload(m.group("k"), value)


def _gcp_key(value: str, m: re.Match[str]) -> bool:
    return _key_body(value, m)


def build() -> list[Rule]:
    rules = [_key_block_rule(*spec) for spec in KEY_BLOCKS]
    rules += [
        Rule(
            id="gcp_service_account",
            title="Google Cloud service-account key (JSON private_key)",
            pattern=(
                r"""\\?["']private_key\\?["']\s*:\s*\\?["'](?P<v>-----BEGIN[ ](?:RSA[ ])?PRIVATE[ ]KEY-----"""
                rf"(?P<body>(?:(?!-----BEGIN[ ])[\s\S]){{16,{_MAX_KEY_BLOCK}}}?)-----END[ ](?:RSA[ ])?PRIVATE[ ]KEY-----)"
            ),
            keywords=("private_key",),
            cased=True,
            check=_gcp_key,
            priority=PRIORITY_VENDOR + 5,
            confidence=0.99,
            before=8,
            after=_MAX_KEY_BLOCK + 64,
            keep_prefix=27,
        ),
        Rule(
            id="putty_private_key",
            title="PuTTY private key file",
            pattern=(
                r"(?P<v>PuTTY-User-Key-File-[23]:[^\n]*\n(?P<body>[\s\S]{40,12000}?)Private-MAC:[ \t]*[0-9a-fA-F]{40,64})"
            ),
            keywords=("PuTTY-User-Key-File-",),
            cased=True,
            check=_putty,
            priority=PRIORITY_STRUCT + 5,
            confidence=0.99,
            before=8,
            after=12100,
            keep_prefix=22,
        ),
        Rule(
            id="jwt",
            title="JSON Web Token",
            pattern=(
                r"(?<![A-Za-z0-9_\-])(?P<v>eyJ[A-Za-z0-9_\-]{8,4096}\.eyJ[A-Za-z0-9_\-]{8,8192}\.[A-Za-z0-9_\-]{16,1024})"
                r"(?![A-Za-z0-9_\-])"
            ),
            keywords=("eyJ",),
            cased=True,
            check=_jwt,
            priority=PRIORITY_STRUCT,
            confidence=0.9,
            before=0,
            after=13400,
            keep_prefix=3,
        ),
        _url_rule("postgres_url", "PostgreSQL URL with a password", r"postgres(?:ql)?(?:\+[a-z0-9]+)?"),
        _url_rule("mysql_url", "MySQL / MariaDB URL with a password", r"mysql(?:\+[a-z0-9]+)?|mariadb"),
        _url_rule("mongodb_url", "MongoDB URL with a password", r"mongodb"),
        _url_rule("mongodb_srv_url", "MongoDB SRV URL with a password", r"mongodb\+srv"),
        _url_rule("redis_url", "Redis URL with a password", r"rediss?"),
        _url_rule("amqp_url", "AMQP (RabbitMQ) URL with a password", r"amqps?"),
        _url_rule("database_url", "Database / broker URL with a password",
                  r"(?:jdbc:)?(?:sqlserver|mssql|oracle|clickhouse|cockroachdb|cassandra|neo4j|"
                  r"couchdb|influxdb|nats|kafka|mqtt|memcached|elasticsearch|opensearch|db2|sqlalchemy)"),
        _url_rule("basic_auth_url", "URL with embedded user:password",
                  r"https?|ftps?|sftp|ssh|git|svn|ldaps?|smtps?|imaps?|pop3s?|wss?|socks[45]h?|rtsp|nntp"),
        Rule(
            id="docker_config_auth",
            title="Docker registry credentials (config.json auths)",
            pattern=(
                r"""\\?["'](?:auth|identitytoken)\\?["']\s*:\s*\\?["'](?P<v>[A-Za-z0-9+/]{8,1024}={0,2})\\?["']"""
            ),
            keywords=('auth"', "auth'", "identitytoken", 'auth\\"'),
            check=_docker_auth,
            priority=PRIORITY_STRUCT,
            confidence=0.9,
            before=8,
            after=1200,
        ),
        Rule(
            id="k8s_secret_data",
            title="Kubernetes Secret data value",
            pattern=(
                r"""(?m)^[ \t]+(?P<k>[A-Za-z0-9_.\-]+):[ \t]+["']?(?P<v>[A-Za-z0-9+/]{4,8192}={0,2})["']?[ \t]*(?:#.*)?$"""
            ),
            keywords=("kind: secret", "kind:secret", "kind: \"secret\"", "kind: 'secret'"),
            line_tail=True,
            check=_k8s_data,
            priority=PRIORITY_STRUCT - 5,
            confidence=0.85,
            before=6000,
            after=6000,
        ),
        Rule(
            id="k8s_secret_data_json",
            title="Kubernetes Secret data value (JSON manifest)",
            pattern=(
                r"""\\?"data\\?"\s*:\s*\{[^{}]{0,4000}?\\?"(?P<k>[A-Za-z0-9_.\-]+)\\?"\s*:\s*\\?"(?P<v>[A-Za-z0-9+/]{4,8192}={0,2})\\?\""""
            ),
            keywords=('"kind": "secret"', '"kind":"secret"', '\\"kind\\": \\"secret\\"'),
            check=_k8s_json_data,
            priority=PRIORITY_STRUCT - 5,
            confidence=0.85,
            before=6000,
            after=6000,
        ),
    ]
    return rules
