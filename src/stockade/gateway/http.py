"""A small HTTP/1.1 server side over asyncio streams: keep-alive, chunked
bodies both ways, ``Expect: 100-continue``, size limits.

Only what model-API clients use.  Every parse failure is an
:class:`HTTPError` carrying the status to answer with.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

# RFC 9110 5.1 / 5.5: a field name is a token; a value never holds CR, LF or NUL
# (a bare LF or CR would end the line for some upstream parsers and let the client
# add headers, or a whole request, on a pooled upstream connection).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
# A request target is visible ASCII: no space, tab or other control character.
_TARGET = re.compile(r"[\x21-\x7e]+")

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection",
})
REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 411: "Length Required", 413: "Payload Too Large",
    429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported", 529: "Overloaded",
}


class HTTPError(Exception):
    def __init__(self, status: int, message: str, *, close: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


@dataclass(slots=True)
class Request:
    method: str
    target: str
    path: str
    query: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def keep_alive(self) -> bool:
        conn = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


async def read_head(reader: asyncio.StreamReader, *, max_bytes: int) -> bytes | None:
    """The request line and headers, or None at a clean end of connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HTTPError(400, "connection closed in the middle of the request headers") from None
    except asyncio.LimitOverrunError:
        raise HTTPError(431, f"request headers larger than {max_bytes} bytes") from None
    if len(head) > max_bytes:
        raise HTTPError(431, f"request headers larger than {max_bytes} bytes")
    return head


def parse_head(head: bytes) -> Request:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
        raise HTTPError(400, "undecodable request head") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HTTPError(400, "malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method) or version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HTTPError(400, "malformed request line")
    if not _TARGET.fullmatch(target) or not target.startswith("/"):
        raise HTTPError(400, "the request target must be a path of visible ASCII characters")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            raise HTTPError(400, "malformed header line: the field name is not a token")
        if _BAD_VALUE.search(value):
            raise HTTPError(400, "malformed header line: CR, LF or NUL in a field value")
        headers.append((name, value.strip(" \t")))
    for framing in ("content-length", "transfer-encoding"):
        values = {v for k, v in headers if k.lower() == framing}
        if len(values) > 1:
            raise HTTPError(400, f"conflicting {framing} headers")
    path, _, query = target.partition("?")
    return Request(method=method.upper(), target=target, path=path, query=query,
                   version=version, headers=headers)


async def read_body(req: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    *, max_bytes: int) -> bytes:
    te = (req.header("transfer-encoding") or "").lower()
    cl = req.header("content-length")
    if te and te != "identity":
        if "chunked" not in te:
            raise HTTPError(501, f"transfer-encoding {te!r} is not supported")
        if cl is not None:
            raise HTTPError(400, "both content-length and transfer-encoding")
        await _continue(req, writer)
        return await _read_chunked(reader, max_bytes=max_bytes)
    if cl is None:
        return b""
    try:
        n = int(cl)
        if n < 0:
            raise ValueError
    except ValueError:
        raise HTTPError(400, "invalid content-length") from None
    if n > max_bytes:
        raise HTTPError(413, f"request body of {n} bytes is over the gateway's limit of "
                             f"{max_bytes} bytes")
    await _continue(req, writer)
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError:
        raise HTTPError(400, "connection closed before the whole body arrived") from None


async def _continue(req: Request, writer: asyncio.StreamWriter) -> None:
    if (req.header("expect") or "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()


async def _read_chunked(reader: asyncio.StreamReader, *, max_bytes: int) -> bytes:
    out = bytearray()
    try:
        while True:
            line = await reader.readuntil(b"\r\n")
            size_s = line.split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise HTTPError(400, "malformed chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers: ignored
                return bytes(out)
            if len(out) + size > max_bytes:
                raise HTTPError(413, f"request body is over the gateway's limit of "
                                     f"{max_bytes} bytes")
            out += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise HTTPError(400, "malformed chunk terminator")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        raise HTTPError(400, "connection closed in a chunked body") from None


def response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def full_response(status: int, body: bytes, *, content_type: str = "application/json",
                  extra: list[tuple[str, str]] | None = None, keep_alive: bool = True,
                  head_only: bool = False) -> bytes:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    headers += extra or []
    headers.append(("Connection", "keep-alive" if keep_alive else "close"))
    return response_head(status, headers) + (b"" if head_only else body)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


LAST_CHUNK = b"0\r\n\r\n"
