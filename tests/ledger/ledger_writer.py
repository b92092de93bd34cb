"""A writer process for the concurrency and kill -9 tests.

    python ledger_writer.py COUNT SESSION [CHECKPOINT_EVERY]

Appends COUNT events (forever if COUNT is 0), one durable append each, and
prints each acknowledged seq on its own line as soon as append returns.
"""

from __future__ import annotations

import sys

from stockade.ledger import open_ledger


def main() -> None:
    count, session = int(sys.argv[1]), sys.argv[2]
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    print("ready", flush=True)
    with open_ledger(checkpoint_every=every) as ledger:
        i = 0
        while count == 0 or i < count:
            ev = ledger.append("test.write", details={"i": i}, session=session)
            sys.stdout.write(f"{ev.seq}\n")
            sys.stdout.flush()
            i += 1


if __name__ == "__main__":
    main()
