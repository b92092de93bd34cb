"""The upstream HTTP/1.1 client: pooled keep-alive connections, TLS via
:mod:`ssl`, bodies streamed back chunk by chunk as they arrive.

Failures become :class:`UpstreamError` with a kind (``connect``, ``timeout``,
``protocol``) the gateway turns into a 502/504 in the client's API shape.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from stockade.gateway.config import Limits

_Key = tuple[str, str, int]


class UpstreamError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


@dataclass
class UpstreamResponse:
    status: int
    headers: list[tuple[str, str]]
    _conn: _Conn
    _pool: Pool
    _key: _Key
    _limits: Limits
    _mode: str  # "length", "chunked", "close", "empty"
    _remaining: int = 0
    _reusable: bool = True
    _done: bool = field(default=False)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, piece by piece, as the upstream sends it."""
        r = self._conn.reader
        idle = self._limits.idle_timeout_s
        try:
            if self._mode == "length":
                while self._remaining > 0:
                    data = await _timed(r.read(min(self._remaining, 65536)), idle)
                    if not data:
                        raise UpstreamError("protocol", "upstream closed the connection early")
                    self._remaining -= len(data)
                    yield data
            elif self._mode == "chunked":
                while True:
                    line = await _timed(r.readuntil(b"\r\n"), idle)
                    size = int(line.split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while (await _timed(r.readuntil(b"\r\n"), idle)) != b"\r\n":
                            pass
                        break
                    data = await _timed(r.readexactly(size + 2), idle)
                    yield data[:-2]
            elif self._mode == "close":
                self._reusable = False
                while True:
                    data = await _timed(r.read(65536), idle)
                    if not data:
                        break
                    yield data
            self._done = True
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            self._reusable = False
            raise UpstreamError("protocol", f"upstream response broke off: "
                                            f"{type(exc).__name__}") from None
        finally:
            self.close()

    async def read_all(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

    def close(self) -> None:
        if self._done and self._reusable:
            self._pool.release(self._key, self._conn)
        else:
            self._conn.writer.close()
        self._reusable = False
        self._done = False


async def _timed(aw, timeout: float):  # type: ignore[no-untyped-def]
    # asyncio.timeout, not wait_for: wait_for (3.11) wraps every read in a new task
    try:
        async with asyncio.timeout(timeout):
            return await aw
    except TimeoutError:
        raise UpstreamError("timeout", f"upstream sent nothing for {timeout:g} s") from None


class Pool:
    """Idle keep-alive connections per (scheme, host, port)."""

    def __init__(self, *, max_idle: int = 64) -> None:
        self._idle: dict[_Key, list[_Conn]] = {}
        self._max = max_idle
        self._ssl: ssl.SSLContext | None = None

    def _ctx(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def connect(self, key: _Key, limits: Limits) -> tuple[_Conn, bool]:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                return conn, True
            conn.writer.close()
        scheme, host, port = key
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self._ctx() if scheme == "https" else None,
                                        server_hostname=host if scheme == "https" else None,
                                        limit=1 << 20),
                limits.connect_timeout_s)
        except asyncio.TimeoutError:
            raise UpstreamError("timeout", f"could not connect to {host}:{port} within "
                                           f"{limits.connect_timeout_s:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamError("connect", f"could not connect to {host}:{port}: "
                                           f"{exc.strerror or type(exc).__name__}") from None
        return _Conn(reader, writer), False

    def release(self, key: _Key, conn: _Conn) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self._max:
            idle.append(conn)
        else:
            conn.writer.close()

    def close(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.writer.close()
        self._idle.clear()


async def request(
    pool: Pool,
    *,
    scheme: str,
    host: str,
    port: int,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    limits: Limits,
) -> UpstreamResponse:
    """Send one request; return once the status line and headers arrived."""
    key = (scheme, host, port)
    default_port = 443 if scheme == "https" else 80
    host_hdr = host if port == default_port else f"{host}:{port}"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host_hdr}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    for attempt in (0, 1):
        conn, reused = await pool.connect(key, limits)
        try:
            conn.writer.write(data)
            await conn.writer.drain()
            head = await _timed(conn.reader.readuntil(b"\r\n\r\n"), limits.first_byte_timeout_s)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            conn.writer.close()
            if reused and attempt == 0:
                continue  # the idle connection had been closed by the upstream; retry fresh
            raise UpstreamError("connect", f"upstream {host}:{port} closed the connection: "
                                           f"{type(exc).__name__}") from None
        except BaseException:
            conn.writer.close()
            raise
        break
    return _parse_response(head, conn, pool, key, limits, method)


def _parse_response(head: bytes, conn: _Conn, pool: Pool, key: _Key, limits: Limits,
                    method: str) -> UpstreamResponse:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        conn.writer.close()
        raise UpstreamError("protocol", "upstream sent a malformed status line") from None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
    lower = {k.lower(): v for k, v in headers}
    reusable = "close" not in lower.get("connection", "").lower()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        mode, remaining = "empty", 0
    elif "chunked" in lower.get("transfer-encoding", "").lower():
        mode, remaining = "chunked", 0
    elif "content-length" in lower:
        mode, remaining = "length", int(lower["content-length"])
    else:
        mode, remaining = "close", 0
    resp = UpstreamResponse(status=status, headers=headers, _conn=conn, _pool=pool, _key=key,
                            _limits=limits, _mode=mode, _remaining=remaining,
                            _reusable=reusable)
    if mode == "empty":
        resp._done = True
    return resp
