"""Getting hook events into the ledger without paying for it per tool call.

Importing and opening the ledger costs more than the whole start-up budget
of a hook, so a hook call does two things:

1. before it answers, it writes the event (no tool input, no output: only
   decisions, rule ids, ids and reasons) as one small file in the state
   directory's spool; if that fails, the hook fails closed;
2. after it answers, a detached child process appends the spooled events to
   the ledger, adding the tool input in the form the policy's
   ``ledger.content`` asks for (``redacted`` runs the DLP engine first).

An event whose child died is picked up by the next drain (``stockade doctor``
or any later hook call), without its input.  ``STOCKADE_HOOK_SYNC=1`` drains
in the foreground (tests, debugging).
"""

from __future__ import annotations

import os
import time

from stockade.hooks import _fastjson as json
from stockade.hooks import deps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

SPOOL_DIR = "hook-spool"
STALE_CLAIM_S = 60.0
# Another hook's event is only taken over when its own writer has clearly
# failed: taking it earlier would record it without its input.
ORPHAN_S = 30.0
# Recorded tool input, output and prompts are cut to this many characters.
MAX_CONTENT = 65536
# Redaction looks this far past the cut, farther than any one finding spans
# (stockade.dlp.engine.MAX_SPAN).
_REDACT_MARGIN = 32768


def spool_dir(env: Mapping[str, str] | None = None) -> str:
    return os.path.join(deps.state_root(env), SPOOL_DIR)


def spool(event: dict[str, Any], *, env: Mapping[str, str] | None = None,
          durable: bool = False) -> str:
    """Write ``event`` to the spool; returns its name.  Raises OSError."""
    d = spool_dir(env)
    os.makedirs(d, mode=0o700, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}.json"
    data = json.dumps(event).encode("utf-8")
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return name


def drain(settings: deps.LedgerSettings, *, env: Mapping[str, str] | None = None,
          extra: Mapping[str, Mapping[str, Any]] | None = None) -> int:
    """Append spooled events to the ledger, oldest first.  Returns how many.

    Without ``extra`` (``stockade doctor``, tests) every event is taken.
    With it (a hook's writer), the events named in it, which it completes
    with the policy-shaped input, and orphans older than :data:`ORPHAN_S`."""
    d = spool_dir(env)
    try:
        names = sorted(os.listdir(d))
    except FileNotFoundError:
        return 0
    now = time.time()
    mine: list[tuple[str, str]] = []
    for name in names:
        path = os.path.join(d, name)
        if name.startswith(".claimed-"):
            # a drain that died: take it over once it is clearly abandoned
            try:
                if now - os.stat(path).st_mtime < STALE_CLAIM_S:
                    continue
            except OSError:
                continue
            original = name.split("-", 2)[2] if name.count("-") >= 2 else name
        elif name.endswith(".json"):
            original = name
            if extra is not None and name not in extra:
                try:
                    if now - os.stat(path).st_mtime < ORPHAN_S:
                        continue
                except OSError:
                    continue
        else:
            continue
        claimed = os.path.join(d, f".claimed-{os.getpid()}-{original}")
        try:
            os.rename(path, claimed)
        except OSError:
            continue  # another drain took it
        mine.append((claimed, original))
    if not mine:
        return 0
    mine.sort(key=lambda t: t[1])
    ledger = deps.open_ledger(settings, env=env)
    count = 0
    try:
        from stockade.ledger import NewEvent

        batch = []
        for path, original in mine:
            try:
                with open(path, encoding="utf-8") as fh:
                    ev = json.loads(fh.read())
            except (OSError, ValueError):
                continue
            details = dict(ev.get("details") or {})
            # `{}` is a complete answer too (ledger.content: none)
            if extra is not None and original in extra:
                details.update(extra[original])
            elif ev.get("wants_content"):
                details["input"] = "unavailable: the recording process did not finish"
            batch.append(NewEvent(kind=ev["kind"], details=details, session=ev.get("session"),
                                  decision=ev.get("decision"), actor=_actor(ev.get("actor"))))
        if batch:
            ledger.append_many(batch)
            count = len(batch)
        for path, _ in mine:
            try:
                os.unlink(path)
            except OSError:
                pass
    finally:
        close = getattr(ledger, "close", None)
        if close is not None:
            close()
    return count


def _actor(data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    from stockade.model import Actor

    return Actor(**{k: data.get(k) for k in ("user", "team", "agent", "host", "process", "pid")})


def content_details(mode: str, items: Mapping[str, str], *,
                    env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The recorded form of tool input / prompt / output per ``ledger.content``:
    full, redacted (DLP-redacted), hash (keyed hash) or none."""
    if mode == "none":
        return {}
    out: dict[str, Any] = {}
    if mode == "hash":
        from pathlib import Path

        from stockade.state import StateDir, keyed_hash

        key = StateDir(Path(deps.state_root(env))).hmac_key()
        for k, v in items.items():
            out[k + "_hash"] = keyed_hash(v, key)
        return out
    for k, v in items.items():
        if mode == "full":
            out[k] = v[:MAX_CONTENT]
        else:
            red, findings = redact_prefix(v, MAX_CONTENT)
            out[k] = red
            if findings:
                out[k + "_redacted_rules"] = sorted({f.rule_id for f in findings})
        if len(v) > MAX_CONTENT:
            out[k + "_truncated"] = len(v)
    return out


def redact_prefix(text: str, limit: int) -> tuple[str, list[Any]]:
    """The first ``limit`` characters of ``text``, redacted.  Redaction comes
    first: a value crossing the cut must be seen whole to be found, or its
    first part would be kept.  The cut moves to the end of a value it would
    split, and findings are mapped by their place in ``text``, not in the
    redacted (shorter or longer) result."""
    window = text[:limit + _REDACT_MARGIN]
    findings = deps.scan(window)
    cut = min(limit, len(window))
    moved = True
    while moved:
        moved = False
        for f in findings:
            if f.start < cut < f.end:
                cut, moved = f.end, True
    keep = [f for f in findings if f.start < cut]
    return deps.redact(window[:cut], keep)[0], keep


def drain_detached(settings: deps.LedgerSettings, *, content_mode: str,
                   items: Mapping[str, Mapping[str, str]],
                   env: Mapping[str, str] | None = None) -> None:
    """Fork a child that drains the spool, then return at once.  The child
    closes the hook's stdio first, so the client sees the answer complete."""
    try:
        pid = os.fork()
    except OSError:
        _drain_logged(settings, content_mode=content_mode, items=items, env=env)
        return
    if pid != 0:
        return
    code = 0
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        _drain_logged(settings, content_mode=content_mode, items=items, env=env)
    except BaseException:  # noqa: BLE001 - the child must never return into the caller
        code = 1
    finally:
        os._exit(code)


def _drain_logged(settings: deps.LedgerSettings, *, content_mode: str,
                  items: Mapping[str, Mapping[str, str]],
                  env: Mapping[str, str] | None) -> int:
    extra: dict[str, dict[str, Any]] = {}
    for name, fields in items.items():
        try:
            extra[name] = content_details(content_mode, fields, env=env)
        except Exception as exc:  # noqa: BLE001 - record without content, say why
            extra[name] = {"input": f"unavailable: {type(exc).__name__} while preparing it"}
    return drain(settings, env=env, extra=extra)


def pending(env: Mapping[str, str] | None = None) -> int:
    try:
        return sum(1 for n in os.listdir(spool_dir(env)) if n.endswith(".json"))
    except FileNotFoundError:
        return 0


__all__ = ["MAX_CONTENT", "content_details", "drain", "drain_detached", "pending", "redact_prefix",
           "spool", "spool_dir"]
