#!/usr/bin/env bash
# Regenerate the hash-pinned lock files from pyproject.toml (needs uv: pip install uv).
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-uv}"
command -v "$UV" >/dev/null || { echo "install uv first: pip install uv" >&2; exit 3; }
"$UV" pip compile pyproject.toml --extra fast --generate-hashes --python-version 3.11 \
    --no-header --quiet -o requirements.lock
"$UV" pip compile pyproject.toml --extra fast --extra test --generate-hashes --python-version 3.11 \
    --no-header --quiet -o requirements-test.lock
echo "wrote requirements.lock requirements-test.lock"
