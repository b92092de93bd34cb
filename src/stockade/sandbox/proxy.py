"""The egress proxy: the sandbox's only way to the network.

It speaks HTTP forward proxying (absolute-URI requests) and ``CONNECT``, and
knows nothing of policy.  It is handed callbacks:

* ``allow(host, port) -> bool``: asked *before any name lookup*; no callback,
  ``False`` or an exception means the request is refused;
* ``explain(host, port) -> str``: the text the agent reads when refused;
* ``private_ok(host, ip) -> bool``: whether a loopback / private /
  link-local / reserved address may be reached (default: never);
* ``on_event(EgressEvent)``: every refusal at once, every connection when it
  opens and again when it closes, with the bytes sent each way.

Every host is in one canonical ASCII form (:func:`stockade.sandbox.hosts.canonical_host`)
before any callback sees it or any resolver is asked; a name without one is
refused as a bad request.

The proxy resolves names itself and connects to the address it checked, so a
name that resolves to an internal address (DNS rebinding, a hosts entry) is
refused like the address itself.  With ``upstream`` (a corporate proxy taken
from the policy, never from the environment) it tunnels every allowed request
through that proxy with ``CONNECT`` instead; IP literals are then checked as
resolved addresses are, and loopback names are refused.

What goes upstream is what was checked.  A plain HTTP request goes with the
URL's host as its Host (another one is refused: domain fronting), alone,
with exactly the body its Content-Length states (nothing after it is
forwarded; heads two parsers could read differently are refused).  A
``CONNECT`` tunnel is relayed once it starts with a TLS ClientHello naming
the ``CONNECT`` host (:mod:`stockade.sandbox.tlshello`); that check is made
once per tunnel, the relay after it is the same byte pump.

One thread per connection (see :mod:`stockade.sandbox.pump` for why).
"""

from __future__ import annotations

import _socket
import _thread
import os
import time

# This module is imported while the agent's first connection may wait:
# typing alone would be ~4 ms of it (see stockade.lite); ipaddress,
# threading and contextlib (with functools and collections under them)
# another ~6 ms, so addresses are judged by stockade.netaddr and
# threads are _thread's.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NamedTuple

    from _typeshed import WriteableBuffer

    Resolver = Callable[[str, int], list[str]]
else:
    from stockade.lite import NamedTuple

from stockade.netaddr import is_loopback, is_public
from stockade.sandbox.hosts import canonical_host, is_ip, is_localhost
from stockade.sandbox.pump import (
    MAX_RELAYS,
    RELAY_CAP,
    dial,
    pump,
    release_relay,
    reserve_relay,
)
from stockade.sandbox.threads import background
from stockade.sandbox.tlshello import (
    MAX_RAW,
    ClientHello,
    parse_client_hello,
    server_name_problem,
)

MAX_HEAD = 64 * 1024
HEAD_TIMEOUT = 30.0
HELLO_TIMEOUT = 10.0  # a TLS client sends its hello at once; a server-first protocol never does
# fatal TLS alerts, so a refused TLS client says why in its own words
_ALERT_UNRECOGNIZED_NAME = b"\x15\x03\x03\x00\x02\x02\x70"
_ALERT_DECODE_ERROR = b"\x15\x03\x03\x00\x02\x02\x32"
CONNECT_TIMEOUT = 15.0
_HOP_HEADERS = frozenset({
    b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive", b"te",
    b"trailer", b"upgrade",
})
_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


# NamedTuples, not dataclasses: the proxy is built on the agent's first
# connection, and that connection should not wait for dataclass machinery.
class EgressEvent(NamedTuple):
    """One connection or refusal.  ``kind``: ``net.open`` (a connection is
    established: handed to ``on_event`` before any byte moves, so a session
    cut short still shows it), ``net.connect`` (it closed, or failed to open)
    or ``net.deny``."""

    kind: str
    host: str
    port: int
    method: str
    reason: str | None = None  # why refused, or an upstream error
    address: str | None = None  # the IP actually connected to
    bytes_up: int = 0  # agent -> destination
    bytes_down: int = 0  # destination -> agent
    duration_ms: int = 0

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"host": self.host, "port": self.port, "method": self.method}
        for k in ("reason", "address"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.kind == "net.connect":
            d.update(bytes_up=self.bytes_up, bytes_down=self.bytes_down,
                     duration_ms=self.duration_ms)
        return d


def system_resolve(host: str, port: int) -> list[str]:
    # A canonical host is ASCII: as bytes, getaddrinfo skips the IDNA codec
    # (and its import on the agent's first connection).
    name: str | bytes = host.encode("ascii") if host.isascii() else host
    infos = _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM)
    out: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        if ip not in out:
            out.append(ip)
    return out


def split_hostport(text: str, default_port: int) -> tuple[str, int] | None:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[: end + 1], text[end + 1:]
        port_s = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_s = text.split(":")
    else:
        host, port_s = text, ""
    try:
        port = int(port_s) if port_s else default_port
    except ValueError:
        return None
    norm = canonical_host(host)
    if norm is None or not 0 < port < 65536:
        return None
    return norm, port


class Refusal(NamedTuple):
    """A request the proxy answers itself, and records: ``reason`` goes to the
    ledger (``slug: text``), ``text`` to the agent."""

    status: str
    reason: str
    text: str


class Request(NamedTuple):
    method: str
    host: str
    port: int
    head: bytes  # what to send upstream (rewritten for plain HTTP; empty for CONNECT)
    body: int = 0  # plain HTTP: the Content-Length bytes forwarded after the head, and no more
    refused: Refusal | None = None  # plain HTTP: a head that is not forwarded, and why


def _refusal(status: str, slug: str, text: str) -> Refusal:
    return Refusal(status, f"{slug}: {text}", f"stockade: {text}")


def _smuggling(what: str) -> Refusal:
    # a head that two HTTP parsers could read differently: the upstream one
    # might see a request (or a host) this one did not check
    return _refusal("400 Bad Request", "request-smuggling",
                    f"refusing a request with {what} (request smuggling)")


def _has_port(authority: str) -> bool:
    after = authority.rsplit("]", 1)[-1] if authority.startswith("[") else authority
    return after.count(":") == 1


def _plain_headers(lines: list[bytes], host: str, port: int) -> tuple[list[bytes], int] | Refusal:
    """The header lines to send upstream for a plain HTTP request to
    ``host:port`` (the URL's), and its body's length; or why it is refused.

    The Host sent is the URL's: a client's Host naming anything else is
    refused (domain fronting: another site behind the same CDN address).
    Only a body of a stated length is forwarded, so nothing the client sends
    after it can become a second request upstream."""
    out: list[bytes] = []
    hosts: list[bytes] = []
    lengths: list[bytes] = []
    encoded = False
    for line in lines:
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            return _smuggling("a folded header line")
        name, colon, value = line.partition(b":")
        if not colon or not name or not all(c in _TCHAR for c in name):
            return _smuggling("a malformed header line")
        lname = name.lower()
        value = value.strip(b" \t")
        if lname in _HOP_HEADERS:
            continue
        if lname == b"host":
            hosts.append(value)
            out.append(b"")  # where the Host line goes, written below
            continue
        if lname == b"content-length":
            lengths.append(value)
        elif lname == b"transfer-encoding":
            encoded = True
        out.append(line)
    if len(hosts) > 1:
        return _smuggling("several Host headers")
    if lengths and encoded:
        return _smuggling("both Content-Length and Transfer-Encoding")
    if len(lengths) > 1:
        return _smuggling("several Content-Length headers")
    if encoded:
        return _refusal("411 Length Required", "chunked-body",
                        "request bodies without a Content-Length (Transfer-Encoding) are not "
                        "forwarded over plain http://; send a Content-Length, or use https://")
    body = 0
    if lengths:
        if not lengths[0].isdigit() or len(lengths[0]) > 18:
            return _smuggling("an invalid Content-Length")
        body = int(lengths[0])
    shown = f"[{host}]" if ":" in host else host
    if hosts:
        text = hosts[0].decode("latin-1")
        # no port in Host is taken as the URL's: the port is where the
        # request goes, not which site it asks for
        if split_hostport(text, port) != (host, port):
            from stockade.sandbox.hosts import shown_host

            named = shown_host(text.rsplit(":", 1)[0] if _has_port(text) else text)
            return _refusal("403 Forbidden", "host-mismatch",
                            f"the Host header names {named} but the URL names {host}; they "
                            "must be the same site")
        if _has_port(text):
            shown = f"{shown}:{port}"
        out[out.index(b"")] = b"Host: " + shown.encode("ascii")
    else:
        if port != 80:
            shown = f"{shown}:{port}"
        out.insert(0, b"Host: " + shown.encode("ascii"))
    return out, body


def parse_request(head: bytes) -> Request | str:
    """A proxy request head (up to and including the blank line), or an error
    text.  A plain HTTP request the proxy will not forward comes back with
    ``refused`` set (its host is known, so the refusal is recorded)."""
    lines = head.split(b"\r\n")
    if any(b"\r" in line or b"\n" in line or b"\0" in line for line in lines):
        # a bare LF ends a line for some servers: a header this parser never saw
        return "a bare CR, LF or NUL in the request head"
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1"):
        return "malformed request line"
    method = parts[0].decode("latin-1").upper()
    target = parts[1].decode("latin-1")
    if method == "CONNECT":
        hp = split_hostport(target, 443)
        if hp is None:
            return "bad CONNECT target"
        return Request(method, hp[0], hp[1], b"")
    if not target.lower().startswith("http://"):
        return "only absolute http:// URIs and CONNECT are proxied"
    rest = target[7:]
    slash = rest.find("/")
    authority, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    if "@" in authority:
        return "credentials in the proxy URL are not forwarded"
    hp = split_hostport(authority, 80)
    if hp is None:
        return "bad host in URL"
    checked = _plain_headers(lines[1:], hp[0], hp[1])
    if isinstance(checked, Refusal):
        return Request(method, hp[0], hp[1], b"", refused=checked)
    headers, body = checked
    out = [b"%s %s %s" % (parts[0], path.encode("latin-1"), parts[2]), *headers,
           b"Connection: close"]
    return Request(method, hp[0], hp[1], b"\r\n".join(out) + b"\r\n\r\n", body=body)


def _read_head(conn: _socket.socket) -> tuple[bytes, bytes] | None:
    conn.settimeout(HEAD_TIMEOUT)
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            return None
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _read_hello(conn: _socket.socket, data: bytes) -> tuple[bytes, ClientHello | str | None]:
    """Read from a tunnel just opened until its first bytes are a whole
    ClientHello or certainly not one: (what was read, the hello or why not);
    None when the client closed it without a byte."""
    deadline = time.monotonic() + HELLO_TIMEOUT
    while (hello := parse_client_hello(data)) is None:
        if len(data) > MAX_RAW:  # parse_client_hello decides before this
            return data, "no complete TLS ClientHello in its size limit"
        left = deadline - time.monotonic()
        if left <= 0:
            return data, (f"no TLS ClientHello within {HELLO_TIMEOUT:.0f} s (protocols where "
                          "the server speaks first are not tunnelled)")
        conn.settimeout(left)
        try:
            chunk = conn.recv(16384)
        except TimeoutError:
            continue
        if not chunk:
            return data, "the tunnel closed before the TLS ClientHello was complete" if data else None
        data += chunk
    return data, hello


# the closing net.connect's reason when bytes after a plain request were dropped
PIPELINED = ("pipelined-request: bytes after the request were not forwarded (one request per "
             "connection; the next one must open its own)")


class _OneRequest(_socket.socket):
    """The agent's side of a plain HTTP relay: reads give the request's body
    (``left`` bytes), then only the agent's close.  Whatever it sends after
    the body is read and dropped (``extra`` is told), never forwarded: a
    second request on the same connection would reach the server unchecked.
    No end is signalled upstream before the agent closes, as before: some
    servers drop a request whose client half-closes."""

    left = 0
    extra: Callable[[], None] | None = None

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        if self.left > 0:
            size = len(memoryview(buffer))
            n = super().recv_into(buffer, min(nbytes or size, self.left), flags)
            self.left -= n
            return n
        while True:
            if not super().recv_into(buffer, nbytes, flags):
                return 0
            if self.extra is not None:
                self.extra()


def _reply(conn: _socket.socket, status: str, text: str) -> None:
    body = (text + "\n").encode("utf-8", "replace")
    safe = text.replace("\r", " ").replace("\n", " ")[:300].encode("latin-1", "replace")
    try:
        conn.sendall(
            b"HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nX-Stockade: %s\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status.encode(), safe, len(body), body)
        )
    except OSError:
        pass


class ProxyConfig(NamedTuple):
    allow: Callable[[str, int], bool] | None = None
    explain: Callable[[str, int], str] | None = None
    private_ok: Callable[[str, str], bool] | None = None
    on_event: Callable[[EgressEvent], None] | None = None
    upstream: tuple[str, int] | None = None
    resolve: Resolver = system_resolve  # (host, port) -> addresses


class EgressProxy:
    """Serve on a listening socket in background threads until :meth:`close`."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.refuse_all: str | None = None  # set when recording broke: fail closed
        self._lock = _thread.allocate_lock()
        self._open: set[_socket.socket] = set()
        self._listeners: list[_socket.socket] = []
        self._closed = False
        self._busy = 0  # connections whose event is not out yet

    def busy(self) -> int:
        with self._lock:
            return self._busy

    # -- serving ---------------------------------------------------------
    def serve(self, listener: _socket.socket) -> None:
        self._listeners.append(listener)
        background(self._accept_loop, listener)

    def serve_unix(self, path: str) -> None:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        s.bind(path)
        os.chmod(path, 0o666)  # the sandbox may map our uid to another one
        s.listen(128)
        self.serve(s)

    def _accept_loop(self, listener: _socket.socket) -> None:
        while True:
            try:
                fd, _ = listener._accept()  # type: ignore[attr-defined]  # no stub
            except OSError:
                return
            conn = _socket.socket(fileno=fd)
            if self._closed:
                conn.close()
                return
            self.take(conn)

    def take(self, conn: _socket.socket) -> None:
        """Serve one accepted connection (from a listener this proxy does not
        own: the launcher accepts on the sandbox's own port)."""
        if self._closed:
            conn.close()
            return
        self._track(conn)
        with self._lock:
            self._busy += 1
        background(self._handle, conn)

    def close(self) -> None:
        """Stop accepting and cut every open connection (their events follow)."""
        self._closed = True
        for s in self._listeners:
            try:
                s.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self._lock:
            conns = list(self._open)
        for c in conns:
            try:
                c.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass

    def _track(self, s: _socket.socket) -> None:
        with self._lock:
            self._open.add(s)

    def _untrack(self, *socks: _socket.socket) -> None:
        with self._lock:
            for s in socks:
                self._open.discard(s)

    def _emit(self, ev: EgressEvent) -> None:
        if self.config.on_event is not None:
            # the recorder decides what a failure means
            try:
                self.config.on_event(ev)
            except Exception:  # noqa: BLE001, S110
                pass

    # -- one connection --------------------------------------------------
    def _allowed(self, host: str, port: int) -> bool:
        if self.refuse_all is not None or self.config.allow is None:
            return False
        try:
            return bool(self.config.allow(host, port))
        except Exception:  # noqa: BLE001 - a failing policy check refuses
            return False

    def _explain(self, host: str, port: int) -> str:
        if self.refuse_all is not None:
            return self.refuse_all
        if self.config.explain is not None:
            try:
                return self.config.explain(host, port)
            except Exception:  # noqa: BLE001, S110 - the default text below
                pass
        return f"stockade: {host} is not allowed"

    def _private_ok(self, host: str, ip: str) -> bool:
        if self.config.private_ok is None:
            return False
        try:
            return bool(self.config.private_ok(host, ip))
        except Exception:  # noqa: BLE001
            return False

    def _handle(self, conn: _socket.socket) -> None:
        up: _socket.socket | None = None
        req: Request | None = None
        address = ""
        announced = False  # net.open emitted
        dropped = [True]  # emptied when bytes after a plain request are dropped
        slot = False  # a relay slot held for this connection, not yet handed to pump
        try:
            got = _read_head(conn)
            if got is None:
                _reply(conn, "400 Bad Request", "stockade: incomplete proxy request")
                return
            head, rest = got
            parsed = parse_request(head)
            if isinstance(parsed, str):
                # no host to name, but refused all the same: recorded (fixed texts only)
                self._emit(EgressEvent("net.deny", "?", 0, "?",
                                       reason=f"malformed-request: {parsed}"))
                _reply(conn, "400 Bad Request", f"stockade: {parsed}")
                return
            req = parsed
            if not self._allowed(req.host, req.port):
                text = self._explain(req.host, req.port)
                self._emit(EgressEvent("net.deny", req.host, req.port, req.method,
                                       reason="not-allowed"))
                _reply(conn, "403 Forbidden", text)
                return
            if req.refused is not None:
                self._emit(EgressEvent("net.deny", req.host, req.port, req.method,
                                       reason=req.refused.reason))
                _reply(conn, req.refused.status, req.refused.text)
                return
            slot = reserve_relay()
            if not slot:
                # an agent with hundreds of connections open already: said,
                # recorded, and no upstream connection is opened for it
                self._emit(EgressEvent("net.deny", req.host, req.port, req.method,
                                       reason=RELAY_CAP))
                _reply(conn, "503 Service Unavailable",
                       f"stockade: {MAX_RELAYS} connections are open through the proxy "
                       "already; close some and retry")
                return
            start = time.monotonic()
            got_up = self._connect(req, conn)
            if got_up is None:
                return
            up, address = got_up
            self._track(up)
            client = conn
            if req.method == "CONNECT":
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                hello = self._client_hello(conn, req, rest, address, start)
                if hello is None:
                    return  # refused or closed, and recorded: nothing went upstream
                first = hello
            else:
                first = req.head + rest[:req.body]
                # the agent's side, read only for the body's remaining bytes
                # (its own thread reads and drops whatever follows)
                client = _OneRequest(fileno=os.dup(conn.fileno()))
                client.left = req.body - len(rest[:req.body])
                client.extra = dropped.clear  # noted on the closing net.connect
            self._emit(EgressEvent("net.open", req.host, req.port, req.method, address=address))
            announced = True
            if isinstance(client, _OneRequest) and len(rest) > req.body:
                dropped.clear()
            opened = req

            def done(n_up: int, n_down: int, cut: str | None) -> None:
                # the request went through; what the agent sent after it did not
                reason = cut or (None if dropped else PIPELINED)
                self._emit(EgressEvent(
                    "net.connect", opened.host, opened.port, opened.method, reason=reason,
                    address=address, bytes_up=n_up, bytes_down=n_down,
                    duration_ms=int((time.monotonic() - start) * 1000)))

            conn.settimeout(None)
            up.settimeout(None)
            slot = False  # pump gives it back
            pump(client, up, done=done, first_a_to_b=first, reserved=True)
        except OSError as exc:
            if up is not None and not announced and req is not None:
                # connected upstream, then the agent's side failed before the
                # relay (a reset during the TLS hello): nothing relayed, recorded
                self._emit(EgressEvent("net.connect", req.host, req.port, req.method,
                                       address=address,
                                       reason=f"closed-before-relay: {type(exc).__name__}"))
        except Exception as exc:  # noqa: BLE001 - one bad request must not kill the thread unseen
            # Fail closed and say so: refused (or cut), recorded, never silent.
            host, port, method = (req.host, req.port, req.method) if req else ("?", 0, "?")
            self._emit(EgressEvent("net.deny" if up is None else "net.connect", host, port, method,
                                   reason=f"proxy-error: {type(exc).__name__}"))
            if up is None:
                _reply(conn, "502 Bad Gateway", "stockade: the proxy could not handle this request")
        finally:
            if slot:
                release_relay()
            self._untrack(conn, *(() if up is None else (up,)))
            # every event of this connection is out: not busy any more, and
            # said so before the agent sees the connection close
            with self._lock:
                self._busy -= 1
            for sock in (conn, up):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    def _client_hello(self, conn: _socket.socket, req: Request, data: bytes, address: str,
                      start: float) -> bytes | None:
        """The tunnel's first bytes, once they are a ClientHello asking for
        the CONNECT host; else None, the refusal said and recorded (or the
        agent closed the tunnel without a byte)."""
        got, hello = _read_hello(conn, data)
        if hello is None:  # closed at once: nothing refused, nothing relayed
            self._emit(EgressEvent("net.connect", req.host, req.port, req.method,
                                   address=address,
                                   duration_ms=int((time.monotonic() - start) * 1000)))
            return None
        alert = _ALERT_DECODE_ERROR
        if isinstance(hello, ClientHello):
            problem = server_name_problem(hello, req.host)
            if problem is None:
                return got
            slug, text = problem
            alert = _ALERT_UNRECOGNIZED_NAME
        else:
            slug, text = "not-tls" if got[:1] != b"\x16" else "bad-tls-hello", hello
        self._emit(EgressEvent("net.deny", req.host, req.port, req.method, address=address,
                               reason=f"{slug}: {text}"))
        try:
            if got[:1] == b"\x16":
                conn.sendall(alert)  # what a TLS client can show: "unrecognized name"
            else:
                # plain text in a tunnel (or none): the client may well read HTTP back
                _reply(conn, "403 Forbidden", f"stockade: {text}; a CONNECT tunnel must start "
                       f"with TLS naming {req.host}")
        except OSError:
            pass
        return None

    def _refuse_address(self, req: Request, conn: _socket.socket, address: str,
                        why: str) -> None:
        self._emit(EgressEvent("net.deny", req.host, req.port, req.method,
                               reason="private-address", address=address))
        _reply(conn, "403 Forbidden", why)

    def _connect(self, req: Request,
                 conn: _socket.socket) -> tuple[_socket.socket, str] | None:
        if self.config.upstream is not None:
            return self._via_upstream(req, conn)
        try:
            ips = self.config.resolve(req.host, req.port)
        except OSError:
            self._emit(EgressEvent("net.connect", req.host, req.port, req.method,
                                   reason="name-not-resolved"))
            _reply(conn, "502 Bad Gateway", f"stockade: cannot resolve {req.host}")
            return None
        usable = [ip for ip in ips if is_public(ip) or self._private_ok(req.host, ip)]
        if not usable:
            shown = ips[0] if ips else "nothing"
            self._refuse_address(
                req, conn, shown,
                f"stockade: {req.host} resolves to {shown}, a loopback, private or link-local "
                "address; list it in network.allow_private to reach it")
            return None
        last: OSError | None = None
        for ip in usable:
            fam = _socket.AF_INET6 if ":" in ip else _socket.AF_INET
            s = _socket.socket(fam, _socket.SOCK_STREAM)
            s.settimeout(CONNECT_TIMEOUT)
            try:
                s.connect((ip, req.port))
                return s, ip
            except OSError as exc:
                last = exc
                s.close()
        reason = f"connect-failed: {last.strerror if last else 'unknown'}"
        self._emit(EgressEvent("net.connect", req.host, req.port, req.method, reason=reason,
                               address=usable[0]))
        _reply(conn, "502 Bad Gateway", f"stockade: cannot connect to {req.host}:{req.port}")
        return None

    def _via_upstream(self, req: Request,
                      conn: _socket.socket) -> tuple[_socket.socket, str] | None:
        assert self.config.upstream is not None
        # The upstream proxy resolves names itself, so only what the request
        # names can be checked here: an address must pass the same test as a
        # resolved one, and loopback there is the proxy's own host, never ours.
        if is_localhost(req.host):
            self._refuse_address(
                req, conn, req.host,
                f"stockade: {req.host} is a loopback name; it is not reached through the "
                "upstream proxy")
            return None
        if is_ip(req.host) and (is_loopback(req.host) or not (
                is_public(req.host) or self._private_ok(req.host, req.host))):
            self._refuse_address(
                req, conn, req.host,
                f"stockade: {req.host} is a loopback, private or link-local address; list it "
                "in network.allow_private to reach it through the upstream proxy")
            return None
        host, port = self.config.upstream
        target = f"[{req.host}]" if ":" in req.host else req.host
        try:
            s = dial(host, port, timeout=CONNECT_TIMEOUT)
            s.sendall(f"CONNECT {target}:{req.port} HTTP/1.1\r\nHost: {target}:{req.port}\r\n\r\n"
                      .encode())
            got = _read_head(s)
            if got is None or got[0].split(b" ", 2)[1:2] != [b"200"]:
                s.close()
                raise OSError("upstream proxy refused")
            if got[1]:
                s.close()
                raise OSError("upstream proxy sent data early")
        except OSError:
            self._emit(EgressEvent("net.connect", req.host, req.port, req.method,
                                   reason="upstream-proxy-failed"))
            _reply(conn, "502 Bad Gateway", f"stockade: the upstream proxy refused {req.host}")
            return None
        return s, f"via {host}:{port}"


__all__ = [
    "EgressEvent",
    "EgressProxy",
    "ProxyConfig",
    "is_public",
    "parse_request",
    "split_hostport",
    "system_resolve",
]
