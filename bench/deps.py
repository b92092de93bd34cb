"""Dependency guard: how well it sorts real names, and what a check costs.

    .venv/bin/python bench/deps.py [--index DIR]

Three lists of names, checked as `stockade deps check-command` would:

* POPULAR: real, widely used packages (must pass);
* SQUATS: typosquats named in public malware reports (PyPI 2017 SK-CSIRT
  list, PyPI 2018-2019 reports, npm 2017 `crossenv` wave and later) and
  imitations in the same style (must be refused);
* HALLUCINATED: plausible names a model invents, none of which exists on
  its registry (must be refused: `deps.nonexistent`).

The registry is a local HTTP server answering from the package indexes in
``--index`` (default /work/.library/env/packages: every PyPI and npm name,
one per line in pypi.tsv / npm.tsv), so "does it exist" is answered from
real data without the network.  Without the indexes, HALLUCINATED is
answered from the list itself and POPULAR/SQUATS exist.

Prints precision and recall (refused = positive), the misses by name, and
the latency per name of the typosquat check against a peer measured in the
same run: a plain scan computing the Damerau distance to every popular
name (what a straightforward implementation does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

POPULAR = {
    "pypi": ["requests", "numpy", "pandas", "python-dateutil", "urllib3", "boto3", "botocore",
             "setuptools", "six", "certifi", "idna", "charset-normalizer", "typing-extensions",
             "pyyaml", "cryptography", "packaging", "attrs", "jinja2", "markupsafe", "click",
             "flask", "django", "pytest", "pytest-asyncio", "colorama", "jellyfish", "pillow",
             "scipy", "matplotlib", "sqlalchemy", "pydantic", "fastapi", "uvicorn", "httpx",
             "aiohttp", "rich", "tqdm", "beautifulsoup4", "lxml", "psycopg2-binary", "redis",
             "celery", "openai", "anthropic", "torch", "transformers", "scikit-learn", "pyjwt",
             "protobuf", "grpcio", "discord-py", "python-binance", "opencv-python", "selenium",
             "requests-toolbelt", "requests-oauthlib", "websockets", "paramiko", "docutils",
             "black"],
    "npm": ["react", "react-dom", "lodash", "express", "@types/node", "@types/react",
            "typescript", "cross-env", "electron", "axios", "chalk", "debug", "semver", "commander",
            "webpack", "@babel/core", "eslint", "prettier", "jest", "mongoose", "nodemailer",
            "jquery", "moment", "dotenv", "uuid", "yargs", "vue", "next", "zod", "ws",
            "discord.js", "coffee-script", "node-sass", "sqlite3", "mysql", "request",
            "ffmpeg-static", "http-proxy", "fabric", "d3"],
}

SQUATS = {
    # PyPI: SK-CSIRT 2017, the 2018-2019 reports (colourama, python3-dateutil, jeIlyfish)
    # and names in the same style
    "pypi": ["acqusition", "apidev-coop", "bzip", "crypt", "django-server", "pwd",
             "setup-tools", "telnet", "urlib3", "urllib", "colourama", "python3-dateutil",
             "jeIlyfish", "reqeusts", "requesys", "rquests", "requests-async2", "python-requests",
             "requests-py", "djang0", "nunpy", "pandsa", "matplotllib", "beautifulsoup",
             "python-sqlite", "pyyaml3", "numpy-official", "tensorfllow", "pilllow",
             "discordpy-self", "openai-python", "anthroplc", "cryptograpy", "scikitlearn"],
    # npm: the 2017 crossenv wave, electorn, and names in the same style
    "npm": ["crossenv", "cross-env.js", "d3.js", "fabric-js", "ffmepg", "gruntcli",
            "http-proxy.js", "jquery.js", "mongose", "mssql.js", "mssql-node", "mysqljs",
            "node-fabric", "node-opencv", "node-openssl", "node-sqlite", "nodecaffe",
            "nodefabric", "nodeffmpeg", "nodemailer-js", "nodemailer.js", "nodemssql",
            "noderequest", "nodesass", "nodesqlite", "opencv.js", "openssl.js", "proxy.js",
            "shadowsock", "sqlite.js", "sqliter", "electorn", "@typ3s/node", "@types/nodee",
            "lodahs", "expres", "reactt", "axois", "chalkk", "discordjs"],
}

HALLUCINATED = {
    "pypi": ["flask-gpt-helper-utils", "pandas-easy-csv-loader", "torch-fast-dataloader-x",
             "requests-retry-session-plus", "fastapi-auth-middleware-jwt-simple",
             "django-rest-auth-tokens-pro", "numpy-matrix-helpers-lite", "aws-s3-sync-helper-py",
             "openai-chat-wrapper-tool", "sqlalchemy-async-repository-base"],
    "npm": ["react-use-fetch-hook-pro", "express-jwt-middleware-simple-x",
            "node-env-config-loader-lite", "vue-table-component-plus-x",
            "typescript-utils-collection-ai", "next-auth-helpers-easy-z",
            "lodash-deep-merge-safe-x", "axios-retry-interceptor-plus-z",
            "zod-form-validator-helper", "webpack-env-plugin-simple-x"],
}


# -- a registry answering from the package indexes ----------------------------

def load_names(index_dir: Path) -> dict[str, set[str]] | None:
    from stockade.deps.names import normalise

    out: dict[str, set[str]] = {}
    for eco, fn in (("pypi", "pypi.tsv"), ("npm", "npm.tsv")):
        p = index_dir / fn
        if not p.exists():
            return None
        with p.open(encoding="utf-8", errors="replace") as fh:
            next(fh)
            out[eco] = {normalise(eco, line.split("\t", 1)[0]) for line in fh}
    return out


def serve(names: dict[str, set[str]] | None) -> tuple[ThreadingHTTPServer, str]:
    from stockade.deps.names import normalise

    def exists(eco: str, name: str) -> bool:
        if names is not None:
            return normalise(eco, name) in names[eco]
        return name not in HALLUCINATED[eco]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            eco, _, rest = self.path.lstrip("/").partition("/")
            name = unquote(rest[:-5] if eco == "pypi" else rest)
            if exists(eco, name):
                old = "2015-01-01T00:00:00Z"
                body: dict[str, Any] = (
                    {"info": {"version": "1.0"}, "releases": {"1.0": [
                        {"upload_time_iso_8601": old}]}} if eco == "pypi" else
                    {"name": name, "versions": {"1.0.0": {}}, "time": {"created": old},
                     "dist-tags": {"latest": "1.0.0"}})
                data, status = json.dumps(body).encode(), 200
            else:
                data, status = b"{}", 404
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


# -- the peer -----------------------------------------------------------------

def naive_typosquat(idx: Any, name: str) -> str | None:
    """The peer: Damerau distance to every popular name, no index."""
    from stockade.deps.popular import damerau, fold

    fd = fold(name.lower())
    if fd in idx.folded:
        return None
    for cand, pop in idx.folded.items():
        if abs(len(cand) - len(fd)) <= 1 and damerau(fd, cand, 1) <= 1:
            return pop
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description="dependency guard evaluation")
    ap.add_argument("--index", type=Path, default=Path("/work/.library/env/packages"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from stockade.config.model import DependencyPolicy
    from stockade.deps.engine import Checker
    from stockade.deps.names import parse
    from stockade.deps.popular import index
    from stockade.deps.registry import Registry, Settings

    t0 = time.perf_counter()
    idx = {eco: index(eco) for eco in ("pypi", "npm")}
    for ix in idx.values():
        assert ix is not None
        ix.build()
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    names = load_names(args.index)
    print(f"registry data: {'package indexes in ' + str(args.index) if names else 'built-in'} "
          f"({time.perf_counter() - t0:.1f} s to load)")
    srv, base = serve(names)
    state = tempfile.mkdtemp(prefix="stockade-bench-")
    env = {"STOCKADE_DEPS_PYPI_URL": f"{base}/pypi", "STOCKADE_DEPS_NPM_URL": f"{base}/npm"}
    checker = Checker(DependencyPolicy(), registry=Registry(Settings.from_env(env,
                                                                           state_root=state)),
                      osv=None)
    tp = fp = fn = tn = 0
    misses: list[str] = []
    per: dict[str, list[int]] = {}
    for label, table, positive in (("popular", POPULAR, False), ("squats", SQUATS, True),
                                   ("hallucinated", HALLUCINATED, True)):
        hit_n = tot = 0
        for eco, items in table.items():
            for name in items:
                spec = parse(eco, name)
                assert spec is not None
                r = checker.check(spec)
                refused = r.refused
                tot += 1
                hit_n += refused
                if positive and refused:
                    tp += 1
                elif positive:
                    fn += 1
                    misses.append(f"missed {eco}:{name}")
                elif refused:
                    fp += 1
                    misses.append(f"false alarm {eco}:{name} "
                                  f"({', '.join(f.code for f in r.findings)})")
                else:
                    tn += 1
        per[label] = [hit_n, tot]
    srv.shutdown()
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"\nnames: {sum(t for _, t in per.values())}  "
          + "  ".join(f"{k}: {h}/{t} refused" for k, (h, t) in per.items()))
    print(f"precision {precision:.3f}  recall {recall:.3f}  (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    sq_hits = sum(1 for eco, items in SQUATS.items() for n in items
                  if idx[eco] is not None and idx[eco].check(n) is not None)  # type: ignore[union-attr]
    sq_tot = sum(len(v) for v in SQUATS.values())
    print(f"typosquat check alone (no registry): {sq_hits}/{sq_tot} squats flagged")
    for m in misses:
        print("  " + m)

    if names is not None:
        flag_rate(names, idx)

    # latency: the indexed check vs the peer's scan, same names, same process
    # (names that are not popular: a popular name is one dict look-up for both)
    sample = [(eco, n) for table in (SQUATS, HALLUCINATED)
              for eco, items in table.items() for n in items]
    ours: list[float] = []
    peer: list[float] = []
    for _ in range(args.rounds):
        for eco, n in sample:
            ix = idx[eco]
            assert ix is not None
            t = time.perf_counter()
            ix.check(n)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            naive_typosquat(ix, n)
            peer.append(time.perf_counter() - t)
    mo, mp = statistics.median(ours) * 1e6, statistics.median(peer) * 1e6
    po, pp = (sorted(x)[int(len(x) * .95)] * 1e6 for x in (ours, peer))
    sizes = "+".join(str(len(i.folded)) for i in idx.values() if i is not None)
    print(f"\ntyposquat check per name (not popular, {len(ours)} checks): median {mo:.0f} us, "
          f"p95 {po:.0f} us")
    print(f"peer, a Damerau scan of the {sizes} popular names: median {mp:.0f} us, p95 {pp:.0f} us")
    print(f"ratio (peer / stockade, median): {mp / mo:.1f}x")
    print(f"index build (both lists, once per process): {build_s * 1000:.0f} ms")
    hook_cost(state, rounds=max(3, args.rounds))
    return 0


def flag_rate(names: dict[str, set[str]], idx: dict[str, Any], n: int = 3000) -> None:
    """How often the typosquat check fires on real names that are not on the
    popular lists (a seeded random sample of each index).  Not all of these
    are false alarms: registries hold many squats; the examples let a reader
    judge."""
    import random

    rng = random.Random(20261121)
    print(f"\ntyposquat flags on {n} random existing names per registry, not popular:")
    for eco in ("pypi", "npm"):
        ix = idx[eco]
        pool = sorted(x for x in names[eco] if x not in ix.names)
        sample = rng.sample(pool, min(n, len(pool)))
        hits = [(x, m) for x in sample if (m := ix.check(x)) is not None]
        how: dict[str, int] = {}
        for _, m in hits:
            how[m.how] = how.get(m.how, 0) + 1
        print(f"  {eco}: {len(hits)}/{len(sample)} ({100 * len(hits) / len(sample):.1f}%) "
              f"{how}; e.g. " + ", ".join(f"{x}->{m.target}" for x, m in hits[:8]))


def hook_cost(state: str, *, rounds: int) -> None:
    """What an install adds to a hook process: `check_install` on a popular
    and an unknown (cached) name, against the same process importing the
    seam only (what a hook call without an install pays)."""
    import subprocess

    env = {**os.environ, "STOCKADE_HOME": state, "STOCKADE_DEPS_OFFLINE": "1",
           "HOME": state, "XDG_CONFIG_HOME": state}
    env.pop("STOCKADE_POLICY", None)
    cases = {
        "import only (no install)": "import stockade.hooks.depcheck",
        "pip install requests": "from stockade.hooks.depcheck import check_install as c; "
                                "c('pypi', ('requests',))",
        "pip install reqeusts": "from stockade.hooks.depcheck import check_install as c; "
                                "c('pypi', ('reqeusts',))",
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for label, code in cases.items():
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            times[label].append(time.perf_counter() - t)
    base = statistics.median(times["import only (no install)"])
    print("\nhook process, offline (median of", rounds, "runs):")
    for label, ts in times.items():
        m = statistics.median(ts)
        extra = "" if label.startswith("import") else f"  (+{(m - base) * 1000:.0f} ms)"
        print(f"  {label:<26} {m * 1000:6.0f} ms{extra}")


if __name__ == "__main__":
    raise SystemExit(main())
