#!/usr/bin/env bash
# Install the pinned Claude Code and Codex CLIs the hook e2e tests drive, into <repo>/.e2e/.
# Idempotent: a CLI already at its pinned version is left alone.
# Usage: tests/e2e/install_agents_hooks.sh   (CI runs it before `pytest tests/e2e`)
set -euo pipefail

CLAUDE_CODE_VERSION="2.1.329"
CODEX_VERSION="0.169.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${STOCKADE_E2E_DIR:-$repo/.e2e}"
mkdir -p "$dest"

npm_installed() {  # $1 package, $2 version
    local pj="$dest/node_modules/$1/package.json"
    [[ -f "$pj" ]] && grep -q "\"version\": \"$2\"" "$pj"
}

if ! npm_installed "@anthropic-ai/claude-code" "$CLAUDE_CODE_VERSION" \
   || ! npm_installed "@openai/codex" "$CODEX_VERSION"; then
    npm install --no-audit --no-fund --prefix "$dest" \
        "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION"
fi

echo "hook e2e agents installed in $dest:"
echo "  claude: $dest/node_modules/.bin/claude ($CLAUDE_CODE_VERSION)"
echo "  codex:  $dest/node_modules/.bin/codex ($CODEX_VERSION)"
