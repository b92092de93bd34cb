"""What the user is told about refused destinations, outside the sandbox.

An HTTPS client sees only "CONNECT tunnel failed, response 403": the proxy's
explanation is in a body it never reads.  So the launcher collects one line
per refused destination and prints them on its own stderr when the session
ends (never mid-session: the agent shares that terminal, and a TUI would be
drawn over).  Pure: the launcher feeds it proxy events and prints the lines.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# net.deny reasons "slug: text" of the proxy's request checks (sandbox/proxy.py)
_CHECKED = frozenset({"host-mismatch", "request-smuggling", "chunked-body", "pipelined-request",
                      "not-tls", "bad-tls-hello", "sni-mismatch", "malformed-request"})
MAX_LINES = 20  # a session that probes hundreds of names gets a count, not a wall


def _shown(host: str) -> str:
    """The name as it may go to a terminal: printable ASCII only (the proxy
    parses names strictly, but an escape sequence must never reach a tty)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in ".-_:[]<>* ") else "?" for c in host)
    return safe[:120]


def reason_for(details: Mapping[str, object], *, kind: str, source: str,
               is_model: Callable[[str], bool]) -> tuple[str, str] | None:
    """(verb, why) for one proxy event, or None when it is no refusal or failure."""
    # here, not at the top: the launcher imports this module before the sandbox
    # starts, the relay only once the proxy runs
    from stockade.sandbox.pump import MAX_RELAYS, RELAY_CAP

    relay_cap_why = f"{MAX_RELAYS} connections were open through the proxy at once; close some " \
        "and retry"
    reason = str(details.get("reason") or "")
    host = str(details.get("host", "?"))
    if kind == "net.deny":
        if reason == "private-address":
            return ("refused", f"resolves to a private address {details.get('address', '?')}; "
                               "allow it with network.allow_private")
        if details.get("encoded_name"):
            return ("refused", "the name looks like encoded data (DNS exfiltration), so it "
                               "was not even looked up")
        if reason.startswith("proxy-error"):
            return ("refused", "the proxy could not handle the request")
        if reason == RELAY_CAP:
            return ("refused", relay_cap_why)
        slug, sep, text = reason.partition(": ")
        if sep and slug in _CHECKED:  # what the proxy's checks of a request found
            return ("refused", _shown(text))
        if reason == "not-allowed" and is_model(host):
            return ("refused", "a model API, reached only through the stockade gateway: "
                               "ANTHROPIC_BASE_URL / OPENAI_BASE_URL")
        return ("refused", f"not in network.allow of {source}")
    if kind == "net.connect" and reason:
        if reason == RELAY_CAP:
            return ("cut", relay_cap_why)
        if reason.startswith("pipelined-request"):
            return ("cut", ("only the first request of the connection was forwarded (one "
                            "request per connection)"))
        if reason == "name-not-resolved":
            return ("could not reach", "the name does not resolve: DNS lookup failed")
        if reason == "upstream-proxy-failed":
            return ("could not reach", "the upstream proxy (network.upstream_proxy) failed")
        if reason.startswith("connect-failed"):
            return ("could not reach", reason.replace("connect-failed: ", "connection failed: "))
    return None


class Refusals:
    """First reason per (host, port), in the order they happened."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], tuple[str, str]] = {}

    def add(self, host: str, port: int, verdict: tuple[str, str] | None) -> None:
        if verdict is not None:
            self.seen.setdefault((host, port), verdict)

    def lines(self, *, session: str) -> list[str]:
        out = []
        for (host, port), (verb, why) in list(self.seen.items())[:MAX_LINES]:
            out.append(f"stockade: {verb} {_shown(host)}:{port} ({why}); "
                       f"see `stockade report egress {session}`")
        if len(self.seen) > MAX_LINES:
            out.append(f"stockade: ... and {len(self.seen) - MAX_LINES} more destinations; "
                       f"see `stockade report egress {session}`")
        return out


__all__ = ["Refusals", "reason_for"]
