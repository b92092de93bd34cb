#!/usr/bin/env bash
# Create the project's virtual environment from the locked requirements.
# Idempotent: does nothing when the lock file has not changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
LOCK="requirements.lock"
EXTRA_LOCK="${EXTRA_LOCK:-}"   # e.g. requirements-test.lock

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "stockade needs Python >= 3.11 (found: $("$PYTHON" --version 2>&1 || echo none))." >&2
    echo "Install it (Debian/Ubuntu: apt-get install python3 python3-venv) or run: make PYTHON=python3.11 ..." >&2
    exit 3
fi
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "Python's venv module is missing. Debian/Ubuntu: apt-get install python3-venv" >&2
    exit 3
fi

stamp="$VENV/.stockade-installed"
want="$(cat "$LOCK" $EXTRA_LOCK pyproject.toml | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$VENV/bin/stockade" ]]; then
    exit 0
fi
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
# Hashes pinned: what runs is what was reviewed.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$LOCK" ${EXTRA_LOCK:+-r $EXTRA_LOCK}
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
# The venv's own setuptools (Python 3.11's venv brings one; builds use an
# isolated one) ships distutils-precedence.pth, which imports a module at
# every interpreter start: ~2 ms of every stockade command and hook call.
"$VENV/bin/python" -m pip uninstall --quiet --disable-pip-version-check -y setuptools 2>/dev/null || true
echo "$want" > "$stamp"
echo "stockade installed in $VENV ($("$VENV/bin/stockade" --version))"
