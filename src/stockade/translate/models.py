"""``GET /v1/models`` in the client's shape: what the agent should see.

The list is the routed upstream's own, plus every model name the upstream's
mapping answers for (the literal, wildcard-free left sides of ``models:``),
so an agent asking "which models exist" finds the names it is configured
with.  Anthropic clients get Anthropic's list shape, OpenAI clients OpenAI's.
"""

from __future__ import annotations

from typing import Any

from stockade.translate._common import as_dict, as_list, as_str

_EPOCH = "1970-01-01T00:00:00Z"


def model_ids(body: Any) -> list[str]:
    """Model ids from an OpenAI-style or Anthropic-style list (or Ollama's ``models``)."""
    obj = as_dict(body)
    ids: list[str] = []
    for m in as_list(obj.get("data")) + as_list(obj.get("models")):
        d = as_dict(m)
        mid = as_str(d.get("id")) or as_str(d.get("name")) or as_str(d.get("model"))
        if mid and mid not in ids:
            ids.append(mid)
    return ids


def aliases(mapping: tuple[tuple[str, str], ...]) -> list[str]:
    return [pat for pat, _ in mapping if not any(c in pat for c in "*?[")]


def models_list(client: str, ids: list[str], *, owner: str) -> dict[str, Any]:
    if client == "anthropic":
        data = [{"type": "model", "id": i, "display_name": i, "created_at": _EPOCH} for i in ids]
        return {"data": data, "has_more": False, "first_id": ids[0] if ids else None,
                "last_id": ids[-1] if ids else None}
    return {"object": "list", "data": [{"id": i, "object": "model", "created": 0,
                                        "owned_by": owner} for i in ids]}
