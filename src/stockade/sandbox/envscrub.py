"""Which environment variables the sandboxed agent inherits.

Pure: ``scrub(env, passthrough=..., looks_secret=...)`` returns the kept
variables and the *names* of the dropped ones (never their values) with a
reason each, so the launcher can record what it removed.

A variable is dropped when its name says it holds a credential or a handle
to one (``*_TOKEN``, ``AWS_*``, ``SSH_AUTH_SOCK``, ``DBUS_SESSION_BUS_ADDRESS``
...), when it points outside the sandbox in a way that could reach the host
(proxies, display servers), or when its value looks like a secret: a URL
with a password, a long high-entropy token, or anything the DLP engine
(``looks_secret``) flags.  Only names listed in ``sandbox.env_passthrough``
bypass all of this.
"""

from __future__ import annotations

from itertools import pairwise

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from typing import Any, NamedTuple
else:
    from stockade.lite import NamedTuple

# Words that, as a part of a variable name (between underscores or the
# ends), mean "credential".  Matched without `re`: compiling these patterns
# and importing re was ~7 ms of every `stockade run` start (_secret_name_re
# is the regular expression they stand for, used for names that are not
# ASCII, where re's case folding decides; tests/sandbox holds the two equal).
_SECRET_WORDS = frozenset({
    "KEY", "KEYS", "APIKEY", "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASS",
    "PWDFILE", "PWD_FILE", "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "AUTHTOKEN", "COOKIE",
    "SESSION", "PRIVATE", "SIGNING", "SIG", "PASSPHRASE", "DSN", "CONNECTION_STRING", "CONN_STR",
    "WEBHOOK", "BEARER", "OTP", "TOTP", "SALT", "ACCESS_KEY", "CLIENT_SECRET", "PWD",
})
# ... and these anywhere in a name, run together with other words or not
# (XSECRET, SECRETVALUE, DBPASSWORD)
_SECRET_INFIXES = ("SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDENTIAL")
# a word may be numbered (DB_PASSWORD2, TOKEN_1 is "TOKEN" and "1" anyway)
_SECRET_NAME_PATTERN = (
    r"(?:^|_)(?:KEY|KEYS|APIKEY|TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PWD_?FILE|"
    r"CREDENTIAL|CREDENTIALS|CREDS|AUTH|AUTHTOKEN|COOKIE|SESSION|PRIVATE|SIGNING|SIG|"
    r"PASSPHRASE|DSN|CONNECTION_STRING|CONN_STR|WEBHOOK|BEARER|OTP|TOTP|SALT|"
    r"ACCESS_KEY|CLIENT_SECRET|PWD)[0-9]*(?:_|$)"
    r"|SECRET|PASSWORD|PASSWD|APIKEY|CREDENTIAL"
)
# the shell's own, not a database's password
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})
# Whole prefixes that belong to credential-bearing tools.
_SECRET_PREFIXES = (
    "AWS_", "AZURE_", "ARM_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "GH_", "GITHUB_", "GITLAB_",
    "NPM_", "NODE_AUTH", "PYPI_", "TWINE_", "CARGO_REGISTRY", "DOCKER_", "KUBE", "HELM_",
    "VAULT_", "CONSUL_", "NOMAD_", "TF_VAR_", "TF_TOKEN", "HEROKU_", "DIGITALOCEAN_",
    "CLOUDFLARE_", "SENTRY_", "SLACK_", "STRIPE_", "TWILIO_", "SENDGRID_", "DATADOG_", "DD_",
    "OPENAI_", "ANTHROPIC_", "GEMINI_", "MISTRAL_", "COHERE_", "GROQ_", "HF_", "HUGGING",
    "REPLICATE_", "OPENROUTER_", "DEEPSEEK_", "XAI_", "CODEX_", "CLAUDE_CODE_OAUTH",
    "PGPASS", "MYSQL_PWD", "REDIS_", "MONGO", "DATABASE_URL", "SNOWFLAKE_", "DATABRICKS_",
    "OP_", "BW_", "KRB5", "GPG_", "GNUPG",
)
# Under a credential-bearing prefix, these name where the trusted CA
# certificates are (AWS_CA_BUNDLE, CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE): a path
# to public certificates, which a corporate TLS proxy makes necessary.  Their
# values are still checked like any other's.
_TRUST_STORE_SUFFIXES = ("_CA_BUNDLE", "_CA_CERTS_FILE", "_CA_CERTS", "_CA_CERT", "_CA_FILE",
                         "_CAINFO", "_CAPATH", "_CA_PATH")
# Handles to host services or the host's display, agent and session bus.
_HOST_HANDLES = frozenset({
    "SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_ASKPASS", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY",
    "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS", "XDG_RUNTIME_DIR",
    "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "PULSE_SERVER", "PULSE_COOKIE", "DOCKER_HOST",
    "CONTAINER_HOST", "PODMAN_HOST", "KUBECONFIG", "SUDO_ASKPASS", "GIT_ASKPASS",
    "TMUX", "TMUX_PANE", "STY", "KITTY_LISTEN_ON", "VSCODE_IPC_HOOK_CLI", "VSCODE_GIT_IPC_HANDLE",
    "VSCODE_GIT_ASKPASS_MAIN", "VSCODE_GIT_ASKPASS_NODE", "JETBRAINS_REMOTE_RUN",
    "LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "PYTHONSTARTUP", "BASH_ENV", "ENV",
    "PROMPT_COMMAND", "TMPDIR", "TEMP", "TMP", "STOCKADE_HOME", "STOCKADE_POLICY",
    "STOCKADE_MANAGED_POLICY",
})
# The launcher sets these itself; inherited values must not leak the host's proxy.
_PROXY_NAMES = frozenset({
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY", "RSYNC_PROXY",
    "SOCKS_PROXY", "SOCKS5_PROXY", "GRPC_PROXY", "NPM_CONFIG_PROXY", "NPM_CONFIG_HTTPS_PROXY",
    "YARN_HTTP_PROXY", "YARN_HTTPS_PROXY", "CARGO_HTTP_PROXY", "GLOBAL_AGENT_HTTP_PROXY",
    "GLOBAL_AGENT_HTTPS_PROXY", "GLOBAL_AGENT_NO_PROXY", "JAVA_TOOL_OPTIONS", "NODE_OPTIONS",
})
# Names whose values are ordinary: never worth a DLP pass (their values
# change from one session to the next, and a new value loads the engine).
# They still get the cheap checks (a URL's password, a high-entropy token):
# TZ=sk-ant-... or EDITOR="vim ghp_..." is a key all the same.
_PLAIN = frozenset({
    "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "COLORTERM",
    "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "TZ", "EDITOR", "VISUAL", "PAGER",
    "SHLVL", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "LS_COLORS",
    "HOSTNAME", "MAIL",
})
# ... and paths, not checked at all: a folder may be named by a hash, and
# the agent needs its PATH
_PLAIN_PATHS = frozenset({
    "PATH", "HOME", "PWD", "OLDPWD", "_", "MANPATH", "INFOPATH", "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_DATA_DIRS", "XDG_CONFIG_DIRS",
    "VIRTUAL_ENV", "CONDA_PREFIX", "GOPATH", "GOROOT", "CARGO_HOME", "RUSTUP_HOME", "JAVA_HOME",
    "PYENV_ROOT", "NVM_DIR", "PNPM_HOME", "BUN_INSTALL", "DENO_DIR",
})

_URL_WITH_PASSWORD_PATTERN = r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@"
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Characters of a key-like token; a path's "/" separates tokens.  Every other
# byte becomes a space (bytes.translate), so tokens are what split() yields.
_TOKEN_BYTES = bytes(
    c if chr(c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_=.~-"
    else 0x20 for c in range(256))
_TOKEN_MIN = 20
_DIGITS = "0123456789"


# NamedTuple, not a dataclass: on `stockade run`'s start-up path (see seccomp.Insn)
class Dropped(NamedTuple):
    name: str
    reason: str  # "name", "host-handle", "proxy", "value:url-password", "value:entropy", "value:dlp"


class ScrubResult(NamedTuple):
    kept: dict[str, str]
    dropped: tuple[Dropped, ...]


def name_reason(name: str) -> str | None:
    """Why a variable must go because of its name alone, or None."""
    upper = name.upper()
    if upper in _PROXY_NAMES:
        return "proxy"
    if upper in _HOST_HANDLES or upper.startswith(("LD_", "DYLD_")):
        return "host-handle"
    if upper not in _NOT_SECRET_NAMES and _secret_name(upper):
        return "name"
    if upper.startswith(_SECRET_PREFIXES) and not upper.endswith(_TRUST_STORE_SUFFIXES):
        return "name"
    return None


def _secret_name(upper: str) -> bool:
    # non-ASCII: re's case folding decides; a newline: "$" also matches
    # before a final one (a name may hold one: execve takes any bytes but
    # "=" and NUL)
    if not upper.isascii() or "\n" in upper:
        return _secret_name_re().search(upper) is not None
    if any(w in upper for w in _SECRET_INFIXES):
        return True
    parts = upper.split("_")
    # each word holds at most one underscore: one part, or two joined; and
    # may be numbered
    return any(p.rstrip(_DIGITS) in _SECRET_WORDS for p in parts) or any(
        f"{a}_{b.rstrip(_DIGITS)}" in _SECRET_WORDS for a, b in pairwise(parts))


def _secret_name_re() -> Any:
    import re

    return re.compile(_SECRET_NAME_PATTERN, re.IGNORECASE)


def has_url_password(value: str) -> bool:
    """``scheme://user:password@host`` anywhere in ``value``."""
    if "://" not in value:
        return False
    if not value.isascii():
        import re

        return re.search(_URL_WITH_PASSWORD_PATTERN, value, re.IGNORECASE) is not None
    n = len(value)
    at = value.find("://")
    while at != -1:
        # a scheme: letters, digits, "+.-" right before "://", one letter among them
        i = at
        while i > 0 and value[i - 1] in _SCHEME_CHARS:
            i -= 1
        if any(c in _LETTERS for c in value[i:at]):
            # user (no "/", ":", "@" or space), ":", password (no "/", "@" or space), "@"
            j = at + 3
            while j < n and value[j] not in "/:@" and not value[j].isspace():
                j += 1
            if j < n and value[j] == ":":
                k = j + 1
                while k < n and value[k] not in "/@" and not value[k].isspace():
                    k += 1
                if k > j + 1 and k < n and value[k] == "@":
                    return True
        at = value.find("://", at + 1)
    return False


def shannon(value: str) -> float:
    """Bits of entropy per character: ``stockade.dlp.validators.shannon``,
    without that module's imports (base64, datetime, json) on every
    ``stockade run`` start; tests/sandbox holds the two equal."""
    if not value:
        return 0.0
    from math import log2

    n = len(value)
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    return -sum(c / n * log2(c / n) for c in counts.values())


def high_entropy_token(value: str) -> bool:
    """A long run of key-like characters mixing letters and digits with
    high entropy: what generated credentials look like whatever their name.
    Paths are split at ``/`` first so ordinary directories never match."""
    if len(value) < _TOKEN_MIN:
        return False
    # token characters are ASCII: any other character only separates tokens
    data = value.encode("utf-8", "surrogatepass").translate(_TOKEN_BYTES)
    for raw in data.split():
        if len(raw) < _TOKEN_MIN:
            continue
        tok = raw.decode("ascii")
        if not (any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)):
            continue
        if shannon(tok) >= 3.3:
            return True
    return False


def scrub(
    env: Mapping[str, str],
    *,
    passthrough: Collection[str] = (),
    looks_secret: Callable[[str], bool] | None = None,
) -> ScrubResult:
    """Split ``env`` into what the sandbox gets and what it must not see.

    ``looks_secret`` is the DLP engine's verdict on a value; an exception from
    it drops the variable (fail closed)."""
    allowed = set(passthrough)
    kept: dict[str, str] = {}
    dropped: list[Dropped] = []
    for name, value in env.items():
        if name in allowed:
            kept[name] = value
            continue
        reason = name_reason(name)
        upper = name.upper()
        if reason is None and upper not in _PLAIN_PATHS:
            if has_url_password(value):
                reason = "value:url-password"
            elif high_entropy_token(value):
                reason = "value:entropy"
            elif looks_secret is not None and len(value) >= 8 and upper not in _PLAIN:
                try:
                    if looks_secret(value):
                        reason = "value:dlp"
                except Exception:  # noqa: BLE001 - a scanner failure drops the value
                    reason = "value:dlp-error"
        if reason is None:
            kept[name] = value
        else:
            dropped.append(Dropped(name, reason))
    return ScrubResult(kept, tuple(dropped))


__all__ = [
    "Dropped",
    "ScrubResult",
    "has_url_password",
    "high_entropy_token",
    "name_reason",
    "scrub",
]
