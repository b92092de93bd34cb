"""The server name a TLS ClientHello asks for: what a ``CONNECT`` tunnel must
start with before the egress proxy relays it.

The proxy checks the ``CONNECT`` host against the allowlist; without this,
the bytes inside the tunnel could name any other server behind the same
address (domain fronting on a shared CDN: ``CONNECT registry.npmjs.org``,
then a ClientHello for another customer of the CDN, or for a model API).

Pure and defensive: every length is checked against the bytes that are
there, and anything that is not one well-formed ClientHello is a refusal
(a string saying why), never an exception.  The hello may span several TLS
records and arrive in pieces: :func:`parse_client_hello` answers ``None``
while more bytes could still make it complete.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: first connection
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from stockade.lite import NamedTuple

# Real hellos are under 2 KiB (about 1.8 KiB with a post-quantum key share);
# a large session ticket adds a few.  The cap bounds what an agent can make
# the proxy hold before it decides.
MAX_HELLO = 16 * 1024
MAX_RECORDS = 16  # a hello cut into more records than this is no client's
MAX_RECORD = 1 << 14  # RFC 8446 5.1: a plaintext record carries at most 2^14 bytes
# Bytes after which a verdict is certain (every record non-empty, at most
# MAX_RECORDS of them): the proxy stops reading there.
MAX_RAW = 4 + MAX_HELLO + 5 * MAX_RECORDS

_HANDSHAKE = 22
_CLIENT_HELLO = 1
_EXT_SERVER_NAME = 0
_EXT_ECH = 0xFE0D  # encrypted_client_hello: the real server name is inside, encrypted
_NAME_HOST = 0


class ClientHello(NamedTuple):
    server_name: str | None  # the SNI host name as sent (ASCII), None when there is none
    ech: bool  # carries an encrypted_client_hello extension


class _Bad(Exception):
    pass


class _Reader:
    """Bounds-checked reads from one ClientHello body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n > self.left():
            raise _Bad(f"{what} runs past the end of the ClientHello")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def num(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big")

    def vec(self, size: int, what: str) -> bytes:
        """A vector with a ``size``-byte length prefix."""
        return self.take(self.num(size, what), what)


def parse_client_hello(data: bytes) -> ClientHello | str | None:
    """The ClientHello at the start of ``data`` (the tunnel's first bytes);
    a string: why it is not one; None: not complete yet."""
    if not data:
        return None
    if data[0] != _HANDSHAKE:
        return "the tunnel does not start with a TLS handshake"
    body = b""  # the handshake bytes of the records so far
    need: int | None = None  # the ClientHello message's size, header included
    pos = 0
    records = 0
    while True:
        if len(data) - pos < 5:
            if len(data) > pos and data[pos] != _HANDSHAKE:
                return "a TLS record other than the handshake came before the ClientHello ended"
            return None
        if data[pos] != _HANDSHAKE:
            return "a TLS record other than the handshake came before the ClientHello ended"
        if data[pos + 1] != 3 or data[pos + 2] > 4:
            return "not a TLS record version"
        size = int.from_bytes(data[pos + 3:pos + 5], "big")
        if not 0 < size <= MAX_RECORD:
            return "a TLS record of an invalid length"
        records += 1
        if records > MAX_RECORDS:
            return f"the ClientHello is cut into more than {MAX_RECORDS} records"
        before = len(body)
        body += data[pos + 5:pos + 5 + size]
        if need is None and len(body) >= 4:
            if body[0] != _CLIENT_HELLO:
                return "the first handshake message is not a ClientHello"
            need = 4 + int.from_bytes(body[1:4], "big")
            if need > 4 + MAX_HELLO:
                return f"the ClientHello is larger than {MAX_HELLO} bytes"
        if need is not None and before + size > need:
            # no client sends more handshake data before the server answers
            return "more handshake data follows the ClientHello in its record"
        if len(data) - pos - 5 < size:
            return None
        pos += 5 + size
        if need is not None and len(body) == need:
            try:
                return _hello(body[4:])
            except _Bad as exc:
                return f"malformed ClientHello: {exc}"


def _hello(msg: bytes) -> ClientHello:
    r = _Reader(msg)
    if r.take(2, "the version")[0] != 3:
        raise _Bad("not a TLS version")
    r.take(32, "the random")
    if len(r.vec(1, "the session id")) > 32:
        raise _Bad("a session id longer than 32 bytes")
    suites = r.vec(2, "the cipher suites")
    if not suites or len(suites) % 2:
        raise _Bad("an invalid cipher suite list")
    if not r.vec(1, "the compression methods"):
        raise _Bad("no compression method")
    if not r.left():
        return ClientHello(None, ech=False)  # no extensions at all (old clients)
    exts = _Reader(r.vec(2, "the extensions"))
    if r.left():
        raise _Bad("bytes after the extensions")
    seen: set[int] = set()
    name: str | None = None
    while exts.left():
        kind = exts.num(2, "an extension type")
        data = exts.vec(2, "an extension")
        if kind in seen:
            raise _Bad(f"extension {kind} twice")  # RFC 8446 4.2
        seen.add(kind)
        if kind == _EXT_SERVER_NAME:
            name = _server_name(data)
    return ClientHello(name, ech=_EXT_ECH in seen)


def _server_name(data: bytes) -> str:
    r = _Reader(data)
    names = _Reader(r.vec(2, "the server name list"))
    if r.left():
        raise _Bad("bytes after the server name list")
    found: list[bytes] = []
    while names.left():
        if names.num(1, "a server name type") != _NAME_HOST:
            raise _Bad("a server name of an unknown type")
        found.append(names.vec(2, "a server name"))
    if len(found) != 1:
        # RFC 6066 3: one name per type; which one a server picks is its choice
        raise _Bad("no server name in the list" if not found else "several server names")
    raw = found[0]
    if not raw or not all(0x21 <= b < 0x7F for b in raw):
        raise _Bad("a server name that is not a printable ASCII host name")
    return raw.decode("ascii")


def server_name_problem(hello: ClientHello, host: str) -> tuple[str, str] | None:
    """(reason, text) when ``hello`` does not ask for ``host`` (a canonical
    ``CONNECT`` host), else None.  No server name is accepted only for an IP
    literal (clients send none for an address)."""
    from stockade.sandbox.hosts import canonical_host, is_ip, shown_host

    # ECH: the outer name is checked like any other.  Chrome sends a decoy
    # ECH extension in every hello (GREASE) with the real name outside; a
    # real ECH's inner name reaches only the address the allowed outer name
    # resolved to, as a Host header inside TLS would (docs/sandbox.md)
    if hello.server_name is None:
        if is_ip(host):
            return None
        return "sni-mismatch", (f"the TLS ClientHello names no server (SNI); CONNECT host "
                                f"{shown_host(host)} must be named")
    if canonical_host(hello.server_name) != host:
        return "sni-mismatch", (f"TLS server name {shown_host(hello.server_name)} does not match "
                                f"CONNECT host {shown_host(host)}")
    return None


__all__ = ["MAX_HELLO", "MAX_RAW", "ClientHello", "parse_client_hello", "server_name_problem"]
