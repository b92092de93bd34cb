"""Domain patterns for ``network.allow``: parsing, matching and covering.

A pattern is an exact host (``pypi.org``, ``203.0.113.7``, ``[2001:db8::1]``)
or ``*.suffix`` (every host strictly below ``suffix``: ``*.a.com`` matches
``x.a.com`` and ``y.x.a.com`` but not ``a.com`` itself), optionally followed by
``:port``.  Hosts are compared lowercased, without a trailing dot and
IDNA-encoded, so ``Bücher.example.`` and ``xn--bcher-kva.example`` are one host.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the proxy's first connection
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from stockade.lite import NamedTuple


def shown(value: object) -> str:
    """:func:`stockade.config.shown.shown`, imported on the error path only
    (it compiles regular expressions; the proxy's first connection loads this
    module)."""
    from stockade.config import shown as _shown

    return _shown.shown(value)


def bare(value: str) -> str:
    """:func:`stockade.config.shown.bare`, imported on the error path only."""
    from stockade.config import shown as _shown

    return _shown.bare(value)


_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _label_ok(label: str) -> bool:
    """``re.fullmatch(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", label)``,
    without importing re: the egress proxy's first connection loads this
    module (tests/config holds the two equal)."""
    return (0 < len(label) <= 63 and label[0] != "-" and label[-1] != "-"
            and _LABEL_CHARS.issuperset(label))

# Second-level labels under which registries sell names (co.uk, com.au, ...):
# "*.co.uk" would allow every British company.  Best effort, not the PSL.
_REGISTRY_SLDS = frozenset(
    {
        "co",
        "com",
        "net",
        "org",
        "gov",
        "edu",
        "ac",
        "or",
        "ne",
        "go",
        "mil",
        "nic",
        "ltd",
        "plc",
        "sch",
        "gob",
        "gouv",
        "nom",
        "biz",
        "info",
        "web",
        "int",
    }
)

# Suffixes where anyone can publish a host: a wildcard under them lets the
# agent reach attacker-controlled servers.  Exact hosts under them are fine.
MULTI_TENANT_SUFFIXES = frozenset(
    {
        "github.io",
        "gitlab.io",
        "herokuapp.com",
        "amazonaws.com",
        "s3.amazonaws.com",
        "cloudfront.net",
        "appspot.com",
        "blogspot.com",
        "azurewebsites.net",
        "web.core.windows.net",
        "blob.core.windows.net",
        "vercel.app",
        "netlify.app",
        "pages.dev",
        "workers.dev",
        "web.app",
        "firebaseapp.com",
        "glitch.me",
        "repl.co",
        "replit.dev",
        "fly.dev",
        "onrender.com",
        "ngrok.io",
        "ngrok-free.app",
        "ngrok.app",
        "trycloudflare.com",
        "loca.lt",
        "serveo.net",
        "pipedream.net",
        "requestcatcher.com",
        "webhook.site",
        "burpcollaborator.net",
        "oast.fun",
        "oast.pro",
        "oast.me",
        "interact.sh",
    }
)


class DomainSyntaxError(ValueError):
    """An unusable pattern; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# A NamedTuple, not a dataclass: the egress proxy imports this module while
# the agent's first connection waits, and ``dataclasses`` (with inspect, ast
# and dis) costs about 15 ms there.
class DomainPattern(NamedTuple):
    """One parsed ``network.allow`` entry."""

    host: str  # normalised; for a wildcard, the suffix without "*."
    wildcard: bool
    port: int | None
    is_ip: bool = False

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.is_ip and ":" in self.host else self.host
        text = f"*.{host}" if self.wildcard else host
        return text if self.port is None else f"{text}:{self.port}"

    def matches(self, host: str, port: int | None) -> bool:
        """``host`` must already be normalised (see :func:`normalise_host`)."""
        if self.port is not None and port != self.port:
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host

    def covers(self, other: DomainPattern) -> bool:
        """True when every (host, port) ``other`` allows, this allows too."""
        if self.port is not None and other.port != self.port:
            return False
        if self.is_ip or other.is_ip:
            return self.is_ip and other.is_ip and self.host == other.host
        if not self.wildcard:
            return not other.wildcard and other.host == self.host
        return other.host.endswith("." + self.host) or (other.wildcard and other.host == self.host)


def _idna(host: str) -> str:
    host = host.lower().rstrip(".") if host != "." else host
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DomainSyntaxError(
            f"{shown(host)} is not a valid internationalised domain",
            "write the domain in its ASCII (xn--) form"
        ) from exc


def _ip_shaped(text: str) -> bool:
    """Could ``text`` be an IP literal?  False for every host name with a
    letter in it, so matching a name never imports ``ipaddress`` (milliseconds
    of the sandbox proxy's first connection): IPv6 has a colon, IPv4 only
    digits and dots."""
    return ":" in text or text.replace(".", "").isdigit()


def _ip(text: str) -> str | None:
    if not _ip_shaped(text):
        return None
    if ":" not in text:
        # an IPv4 text ipaddress takes is already its own str() (no leading
        # zeros): no need to import it (milliseconds of a first connection)
        from stockade.netaddr import parse

        return text if parse(text) is not None else None
    import ipaddress

    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def normalise_host(host: str) -> str | None:
    """The comparable form of a host name or IP literal, or None if invalid."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    ip = _ip(h)
    if ip is not None:
        return ip
    try:
        h = _idna(h)
    except DomainSyntaxError:
        return None
    if not h or len(h) > 253 or not all(_label_ok(x) for x in h.split(".")):
        return None
    return h


def parse_pattern(raw: str) -> DomainPattern:
    """Parse and vet one ``network.allow`` entry."""
    text = raw.strip()
    if not text:
        raise DomainSyntaxError("empty domain", "write a domain such as pypi.org")
    # Never echo a user:password@ part; shown() only on the error path (it
    # may build the DLP engine, which a valid policy must not pay for).
    def what() -> str:
        return "this entry" if "@" in text else shown(raw)

    if "://" in text:
        host = text.split("://", 1)[1].split("/", 1)[0].split("@")[-1]
        raise DomainSyntaxError(
            f"{what()} has a scheme",
            f"write the domain only: {bare(host) if host else 'example.com'}",
        )
    if "/" in text:
        raise DomainSyntaxError(
            f"{what()} has a path",
            f"write the domain only: {bare(text.split('/')[0].split('@')[-1])}"
        )
    if "@" in text:
        raise DomainSyntaxError(
            f"{what()} has a user name", f"write the domain only: {bare(text.split('@')[-1])}"
        )
    if text == "*" or text == "*.":
        raise DomainSyntaxError("'*' would allow every domain", "list the domains the agent needs")
    port: int | None = None
    hostpart = text
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise DomainSyntaxError(
                f"{shown(raw)}: unclosed '['", "write an IPv6 address as [2001:db8::1]"
            )
        hostpart, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise DomainSyntaxError(
                    f"{shown(raw)}: junk after ']'", "write [ADDRESS] or [ADDRESS]:PORT"
                )
            port = _port(raw, rest[1:])
        ip = _ip(hostpart)
        if ip is None:
            raise DomainSyntaxError(f"{shown(raw)} is not an IP address", "write [2001:db8::1]")
        return DomainPattern(host=ip, wildcard=False, port=port, is_ip=True)
    ip = _ip(text)
    if ip is not None:  # a bare IPv6 literal has colons but no port
        return DomainPattern(host=ip, wildcard=False, port=None, is_ip=True)
    if ":" in text:
        hostpart, _, portpart = text.rpartition(":")
        port = _port(raw, portpart)
    ip = _ip(hostpart)
    if ip is not None:
        return DomainPattern(host=ip, wildcard=False, port=port, is_ip=True)
    wildcard = hostpart.startswith("*.")
    name = hostpart[2:] if wildcard else hostpart
    if "*" in name:
        raise DomainSyntaxError(
            f"{shown(raw)}: a wildcard may only be the whole first label",
            "write *.example.com (every host below example.com) or the exact host",
        )
    host = _idna(name)
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_label_ok(x) for x in labels):
        raise DomainSyntaxError(
            f"{shown(raw)} is not a valid domain name",
            "use letters, digits and hyphens, with dots between labels",
        )
    if wildcard and all(x.isdigit() for x in labels):
        raise DomainSyntaxError(
            f"{shown(raw)}: wildcards do not apply to IP addresses", "list each address exactly"
        )
    if len(labels) == 1:
        if wildcard:
            raise DomainSyntaxError(
                f"{shown(raw)} would allow every domain under {bare('.' + host)}",
                "list the domains the agent needs",
            )
        raise DomainSyntaxError(
            f"{shown(raw)} is a bare top-level domain or a single-label host",
            "list full domain names (example.com); private hosts go in network.allow_private",
        )
    if wildcard and len(labels) == 2 and labels[0] in _REGISTRY_SLDS and len(labels[1]) == 2:
        raise DomainSyntaxError(
            f"{shown(raw)} would allow every domain registered under {bare('.' + host)}",
            "list the domains the agent needs",
        )
    if wildcard and host in MULTI_TENANT_SUFFIXES:
        raise DomainSyntaxError(
            f"{shown(raw)}: anyone can publish a host under {shown(host)}, so this would let "
            "the agent "
            "reach servers an attacker controls",
            f"list the exact hosts (e.g. myproject.{host})",
        )
    return DomainPattern(host=host, wildcard=wildcard, port=port)


def _port(raw: str, text: str) -> int:
    if not text.isdigit():
        # Not echoed: "user:password" without an @ parses as host:port.
        raise DomainSyntaxError(
            "the part after ':' is not a port number", "a port is a number from 1 to 65535"
        )
    if not 0 < int(text) < 65536:
        raise DomainSyntaxError(
            f"{shown(raw)}: bad port {text}", "a port is a number from 1 to 65535"
        )
    return int(text)


def parse_private(raw: str) -> str:
    """Normalise one ``network.allow_private`` entry: CIDR, IP or host name."""
    text = raw.strip()
    if "@" in text:
        # Never echo a user:password@ part back (it may be a real credential).
        raise DomainSyntaxError(
            "this entry has a user name or password",
            "write the host, IP or CIDR only; credentials never belong in the policy",
        )
    if "/" in text and "://" not in text:
        import ipaddress

        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            try:
                fixed = ipaddress.ip_network(text, strict=False)
            except ValueError:
                # ipaddress quotes the whole entry in its message: not echoed.
                raise DomainSyntaxError(
                    f"{shown(raw)} is not a CIDR range", "write ADDRESS/PREFIX, e.g. 10.0.0.0/8"
                ) from exc
            raise DomainSyntaxError(
                f"{shown(raw)} has host bits set", f"did you mean {fixed}?"
            ) from exc
        if net.prefixlen == 0:
            raise DomainSyntaxError(
                f"{shown(raw)} would allow every address", "list the private ranges the agent needs"
            )
        return str(net)
    ip = _ip(text.strip("[]"))
    if ip is not None:
        return ip
    host = None if any(c in text for c in "*:/") else normalise_host(text)
    if host is None:
        what = "this entry" if ":" in text else shown(raw)  # maybe user:password
        raise DomainSyntaxError(
            f"{what}: allow_private takes a CIDR, an IP or an exact host name",
            "write e.g. 10.0.0.0/8, 192.168.1.20, localhost or git.corp.example",
        )
    return host


def private_covers(strong: str, weak: str) -> bool:
    """True when the private entry ``strong`` allows all that ``weak`` does."""
    if strong == weak:
        return True
    import ipaddress

    try:
        s = ipaddress.ip_network(strong)
        w = ipaddress.ip_network(weak)
    except ValueError:
        return False
    return s.version == w.version and w.subnet_of(s)  # type: ignore[arg-type]


def host_allowed(patterns: tuple[DomainPattern, ...], host: str, port: int | None = None) -> bool:
    """Is ``host`` (name or IP literal) matched by ``patterns`` for ``port``?
    The one ``network.allow`` rule: the policy model and the sandbox's cached
    view both ask here."""
    norm = normalise_host(host)
    if norm is None:
        return False
    return any(p.matches(norm, port) for p in patterns)


def private_allowed(entries: tuple[str, ...], host: str) -> bool:
    """Is ``host`` (an IP, or a name) listed in ``entries`` (``allow_private``:
    names, addresses and networks)?"""
    norm = normalise_host(host)
    if norm is None or not entries:
        return False
    if not _ip_shaped(norm):
        return norm in entries
    if ":" not in norm:  # IPv4, compared without importing ipaddress
        from stockade.netaddr import ipv4_network, parse

        got = parse(norm)
        if got is None:
            return norm in entries
        return any(net is not None and net[0] <= got[1] <= net[1]
                   for net in map(ipv4_network, entries))
    import ipaddress

    try:
        ip = ipaddress.ip_address(norm)
    except ValueError:
        return norm in entries
    for entry in entries:
        try:
            if ip in ipaddress.ip_network(entry):
                return True
        except ValueError:
            continue
    return False
