"""The translation seam between the client's protocol and the upstream's.

The pipeline asks :func:`translator_for` once the route is chosen, and gets a
fresh translator per request (streams have state).  Within a protocol family
the request and response pass through unchanged (:class:`Identity`).  Across
families the pure functions of :mod:`stockade.translate` do the work:

* Anthropic Messages client -> an upstream speaking Chat Completions
  (``protocol: chat``): :class:`MessagesOverChat`;
* Responses client (Codex) -> an upstream speaking only Chat Completions:
  :class:`ResponsesOverChat`.

Which APIs an upstream serves: ``anthropic`` only Messages; ``responses`` both
OpenAI APIs (that is what OpenAI's own API does); ``chat`` only Chat
Completions (vLLM, Ollama, llama.cpp, SGLang), except the upstream named
``openai``, which is OpenAI's API and serves both.  An OpenAI client to an
Anthropic upstream has no translator: the route is refused (never forwarded
untranslated).

Order on the response side: upstream events -> :meth:`Translator.stream_event`
-> placeholder restoring on the client's protocol (:mod:`stockade.wire.stream`)
-> client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, ClassVar
from typing import Protocol as TypingProtocol

from stockade.gateway.config import Upstream
from stockade.translate import StreamOut, TranslationError
from stockade.translate.anthropic_chat import (
    chat_to_message,
    error_to_anthropic,
    estimate_tokens,
    messages_to_chat,
)
from stockade.translate.anthropic_stream import ChatToAnthropicStream
from stockade.translate.responses_chat import (
    chat_to_response,
    error_to_responses,
    responses_to_chat,
)
from stockade.translate.responses_stream import ChatToResponsesStream
from stockade.wire.exchange import Protocol
from stockade.wire.sse import SSEEvent, serialise_event

CHAT_PATH = "/v1/chat/completions"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"


class Translator(TypingProtocol):
    @property
    def upstream_protocol(self) -> str: ...

    @property
    def identity(self) -> bool: ...

    def request(self, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...
    def local_answer(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None: ...
    def response_body(self, status: int, body: Any) -> Any: ...
    def stream_event(self, ev: SSEEvent) -> list[SSEEvent]: ...
    def stream_end(self) -> list[SSEEvent]: ...

    @property
    def finished(self) -> bool:
        """The client's stream is complete (ended, or ended with an error): the rest
        of the upstream's stream would be read for nothing and may be dropped."""
        ...


@dataclass(frozen=True, slots=True)
class Identity:
    upstream_protocol: str
    identity: bool = True

    def request(self, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return path, body

    def local_answer(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def response_body(self, status: int, body: Any) -> Any:
        return body

    def stream_event(self, ev: SSEEvent) -> list[SSEEvent]:
        return [ev]

    def stream_end(self) -> list[SSEEvent]:
        return []

    @property
    def finished(self) -> bool:
        return False  # relayed verbatim: the upstream decides when it ends


_OUTPUT_TOKEN_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def cap_output_tokens(body: dict[str, Any], cap: int | None) -> dict[str, Any]:
    """``body`` with its output-token ask lowered to the upstream's ``max_tokens``
    (the same object when nothing changes).  A self-hosted server refuses a request
    whose ask does not fit its context; Claude Code asks for 32000 or more."""
    if cap is None:
        return body
    over = {k: cap for k in _OUTPUT_TOKEN_KEYS
            if isinstance(v := body.get(k), int) and not isinstance(v, bool) and v > cap}
    return {**body, **over} if over else body


def dump_translated(body: dict[str, Any]) -> bytes:
    """A translated request body as bytes.  ASCII-escaped: twice as fast as UTF-8
    output for a 90 KB request (the budget is 1 ms), identical JSON to any
    server, and a lone surrogate cannot make it fail."""
    return json.dumps(body, separators=(",", ":")).encode("ascii")


_NOT_JSON = "answered with something that is not a JSON object (an HTML page from a proxy?)"


def _is_error(body: Any) -> bool:
    # some servers put "error": null in every answer
    return isinstance(body, dict) and bool(body.get("error"))


def _events(outs: list[StreamOut]) -> list[SSEEvent]:
    res = []
    for name, obj in outs:
        data = json.dumps(obj, ensure_ascii=False)
        res.append(SSEEvent(event=name, data=data,
                            raw=serialise_event(data=data, event=name)))
    return res


@dataclass
class _OverChat:
    """A client protocol over a Chat Completions upstream; the subclasses name
    the four translations (request, answer, error, stream)."""

    upstream: str
    upstream_protocol: str = "chat"
    identity: bool = False
    _model: str = ""  # the model the client asked for: answers name it, not the mapped one
    _stream: Any = field(default=None, repr=False)

    _to_chat: ClassVar[Callable[..., dict[str, Any]]]
    _from_chat: ClassVar[Callable[..., Any]]
    _error: ClassVar[Callable[..., Any]]
    _stream_class: ClassVar[Callable[..., Any]]

    def request(self, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return CHAT_PATH, type(self)._to_chat(body)

    def local_answer(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def response_body(self, status: int, body: Any) -> Any:
        if status >= 400 or _is_error(body):
            return type(self)._error(status, body, upstream=self.upstream)
        if not isinstance(body, dict):
            raise TranslationError(_NOT_JSON)
        return type(self)._from_chat(body, model=self._model)

    def _streamer(self) -> Any:
        if self._stream is None:
            self._stream = type(self)._stream_class(model=self._model, upstream=self.upstream)
        return self._stream

    def stream_event(self, ev: SSEEvent) -> list[SSEEvent]:
        return _events(self._streamer().feed(ev.data))

    def stream_end(self) -> list[SSEEvent]:
        return _events(self._streamer().end())

    @property
    def finished(self) -> bool:
        return self._stream is not None and bool(self._stream.finished)


@dataclass
class MessagesOverChat(_OverChat):
    """Anthropic Messages client, Chat Completions upstream."""

    _to_chat = staticmethod(messages_to_chat)
    _from_chat = staticmethod(chat_to_message)
    _error = staticmethod(error_to_anthropic)
    _stream_class = ChatToAnthropicStream

    def local_answer(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        # Chat Completions servers have no token counting endpoint: estimated here.
        if path == COUNT_TOKENS_PATH:
            return {"input_tokens": estimate_tokens(body)}
        return None


@dataclass
class ResponsesOverChat(_OverChat):
    """OpenAI Responses client (Codex), Chat Completions upstream."""

    _to_chat = staticmethod(responses_to_chat)
    _from_chat = staticmethod(chat_to_response)
    _error = staticmethod(error_to_responses)
    _stream_class = ChatToResponsesStream


def serves(upstream: Upstream) -> frozenset[str]:
    """The client protocols an upstream answers without translation."""
    if upstream.protocol == "anthropic":
        return frozenset({"anthropic"})
    if upstream.protocol == "responses" or upstream.name == "openai":
        return frozenset({"chat", "responses"})
    return frozenset({"chat"})


def translator_for(client: Protocol, upstream: Upstream, *,
                   client_model: str | None = None) -> Translator | None:
    """A fresh translator for one request; None when none exists (the caller
    must refuse the route)."""
    if client in serves(upstream):
        return Identity(upstream.protocol)
    if "chat" in serves(upstream):
        if client == "anthropic":
            return MessagesOverChat(upstream.name, _model=client_model or "")
        if client == "responses":
            return ResponsesOverChat(upstream.name, _model=client_model or "")
    return None
