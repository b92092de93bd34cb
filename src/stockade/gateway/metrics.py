"""Prometheus text exposition of the gateway's counters (no dependency)."""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

# The label for requests to a path that is no model API (GET /nope): counting them
# under a guessed protocol would make a scanner look like chat traffic.
NO_PROTOCOL = "none"

# How many recent request ids remember the decision they were counted under.  A
# request is counted when it is decided and moved if it later fails upstream;
# requests outlive their decision by one upstream round trip, so a few thousand
# in flight at once is plenty.
_RECENT = 4096


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = defaultdict(int)  # (protocol, decision)
        self.findings: dict[str, int] = defaultdict(int)  # rule_id
        self.upstream_errors: dict[tuple[str, str], int] = defaultdict(int)  # (upstream, kind)
        self.overhead_buckets = [0] * (len(_BUCKETS) + 1)
        self.overhead_sum = 0.0
        self.overhead_count = 0
        self.in_flight = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self._counted: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def request(self, protocol: str, decision: str, *, request_id: str | None = None) -> None:
        """Count one request under its decision.  Called again with the same
        ``request_id`` (an upstream failure after a ``redact`` decision), the
        request moves to the new decision: one request, counted once, final word."""
        key = (protocol, decision)
        with self._lock:
            if request_id is not None:
                before = self._counted.pop(request_id, None)
                if before is not None:
                    self.requests[before] -= 1
                    if self.requests[before] <= 0:
                        del self.requests[before]
                self._counted[request_id] = key
                while len(self._counted) > _RECENT:
                    self._counted.popitem(last=False)
            self.requests[key] += 1

    def finding(self, rule_id: str) -> None:
        with self._lock:
            self.findings[rule_id] += 1

    def upstream_error(self, upstream: str, kind: str) -> None:
        with self._lock:
            self.upstream_errors[(upstream, kind)] += 1

    def overhead(self, seconds: float) -> None:
        with self._lock:
            i = next((i for i, b in enumerate(_BUCKETS) if seconds <= b), len(_BUCKETS))
            self.overhead_buckets[i] += 1
            self.overhead_sum += seconds
            self.overhead_count += 1

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            out.append("# HELP stockade_gateway_requests_total Model API requests by decision.")
            out.append("# TYPE stockade_gateway_requests_total counter")
            for (proto, dec), n in sorted(self.requests.items()):
                out.append(f'stockade_gateway_requests_total{{protocol="{proto}",'
                           f'decision="{dec}"}} {n}')
            out.append("# HELP stockade_gateway_findings_total DLP findings acted on, by rule.")
            out.append("# TYPE stockade_gateway_findings_total counter")
            for rule, n in sorted(self.findings.items()):
                out.append(f'stockade_gateway_findings_total{{rule="{rule}"}} {n}')
            out.append("# HELP stockade_gateway_upstream_errors_total Upstream failures.")
            out.append("# TYPE stockade_gateway_upstream_errors_total counter")
            for (up, kind), n in sorted(self.upstream_errors.items()):
                out.append(f'stockade_gateway_upstream_errors_total{{upstream="{up}",'
                           f'kind="{kind}"}} {n}')
            out.append("# HELP stockade_gateway_overhead_seconds Time spent in the gateway "
                       "before forwarding (parse, inspect, decide, ledger).")
            out.append("# TYPE stockade_gateway_overhead_seconds histogram")
            acc = 0
            for b, n in zip(_BUCKETS, self.overhead_buckets):
                acc += n
                out.append(f'stockade_gateway_overhead_seconds_bucket{{le="{b}"}} {acc}')
            out.append(f'stockade_gateway_overhead_seconds_bucket{{le="+Inf"}} '
                       f"{self.overhead_count}")
            out.append(f"stockade_gateway_overhead_seconds_sum {self.overhead_sum:.6f}")
            out.append(f"stockade_gateway_overhead_seconds_count {self.overhead_count}")
            out.append("# TYPE stockade_gateway_in_flight gauge")
            out.append(f"stockade_gateway_in_flight {self.in_flight}")
            out.append("# TYPE stockade_gateway_scan_cache_hits_total counter")
            out.append(f"stockade_gateway_scan_cache_hits_total {self.cache_hits}")
            out.append("# TYPE stockade_gateway_scan_cache_misses_total counter")
            out.append(f"stockade_gateway_scan_cache_misses_total {self.cache_misses}")
        return "\n".join(out) + "\n"
