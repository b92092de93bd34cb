#!/usr/bin/env bash
# Install what the test suite needs on a fresh Debian/Ubuntu machine:
# system packages (bubblewrap for the sandbox, git, Node.js for the agent CLIs),
# the Python environment with test dependencies, and the pinned agent CLIs that the
# end-to-end tests drive (Claude Code, Codex, Aider) under .e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; fi
fi

need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v git   >/dev/null || need+=(git)
command -v node  >/dev/null || need+=(nodejs)
command -v npm   >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3)
# The sandbox red-team cases drive these tools from inside the sandbox.
command -v curl  >/dev/null || need+=(curl)
command -v wget  >/dev/null || need+=(wget)
command -v nc    >/dev/null || need+=(netcat-openbsd)
command -v dig   >/dev/null || need+=(bind9-dnsutils)
command -v crontab >/dev/null || need+=(cron)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [[ ${#need[@]} -gt 0 ]]; then
    if command -v apt-get >/dev/null && { [[ -z "$SUDO" && $(id -u) -eq 0 ]] || [[ -n "$SUDO" ]]; }; then
        echo "installing system packages: ${need[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "stockade tests need these packages: ${need[*]} (install them with your package manager)" >&2
        exit 3
    fi
fi

EXTRA_LOCK=requirements-test.lock scripts/bootstrap.sh

# Agent CLIs for the end-to-end tests (pinned; idempotent).
for s in tests/e2e/install_*.sh; do
    [[ -f "$s" ]] && bash "$s"
done
exit 0
