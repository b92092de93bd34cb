#!/usr/bin/env bash
# Install the real agent CLIs the e2e tests drive into <repo>/.e2e/ (or $STOCKADE_E2E_DIR),
# only from the hash-pinned locks in tests/e2e/agents/ (regenerate: scripts/lock-agents.sh):
#   Claude Code, Codex: `npm ci` from package-lock.json (sha512 integrity of every tarball)
#   Aider: its own venv, `pip --require-hashes --only-binary :all:` from aider.lock
# Idempotent: a part is left alone while its stamp (a hash of the lock it was installed
# from) matches and its CLI runs and reports the pinned version; otherwise it is removed
# and installed again from scratch, so nothing unverified from an older install survives.
# Usage: tests/e2e/install_agents.sh   (scripts/setup-test-env.sh calls it; so can CI)
# Env: STOCKADE_E2E_DIR (target), STOCKADE_AIDER_PYTHON (Python for Aider's venv).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
agents="$repo/tests/e2e/agents"
dest="${STOCKADE_E2E_DIR:-$repo/.e2e}"
python="${STOCKADE_AIDER_PYTHON:-python3}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

die() {  # first argument: the error; further ones: continuation lines of the hint
    printf 'install_agents: error: %s\n' "$1" >&2
    shift
    (($# == 0)) || printf '  %s\n' "$@" >&2
    exit 1
}

# Runs a step with its output shown and kept; a failure names the step, and a hash
# mismatch says so plainly: it is the one failure that must not be "fixed" by retrying
# without the lock.
step() {  # $1 what, then the command
    local what="$1"
    shift
    if "$@" 2>&1 | tee "$work/step.log"; then
        return 0
    fi
    if grep -qE 'EINTEGRITY|DO NOT MATCH THE HASHES|integrity checksum failed' "$work/step.log"; then
        die "$what: a downloaded file does not match its hash in $agents/." \
            "The registry or a proxy/mirror served different bytes than were locked: do not bypass" \
            "the check. Retry later or from another mirror; if upstream really republished, review" \
            "that change and regenerate the locks with scripts/lock-agents.sh."
    fi
    die "$what failed (output above)."
}

# A CLI that runs in a bare environment and prints exactly the pinned version.
reports_version() {  # $1 executable, $2 version
    local out
    [[ -x "$1" ]] || return 1
    mkdir -p "$work/home"
    out="$(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work/home" LANG=C.UTF-8 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 LITELLM_LOCAL_MODEL_COST_MAP=True \
        "$1" --version 2>/dev/null)" || return 1
    grep -qE "(^|[^0-9.])${2//./\\.}([^0-9.]|$)" <<<"$out"
}

verify() {  # $1 name, $2 executable, $3 version
    reports_version "$2" "$3" \
        || die "$1 was installed but \`$2 --version\` does not run or does not print $3."
}

fingerprint() {  # stdin -> one hash
    sha256sum | cut -d' ' -f1
}

pkg_version() {  # $1 npm package: its exact version in package.json
    sed -n "s|^ *\"$1\": \"\\([^\"]*\\)\".*|\\1|p" "$agents/package.json"
}

claude_version="$(pkg_version @anthropic-ai/claude-code)"
codex_version="$(pkg_version @openai/codex)"
aider_version="$(sed -n 's/^aider-chat==//p' "$agents/aider.in")"
[[ -n "$claude_version" && -n "$codex_version" && -n "$aider_version" ]] \
    || die "cannot read the pinned versions from $agents/package.json and aider.in"
claude="$dest/node_modules/.bin/claude"
codex="$dest/node_modules/.bin/codex"

# -- Claude Code and Codex --------------------------------------------------------------
npm_stamp="$dest/.agents-npm.stamp"
npm_want="$(cat "$agents/package.json" "$agents/package-lock.json" | fingerprint)"
if [[ "$(cat "$npm_stamp" 2>/dev/null)" == "$npm_want" ]] \
   && reports_version "$claude" "$claude_version" && reports_version "$codex" "$codex_version"; then
    echo "claude $claude_version, codex $codex_version: installed from the current lock"
else
    command -v npm >/dev/null || die "npm is not installed (Debian: apt-get install npm)"
    rm -f "$npm_stamp"
    echo "installing claude $claude_version, codex $codex_version from $agents/package-lock.json"
    cp "$agents/package.json" "$agents/package-lock.json" "$dest/"
    # No package's install script runs (the lock pins bytes, not behaviour) except the one
    # named below; npm ci also refuses a lock that does not match package.json.
    (cd "$dest" && step "npm ci (Claude Code, Codex)" \
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    # Claude Code's postinstall only puts the platform binary (from its integrity-checked
    # optional dependency) in place of the bin/claude.exe stub; without it `claude` is the stub.
    (cd "$dest" && step "Claude Code postinstall" \
        npm rebuild @anthropic-ai/claude-code --ignore-scripts=false --foreground-scripts --loglevel=error)
    verify claude "$claude" "$claude_version"
    verify codex "$codex" "$codex_version"
    echo "$npm_want" >"$npm_stamp"
fi

# -- Aider ------------------------------------------------------------------------------
aider_venv="$dest/aider-venv"
aider="$aider_venv/bin/aider"
aider_stamp="$aider_venv/.agents-aider.stamp"
# aider.lock is compiled for Python >= 3.11, and aider-chat itself requires < 3.13.
py_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" \
    || die "$python not found: set STOCKADE_AIDER_PYTHON to a Python 3.11 or 3.12"
"$python" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' \
    || die "Aider $aider_version needs Python 3.11 or 3.12, $python is $py_version:" \
           "set STOCKADE_AIDER_PYTHON=python3.12 (or python3.11)"
aider_want="$( { cat "$agents/aider.lock"; "$python" -c 'import sys; print(sys.executable, sys.version)'; } \
    | fingerprint)"
if [[ "$(cat "$aider_stamp" 2>/dev/null)" == "$aider_want" ]] && reports_version "$aider" "$aider_version"; then
    echo "aider $aider_version: installed from the current lock"
else
    echo "installing aider $aider_version from $agents/aider.lock (Python $py_version)"
    rm -rf "$aider_venv"
    "$python" -m venv "$aider_venv" \
        || die "cannot create a venv with $python (Debian: apt-get install python3-venv)"
    # --only-binary: building an sdist would fetch its build requirements unchecked.
    step "pip install (Aider)" "$aider_venv/bin/python" -m pip install --require-hashes \
        --only-binary :all: --no-input --disable-pip-version-check --quiet -r "$agents/aider.lock"
    verify aider "$aider" "$aider_version"
    echo "$aider_want" >"$aider_stamp"
fi

echo "agents installed in $dest:"
echo "  claude: $claude ($claude_version)"
echo "  codex:  $codex ($codex_version)"
echo "  aider:  $aider ($aider_version)"
