"""Secrets recognised by the name they are assigned to, in any syntax.

``REDIS_PASSWORD=<16 mixed-case letters and digits>``, ``"client_secret": "..."``,
``<password>...</password>``, ``--token abc...``, ``IDENTIFIED BY '...'``.
The value must look like a real secret: long enough, varied enough, not a
placeholder, a reference to the environment, an identifier, a path or a hash.
"""

from __future__ import annotations

import base64
import binascii
import re

from stockade.dlp.assign import assignment, key_run, separator_ok, value_group
from stockade.dlp.rule import PRIORITY_GENERIC, Check, Rule
from stockade.dlp.validators import crc32_base62_tail
from stockade.dlp.suppress import is_hash_like, is_placeholder, is_uuid, plausible_secret

_SUFFIX = r"(?:[_.\-]?(?:[0-9]|prod|production|dev|staging|test|value|plain|str|string|raw|base))?"

PASSWORD_KEY = (
    r"(?:password|passwd|passphrase|pswd|requirepass|masterauth|(?<![A-Za-z])pwd|(?<![A-Za-z])pass|(?-i:(?<=[a-z])Pass)"
    r"|密码|密碼|口令|passwort|kennwort|contrase[ñn]a|mot[ _\-]de[ _\-]passe|senha|пароль|"
    r"パスワード|비밀번호)" + _SUFFIX
)
SECRET_KEY = (
    r"(?:(?:client|app|api|consumer|secret|private|signing|encryption|master|jwt|session|webhook|"
    r"shared|hmac|cookie|access|auth|corp|account|oauth)[_.\-]?)?secret(?:[_.\-]?key)?"
    r"|(?:private|signing|encryption|master|hmac|jwt|secret)[_.\-]?key|密钥|秘钥|私钥|密鑰|金鑰|秘鑰|私鑰)"
    + _SUFFIX
)
SECRET_KEY = "(?:" + SECRET_KEY
TOKEN_KEY = (
    r"(?:(?:access|auth|api|bearer|refresh|session|bot|app|oauth|personal|private|admin|master|"
    r"service|deploy|webhook|slack|github|gh|gitlab|npm|pypi|x[_.\-]auth|id|registry|vault|"
    r"discord|telegram|tg|ci|node[_.\-]auth)[_.\-]?)?token|令牌|訪問令牌|访问令牌|トークン)" + _SUFFIX
)
TOKEN_KEY = "(?:" + TOKEN_KEY
API_KEY = (
    r"(?:(?:api|app|access|auth|client|consumer|service|subscription|license|x[_.\-]api|"
    r"developer|partner|merchant|mch|mch[_.\-]api)[_.\-]?key|apikey|api[_.\-]?secret)" + _SUFFIX
)


# Formats with a checksum: a value in one of them that fails it is a
# made-up example, whatever key it is assigned to.
_CHECKSUMMED = re.compile(r"(?:gh[pousr]_|npm_)([A-Za-z0-9]{30})([A-Za-z0-9]{6})")


def _fails_checksum(value: str) -> bool:
    m = _CHECKSUMMED.fullmatch(value)
    return m is not None and not crc32_base62_tail(m.group(1), m.group(2))


# Names that contain a secret word but do not hold a secret: a type path
# (``AWS::ApiGateway::ApiKey``, ``Foo::SecretKey``), an ARN (``arn:aws:
# secretsmanager:...:secret:``), and the protocol tokens of pagination and
# concurrency control (``nextToken``, ``LockToken``, ``change-token``), which
# carry a position or a version, not a credential.
_NOT_SECRET_NAME = re.compile(
    r"::|^arn:|(?:next|page|continuation|pagination|sync|lock|change|idempotency|resume|cursor|marker|"
    r"start|end)[_.\-]?token$",
    re.IGNORECASE,
)


_ARN_BEFORE = re.compile(r"arn:[a-z0-9\-]+:[^\s\"'<>]*$")


def _not_a_secret_name(name: str) -> bool:
    return _NOT_SECRET_NAME.search(name.strip("\"'`[]")) is not None


def _plausible(kind: str) -> Check:
    def check(value: str, m: re.Match[str]) -> bool:
        if not separator_ok(m):
            return False
        quoted = value_group(m) == "v"
        if is_uuid(value) or is_hash_like(value) or _fails_checksum(value):
            return False
        if "public" in m.string[max(0, m.start() - 12) : m.start("sep")].lower():
            return False  # publicKeyToken, public_key: published on purpose
        if not plausible_secret(value, kind=kind, quoted=quoted):
            return False
        return not (_not_a_secret_name(key_run(m)[1])
                    or _ARN_BEFORE.search(m.string, max(0, m.start() - 160), m.start()))

    return check


def _basic_credentials(value: str, m: re.Match[str]) -> bool:
    """A Basic auth value decodes to ``user:password`` with a real password."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, sep, password = raw.partition(":")
    return bool(sep) and raw.isprintable() and len(password) >= 4 and not is_placeholder(password)


def _bearer(value: str, m: re.Match[str]) -> bool:
    if is_uuid(value) or is_hash_like(value) or is_placeholder(value):
        return False
    return plausible_secret(value, kind="token", quoted=True)


def _password_literal(value: str, m: re.Match[str]) -> bool:
    return plausible_secret(value, kind="password", quoted=True)


GENERIC_KEYWORDS = {
    "generic_password": ("password", "passwd", "passphrase", "pswd", "pwd", "pass", "密码", "密碼", "口令",
                         "requirepass", "masterauth", "passwort", "kennwort", "contraseña", "contrasena",
                         "mot de passe", "mot_de_passe", "mot-de-passe", "senha", "пароль", "パスワード",
                         "비밀번호"),
    "generic_secret": ("secret", "private_key", "privatekey", "private-key", "signing", "encryption",
                       "master_key", "masterkey", "hmac", "jwt_key", "密钥", "秘钥", "私钥", "密鑰", "金鑰",
                       "秘鑰", "私鑰"),
    "generic_token": ("token", "令牌", "トークン"),
    "generic_api_key": ("apikey", "api_key", "api-key", "api.key", "app_key", "appkey", "app-key",
                        "access_key", "accesskey", "access-key", "auth_key", "authkey", "client_key",
                        "clientkey", "consumer_key", "service_key", "subscription_key", "license_key",
                        "licensekey", "developer_key", "partner_key", "merchant_key", "mch_key",
                        "mchkey", "api_secret", "apisecret", "api-secret", "subscriptionkey", "servicekey",
                        "consumerkey", "developerkey", "partnerkey", "merchantkey", "auth-key", "client-key"),
}


def _assignment_rule(rule_id: str, title: str, key: str, kind: str) -> Rule:
    """A value assigned to a key whose name says what it is (``PASSWORD=...``)."""
    return Rule(
        id=rule_id,
        title=title,
        pattern=assignment(key),
        keywords=GENERIC_KEYWORDS[rule_id],
        check=_plausible(kind),
        priority=PRIORITY_GENERIC,
        confidence=0.7,
        before=0,
        after=400,
        anchored=True,
    )


def build() -> list[Rule]:
    rules = [
        _assignment_rule("generic_password", "Password assigned in code or configuration",
                         PASSWORD_KEY, "password"),
        _assignment_rule("generic_secret",
                         "Secret or private key material assigned in code or configuration",
                         SECRET_KEY, "token"),
        _assignment_rule("generic_token", "Access token assigned in code or configuration",
                         TOKEN_KEY, "token"),
        _assignment_rule("generic_api_key", "API key assigned in code or configuration",
                         API_KEY, "token"),
        Rule(
            id="http_bearer_token",
            title="Bearer / token credential in an HTTP Authorization header",
            pattern=(
                r"(?i:authorization|proxy-authorization)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"'`]?[ \t]*"
                r"(?i:bearer|token)[ \t]+(?P<v>[A-Za-z0-9_\-.~+/]{16,512}={0,2})(?![A-Za-z0-9_\-.~+/=])"
            ),
            keywords=("authorization",),
            check=_bearer,
            priority=PRIORITY_GENERIC + 5,
            confidence=0.8,
            before=16,
            after=600,
        ),
        Rule(
            id="http_basic_auth",
            title="Basic credentials in an HTTP Authorization header",
            pattern=(
                r"(?i:authorization|proxy-authorization)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"'`]?[ \t]*"
                r"(?i:basic)[ \t]+(?P<v>[A-Za-z0-9+/]{8,512}={0,2})(?![A-Za-z0-9+/=])"
            ),
            keywords=("authorization",),
            check=_basic_credentials,
            priority=PRIORITY_GENERIC + 10,
            confidence=0.85,
            before=16,
            after=600,
        ),
        Rule(
            id="sql_password",
            title="Password in a SQL user statement (IDENTIFIED BY / WITH PASSWORD)",
            pattern=(
                r"(?i:identified[ \t]+by(?:[ \t]+password)?|(?:with|login|user|role)[ \t]+"
                r"(?:encrypted[ \t]+)?password)[ \t]+\\?['\"](?P<v>[^'\"\\\r\n]{4,128})\\?['\"]"
            ),
            keywords=("identified", "password"),
            check=_password_literal,
            priority=PRIORITY_GENERIC + 10,
            confidence=0.8,
            before=40,
            after=200,
        ),
        Rule(
            id="powershell_plaintext_password",
            title="Password converted from plain text in PowerShell (ConvertTo-SecureString -AsPlainText)",
            pattern=(
                r"(?i:ConvertTo-SecureString)[ \t]+(?:-String[ \t]+)?(?P<q>[\"'])(?P<v>[^\"'\r\n]{4,128})(?P=q)"
                r"(?=[^\r\n]{0,40}-AsPlainText)"
            ),
            keywords=("convertto-securestring",),
            check=_password_literal,
            priority=PRIORITY_GENERIC + 10,
            confidence=0.85,
            anchored=True,
            before=0,
            after=260,
        ),
        Rule(
            id="cli_basic_auth",
            title="user:password given to curl/wget-style -u / --user",
            pattern=(
                r"(?<![A-Za-z0-9_\-])(?:-u|--user|--proxy-user)[ \t=]+\\?[\"']?"
                r"[A-Za-z0-9_.@\-]{1,64}:(?P<v>[^\s\"'`\\@]{4,128})"
            ),
            keywords=("-u ", "--user", "--proxy-user", "-u\t"),
            cased=True,
            check=_password_literal,
            priority=PRIORITY_GENERIC + 5,
            confidence=0.75,
            before=8,
            after=200,
        ),
    ]
    return rules
