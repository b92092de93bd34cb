#!/usr/bin/env bash
# Regenerate the hash-pinned locks of the agent CLIs the end-to-end tests drive:
#   tests/e2e/agents/package-lock.json  from package.json  (npm: Claude Code, Codex)
#   tests/e2e/agents/aider.lock         from aider.in      (pip --require-hashes: Aider)
# To move an agent to a new version, change package.json or aider.in, run this, and
# review the diff: every new hash is code CI will run.  Needs npm and uv (pip install uv).
set -euo pipefail
cd "$(dirname "$0")/.."
agents=tests/e2e/agents
UV="${UV:-uv}"
command -v "$UV" >/dev/null || { echo "install uv first: pip install uv" >&2; exit 3; }
command -v npm >/dev/null || { echo "install npm first (Debian: apt-get install npm)" >&2; exit 3; }

# From scratch in a scratch directory, so no earlier lock or node_modules steers the
# resolution; --ignore-scripts: locking needs no package code to run.  `resolved` is
# kept (a user npmrc may turn it off) so a reviewer sees where each tarball comes from.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$agents/package.json" "$work/"
npm install --prefix "$work" --package-lock-only --ignore-scripts --no-audit --no-fund \
    --omit-lockfile-registry-resolved=false --loglevel=error
cp "$work/package-lock.json" "$agents/package-lock.json"

# --universal: one lock for every platform and each Python the project supports
# (>= 3.11; aider-chat itself stops below 3.13), with markers where a dependency is
# platform-specific.  Each pin carries the hashes of all its files on the index.
"$UV" pip compile "$agents/aider.in" --universal --python-version 3.11 --generate-hashes \
    --no-header --quiet -o "$agents/aider.lock"
echo "wrote $agents/package-lock.json $agents/aider.lock"
