"""Protocol translation between the model APIs, pure (no I/O, no policy).

The gateway routes a request to any upstream; when the upstream speaks
another API than the client, these functions rewrite the request and the
answer, streaming included:

* :mod:`.anthropic_chat`   Anthropic Messages request -> Chat Completions request,
                           and a Chat Completions answer -> a Messages answer
* :mod:`.anthropic_stream` ``chat.completion.chunk`` events -> Messages SSE events
* :mod:`.responses_chat`   Responses request -> Chat Completions request, and back
* :mod:`.responses_stream` ``chat.completion.chunk`` events -> ``response.*`` events

What a target API cannot express (thinking blocks, cache_control, citations,
server tools, reasoning items ...) is dropped deliberately; the lists live in
each module's docstring and in docs/gateway.md.  A request that cannot be
carried out faithfully at all raises :class:`TranslationError` (the gateway
refuses it); an upstream answer that cannot be read becomes an error in the
client's API shape, never an exception in the middle of a stream.
"""

from __future__ import annotations

from stockade.translate._common import StreamOut, TranslationError

__all__ = ["StreamOut", "TranslationError"]
