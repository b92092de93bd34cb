#!/usr/bin/env bash
# Install missing system packages with apt-get (as root, or through sudo).
# Usage: scripts/system-deps.sh COMMAND:PACKAGE ...   (installs PACKAGE when COMMAND is missing)
set -euo pipefail
need=()
for pair in "$@"; do
    cmd="${pair%%:*}"; pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
[[ ${#need[@]} -eq 0 ]] && exit 0
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "stockade needs these packages: ${need[*]}; install them as root" >&2; exit 3
    fi
fi
if ! command -v apt-get >/dev/null; then
    echo "stockade needs these packages: ${need[*]}; install them with your package manager" >&2
    exit 3
fi
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
