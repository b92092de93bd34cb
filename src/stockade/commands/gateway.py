"""``stockade gateway``: run the LLM gateway in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import signal
import sys
from pathlib import Path

from stockade.errors import UsageError
from stockade.gateway.config import (
    ConfigError,
    Limits,
    Upstream,
    is_loopback,
    parse_listen,
    parse_route_arg,
    parse_upstream_arg,
)

DEFAULT_LISTEN = "127.0.0.1:8787"
# A request body above this is no prompt: the gateway holds each body in memory
# while it inspects it, so the cap is what one request may cost.
MAX_BODY_MB_LIMIT = 1024.0


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Inspect every prompt an agent sends to its model vendor: forward, redact, route or "
        "block it per policy, and record it in the ledger. Point the agent at the printed "
        "base URLs.")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help=f"address to listen on (default {DEFAULT_LISTEN}; port 0 picks one)")
    parser.add_argument("--upstream", action="append", default=[], metavar="NAME=URL",
                        help="override or add an upstream, e.g. anthropic=https://api.anthropic.com"
                             ", openai=https://api.openai.com/v1, local=http://127.0.0.1:8000/v1")
    parser.add_argument("--route", action="append", default=[], metavar="LABEL=UPSTREAM",
                        help="send requests carrying a finding with LABEL to UPSTREAM, before "
                             "the policy's models.routes (repeatable; '*=local' sends "
                             "everything); a policy route on a label the request carries "
                             "still wins")
    parser.add_argument("--policy", metavar="FILE", help="policy file (default: the usual layers)")
    parser.add_argument("--workspace", metavar="DIR", help="workspace whose stockade.yaml applies")
    parser.add_argument("--session", metavar="ID", default=os.environ.get("STOCKADE_SESSION") or None,
                        help="record every request under this session (stockade run sets "
                             "$STOCKADE_SESSION for its own gateway)")
    parser.add_argument("--ready-file", metavar="FILE", type=Path,
                        help="once listening, write the base URL to FILE (for scripts and "
                             "`--listen HOST:0`)")
    parser.add_argument("--max-body-mb", type=float, default=32.0, metavar="MB",
                        help="largest request body accepted, in MB: more than 0, at most "
                             f"{MAX_BODY_MB_LIMIT:g} (default 32)")


def max_body_bytes(mb: float) -> int:
    """``--max-body-mb`` in bytes; refused unless it lets at least one byte through
    and stays sane (a value of 0 or less would refuse every request)."""
    if not math.isfinite(mb) or mb <= 0 or mb > MAX_BODY_MB_LIMIT:
        raise UsageError(
            f"--max-body-mb {mb:g}: must be more than 0 and at most {MAX_BODY_MB_LIMIT:g}",
            hint="the default, 32, fits the largest agent requests; e.g. --max-body-mb 64")
    return max(1, int(mb * 1024 * 1024))


def upstream_overrides(args: list[str]) -> list[Upstream]:
    """``--upstream NAME=URL`` values, checked here so that a bad one names the flag."""
    out = []
    for text in args:
        try:
            out.append(parse_upstream_arg(text))
        except ConfigError as exc:
            if exc.hint:
                raise
            raise ConfigError(f"--upstream: {exc.message}",
                              hint="give an http:// or https:// URL with a host, e.g. "
                                   "--upstream local=http://127.0.0.1:8000/v1") from None
    return out


def run(args: argparse.Namespace) -> int:
    from stockade.gateway.deps import dlp_scanner, load_config, open_ledger_sink
    from stockade.gateway.keys import KeyStore
    from stockade.gateway.server import Gateway
    from stockade.state import StateDir

    host, port = parse_listen(args.listen)
    overrides = upstream_overrides(args.upstream)
    cli_routes = tuple(parse_route_arg(r) for r in args.route)
    limits = Limits(max_body_bytes=max_body_bytes(args.max_body_mb))
    workspace = args.workspace or os.getcwd()
    cfg, policy = load_config(policy_file=args.policy, workspace=workspace,
                              upstream_overrides=overrides, limits=limits)
    # The workspace given by `stockade run` is what `repository:` routes match (a
    # client's X-Stockade-Workspace header counts only when none was given).
    cfg = dataclasses.replace(cfg, cli_routes=cli_routes, session=args.session,
                              workspace=os.path.abspath(args.workspace) if args.workspace
                              else None)
    state = StateDir.default().ensure()
    scanner, engine_name = dlp_scanner(policy, fingerprint_key=state.hmac_key())
    ledger = open_ledger_sink(policy, state)
    gw = Gateway(cfg, scanner=scanner, ledger=ledger, hmac_key=state.hmac_key(),
                 keystore=KeyStore(state))
    if not is_loopback(host) and not gw.team_mode:
        raise UsageError(
            f"refusing to listen on {host}: without authentication anyone who can reach it "
            "could use the agents' credentials",
            hint="listen on 127.0.0.1, or set an upstream key variable (e.g. ANTHROPIC_API_KEY) "
                 "in the gateway's environment so callers must present stockade keys "
                 "(`stockade keys create --user U --team T`)")
    # Each request allocates thousands of short-lived objects (a 90 KB JSON body);
    # the default thresholds run a collection every few requests.  Freeze what
    # start-up built and collect less often: latency, not memory, is the budget.
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return asyncio.run(_serve(gw, host, port, engine_name, ledger, args.ready_file))


async def _serve(gw, host: str, port: int, engine_name: str, ledger,  # type: ignore[no-untyped-def]
                 ready_file: Path | None = None) -> int:
    bound_host, bound_port = await gw.start(host, port)
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    base = f"http://{shown}:{bound_port}"
    mode = ("team (callers need stockade keys; vendor keys injected for: "
            + ", ".join(sorted(gw.vendor_keys)) + ")") if gw.team_mode else \
        "personal (client credentials pass through)"
    print(f"stockade gateway listening on {base}", flush=True)
    print(f"  mode: {mode}")
    print(f"  dlp: {engine_name}")
    for up in gw.cfg.upstreams.values():
        fb = f", fallback: {', '.join(up.fallback)}" if up.fallback else ""
        print(f"  upstream {up.name}: {up.url} ({up.protocol}{fb})")
    for i, r in enumerate(gw.cfg.cli_routes):
        print(f"  --route[{i}]: {r.label or '*'} -> {r.upstream}")
    for i, r in enumerate(gw.cfg.routes):
        crit = ", ".join(f"{k}={v}" for k in ("label", "team", "repository", "model")
                         if (v := getattr(r, k)) is not None) or "*"
        print(f"  models.routes[{i}]: {crit} -> {r.upstream}")
    print("Point your agents at it:")
    print(f"  export ANTHROPIC_BASE_URL={base}")
    print(f"  export OPENAI_BASE_URL={base}/v1")
    print(f"  export OPENAI_API_BASE={base}/v1   # Aider", flush=True)
    if ready_file is not None:
        tmp = ready_file.with_name(ready_file.name + ".tmp")
        tmp.write_text(base + "\n")
        os.replace(tmp, ready_file)  # readers never see a half-written URL
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover
            pass
    serve = asyncio.ensure_future(gw.serve_forever())
    await stop.wait()
    serve.cancel()
    await gw.close()
    ledger.close()
    print("stockade gateway stopped", file=sys.stderr)
    return 0
