"""The gateway's HTTP server: wire <-> pipeline <-> upstream.

One request, in order: authenticate -> parse (wire) -> inspect (DLP, cached)
-> decide (policy) -> route -> redact -> ledger ``llm.request`` -> forward ->
relay (restoring placeholders, event by event) -> ledger ``llm.response``.
Anything that raises before forwarding blocks the request with a 5xx in the
client's API shape (fail closed); nothing is forwarded uninspected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stockade.dlp.redact import Vault, redact, restore
from stockade.gateway import client as upstream_client
from stockade.gateway.config import (
    GatewayConfig,
    RoutingError,
    Upstream,
    choose_upstream,
)
from stockade.gateway.decide import Verdict, block_message, decide
from stockade.gateway.deps import LedgerSink, Scanner
from stockade.gateway.http import (
    HOP_BY_HOP,
    LAST_CHUNK,
    HTTPError,
    Request,
    chunk,
    full_response,
    parse_head,
    read_body,
    read_head,
    response_head,
)
from stockade.gateway.inspect import ScanCache, SegmentFinding, active, inspect, key_masks
from stockade.gateway.keys import KeyStore
from stockade.gateway.metrics import NO_PROTOCOL, Metrics
from stockade.gateway.recorder import Recorder
from stockade.gateway.translate import (
    Translator,
    cap_output_tokens,
    dump_translated,
    translator_for,
)
from stockade.translate import TranslationError
from stockade.translate.models import aliases as model_aliases
from stockade.translate.models import model_ids, models_list
from stockade.errors import InternalError
from stockade.model import Actor
from stockade.state import keyed_hash
from stockade.wire.exchange import (
    Exchange,
    Path,
    Protocol,
    Segment,
    WireError,
    apply_replacements,
    dump_body,
    error_body,
    parse_request,
    path_str,
    protocol_for_path,
)
from stockade.wire.sse import SSEParser, serialise_event
from stockade.wire.stream import StreamRewriter, observe_body, restore_tree

log = logging.getLogger("stockade.gateway")

_DROP_REQUEST_HEADERS = HOP_BY_HOP | {"host", "content-length", "accept-encoding", "expect"}
_DROP_RESPONSE_HEADERS = HOP_BY_HOP | {"content-length", "content-encoding"}
# Credentials a client may send; they only ever go to the upstream they were meant for.
_AUTH_HEADERS = frozenset({"x-api-key", "authorization", "api-key", "x-goog-api-key", "cookie"})
# ... and of those, what each protocol's vendor takes (once each); the rest
# (a cookie, another vendor's key header) never go on
_PROTOCOL_AUTH = {"anthropic": ("x-api-key", "authorization"),
                  "chat": ("authorization", "api-key"), "responses": ("authorization", "api-key")}
_SESSION_HEADERS = ("x-claude-code-session-id", "session-id", "x-stockade-session")
MAX_VAULTS = 1024


def guess_protocol(req: Request) -> Protocol:
    by_path = protocol_for_path(req.path)
    if by_path is not None:
        return by_path
    if req.header("anthropic-version") or req.header("x-api-key"):
        return "anthropic"
    return "chat"


@dataclass
class Ctx:
    """Everything known about one model request, for the ledger."""

    request_id: str
    protocol: Protocol
    path: str
    t0: float
    session: str | None = None
    actor: Actor | None = None
    model: str | None = None
    upstream: str | None = None
    route_reason: str | None = None
    event_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # set once routed: the translator, the upstream path when translated (None:
    # the client's path and query), what to try when the upstream is down
    translator: Translator | None = None
    upstream_path: str | None = None
    fallbacks: list[Upstream] = field(default_factory=list)
    prepare: Callable[[Upstream], tuple[Translator, str | None, bytes | None]] | None = None


class AuthError(Exception):
    pass


class Gateway:
    def __init__(
        self,
        cfg: GatewayConfig,
        *,
        scanner: Scanner,
        ledger: LedgerSink,
        hmac_key: bytes,
        keystore: KeyStore | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.cfg = cfg
        self.cache = ScanCache(scanner)
        self.ledger = ledger
        self.hmac_key = hmac_key
        self.keystore = keystore
        env = os.environ if env is None else env
        # Team mode: a vendor key in the gateway's environment; callers then need stockade keys.
        self.vendor_keys: dict[str, str] = {
            up.name: env[up.key_env] for up in cfg.upstreams.values()
            if up.key_env and env.get(up.key_env)
        }
        self.metrics = Metrics()
        self.pool = upstream_client.Pool()
        self.recorder = Recorder(ledger)
        self._vaults: OrderedDict[tuple[str, str], Vault] = OrderedDict()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def team_mode(self) -> bool:
        return bool(self.vendor_keys)

    # -- life cycle ---------------------------------------------------------------------

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._connection, host, port,
                                                  limit=self.cfg.limits.max_header_bytes)
        sock = self._server.sockets[0].getsockname()
        return sock[0], sock[1]

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.close()
        if self._server is not None:
            await self._server.wait_closed()
        self.pool.close()
        await self.recorder.drain()  # the response events still to be stored
        self.recorder.close()

    # -- connections --------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        limits = self.cfg.limits
        self._writers.add(writer)
        try:
            while True:
                try:
                    async with asyncio.timeout(limits.client_idle_timeout_s):
                        head = await read_head(reader, max_bytes=limits.max_header_bytes)
                except TimeoutError:
                    break
                except HTTPError as exc:
                    writer.write(full_response(exc.status, error_body(
                        "chat", status=exc.status, message=f"stockade: {exc.message}"),
                        keep_alive=False))
                    break
                if head is None:
                    break
                try:
                    req = parse_head(head)
                    req.body = await read_body(req, reader, writer,
                                               max_bytes=limits.max_body_bytes)
                except HTTPError as exc:
                    await self._reject_http(exc, head, writer)
                    break
                keep = await self._dispatch(req, writer)
                await writer.drain()
                if not keep or not req.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # noqa: BLE001 - one broken connection must not stop the server
            log.exception("gateway connection handler failed")
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _reject_http(self, exc: HTTPError, head: bytes, writer: asyncio.StreamWriter) -> None:
        try:
            req = parse_head(head)
            protocol = guess_protocol(req)
            path = req.path
        except HTTPError:
            protocol, path = "chat", "?"
        message = f"stockade: {exc.message}"
        ctx = Ctx(request_id=_new_id(), protocol=protocol, path=path, t0=time.perf_counter())
        try:
            await self._record(ctx, "llm.request", decision="reject",
                               extra={"status": exc.status, "error": exc.message})
        except Exception:  # noqa: BLE001 - the client still gets its error
            pass
        writer.write(full_response(exc.status, error_body(protocol, status=exc.status,
                                                          message=message),
                                   keep_alive=False, extra=_no_retry()))
        await writer.drain()

    async def _dispatch(self, req: Request, writer: asyncio.StreamWriter) -> bool:
        path, method = req.path, req.method
        if path == "/" and method in ("GET", "HEAD"):
            writer.write(full_response(200, b"{}", head_only=method == "HEAD"))
            return True
        if path == "/healthz" and method in ("GET", "HEAD"):
            if "upstreams" in req.query.split("&"):
                if self.team_mode and not self._is_caller(req):
                    # the probe names internal hosts and ports: callers with keys only
                    writer.write(full_response(401, json.dumps({
                        "status": "unauthorized", "error": "stockade: /healthz?upstreams needs "
                        "a stockade key in team mode (x-api-key or Authorization: Bearer)"}
                    ).encode(), head_only=method == "HEAD"))
                    return True
                return await self._upstream_health(writer, head_only=method == "HEAD")
            body = json.dumps({"status": "ok", "mode": "team" if self.team_mode else "personal",
                               "upstreams": sorted(self.cfg.upstreams)}).encode()
            writer.write(full_response(200, body, head_only=method == "HEAD"))
            return True
        if path == "/metrics" and method == "GET":
            self.metrics.cache_hits, self.metrics.cache_misses = self.cache.hits, self.cache.misses
            writer.write(full_response(200, self.metrics.render().encode(),
                                       content_type="text/plain; version=0.0.4"))
            return True
        if path == "/v1/models" and method == "GET":
            return await self._models(req, writer)
        protocol = protocol_for_path(path)
        if protocol is not None and method == "POST":
            return await self._model_request(req, protocol, writer)
        status = 405 if protocol is not None else 404
        message = (f"stockade: {method} {path} is not supported by the gateway"
                   if status == 405 else f"stockade: no such endpoint: {method} {path}")
        ctx = Ctx(request_id=_new_id(), protocol=guess_protocol(req), path=path,
                  t0=time.perf_counter(), session=self.cfg.session or _session(req, self.hmac_key))
        await self._error(ctx, writer, status=status, message=message, decision="reject")
        return True

    # -- the model request pipeline -------------------------------------------------------

    async def _model_request(self, req: Request, protocol: Protocol,
                             writer: asyncio.StreamWriter) -> bool:
        ctx = Ctx(request_id=_new_id(), protocol=protocol, path=req.path,
                  t0=time.perf_counter(), session=self.cfg.session or _session(req, self.hmac_key))
        self.metrics.in_flight += 1
        try:
            return await self._pipeline(req, ctx, writer)
        finally:
            self.metrics.in_flight -= 1

    async def _pipeline(self, req: Request, ctx: Ctx, writer: asyncio.StreamWriter) -> bool:
        protocol = ctx.protocol
        if not await self._authenticate_or_answer(req, ctx, writer):
            return True
        # what is inspected must be what the vendor reads: one reading only.
        # Every Content-Encoding header, every coding in it (a second header
        # naming gzip after an identity one would go upstream too)
        codings = [c.strip().lower() for k, v in req.headers if k.lower() == "content-encoding"
                   for c in v.split(",")]
        encoding = next((c for c in codings if c != "identity"), None)
        if encoding is not None:
            await self._error(ctx, writer, status=415, decision="reject",
                              message=f"stockade: a request body with Content-Encoding "
                                      f"{encoding[:32]!r} is not accepted; send it uncompressed")
            return True
        try:
            ex = parse_request(protocol, req.body, memo=self.cache.memo,
                               headers=_inspected_headers(req), query=req.query)
        except WireError as exc:
            await self._error(ctx, writer, status=400, message=f"stockade: {exc}",
                              decision="reject")
            return True
        except Exception as exc:  # noqa: BLE001 - a body we cannot read is refused, recorded
            log.error("parsing a request failed: %s", type(exc).__name__)
            await self._error(ctx, writer, status=400, decision="reject",
                              message=f"stockade: the request body could not be read "
                                      f"({type(exc).__name__}); nothing was sent upstream")
            return True
        ctx.details["uninspected_parts"] = len(ex.uninspected)
        if ex.uninspected:
            ctx.details["uninspected_media_types"] = sorted(set(ex.uninspected))
        try:
            verdict, findings = self._inspect(ex, ctx)
            # the ledger records the model name, unless something was found in it
            in_model = any(sf.segment.path == ("model",) for sf in findings)
            ctx.model = "<withheld: finding>" if in_model else ex.model
            if verdict.action == "block":
                ctx.details["findings"] = self._findings_for_ledger(ex, findings, verdict)
                await self._record(ctx, "llm.request", decision="block",
                                   extra=self._content(ex, findings, req.body))
                assert ctx.event_id is not None
                self.metrics.request(protocol, "block", request_id=ctx.request_id)
                message = block_message(verdict, event_id=ctx.event_id)
                writer.write(full_response(403, error_body(protocol, status=403,
                                                           message=message),
                                           extra=[("x-stockade-event", ctx.event_id),
                                                  *_no_retry()]))
                return True
            team = ctx.actor.team if ctx.actor else None
            # a per-session gateway's own workspace outranks what the client claims
            repository = self.cfg.workspace or req.header("x-stockade-workspace")
            choice = choose_upstream(
                self.cfg, protocol=protocol, labels=_labels(findings),
                dlp_route=verdict.route_to, team=team, repository=repository, model=ex.model,
                dlp_label=verdict.deciding.finding.label
                if verdict.route_to and verdict.deciding else None)
            up = choice.upstream
            ctx.upstream, ctx.route_reason = up.name, choice.reason
            ctx.details["route_why"] = {**choice.match, "team": team,
                                        "repository": self._recordable_workspace(repository),
                                        "pinned": choice.pinned}
            vault, redacted = self._redact(ex, verdict, ctx)
            ctx.prepare = _preparer(req, ex, redacted)
            ctx.translator, ctx.upstream_path, body = ctx.prepare(up)
            ctx.fallbacks = choice.fallbacks(self.cfg)
            local = ctx.translator.local_answer(req.path, ex.body)
            if not ctx.translator.identity:
                ctx.details["translated"] = f"{protocol}->{ctx.translator.upstream_protocol}"
            ctx.details["findings"] = self._findings_for_ledger(ex, findings, verdict)
            decision = verdict.action
            await self._record(ctx, "llm.request", decision=decision,
                               extra=self._content(ex, findings, body or req.body))
        except (RoutingError, TranslationError) as exc:
            await self._error(ctx, writer, status=400, message=f"stockade: {exc}",
                              decision="block")
            return True
        except Exception as exc:  # noqa: BLE001 - fail closed: nothing goes upstream
            log.error("inspection failed: %s", type(exc).__name__)
            await self._error(ctx, writer, status=500,
                              message=f"stockade: internal error while inspecting the request "
                                      f"({type(exc).__name__}); nothing was sent upstream",
                              decision="error")
            return True
        self.metrics.request(protocol, decision, request_id=ctx.request_id)
        self.metrics.overhead(time.perf_counter() - ctx.t0)
        if local is not None:
            return await self._answer_locally(ctx, local, writer)
        return await self._forward(req, ctx, up, body, vault, writer)

    async def _answer_locally(self, ctx: Ctx, answer: dict[str, Any],
                              writer: asyncio.StreamWriter) -> bool:
        """What the routed upstream has no endpoint for (``count_tokens`` on a Chat
        Completions server) is answered here, and recorded as such."""
        writer.write(full_response(200, json.dumps(answer).encode(),
                                   extra=[("x-stockade-event", ctx.event_id or "")]))
        self._record_response(ctx, 200, StreamRewriter(ctx.protocol), "answered_locally", None)
        return True

    async def _authenticate_or_answer(self, req: Request, ctx: Ctx,
                                      writer: asyncio.StreamWriter) -> bool:
        """Sets ``ctx.actor``; False when the caller was answered with an error
        (401 for a bad key, a recorded 500 when keys cannot be checked at all)."""
        try:
            ctx.actor = self._authenticate(req)
        except AuthError as exc:
            await self._error(ctx, writer, status=401, message=f"stockade: {exc}",
                              decision="reject")
            return False
        except Exception as exc:  # noqa: BLE001 - e.g. a corrupt key file: refuse, record
            log.error("authentication failed: %s", type(exc).__name__)
            await self._error(ctx, writer, status=500, decision="error",
                              message=f"stockade: internal error while checking the caller's "
                                      f"key ({type(exc).__name__}); nothing was sent upstream")
            return False
        return True

    def _is_caller(self, req: Request) -> bool:
        """Whether the request carries a valid stockade key (a key store that cannot
        be read says no)."""
        try:
            self._authenticate(req)
        except Exception:  # noqa: BLE001 - no answer is a no
            return False
        return True

    def _authenticate(self, req: Request) -> Actor:
        if not self.team_mode:
            return Actor(user=self.cfg.user, team=self.cfg.team, agent=_agent(req))
        presented = req.header("x-api-key")
        if presented is None:
            auth = req.header("authorization") or ""
            if auth.lower().startswith("bearer "):
                presented = auth[7:].strip()
        rec = self.keystore.verify(presented) if self.keystore else None
        if rec is None:
            raise AuthError("this gateway needs a stockade key (x-api-key or Authorization: "
                            "Bearer); ask your administrator for one (`stockade keys create`)")
        return Actor(user=rec.user, team=rec.team, agent=_agent(req))

    def _inspect(self, ex: Exchange, ctx: Ctx) -> tuple[Verdict, list[SegmentFinding]]:
        # the values this conversation's vault holds: found again wherever
        # they come back (tests/gateway/test_bypass_restored_value_resent.py)
        vault = self._vaults.get(self._vault_key(ctx)) if ctx.session is not None else None
        findings = active(inspect(ex, self.cache, vault.known() if vault else ()))
        verdict = decide(self.cfg, findings)
        for sf in findings:
            self.metrics.finding(sf.finding.rule_id)
        return verdict, findings

    def _recordable_workspace(self, workspace: str | None) -> str | None:
        """The workspace for the ledger.  ``X-Stockade-Workspace`` is the client's free
        text and is not part of the inspected request: recorded only when short and
        free of findings (a scan that fails withholds it too)."""
        if workspace is None or workspace == self.cfg.workspace:
            return workspace
        if len(workspace) > 1024:
            return "<withheld: longer than 1024 characters>"
        try:
            found = self.cache.scan_uncached(workspace)
        except Exception:  # noqa: BLE001 - unscanned text is not recorded
            return "<withheld: scan failed>"
        return "<withheld: finding>" if found else workspace

    def _redact(self, ex: Exchange, verdict: Verdict,
                ctx: Ctx) -> tuple[Vault | None, bytes | None]:
        """The body to forward (None: the client's bytes unchanged) and the vault."""
        if not verdict.to_redact:
            return None, None
        vault = self._vault(ctx)
        by_seg: dict[Any, list[SegmentFinding]] = {}
        for sf in verdict.to_redact:
            if not sf.segment.rewritable:  # decide() blocks these; never write them back
                raise InternalError("a redaction reached a part that cannot be rewritten")
            by_seg.setdefault(sf.segment.path, []).append(sf)
        repl = {}
        for path, sfs in by_seg.items():
            text = sfs[0].segment.text
            repl[path], _ = redact(text, [sf.finding for sf in sfs], vault=vault)
        apply_replacements(ex.body, repl)
        return vault, dump_body(ex.body)

    def _vault(self, ctx: Ctx) -> Vault:
        """One vault per (authenticated user, agent session) keeps placeholders stable
        across turns.  The session id is the client's word, so it alone must never
        select a vault: another user naming the same session would get this user's
        values restored into their responses."""
        if ctx.session is None:
            return Vault()
        key = self._vault_key(ctx)
        vault = self._vaults.get(key)
        if vault is None:
            vault = self._vaults[key] = Vault()
            while len(self._vaults) > MAX_VAULTS:
                self._vaults.popitem(last=False)
        else:
            self._vaults.move_to_end(key)
        return vault

    @staticmethod
    def _vault_key(ctx: Ctx) -> tuple[str, str]:
        actor = ctx.actor
        owner = json.dumps([actor.user, actor.team] if actor else None)
        return owner, ctx.session or ""

    def _findings_for_ledger(self, ex: Exchange, findings: list[SegmentFinding],
                             verdict: Verdict) -> list[dict[str, Any]]:
        out = []
        for sf in findings:
            f = sf.finding
            fp = f.fingerprint or keyed_hash(sf.segment.text[f.start:f.end], self.hmac_key)
            out.append({"rule_id": f.rule_id, "label": f.label, "location": sf.location,
                        "kind": sf.segment.kind, "part": sf.segment.part,
                        "line": f.line, "column": f.column,
                        "preview": f.preview, "fingerprint": fp,
                        "action": self.cfg.action_for(f.label)})
        return out

    def _content(self, ex: Exchange, findings: list[SegmentFinding],
                 forwarded: bytes) -> dict[str, Any]:
        """Prompt content for the ledger, per ``ledger.content``: never a protected value
        unless the policy says ``full``."""
        mode = self.cfg.ledger_content
        out: dict[str, Any] = {"content_mode": mode}
        if mode == "none":
            return out
        # keyed: a plain SHA-256 of a short prompt can be guessed and checked
        out["body_hash"] = keyed_hash(forwarded, self.hmac_key)
        if mode == "hash":
            return out
        masks = key_masks(ex, [sf.segment for sf in findings])
        last = _last_message_segments(ex)
        if mode == "redacted":
            by_seg: dict[Segment, list[Any]] = {}
            for sf in findings:
                by_seg.setdefault(sf.segment, []).append(sf.finding)
            masked = Vault() if by_seg else None
            texts = [(seg, redact(seg.text, by_seg[seg], vault=masked)[0] if seg in by_seg
                      else seg.text) for seg in last]
        else:
            texts = [(seg, seg.text) for seg in last]
        out["last_message"] = [{"location": _loc(seg.path, seg.part, masks), "text": t}
                               for seg, t in texts]
        return out

    # -- forwarding -------------------------------------------------------------------------

    def _upstream_headers(self, req: Request, up: Upstream,
                          protocol: Protocol) -> list[tuple[str, str]]:
        """The client's headers for ``up``.  Its credentials go only where the client
        sent them: in personal mode to its protocol's default upstream, never to a
        routed one (a local model on plain http); team mode never passes them on.
        Any other upstream gets the key named by its ``key_env``, or none."""
        headers = [(k, v) for k, v in req.headers
                   if k.lower() not in _DROP_REQUEST_HEADERS and not k.lower().startswith(
                       "x-stockade-")]
        headers.append(("Accept-Encoding", "identity"))
        if (up.protocol == "anthropic") != (protocol == "anthropic"):
            # a translated request: the client's API version and beta flags mean nothing there
            headers = [(k, v) for k, v in headers if not k.lower().startswith("anthropic-")]
        default = self.cfg.default_upstream(protocol)
        if self.team_mode or default is None or up.name != default.name:
            headers = [(k, v) for k, v in headers if k.lower() not in _AUTH_HEADERS]
            key = self.vendor_keys.get(up.name)
            if key:
                headers.append(("x-api-key", key) if up.protocol == "anthropic"
                               else ("Authorization", f"Bearer {key}"))
            return headers
        # personal mode, the client's own vendor: only the credential headers
        # that vendor's API takes, the first of each (they are not inspected:
        # anything else named like a credential would be an uninspected
        # channel, and another vendor's key would reach the wrong vendor)
        wanted = set(_PROTOCOL_AUTH.get(up.protocol, ()))
        kept: list[tuple[str, str]] = []
        for k, v in headers:
            lk = k.lower()
            if lk in _AUTH_HEADERS:
                if lk not in wanted:
                    continue
                wanted.discard(lk)
            kept.append((k, v))
        return kept

    async def _forward(self, req: Request, ctx: Ctx, up: Upstream, body: bytes | None,
                       vault: Vault | None, writer: asyncio.StreamWriter) -> bool:
        scheme, host, port, path = up.target(ctx.upstream_path or req.path)
        if req.query and ctx.upstream_path is None:
            path += "?" + req.query
        t_send = time.perf_counter()
        try:
            resp = await upstream_client.request(
                self.pool, scheme=scheme, host=host, port=port, method="POST", path=path,
                headers=self._upstream_headers(req, up, ctx.protocol),
                body=req.body if body is None else body,
                limits=self.cfg.limits)
        except upstream_client.UpstreamError as exc:
            self.metrics.upstream_error(up.name, exc.kind)
            if ctx.fallbacks and (exc.kind == "connect"
                                  or exc.message.startswith("could not connect")):
                return await self._fall_back(req, ctx, up, exc, vault, writer)
            status = 504 if exc.kind == "timeout" else 502
            await self._error(ctx, writer, status=status, kind="llm.response",
                              message=f"stockade: upstream {up.name!r} failed: {exc.message}",
                              decision="error", extra={"upstream_error": exc.kind})
            return True
        except (OSError, ValueError) as exc:  # TLS errors, an unreadable response head ...
            self.metrics.upstream_error(up.name, "protocol")
            await self._error(ctx, writer, status=502, kind="llm.response", decision="error",
                              message=f"stockade: upstream {up.name!r} failed: "
                                      f"{type(exc).__name__}",
                              extra={"upstream_error": "protocol"})
            return True
        ctype = (resp.header("content-type") or "").lower()
        headers = [(k, v) for k, v in resp.headers if k.lower() not in _DROP_RESPONSE_HEADERS]
        headers.append(("x-stockade-event", ctx.event_id or ""))
        if "text/event-stream" in ctype:
            return await self._relay_stream(ctx, resp, headers, vault, writer, t_send)
        return await self._relay_body(ctx, resp, headers, ctype, vault, writer, t_send)

    async def _fall_back(self, req: Request, ctx: Ctx, down: Upstream,
                         exc: upstream_client.UpstreamError, vault: Vault | None,
                         writer: asyncio.StreamWriter) -> bool:
        """``down`` could not be reached: try the next upstream of its ``fallback``
        list (never offered for a route pinned by a data label)."""
        nxt = ctx.fallbacks.pop(0)
        ctx.details.setdefault("fallback_from", []).append(
            {"upstream": down.name, "error": exc.kind})
        try:
            assert ctx.prepare is not None
            ctx.translator, ctx.upstream_path, body = ctx.prepare(nxt)
        except (RoutingError, TranslationError) as err:
            await self._error(ctx, writer, status=502, kind="llm.response", decision="error",
                              message=f"stockade: upstream {down.name!r} failed: {exc.message}; "
                                      f"fallback {nxt.name!r} cannot take it: {err}",
                              extra={"upstream_error": exc.kind})
            return True
        ctx.upstream = nxt.name
        return await self._forward(req, ctx, nxt, body, vault, writer)

    async def _relay_body(self, ctx: Ctx, resp: upstream_client.UpstreamResponse,
                          headers: list[tuple[str, str]], ctype: str, vault: Vault | None,
                          writer: asyncio.StreamWriter, t_send: float) -> bool:
        rw = StreamRewriter(ctx.protocol)
        try:
            data = await _read_capped(resp, self.cfg.limits.max_response_bytes)
        except upstream_client.UpstreamError as exc:
            self.metrics.upstream_error(ctx.upstream or "?", exc.kind)
            await self._error(ctx, writer, status=504 if exc.kind == "timeout" else 502,
                              kind="llm.response", decision="error",
                              message=f"stockade: upstream {ctx.upstream!r} failed: {exc.message}",
                              extra={"upstream_error": exc.kind})
            return True
        ttfb = time.perf_counter() - t_send
        try:
            tr = ctx.translator
            if tr is not None and not tr.identity:
                data = dump_body(tr.response_body(resp.status, _json_or_none(ctype, data)))
                ctype = "application/json"
                headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
                headers.append(("Content-Type", ctype))
            data = _relay_json(ctx.protocol, ctype, data, rw, vault)
        except Exception as exc:  # noqa: BLE001 - an answer we cannot process is not relayed
            log.error("relaying a response failed: %s", type(exc).__name__)
            # a translator's message names what was wrong, never a value
            why = str(exc) if isinstance(exc, TranslationError) else type(exc).__name__
            await self._error(ctx, writer, status=502, kind="llm.response", decision="relay_error",
                              message=f"stockade: could not process the response of upstream "
                                      f"{ctx.upstream!r} ({why})",
                              extra={"outcome": "relay_error", "upstream_status": resp.status})
            return True
        headers = [("Content-Length", str(len(data))), *headers]
        writer.write(response_head(resp.status, headers) + data)
        outcome = "ok" if resp.status < 400 else "upstream_error"
        self._record_response(ctx, resp.status, rw, outcome, ttfb)
        return True

    async def _relay_stream(self, ctx: Ctx, resp: upstream_client.UpstreamResponse,
                            headers: list[tuple[str, str]], vault: Vault | None,
                            writer: asyncio.StreamWriter, t_send: float) -> bool:
        if vault is not None:
            rw = StreamRewriter(ctx.protocol, new_restorer=lambda js: vault.restorer(
                json_string=js), restore=_restore_fn(vault))
        else:
            rw = StreamRewriter(ctx.protocol)
        parser = SSEParser()
        # translated: upstream events -> translator -> restore (rw) -> client
        tr = ctx.translator if ctx.translator is not None and not ctx.translator.identity \
            else None
        writer.write(response_head(resp.status, [*headers, ("Transfer-Encoding", "chunked")]))
        ttfb: float | None = None
        outcome = "ok"
        try:
            try:
                async for data in resp.chunks():
                    if ttfb is None:
                        ttfb = time.perf_counter() - t_send
                    if vault is None and tr is None:
                        writer.write(chunk(data))  # relay verbatim, observe on the side
                        for ev in parser.feed(data):
                            rw.feed(ev)
                    elif tr is not None:
                        out = b"".join(b for ev in parser.feed(data)
                                       for tev in tr.stream_event(ev) for b in rw.feed(tev))
                        if out:
                            writer.write(chunk(out))
                        if tr.finished:  # the client has its last event (or an error)
                            resp._reusable = False
                            resp.close()
                            break
                    else:
                        out = b"".join(b for ev in parser.feed(data) for b in rw.feed(ev))
                        if out:
                            writer.write(chunk(out))
                    if parser.pending > self.cfg.limits.max_event_bytes:
                        # one event that never ends must not fill the gateway's memory
                        resp._reusable = False
                        resp.close()
                        raise upstream_client.UpstreamError(
                            "protocol", "an event of the stream is larger than "
                                        f"{self.cfg.limits.max_event_bytes // (1024 * 1024)} MiB")
                    await writer.drain()
                flushed = parser.flush()
                if tr is not None:
                    flushed = [t for ev in flushed for t in tr.stream_event(ev)] + tr.stream_end()
                tail = [b for ev in flushed for b in rw.feed(ev)] + rw.finish()
                if (vault is not None or tr is not None) and tail:
                    writer.write(chunk(b"".join(tail)))
            except upstream_client.UpstreamError as exc:
                self.metrics.upstream_error(ctx.upstream or "?", exc.kind)
                outcome = f"upstream_{exc.kind}"
                # a relayed event cut short must end before the error event starts,
                # or the client reads both as one garbled event
                cut = b"\n\n" if vault is None and tr is None and parser.pending else b""
                writer.write(chunk(cut + _stream_error(ctx.protocol,
                                                 f"stockade: upstream {ctx.upstream!r} stream "
                                                 f"broke off: {exc.message}")))
            except (ConnectionError, asyncio.CancelledError):
                raise
            except Exception as exc:  # noqa: BLE001 - stop relaying, tell the client, record
                log.error("relaying a stream failed: %s", type(exc).__name__)
                outcome = "relay_error"
                resp._reusable = False
                resp.close()
                writer.write(chunk(_stream_error(
                    ctx.protocol, f"stockade: could not process the stream of upstream "
                                  f"{ctx.upstream!r} ({type(exc).__name__}); the response "
                                  f"was cut here")))
            writer.write(LAST_CHUNK)
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError) as exc:
            outcome = "client_disconnected"
            resp._reusable = False
            resp.close()
            self._record_response(ctx, resp.status, rw, outcome, ttfb)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return False
        self._record_response(ctx, resp.status, rw, outcome, ttfb)
        return True

    # -- ledger and errors ----------------------------------------------------------------

    def _details(self, ctx: Ctx, kind: str, extra: Mapping[str, Any] | None) -> dict[str, Any]:
        details: dict[str, Any] = {
            "request_id": ctx.request_id, "protocol": ctx.protocol, "path": ctx.path,
            "model": ctx.model, "upstream": ctx.upstream, "route": ctx.route_reason,
            **ctx.details, **(extra or {}),
        }
        if kind == "llm.response" and ctx.event_id:
            details["request_event"] = ctx.event_id
        return details

    async def _record(self, ctx: Ctx, kind: str, *, decision: str,
                      extra: Mapping[str, Any] | None = None) -> str:
        details = self._details(ctx, kind, extra)
        # stored before this returns: a request goes upstream only once its event is
        event_id = await self.recorder.record(kind, details=details, session=ctx.session,
                                              decision=decision, actor=ctx.actor,
                                              alone=self.metrics.in_flight <= 1)
        if kind == "llm.request":
            ctx.event_id = event_id
        return event_id

    def _record_response(self, ctx: Ctx, status: int, rw: StreamRewriter, outcome: str,
                         ttfb: float | None) -> None:
        """Submits the response event without waiting for it: the client already has
        its answer, and the next request on the connection need not wait for the
        ledger.  Counted in flight until stored (``close`` waits for it)."""
        try:
            self._submit_response(ctx, status, rw, outcome, ttfb)
        except Exception as exc:  # noqa: BLE001 - the response was already delivered
            log.error("ledger append for a response failed: %s", type(exc).__name__)

    def _submit_response(self, ctx: Ctx, status: int, rw: StreamRewriter, outcome: str,
                         ttfb: float | None) -> None:
        latency = time.perf_counter() - ctx.t0
        extra: dict[str, Any] = {
            "status": status, "outcome": outcome, "usage": rw.obs.usage,
            "stop_reason": rw.obs.stop_reason,
            "latency_ms": round(latency * 1000, 3),
            "upstream_first_byte_ms": None if ttfb is None else round(ttfb * 1000, 3),
        }
        mode = self.cfg.ledger_content
        text = rw.obs.output_text  # the vendor's text: our placeholders, not the values
        if mode == "full":
            extra["output_text"] = text
        elif mode == "redacted":
            extra.update(self._redacted_output(text))
        elif mode == "hash":
            extra["output_hash"] = keyed_hash(text, self.hmac_key)
        ctx.details.pop("findings", None)
        details = self._details(ctx, "llm.response", extra)
        alone = self.metrics.in_flight <= 1  # this request only: no batch to wait for
        self.metrics.in_flight += 1
        self.recorder.submit("llm.response", details=details, session=ctx.session,
                             decision=outcome, actor=ctx.actor, done=self._response_recorded,
                             alone=alone)

    def _response_recorded(self, event_id: str | None) -> None:
        self.metrics.in_flight -= 1

    def _redacted_output(self, text: str) -> dict[str, Any]:
        """The response text with whatever the DLP engine finds in it masked (the
        model may repeat a value it was given, or produce one)."""
        if not text:
            return {"output_text": text}
        try:
            found = self.cache.scan_uncached(text)
        except Exception as exc:  # noqa: BLE001 - without a scan the text is not recorded
            log.error("scanning a response for the ledger failed: %s", type(exc).__name__)
            return {"output_text": None, "output_text_withheld": "scan failed"}
        return {"output_text": redact(text, list(found), vault=Vault())[0] if found else text}

    async def _error(self, ctx: Ctx, writer: asyncio.StreamWriter, *, status: int, message: str,
                     decision: str, kind: str = "llm.request",
                     extra: Mapping[str, Any] | None = None) -> None:
        """Answer with an API-shaped error and record it.  If even the ledger fails the
        client still gets the error (with no event id)."""
        try:
            event_id = await self._record(ctx, kind, decision=decision,
                                          extra={"status": status, "error": message,
                                                 **(extra or {})})
            message = f"{message} (ledger event {event_id})"
        except Exception as exc:  # noqa: BLE001
            log.error("ledger append failed: %s", type(exc).__name__)
            message = f"{message} (the ledger could not record this)"
            if status < 500:
                status = 500
        # counted once per request, under its final decision; a path that is no
        # model API is counted under no protocol (the guess only shapes the error body)
        self.metrics.request(ctx.protocol if protocol_for_path(ctx.path) else NO_PROTOCOL,
                             decision, request_id=ctx.request_id)
        writer.write(full_response(status, error_body(ctx.protocol, status=status,
                                                      message=message),
                                   extra=_no_retry()))

    async def _upstream_health(self, writer: asyncio.StreamWriter, *, head_only: bool) -> bool:
        """``/healthz?upstreams``: can each upstream be connected to?  503 when one
        cannot (a monitoring check; the model API itself is not called)."""
        timeout = min(self.cfg.limits.connect_timeout_s, 3.0)

        async def probe(up: Upstream) -> dict[str, Any]:
            scheme, host, port, _ = up.target("/")
            try:
                _, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                w.close()
                return {"protocol": up.protocol, "reachable": True}
            except (OSError, asyncio.TimeoutError) as exc:
                return {"protocol": up.protocol, "reachable": False,
                        "error": f"could not connect to {host}:{port}: "
                                 f"{getattr(exc, 'strerror', None) or type(exc).__name__}"}

        ups = list(self.cfg.upstreams.values())
        states = await asyncio.gather(*(probe(u) for u in ups))
        report = {u.name: st for u, st in zip(ups, states, strict=True)}
        ok = all(st["reachable"] for st in states)
        body = json.dumps({"status": "ok" if ok else "degraded", "upstreams": report}).encode()
        writer.write(full_response(200 if ok else 503, body, head_only=head_only))
        return True

    def _models_refusal(self, values: list[tuple[str, str]]) -> str | None:
        """Why a model list request is not passed on, or None."""
        for where, value in values:
            if not _MODELS_VALUE.fullmatch(value):
                return f"the {where} is not a value a model list takes"
            try:
                found = self.cache.scan_uncached(value)
            except Exception:  # noqa: BLE001 - fail closed: an unscanned value is not sent
                return f"the {where} could not be inspected"
            if found:
                return f"the {where} holds what rule {found[0].rule_id} protects"
        return None

    async def _models(self, req: Request, writer: asyncio.StreamWriter) -> bool:
        protocol = guess_protocol(req)
        ctx = Ctx(request_id=_new_id(), protocol=protocol, path=req.path,
                  t0=time.perf_counter())
        if not await self._authenticate_or_answer(req, ctx, writer):
            return True
        # the upstream this caller's ordinary requests are routed to (no data labels)
        try:
            up: Upstream | None = choose_upstream(
                self.cfg, protocol=protocol, labels=frozenset(), dlp_route=None,
                team=ctx.actor.team if ctx.actor else None,
                repository=self.cfg.workspace or req.header("x-stockade-workspace"),
                model=None).upstream
        except RoutingError:
            up = None
        if up is None:
            writer.write(full_response(200, b'{"object":"list","data":[]}'))
            return True
        scheme, host, port, path = up.target(req.path)
        # Only what a model list needs goes on (credentials per _upstream_headers,
        # API version and beta flags, paging), and each of those only when it is
        # short, of the characters such a value has, and scanned clean: a
        # model list must not be a channel around the inspection.
        query = "&".join(p for p in req.query.split("&")
                         if p.split("=", 1)[0] in _MODELS_QUERY and len(p) <= 128)
        headers = [(k, v) for k, v in self._upstream_headers(req, up, protocol)
                   if k.lower() in _MODELS_HEADERS]
        refused = self._models_refusal(
            [(f"query parameter {p.split('=', 1)[0]}", p.split("=", 1)[-1])
             for p in query.split("&") if p]
            + [(f"header {k.lower()}", v) for k, v in headers if k.lower() not in _AUTH_HEADERS])
        if refused:  # answered and recorded, like any refusal
            await self._error(ctx, writer, status=400, decision="reject",
                              message=f"stockade: GET {req.path}: {refused}; "
                                      "nothing was sent upstream")
            return True
        try:
            resp = await upstream_client.request(
                self.pool, scheme=scheme, host=host, port=port, method="GET",
                path=path + (f"?{query}" if query else ""),
                headers=headers, body=b"", limits=self.cfg.limits)
            data = await _read_capped(resp, MAX_MODELS_BYTES)
        except upstream_client.UpstreamError as exc:
            writer.write(full_response(502, error_body(
                protocol, status=502, message=f"stockade: upstream {up.name!r} failed: "
                                              f"{exc.message}")))
            return True
        tr = translator_for(protocol, up)
        names = model_aliases(up.models)
        if (tr is None or not tr.identity or names) and resp.status < 400:
            # the routed upstream's list in the client's shape, with the mapped names
            ids = names + [i for i in model_ids(_json_or_none("", data)) if i not in names]
            data = json.dumps(models_list(protocol, ids, owner=up.name)).encode()
            writer.write(full_response(200, data))
            return True
        writer.write(full_response(resp.status, data,
                                   content_type=resp.header("content-type") or "application/json"))
        return True


# GET /v1/models: the headers and query parameters passed on (see Gateway._models),
# and what their values may hold
_MODELS_HEADERS = frozenset({"x-api-key", "authorization", "api-key", "anthropic-version",
                             "anthropic-beta", "accept", "accept-encoding"})
_MODELS_QUERY = frozenset({"limit", "after_id", "before_id"})
_MODELS_VALUE = re.compile(r"[A-Za-z0-9._:,/*+=; -]{0,128}")
MAX_MODELS_BYTES = 4 * 1024 * 1024


async def _read_capped(resp: upstream_client.UpstreamResponse, cap: int) -> bytes:
    """A whole upstream body, refused past ``cap`` bytes (a hostile or broken upstream
    must not fill the gateway's memory)."""
    parts: list[bytes] = []
    size = 0
    async for data in resp.chunks():
        size += len(data)
        if size > cap:
            resp._reusable = False
            resp.close()
            raise upstream_client.UpstreamError(
                "protocol", f"the response is larger than {cap // (1024 * 1024)} MiB")
        parts.append(data)
    return b"".join(parts)


def _preparer(req: Request, ex: Exchange, redacted: bytes | None) -> Callable[
        [Upstream], tuple[Translator, str | None, bytes | None]]:
    """For an upstream: its translator, the path to send to (None: the client's own
    path and query) and the body (None: the client's bytes unchanged).  The model
    name is mapped per upstream, so a fallback gets its own mapping."""
    def prepare(up: Upstream) -> tuple[Translator, str | None, bytes | None]:
        translator = translator_for(ex.protocol, up, client_model=ex.model)
        if translator is None:
            raise RoutingError(f"upstream {up.name!r} speaks {up.protocol}, which the "
                               f"{ex.protocol} API cannot be translated to")
        mapped = up.map_model(ex.model) if ex.model is not None else None
        if translator.identity:
            capped = cap_output_tokens(ex.body, up.max_tokens)
            if mapped == ex.model and capped is ex.body:
                return translator, None, redacted
            return translator, None, dump_body(
                {**capped, **({"model": mapped} if mapped is not None else {})})
        path, body = translator.request(req.path, {**ex.body, "model": mapped}
                                        if mapped is not None else ex.body)
        return translator, path, dump_translated(cap_output_tokens(body, up.max_tokens))
    return prepare


def _json_or_none(ctype: str, data: bytes) -> Any:
    """An upstream body for a translator: its JSON, or None when it is not JSON
    (an HTML error page from a proxy ...)."""
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _restore_fn(vault: Vault):  # type: ignore[no-untyped-def]
    def fn(text: str, json_string: bool) -> str:
        return restore(text, vault, json_string=json_string)
    return fn


def _stream_error(protocol: Protocol, message: str) -> bytes:
    if protocol == "anthropic":
        return serialise_event(event="error", data=json.dumps(
            {"type": "error", "error": {"type": "api_error", "message": message}}))
    if protocol == "responses":
        return serialise_event(event="error", data=json.dumps(
            {"type": "error", "code": "server_error", "message": message, "param": None}))
    return serialise_event(data=json.dumps(
        {"error": {"message": message, "type": "server_error", "code": "server_error"}}))


def _no_retry() -> list[tuple[str, str]]:
    # The Anthropic and OpenAI SDKs retry 5xx with backoff; a policy answer will not change.
    return [("x-should-retry", "false")]


def _new_id() -> str:
    return "req_" + secrets.token_hex(8)


def _session(req: Request, key: bytes) -> str | None:
    """The client's session id for the ledger and the vault: as sent when it is a
    UUID (Claude Code, Codex) or a short id, else a keyed hash of it.  The header
    is the client's free text, recorded even for requests refused before any scan."""
    for name in _SESSION_HEADERS:
        v = req.header(name)
        if v:
            return v if _SESSION_ID.fullmatch(v) else "session-" + keyed_hash(v, key)
    return None


# A UUID, or a short id that starts with a letter: too short for the secrets the DLP
# engine knows (and never a card or phone number).
_SESSION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
                         r"-[0-9a-fA-F]{12}|[A-Za-z][A-Za-z0-9_.:-]{0,15}")


def _inspected_headers(req: Request) -> list[tuple[str, str]]:
    """The headers that may go upstream, less the client's credentials (those go only
    to the vendor they belong to, see ``_upstream_headers``)."""
    return [(k, v) for k, v in req.headers
            if (lk := k.lower()) not in _DROP_REQUEST_HEADERS and lk not in _AUTH_HEADERS
            and not lk.startswith("x-stockade-")]


def _agent(req: Request) -> str | None:
    ua = req.header("user-agent")
    return ua.split(" ", 1)[0][:64] if ua else None


def _labels(findings: list[SegmentFinding]) -> frozenset[str]:
    return frozenset(sf.finding.label for sf in findings)


def _last_message_segments(ex: Exchange) -> list[Segment]:
    """The newest message's texts (decoded data URLs included; keys and numbers are
    structure, not text)."""
    key = {"anthropic": "messages", "chat": "messages", "responses": "input"}[ex.protocol]
    items = ex.body.get(key)
    if not isinstance(items, list) or not items:
        return []
    return [s for s in ex.element_segments(key, len(items) - 1)
            if s.part in ("text", "decoded")]


def _loc(path: Path, part: str, masks: Mapping[Path, str]) -> str:
    loc = path_str(path, masks)
    return loc if part == "text" else f"{loc} ({part})"


def _relay_json(protocol: Protocol, ctype: str, data: bytes, rw: StreamRewriter,
                vault: Vault | None) -> bytes:
    """Observe a non-streamed response and restore placeholders in it."""
    if "json" not in ctype:
        return data
    try:
        obj = json.loads(data)
    except ValueError:
        return data  # not JSON: nothing we could restore or observe
    observe_body(protocol, obj, rw.obs)
    if vault is not None:
        new = restore_tree(obj, _restore_fn(vault))
        if new != obj:
            return json.dumps(new, ensure_ascii=False).encode("utf-8")
    return data
