"""A policy snippet from a classification: the sensitive repositories' model
traffic goes to a local model (``models.routes`` by repository glob), and
secrets are blocked outright.  It is a starting point an administrator edits
(the local model's URL in particular), and it passes `stockade policy check`.

Every string is written as a JSON string, which is a YAML double-quoted
scalar: a repository path cannot break out of its line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from stockade.repos.classify import RepoReport

LOCAL_URL = "http://127.0.0.1:11434/v1"


def glob_escape(path: str) -> str:
    """``path`` as an fnmatch glob that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def suggest(reports: list[RepoReport], *, upstream: str = "local", url: str = LOCAL_URL) -> str:
    sensitive = [r for r in reports if r.findings]
    q = json.dumps
    lines = [
        (f"# stockade repos scan --suggest-policy ({datetime.now(UTC):%Y-%m-%d}): "
         f"{len(sensitive)} of {len(reports)} repositories hold sensitive data."),
        "# Their model traffic goes to the local model below; check its URL, then merge this",
        "# into your user or managed policy and run `stockade policy check`.",
        "version: 1",
    ]
    if sensitive:
        lines += [
            "models:",
            "  upstreams:",
            f"    {upstream}:",
            f"      url: {q(url)}   # an OpenAI-compatible model on this machine (Ollama, vLLM)",
            "      protocol: chat",
            "  routes:",
        ]
        for r in sensitive:
            labels = ", ".join(f"{k} {v}" for k, v in sorted(r.labels.items()))
            lines.append(f"    # {_comment(r.path)}: {labels}")
            route = r.route or glob_escape(r.path)
            for glob in (route, route.rstrip("/") + "/*"):
                lines.append(f"    - {{upstream: {upstream}, repository: {q(glob)}}}")
    if any("secret" in r.labels for r in reports):
        lines += ["dlp:", "  actions:", "    secret: block   # a secret is never sent, not even redacted"]
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    return "".join(c if c.isprintable() and c not in "\r\n" else "?" for c in text)
