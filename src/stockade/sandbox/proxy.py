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

MAX_HEAD = 64 * 1024
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 15.0
_HOP_HEADERS = frozenset({
    b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive", b"te",
    b"trailer", b"upgrade",
})


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


class Request(NamedTuple):
    method: str
    host: str
    port: int
    head: bytes  # what to send upstream (rewritten for plain HTTP; empty for CONNECT)


def parse_request(head: bytes) -> Request | str:
    """A proxy request head (up to and including the blank line), or an error text."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
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
    out = [b"%s %s %s" % (parts[0], path.encode("latin-1"), parts[2])]
    for line in lines[1:]:
        if not line:
            continue
        name = line.split(b":", 1)[0].strip().lower()
        if name not in _HOP_HEADERS:
            out.append(line)
    out.append(b"Connection: close")
    return Request(method, hp[0], hp[1], b"\r\n".join(out) + b"\r\n\r\n")


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
        slot = False  # a relay slot held for this connection, not yet handed to pump
        try:
            got = _read_head(conn)
            if got is None:
                _reply(conn, "400 Bad Request", "stockade: incomplete proxy request")
                return
            head, rest = got
            parsed = parse_request(head)
            if isinstance(parsed, str):
                _reply(conn, "400 Bad Request", f"stockade: {parsed}")
                return
            req = parsed
            if not self._allowed(req.host, req.port):
                text = self._explain(req.host, req.port)
                self._emit(EgressEvent("net.deny", req.host, req.port, req.method,
                                       reason="not-allowed"))
                _reply(conn, "403 Forbidden", text)
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
            self._emit(EgressEvent("net.open", req.host, req.port, req.method, address=address))
            if req.method == "CONNECT":
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            first = req.head + rest
            opened = req

            def done(n_up: int, n_down: int, cut: str | None) -> None:
                self._emit(EgressEvent(
                    "net.connect", opened.host, opened.port, opened.method, reason=cut,
                    address=address, bytes_up=n_up, bytes_down=n_down,
                    duration_ms=int((time.monotonic() - start) * 1000)))

            conn.settimeout(None)
            up.settimeout(None)
            slot = False  # pump gives it back
            pump(conn, up, done=done, first_a_to_b=first, reserved=True)
        except OSError:
            pass
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
