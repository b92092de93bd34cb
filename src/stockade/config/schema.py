"""Validate one policy file (a located YAML tree) into a :class:`PolicyLayer`.

A layer holds only what its file sets, as typed, normalised values keyed by
dotted path, each with the line that set it.  Merging layers is
:mod:`stockade.config.merge`'s job.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from stockade.config import paths
from stockade.config.domains import DomainSyntaxError, parse_pattern, parse_private
from stockade.config.shown import masked, shown, shown_path
from stockade.config.model import (
    DEPENDENCY_ACTIONS,
    DLP_ACTIONS,
    LEDGER_CONTENT,
    LEDGER_DURABILITY,
    POST_TOOL_ACTIONS,
    PROTOCOLS,
    TOOL_ACTIONS,
    Route,
    Upstream,
)
from stockade.config.yamlsrc import Node
from stockade.errors import PolicyError

if TYPE_CHECKING:
    from stockade.dlp.spec import AllowEntry, CustomRule, Dictionary

# Mirrors stockade.dlp.spec.VALIDATORS (a test keeps them equal); importing
# stockade.dlp here would load the whole DLP engine on every policy load.
VALIDATORS = ("none", "luhn", "mod97", "gb11643")

T = TypeVar("T")

SCHEMA: dict[str, tuple[str, ...]] = {
    "identity": ("user", "team"),
    "filesystem": ("write", "read", "deny_read"),
    "network": ("allow", "allow_private", "upstream_proxy"),
    "models": ("upstreams", "routes"),
    "dlp": ("actions", "rules", "dictionaries", "allowlist"),
    "tools": (
        "default",
        "deny_commands",
        "ask_commands",
        "protected_branches",
        "mcp",
        "post_tool_use",
        "dependencies",
    ),
    "ledger": ("url", "content", "durability", "checkpoint_every"),
    "sandbox": ("env_passthrough",),
}
TOP_KEYS = ("version", *SCHEMA)
DEPENDENCY_KEYS = (
    "nonexistent",
    "typosquat",
    "malicious",
    "vulnerable",
    "new",
    "install_scripts",
    "unverifiable",
    "new_days",
    "offline",
    "cache_ttl_hours",
    "registries",
)
REGISTRY_KEYS = ("pypi", "npm", "crates", "go")
UPSTREAM_KEYS = ("url", "key_env", "protocol", "models", "fallback", "max_tokens")
ROUTE_KEYS = ("upstream", "label", "team", "repository", "model")
RULE_KEYS = ("id", "label", "regex", "keywords", "validator", "confidence")
DICTIONARY_KEYS = ("label", "terms", "case_sensitive", "id")
ALLOW_ENTRY_KEYS = ("rule", "value_regex", "path", "reason")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_LABEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}\Z")
_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}\Z")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Setting:
    """A value one layer sets: ``line`` is the line of its key; ``item_lines``
    the line of each list item (or mapping entry) in order."""

    value: Any
    line: int | None
    item_lines: tuple[int | None, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyLayer:
    """One validated policy file (or the built-in default)."""

    kind: str  # "managed" | "user" | "project" | "default" | "file"
    file: str | None  # display path
    settings: Mapping[str, Setting]
    path: str | None = None  # absolute path of the file

    def where(self, key: str, index: int | None = None) -> str:
        """``"user ~/.config/stockade/policy.yaml:4"`` for a key (or list item)."""
        if self.file is None:
            return "default"
        s = self.settings.get(key)
        line = None
        if s is not None:
            line = s.line
            if index is not None and index < len(s.item_lines):
                line = s.item_lines[index] or line
        loc = self.file if line is None else f"{self.file}:{line}"
        return f"{self.kind} {loc}"

    def location(self, key: str, index: int | None = None) -> tuple[str | None, int | None]:
        s = self.settings.get(key)
        if s is None:
            return self.file, None
        if index is not None and index < len(s.item_lines) and s.item_lines[index]:
            return self.file, s.item_lines[index]
        return self.file, s.line


def _type_name(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    if isinstance(v, bool):
        return f"a boolean ({'true' if v else 'false'})"
    if isinstance(v, (int, float)):
        return f"a number ({v})"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return f"a {type(v).__name__}"


def _url_problem(raw: str, exc: ValueError) -> str:
    """What is wrong with a URL urllib refused, without urllib's message
    (it quotes the part after the colon, which may be a password)."""
    text = str(exc)
    if "@" in raw:
        return "URL must not contain a user or password"
    if "Port out of range" in text:
        return "port is out of range (1-65535)"
    if "Port" in text:
        return "port is not a number"
    if "IPv6" in text:
        return "malformed [IPv6] address"
    return "not a valid URL"


# Where credentials for each URL setting belong instead of the policy file.
_CREDENTIAL_HINTS = {
    "ledger.url": "put the password in ~/.pgpass or $PGPASSWORD, never in the policy",
    "network.upstream_proxy": "remove the user:password@ part; the policy is printed by "
    "`stockade policy show` and readable by every process",
}
_KEY_ENV_HINT = "never put a key in the policy; name the variable that holds it in key_env"


def _suggest(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


class Validator:
    def __init__(self, *, file: str, kind: str, home: str, workspace: str) -> None:
        self.file = file
        self.kind = kind
        self.home = home
        self.workspace = workspace
        self.out: dict[str, Setting] = {}

    # -- error helpers -----------------------------------------------------
    def err(self, key: str, line: int | None, message: str, hint: str | None = None) -> PolicyError:
        # The key path holds names the user chose (upstreams, labels, an
        # unknown key): a pasted credential among them is masked too.
        return PolicyError(message, file=self.file, line=line, key=shown_path(key) or None,
                           hint=hint)

    def mapping(
        self, node: Node, key: str, allowed: Collection[str] | None, *, null_ok: bool = True
    ) -> dict[str, Node]:
        """The entries of a mapping; unknown keys are errors.  ``allowed`` None
        means free-form keys (names chosen by the user)."""
        if node.value is None and null_ok:
            return {}
        if not isinstance(node.value, dict):
            raise self.err(
                key,
                node.line,
                f"expected a mapping, got {_type_name(node.value)}",
                "write `key: value` lines indented under it",
            )
        if allowed is not None:
            for k in node.value:
                if k not in allowed:
                    sub = f"{key}.{k}" if key else str(k)
                    raise self.err(
                        sub,
                        node.key_lines.get(k, node.line),
                        "unknown key",
                        f"{_suggest(str(k), allowed)}valid keys here: {', '.join(allowed)}",
                    )
        return dict(node.value)

    def set(
        self, key: str, value: Any, line: int | None, items: tuple[int | None, ...] = ()
    ) -> None:
        self.out[key] = Setting(value, line, items)

    def set_list(
        self, key: str, vals: tuple[Any, ...], line: int | None, items: tuple[int | None, ...]
    ) -> None:
        """Set a list, dropping repeated entries (keeping each first line)."""
        seen: dict[Any, int | None] = {}
        for v, ln in zip(vals, items, strict=True):
            seen.setdefault(v, ln)
        self.out[key] = Setting(tuple(seen), line, tuple(seen.values()))

    def string(self, node: Node, key: str, *, null_ok: bool = False) -> str | None:
        v = node.value
        if v is None and null_ok:
            return None
        if not isinstance(v, str):
            hint = "quote it" if isinstance(v, (bool, int, float)) else "write a string"
            raise self.err(key, node.line, f"expected a string, got {_type_name(v)}", hint)
        if not v.strip():
            raise self.err(key, node.line, "must not be empty", "write a value, or remove the key")
        return v

    def req_string(self, node: Node, key: str) -> str:
        v = self.string(node, key)
        return "" if v is None else v  # null_ok=False: never None

    def enum(self, node: Node, key: str, choices: Collection[str]) -> str:
        v = node.value
        if not isinstance(v, str) or v not in choices:
            what = shown(v) if isinstance(v, str) else _type_name(v)
            sug = _suggest(v, choices) if isinstance(v, str) else ""
            if isinstance(v, bool):
                sug = "YAML reads yes/no/on/off as booleans: quote the word. "
            raise self.err(
                key,
                node.line,
                f"{what} is not one of: {', '.join(choices)}",
                f"{sug}write one of: {', '.join(choices)}",
            )
        return v

    def integer(self, node: Node, key: str, *, lo: int, hi: int) -> int:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(
                key,
                node.line,
                f"expected a whole number, got {_type_name(v)}",
                f"write a number from {lo} to {hi}",
            )
        if not lo <= v <= hi:
            raise self.err(
                key, node.line, f"{v} is out of range", f"write a number from {lo} to {hi}"
            )
        return v

    def boolean(self, node: Node, key: str) -> bool:
        if not isinstance(node.value, bool):
            raise self.err(
                key,
                node.line,
                f"expected true or false, got {_type_name(node.value)}",
                "write true or false",
            )
        return node.value

    def items(self, node: Node, key: str) -> list[Node]:
        if not isinstance(node.value, list):
            hint = (
                "write [] for none"
                if node.value is None
                else "write a YAML list: [a, b] or `- a` lines"
            )
            raise self.err(key, node.line, f"expected a list, got {_type_name(node.value)}", hint)
        return list(node.value)

    def str_list(
        self, node: Node, key: str, conv: Callable[[str, str, Node], T] | None = None
    ) -> tuple[tuple[T, ...], tuple[int | None, ...]]:
        vals: list[Any] = []
        lines: list[int | None] = []
        for i, item in enumerate(self.items(node, key)):
            k = f"{key}[{i}]"
            s = self.req_string(item, k)
            vals.append(conv(s, k, item) if conv else s)
            lines.append(item.line)
        return tuple(vals), tuple(lines)

    def regex(self, node: Node, key: str) -> str:
        rx = self.req_string(node, key)
        try:
            compiled = re.compile(rx)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            raise self.err(
                key,
                node.line,
                f"regex does not compile: {exc.msg}{where}",
                "fix the pattern (Python `re` syntax); quote it with '...' in YAML",
            ) from None
        if compiled.fullmatch("") is not None:
            raise self.err(
                key,
                node.line,
                "regex matches the empty string",
                "make it require at least one character (e.g. use + instead of *)",
            )
        return rx

    # -- conversions -------------------------------------------------------
    def path(self, raw: str, key: str, node: Node) -> str:
        try:
            return paths.expand(raw, home=self.home, workspace=self.workspace)
        except paths.PathSyntaxError as exc:
            raise self.err(key, node.line, exc.message, exc.hint) from None

    def domain(self, raw: str, key: str, node: Node) -> str:
        try:
            return str(parse_pattern(raw))
        except DomainSyntaxError as exc:
            raise self.err(key, node.line, exc.message, exc.hint) from None

    def private(self, raw: str, key: str, node: Node) -> str:
        try:
            return parse_private(raw)
        except DomainSyntaxError as exc:
            raise self.err(key, node.line, exc.message, exc.hint) from None

    def env_name(self, raw: str, key: str, node: Node) -> str:
        # The value is never echoed: a key pasted into key_env, or NAME=value
        # in env_passthrough, is a credential.
        if _ENV.match(raw):
            return raw
        name, eq, _ = raw.partition("=")
        if eq and _ENV.match(name.strip()):
            raise self.err(
                key,
                node.line,
                f"write the variable's name only ({name.strip()}), without =value",
                "stockade passes the variable's value from the environment; "
                "a value never belongs in the policy",
            )
        if key.endswith(".key_env"):
            raise self.err(
                key,
                node.line,
                "key_env names an environment variable, never the key itself "
                f"(got {masked(raw)})",
                "write the name of the variable that holds the key, e.g. ANTHROPIC_API_KEY",
            )
        raise self.err(
            key,
            node.line,
            f"not an environment variable name (got {masked(raw)})",
            "use letters, digits and _ (e.g. ANTHROPIC_API_KEY)",
        )

    def url(self, node: Node, key: str, *, schemes: tuple[str, ...]) -> str:
        from urllib.parse import urlsplit

        raw = self.req_string(node, key).strip()
        cred_hint = _CREDENTIAL_HINTS.get(key, _KEY_ENV_HINT)
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError as exc:
            problem = _url_problem(raw, exc)
            hint = cred_hint if "password" in problem else f"write e.g. {schemes[0]}://host:port"
            raise self.err(key, node.line, problem, hint) from None
        if parts.scheme not in schemes:
            raise self.err(
                key,
                node.line,
                f"URL scheme must be {' or '.join(schemes)}",
                f"write e.g. {schemes[0]}://host:port",
            )
        if not parts.hostname:
            raise self.err(
                key, node.line, "URL has no host", f"write e.g. {schemes[0]}://host:port"
            )
        if parts.username is not None or parts.password is not None:
            raise self.err(key, node.line, "URL must not contain a user or password", cred_hint)
        if parts.query or parts.fragment:
            raise self.err(
                key, node.line, "URL has a query or fragment", "remove the part after ? or #"
            )
        del port
        return raw.rstrip("/")

    # -- sections ------------------------------------------------------------
    def run(self, root: Node) -> dict[str, Setting]:
        top = self.mapping(root, "", TOP_KEYS, null_ok=False)
        if "version" not in top:
            raise self.err(
                "version", 1, "missing `version: 1`", "add `version: 1` as the first line"
            )
        ver = top["version"]
        if isinstance(ver.value, bool) or ver.value != 1:
            raise self.err(
                "version",
                ver.line,
                f"unsupported version {shown(ver.value)}",
                "this stockade reads `version: 1`",
            )
        for section, fields in SCHEMA.items():
            if section in top:
                entries = self.mapping(top[section], section, fields)
                getattr(self, f"_{section}")(entries, root.key_lines.get(section))
        return self.out

    def _identity(self, e: dict[str, Node], _line: int | None) -> None:
        for k in ("user", "team"):
            if k in e:
                self.set(
                    f"identity.{k}", self.string(e[k], f"identity.{k}", null_ok=True), e[k].kline
                )

    def _filesystem(self, e: dict[str, Node], _line: int | None) -> None:
        for k in ("write", "read", "deny_read"):
            if k in e:
                key = f"filesystem.{k}"
                vals, lines = self.str_list(e[k], key, self.path)
                if k != "deny_read":
                    # Granted paths are pinned to what they resolve to now, so a
                    # symlink (planted later, or by a project) cannot redirect them.
                    # One inside the workspace could have been planted by the agent
                    # in an earlier session: it must not move the grant elsewhere.
                    ws_real = os.path.realpath(self.workspace)
                    for i, v in enumerate(vals):
                        real = os.path.realpath(v)
                        if paths.is_under(v, self.workspace) and not paths.is_under(real, ws_real):
                            raise self.err(
                                f"{key}[{i}]", lines[i],
                                f"{v} is a symlink to {real}, outside the workspace; the agent "
                                "can write the workspace, so a symlink there must not move a grant",
                                "name the real directory in the policy, or remove the symlink")
                    vals = tuple(os.path.realpath(v) for v in vals)
                if k == "write":
                    for i, v in enumerate(vals):
                        if v == "/" and self._from_workspace(e[k], i):
                            # Not the policy's fault: stockade was started in /.
                            raise self.err(
                                f"{key}[{i}]",
                                lines[i],
                                "${WORKSPACE} is '/' (the current directory, or --workspace): "
                                "the agent could write anywhere",
                                "run from the project directory (or pass --workspace DIR)",
                            )
                        if v == "/":
                            raise self.err(
                                f"{key}[{i}]",
                                lines[i],
                                "'/' would let the agent write anywhere",
                                "list the directories the agent needs to write, e.g. ${WORKSPACE}",
                            )
                self.set_list(key, vals, e[k].kline, lines)

    def _network(self, e: dict[str, Node], _line: int | None) -> None:
        if "allow" in e:
            vals, lines = self.str_list(e["allow"], "network.allow", self.domain)
            self.set_list("network.allow", vals, e["allow"].kline, lines)
        if "allow_private" in e:
            vals, lines = self.str_list(e["allow_private"], "network.allow_private", self.private)
            self.set_list("network.allow_private", vals, e["allow_private"].kline, lines)
        if "upstream_proxy" in e:
            n = e["upstream_proxy"]
            v = (
                None
                if n.value is None
                else self.url(n, "network.upstream_proxy", schemes=("http", "https"))
            )
            self.set("network.upstream_proxy", v, n.kline)

    def _from_workspace(self, node: Node, i: int) -> bool:
        """True when entry ``i`` of ``node`` names ${WORKSPACE} and the
        workspace is /, so the grant is '/' only because of where we run."""
        items = node.value if isinstance(node.value, list) else []
        raw = items[i].value if i < len(items) else None
        return (isinstance(raw, str) and "${WORKSPACE}" in raw
                and os.path.realpath(self.workspace) == "/")

    def _models(self, e: dict[str, Node], _line: int | None) -> None:
        if "upstreams" in e:
            ups = self.mapping(e["upstreams"], "models.upstreams", None)
            names: list[str] = []
            for name, n in ups.items():
                key = f"models.upstreams.{name}"
                if not _NAME.match(name):
                    raise self.err(
                        key,
                        e["upstreams"].key_lines.get(name),
                        f"{shown(name)} is not a valid upstream name",
                        "use letters, digits, '-', '_' and '.'",
                    )
                names.append(name)
                self.set(key, None if n.value is None else self._upstream(name, n, key), n.kline)
            self.set(
                "models.upstreams",
                tuple(names),
                e["upstreams"].kline,
                tuple(e["upstreams"].key_lines.get(n) for n in names),
            )
        if "routes" in e:
            routes: list[Route] = []
            lines: list[int | None] = []
            for i, item in enumerate(self.items(e["routes"], "models.routes")):
                key = f"models.routes[{i}]"
                f = self.mapping(item, key, ROUTE_KEYS, null_ok=False)
                if "upstream" not in f:
                    raise self.err(
                        key,
                        item.line,
                        "a route needs `upstream`",
                        "write {upstream: NAME, label: L} (label/team/repository/model optional)",
                    )
                up = self.req_string(f["upstream"], f"{key}.upstream")
                opt = {k: self.string(f[k], f"{key}.{k}") for k in ROUTE_KEYS[1:] if k in f}
                routes.append(Route(upstream=up, **opt))
                lines.append(item.line)
            self.set("models.routes", tuple(routes), e["routes"].kline, tuple(lines))

    def _upstream(self, name: str, node: Node, key: str) -> Upstream:
        f = self.mapping(node, key, UPSTREAM_KEYS, null_ok=False)
        if "url" not in f:
            raise self.err(
                key,
                node.line,
                "an upstream needs `url`",
                "write {url: https://..., key_env: VAR_HOLDING_THE_KEY}",
            )
        url = self.url(f["url"], f"{key}.url", schemes=("https", "http"))
        key_env = None
        if "key_env" in f and f["key_env"].value is not None:
            key_env = self.env_name(
                self.req_string(f["key_env"], f"{key}.key_env"), f"{key}.key_env", f["key_env"]
            )
        protocol = "anthropic" if name == "anthropic" else "chat"
        if "protocol" in f:
            protocol = self.enum(f["protocol"], f"{key}.protocol", PROTOCOLS)
        models: list[tuple[str, str]] = []
        if "models" in f:
            for mk, mv in self.mapping(f["models"], f"{key}.models", None).items():
                models.append((mk, self.req_string(mv, f"{key}.models.{mk}")))
        fallback: tuple[str, ...] = ()
        if "fallback" in f:
            fallback, flines = self.str_list(f["fallback"], f"{key}.fallback", None)
            for i, fb in enumerate(fallback):
                if not _NAME.match(fb) or fb == name:
                    raise self.err(
                        f"{key}.fallback[{i}]",
                        flines[i],
                        f"{shown(fb)} cannot be a fallback of upstream {shown(name)}",
                        "list other upstream names from models.upstreams, in the order to try",
                    )
        max_tokens = None
        if "max_tokens" in f and f["max_tokens"].value is not None:
            max_tokens = self.integer(f["max_tokens"], f"{key}.max_tokens", lo=1, hi=10_000_000)
        return Upstream(
            name=name, url=url, key_env=key_env, protocol=protocol, models=tuple(models),
            fallback=tuple(fallback), max_tokens=max_tokens,
        )

    def _dlp(self, e: dict[str, Node], _line: int | None) -> None:
        if "actions" in e:
            for label, n in self.mapping(e["actions"], "dlp.actions", None).items():
                key = f"dlp.actions.{label}"
                if not _LABEL.match(label):
                    raise self.err(
                        key,
                        e["actions"].key_lines.get(label),
                        f"{shown(label)} is not a valid label",
                        "labels are lowercase: letters, digits, '-', '_' and '.'",
                    )
                self.set(key, self.dlp_action(n, key), n.kline)
        if "rules" in e:
            rules: list[CustomRule] = []
            lines: list[int | None] = []
            seen: dict[str, int | None] = {}
            for i, item in enumerate(self.items(e["rules"], "dlp.rules")):
                rule = self._rule(item, f"dlp.rules[{i}]")
                if rule.id in seen:
                    raise self.err(
                        f"dlp.rules[{i}].id",
                        item.line,
                        f"rule id {shown(rule.id)} is already used on line {seen[rule.id]}",
                        "give each rule its own id",
                    )
                seen[rule.id] = item.line
                rules.append(rule)
                lines.append(item.line)
            self.set("dlp.rules", tuple(rules), e["rules"].kline, tuple(lines))
        if "dictionaries" in e:
            dicts: list[Dictionary] = []
            lines = []
            for i, item in enumerate(self.items(e["dictionaries"], "dlp.dictionaries")):
                dicts.append(self._dictionary(item, f"dlp.dictionaries[{i}]"))
                lines.append(item.line)
            self.set("dlp.dictionaries", tuple(dicts), e["dictionaries"].kline, tuple(lines))
        if "allowlist" in e:
            entries: list[AllowEntry] = []
            lines = []
            for i, item in enumerate(self.items(e["allowlist"], "dlp.allowlist")):
                entries.append(self._allow_entry(item, f"dlp.allowlist[{i}]"))
                lines.append(item.line)
            self.set("dlp.allowlist", tuple(entries), e["allowlist"].kline, tuple(lines))

    def dlp_action(self, node: Node, key: str) -> str:
        v = node.value
        if isinstance(v, str) and v.startswith("route:"):
            target = v[len("route:") :]
            if not _NAME.match(target):
                raise self.err(
                    key,
                    node.line,
                    f"{shown(v)}: bad upstream name after route:",
                    "write route:NAME where NAME is in models.upstreams",
                )
            return v
        return self.enum(node, key, (*DLP_ACTIONS, "route:<upstream>"))

    def _label(self, node: Node, key: str) -> str:
        label = self.req_string(node, key)
        if not _LABEL.match(label):
            raise self.err(
                key,
                node.line,
                f"{shown(label)} is not a valid label",
                "labels are lowercase: letters, digits, '-', '_' and '.'",
            )
        return label

    def _rule(self, item: Node, key: str) -> CustomRule:
        from stockade.dlp.spec import CustomRule

        f = self.mapping(item, key, RULE_KEYS, null_ok=False)
        for req in ("id", "label", "regex"):
            if req not in f:
                raise self.err(
                    key,
                    item.line,
                    f"a rule needs `{req}`",
                    "write {id: NAME, label: LABEL, regex: 'PATTERN'}",
                )
        rid = self.req_string(f["id"], f"{key}.id")
        if not _RULE_ID.match(rid):
            raise self.err(
                f"{key}.id",
                f["id"].line,
                f"{shown(rid)} is not a valid rule id",
                "use letters, digits, '-', '_', '.' and ':'",
            )
        kw: tuple[str, ...] = ()
        if "keywords" in f:
            kw, _ = self.str_list(f["keywords"], f"{key}.keywords")
        validator = "none"
        if "validator" in f:
            validator = self.enum(f["validator"], f"{key}.validator", VALIDATORS)
        confidence = 0.9
        if "confidence" in f:
            c = f["confidence"].value
            if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 <= c <= 1.0:
                raise self.err(
                    f"{key}.confidence",
                    f["confidence"].line,
                    f"expected a number from 0 to 1, got {_type_name(c)}",
                    "write e.g. 0.9",
                )
            confidence = float(c)
        return CustomRule(
            id=rid,
            label=self._label(f["label"], f"{key}.label"),
            regex=self.regex(f["regex"], f"{key}.regex"),
            keywords=kw,
            validator=validator,
            confidence=confidence,
        )

    def _dictionary(self, item: Node, key: str) -> Dictionary:
        from stockade.dlp.spec import Dictionary

        f = self.mapping(item, key, DICTIONARY_KEYS, null_ok=False)
        for req in ("label", "terms"):
            if req not in f:
                raise self.err(
                    key,
                    item.line,
                    f"a dictionary needs `{req}`",
                    'write {label: LABEL, terms: ["Term one", "Term two"]}',
                )
        terms: tuple[str, ...]
        terms, _ = self.str_list(f["terms"], f"{key}.terms")
        if not terms:
            raise self.err(f"{key}.terms", f["terms"].line, "no terms", "list at least one term")
        cs = (
            self.boolean(f["case_sensitive"], f"{key}.case_sensitive")
            if "case_sensitive" in f
            else False
        )
        did = "dictionary"
        if "id" in f:
            did = self.req_string(f["id"], f"{key}.id")
            if not _RULE_ID.match(did):
                raise self.err(
                    f"{key}.id",
                    f["id"].line,
                    f"{shown(did)} is not a valid rule id",
                    "use letters, digits, '-', '_', '.' and ':'",
                )
        return Dictionary(
            label=self._label(f["label"], f"{key}.label"), terms=terms, id=did, case_sensitive=cs
        )

    def _allow_entry(self, item: Node, key: str) -> AllowEntry:
        from stockade.dlp.spec import AllowEntry

        f = self.mapping(item, key, ALLOW_ENTRY_KEYS, null_ok=False)
        if "reason" not in f:
            raise self.err(
                key,
                item.line,
                "an allowlist entry needs a `reason`",
                "say why this is not a leak, e.g. reason: test fixture",
            )
        if not any(k in f for k in ("rule", "value_regex", "path")):
            raise self.err(
                key,
                item.line,
                "an allowlist entry with no rule, value_regex or path would accept every finding",
                "narrow it with rule:, value_regex: or path:",
            )
        return AllowEntry(
            reason=self.req_string(f["reason"], f"{key}.reason"),
            rule=self.req_string(f["rule"], f"{key}.rule") if "rule" in f else None,
            value_regex=self.regex(f["value_regex"], f"{key}.value_regex")
            if "value_regex" in f
            else None,
            path=self.req_string(f["path"], f"{key}.path") if "path" in f else None,
        )

    def _tools(self, e: dict[str, Node], _line: int | None) -> None:
        if "default" in e:
            self.set(
                "tools.default",
                self.enum(e["default"], "tools.default", TOOL_ACTIONS),
                e["default"].kline,
            )
        vals: tuple[str, ...]
        for k in ("deny_commands", "ask_commands", "protected_branches"):
            if k in e:
                vals, lines = self.str_list(e[k], f"tools.{k}")
                self.set_list(f"tools.{k}", vals, e[k].kline, lines)
        if "mcp" in e:
            servers = self.mapping(e["mcp"], "tools.mcp", None)
            for server, n in servers.items():
                key = f"tools.mcp.{server}"
                vals, lines = self.str_list(n, key)
                self.set_list(key, vals, n.kline, lines)
        if "post_tool_use" in e:
            for k, n in self.mapping(
                e["post_tool_use"], "tools.post_tool_use", ("dlp", "injection")
            ).items():
                key = f"tools.post_tool_use.{k}"
                self.set(key, self.enum(n, key, POST_TOOL_ACTIONS), n.kline)
        if "dependencies" in e:
            for k, n in self.mapping(
                e["dependencies"], "tools.dependencies", DEPENDENCY_KEYS
            ).items():
                key = f"tools.dependencies.{k}"
                if k == "new_days":
                    self.set(key, self.integer(n, key, lo=0, hi=3650), n.kline)
                elif k == "offline":
                    self.set(key, self.boolean(n, key), n.kline)
                elif k == "cache_ttl_hours":
                    self.set(key, self.integer(n, key, lo=0, hi=720), n.kline)
                elif k == "registries":
                    for eco, u in self.mapping(n, key, REGISTRY_KEYS).items():
                        rkey = f"{key}.{eco}"
                        self.set(rkey, self.url(u, rkey, schemes=("https", "http")), u.kline)
                else:
                    self.set(key, self.enum(n, key, DEPENDENCY_ACTIONS), n.kline)

    def _ledger(self, e: dict[str, Node], _line: int | None) -> None:
        if "url" in e:
            n = e["url"]
            self.set("ledger.url", None if n.value is None else self._ledger_url(n), n.kline)
        if "content" in e:
            self.set(
                "ledger.content",
                self.enum(e["content"], "ledger.content", LEDGER_CONTENT),
                e["content"].kline,
            )
        if "durability" in e:
            self.set(
                "ledger.durability",
                self.enum(e["durability"], "ledger.durability", LEDGER_DURABILITY),
                e["durability"].kline,
            )
        if "checkpoint_every" in e:
            self.set(
                "ledger.checkpoint_every",
                self.integer(e["checkpoint_every"], "ledger.checkpoint_every", lo=1, hi=10_000_000),
                e["checkpoint_every"].kline,
            )

    def _ledger_url(self, n: Node) -> str:
        raw = self.req_string(n, "ledger.url").strip()
        if raw.startswith("sqlite:///"):
            p = raw[len("sqlite://") :]
            expanded = self.path(p, "ledger.url", n) if not p.startswith("//") else p
            return "sqlite://" + expanded
        if raw.startswith(("postgresql://", "postgres://")):
            return self.url(n, "ledger.url", schemes=("postgresql", "postgres"))
        raise self.err(
            "ledger.url",
            n.line,
            "ledger.url must be sqlite:///ABSOLUTE/PATH or postgresql://...",
            "write e.g. sqlite:///var/lib/stockade/ledger.db, or null for the default",
        )

    def _sandbox(self, e: dict[str, Node], _line: int | None) -> None:
        if "env_passthrough" in e:
            vals, lines = self.str_list(
                e["env_passthrough"], "sandbox.env_passthrough", self.env_name
            )
            self.set_list("sandbox.env_passthrough", vals, e["env_passthrough"].kline, lines)


def validate(
    root: Node | None, *, file: str, kind: str, home: str, workspace: str, path: str | None = None
) -> PolicyLayer:
    """Turn a parsed file into a layer, or raise the first PolicyError."""
    if root is None:
        raise PolicyError(
            "the policy file is empty",
            file=file,
            line=1,
            hint="start it with `version: 1`; see `stockade policy default`",
        )
    if not isinstance(root.value, dict):
        raise PolicyError(
            f"the top level must be a mapping, got {_type_name(root.value)}",
            file=file,
            line=root.line,
            hint="start with `version: 1` and put sections (network:, dlp: ...) below it",
        )
    v = Validator(file=file, kind=kind, home=home, workspace=workspace)
    return PolicyLayer(
        kind=kind, file=file if kind != "default" else None, settings=v.run(root), path=path
    )
