#!/usr/bin/env bash
# Install the pinned real agent CLIs the e2e tests drive, into <repo>/.e2e/.
# Idempotent: a component already at its pinned version is left alone.
# Usage: tests/e2e/install_agents.sh   (CI calls this before `pytest tests/e2e`)
set -euo pipefail

CLAUDE_CODE_VERSION="2.1.329"
CODEX_VERSION="0.169.0"
AIDER_VERSION="0.86.2"

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

aider_venv="$dest/aider-venv"
if ! "$aider_venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aider-chat') != '$AIDER_VERSION')" 2>/dev/null; then
    python3 -m venv "$aider_venv"
    "$aider_venv/bin/pip" install --quiet --disable-pip-version-check "aider-chat==$AIDER_VERSION"
fi

echo "agents installed in $dest:"
echo "  claude: $dest/node_modules/.bin/claude ($CLAUDE_CODE_VERSION)"
echo "  codex:  $dest/node_modules/.bin/codex ($CODEX_VERSION)"
echo "  aider:  $aider_venv/bin/aider ($AIDER_VERSION)"
