"""A stream of requests made of unique, tiny values must not grow the gateway's
memory past the caches' budget.

The caches were bounded by the characters of the texts they keep, but an
element of one-letter keys costs ~50 bytes of Python objects per character
(a key, a text and a "KEY: value" segment per pair, path tuples, the decoded
dict), and the per-Block findings were kept for 8192 Blocks whatever the
memo had dropped: ~120 MB of such requests held 1.6 GB and kept growing.
"""

from __future__ import annotations

import gc
import json
import tracemalloc

from stockade.gateway.inspect import ScanCache, inspect
from stockade.wire.exchange import parse_request

BUDGET = 1024 * 1024


def _hostile(n: int) -> bytes:
    """~40 KB: elements of one-letter-ish keys and short strings, unique per ``n``."""
    tools = [{"name": f"t{n}_{j}", "input_schema": {"type": "object", "properties": {
        f"{n}{j}k{k}": {"type": "string"} for k in range(40)}}} for j in range(10)]
    messages = [{"role": "user", "content": [f"{n}.{j}.{k}" for k in range(150)]}
                for j in range(10)]
    return json.dumps({"model": "m", "tools": tools, "messages": messages}).encode()


def test_unique_tiny_values_stay_within_the_cache_budget() -> None:
    cache = ScanCache(lambda text: [], max_bytes=BUDGET)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        sent = 0
        for n in range(40):
            raw = _hostile(n)
            sent += len(raw)
            inspect(parse_request("anthropic", raw, memo=cache.memo), cache)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert sent > BUDGET  # the requests alone would overflow it
    assert cache.held_bytes <= BUDGET
    # the estimate is an upper bound of what is really kept (with slack for the
    # allocator's own bookkeeping)
    assert held <= 2 * BUDGET, \
        f"the caches hold {held // 1024} KiB for a {BUDGET // 1024} KiB budget"


def test_a_block_keeps_its_findings_only_for_the_cache_that_scanned_it() -> None:
    """Findings stored on a shared Block are tagged with the scanner's cache: a
    cache with other rules (another gateway, a new policy) scans it itself."""
    raw = json.dumps({"model": "m", "messages": [
        {"role": "user", "content": "ticket ACME-12345678"}]}).encode()
    quiet = ScanCache(lambda text: [])
    ex = parse_request("chat", raw, memo=quiet.memo)
    assert inspect(ex, quiet) == []

    from gwsupport import rule_scanner

    strict = ScanCache(rule_scanner)
    found = inspect(ex, strict)  # the same Blocks, another scanner
    assert [sf.finding.rule_id for sf in found] == ["acme-customer-id"]
    assert inspect(parse_request("chat", raw, memo=quiet.memo), quiet) == []


def test_findings_kept_by_the_caches_count_against_the_budget() -> None:
    """A text of short e-mail addresses holds a finding per ~25 characters, each a
    few hundred bytes: uncounted, they let the caches grow ~10x past the budget."""
    from gwsupport import rule_scanner

    cache = ScanCache(rule_scanner, max_bytes=BUDGET)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for n in range(16):
            messages = [{"role": "user", "content": " ".join(
                f"u{n}.{j}.{k}@customer.test" for k in range(100))} for j in range(20)]
            raw = json.dumps({"model": "m", "messages": messages}).encode()
            assert inspect(parse_request("anthropic", raw, memo=cache.memo), cache)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert cache.held_bytes <= BUDGET
    assert held <= 2 * BUDGET, \
        f"the caches hold {held // 1024} KiB for a {BUDGET // 1024} KiB budget"
