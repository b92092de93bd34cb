#!/usr/bin/env bash
# `make test`: install everything the tests need, then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/ledger -x).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-test-env.sh

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    # pytest's "no tests were collected": not a failure of the code, but say so loudly.
    echo "stockade: pytest collected no tests (exit 5); treating as success" >&2
    exit 0
fi
exit $rc
