"""The translation seam between the client's protocol and the upstream's.

The pipeline asks :func:`translator_for` once the route is chosen.  Within a
protocol family (Anthropic -> Anthropic; OpenAI chat/responses -> an OpenAI
upstream, which serves both at the same base) the request and response pass
through unchanged.  Cross-family translation (Anthropic Messages <-> Chat
Completions, Responses <-> Chat Completions) plugs in here: a translator
rewrites the request path and body, the non-streamed response body, and
supplies a stream rewriter; until it exists, such a route is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol as TypingProtocol

from stockade.gateway.config import Upstream
from stockade.wire.exchange import Protocol
from stockade.wire.sse import SSEEvent


class Translator(TypingProtocol):
    @property
    def upstream_protocol(self) -> str: ...

    def request(self, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...
    def response_body(self, body: Any) -> Any: ...
    def stream_event(self, ev: SSEEvent) -> list[SSEEvent]: ...


@dataclass(frozen=True, slots=True)
class Identity:
    upstream_protocol: str

    def request(self, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return path, body

    def response_body(self, body: Any) -> Any:
        return body

    def stream_event(self, ev: SSEEvent) -> list[SSEEvent]:
        return [ev]


def translator_for(client: Protocol, upstream: Upstream) -> Translator | None:
    """None when no translator exists: the caller must refuse the route."""
    client_family = "anthropic" if client == "anthropic" else "openai"
    if client_family == upstream.family:
        return Identity(upstream.protocol)
    return None
