"""Host names as the egress proxy sees them: one canonical form, and what it
says about the destination.  Pure; shared by the launcher and ``stockade
report``.

* :func:`canonical_host`: the only way a name from the agent becomes a host
  the sandbox decides on.  Lowercase, no trailing dot, IDNA (``ªpi.ºpenªi.com``
  *is* ``api.openai.com`` once a resolver sees it) and IPv4 in dotted-quad form
  (``2130706433`` and ``0x7f.1`` *are* ``127.0.0.1`` to ``getaddrinfo``).  The
  allow check, the model-host check, the ledger and the resolver all get this
  form, so they cannot disagree about which host is meant.
* :func:`is_model_host`: model APIs are reached through the gateway only.
* :func:`looks_like_encoded_data` / :func:`masked_host`: a name that carries
  data (DNS exfiltration) is refused before any lookup and never stored as is.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Sequence

# Model APIs: only ever reached through the gateway, never by CONNECT.
MODEL_HOSTS = frozenset({
    "api.anthropic.com", "api.openai.com", "generativelanguage.googleapis.com",
    "aiplatform.googleapis.com", "api.mistral.ai", "api.cohere.ai", "api.cohere.com",
    "api.groq.com", "api.together.xyz", "api.together.ai", "api.deepseek.com", "openrouter.ai",
    "api.x.ai", "api.fireworks.ai", "api.perplexity.ai", "api.replicate.com",
    "inference.huggingface.co", "router.huggingface.co", "api-inference.huggingface.co",
})
MODEL_SUFFIXES = (".openai.azure.com", ".services.ai.azure.com", "-aiplatform.googleapis.com")
LOCALHOST_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def canonical_host(raw: str) -> str | None:
    """The one comparable, ASCII form of a host name or IP literal, or None
    when the text is no valid host (the proxy then refuses the request)."""
    # imported here: the launcher needs this module before it starts the
    # sandbox, and only the proxy (after) asks for a canonical host.  _socket,
    # not socket: the same inet_aton without the socket module's enums (about
    # 5 ms of the agent's first connection).
    import _socket

    from stockade.config.domains import normalise_host

    host = normalise_host(raw)
    if host is None or not host.isascii():
        return None
    if ":" not in host and host[:1].isdigit():
        # getaddrinfo takes inet_aton's forms (decimal, octal, hex, short
        # dotted) as addresses: compare and record them as the address.
        try:
            return _socket.inet_ntoa(_socket.inet_aton(host))
        except OSError:
            pass
    return host


def is_ip(host: str) -> bool:
    from stockade.netaddr import parse

    return parse(host) is not None


def is_localhost(host: str) -> bool:
    """Names every resolver maps to loopback without asking DNS (RFC 6761)."""
    return host in LOCALHOST_NAMES or host.endswith(".localhost")


def is_model_host(host: str, extra: Sequence[str] = ()) -> bool:
    """Is ``host`` a model API?  ``extra``: more such hosts, in canonical form."""
    h = canonical_host(host) or host.lower().rstrip(".")
    return h in MODEL_HOSTS or h in extra or h.endswith(MODEL_SUFFIXES)


def looks_like_encoded_data(host: str) -> bool:
    """A host name that carries data rather than names a server: the proxy
    resolves allowed names, so ``<secret>.allowed-wildcard.example`` would
    leak the secret to DNS even though the connection is then refused."""
    labels = host.lower().rstrip(".").split(".")
    if len(host) > 120 or any(len(lab) > 50 for lab in labels):
        return True
    # a run of one character says nothing: collapsed, so that padding
    # (<secret>aaaaaaaa...) does not dilute the data it carries
    left = [_collapse_runs(lab) for lab in labels[:-2]]

    def dataish(text: str) -> bool:
        from stockade.sandbox.envscrub import shannon

        letters = sum(c.isalpha() for c in text)
        digits = sum(c.isdigit() for c in text)
        if not letters:
            return False
        if digits >= 0.15 * len(text):
            return shannon(text) >= 3.3
        # letters only, in one run (a letter encoding): the names of servers
        # that long are words joined by "-", and repeat their letters
        return not digits and letters == len(text) >= 24 and shannon(text) >= 3.7

    if any(len(lab) >= 20 and dataish(lab) for lab in left):
        return True
    joined = "".join(left)
    return len(joined) >= 20 and dataish(joined)


def _collapse_runs(text: str) -> str:
    out: list[str] = []
    for c in text:
        if not (len(out) >= 2 and out[-1] == c and out[-2] == c):
            out.append(c)
    return "".join(out)


def masked_host(host: str) -> str:
    """What the ledger keeps of a name that looks like encoded data: the
    domain it was sent under, and only the length of the rest."""
    labels = host.lower().rstrip(".").split(".")
    domain = ".".join(labels[-2:])
    if len(labels) < 3 or any(len(lab) > 40 for lab in labels[-2:]):
        return f"<{len(host)} chars>"
    return f"<{len(host) - len(domain) - 1} chars>.{domain}"


def shown_host(raw: str) -> str:
    """A name the agent chose, as it may go into a refusal text, the ledger or
    a terminal: canonical, masked when it looks like encoded data (a name
    can be the payload of an exfiltration), short and printable."""
    name = canonical_host(raw)
    if name is None:
        return "an invalid name"
    if looks_like_encoded_data(name):
        return masked_host(name)
    return name[:120]


__all__ = ["MODEL_HOSTS", "MODEL_SUFFIXES", "canonical_host", "is_ip", "is_localhost",
           "is_model_host", "looks_like_encoded_data", "masked_host", "shown_host"]
