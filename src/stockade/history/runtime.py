"""What `stockade history` and `stockade repos` share at their edges: the DLP
engine (policy rules, a one-run fingerprint key), the progress bar, the
ledger record, and writing a report file."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from stockade.errors import EnvironmentProblem, StockadeError, UsageError

PROGRESS_MIN_BYTES = 32 * 1024 * 1024


def engine(policy_file: str | None, *, fingerprint_key: bytes | None = None) -> Any:
    """The DLP engine with the effective policy's custom rules, dictionaries and
    allowlist.  ``fingerprint_key`` (random, per run) lets a value seen twice be
    matched without keeping it."""
    from stockade.config.loader import load_policy
    from stockade.dlp import Engine

    dlp = load_policy(policy_file=policy_file, workspace=Path.cwd()).dlp
    return Engine(custom_rules=dlp.rules, dictionaries=dlp.dictionaries,
                  allowlist=dlp.allowlist, fingerprint_key=fingerprint_key)


def progress_bar(stream: IO[str], *, total_bytes: int, verb: str) -> Callable[[int, int, int], None] | None:
    if not stream.isatty() or total_bytes < PROGRESS_MIN_BYTES:
        return None
    last = [0.0]

    def progress(done: int, total: int, done_bytes: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.1:
            return
        last[0] = now
        width = 30
        filled = width * done_bytes // max(total_bytes, 1)
        bar = "#" * min(filled, width) + "-" * max(width - filled, 0)
        stream.write(f"\r{verb} [{bar}] {done}/{total} files, {done_bytes / 1e6:.1f} MB")
        if done >= total:
            stream.write("\r" + " " * 79 + "\r")
        stream.flush()

    return progress


def record(kind: str, details: Mapping[str, Any]) -> None:
    """One ledger event for this run: counts only, never a value.  A ledger that
    cannot record is an error: an audit that leaves no trace is not allowed to
    look like one that did."""
    from stockade.ledger import open_ledger
    from stockade.ledgerconf import resolve_settings
    from stockade.state import StateDir

    try:
        state = StateDir.default().ensure()
        settings = resolve_settings(None, state=state)
        with open_ledger(settings.url, state=state, durability=settings.durability,
                         checkpoint_every=settings.checkpoint_every) as ledger:
            ledger.append(kind, details=dict(details))
    except StockadeError:
        raise
    except Exception as exc:  # noqa: BLE001 - named, with the way out
        raise EnvironmentProblem(
            f"the ledger could not record this run ({type(exc).__name__})",
            hint="check `stockade doctor`, or point $STOCKADE_LEDGER at a writable ledger",
        ) from None


def open_out(path: str | None, stdout: IO[str]) -> tuple[IO[str], Callable[[bool], None]]:
    """The stream to write the report to, and ``close(ok)``.  A file is written
    beside its final name (mode 0600: it names sessions and files) and moved
    into place only when complete; nothing is left behind when it is not.
    A path that is not a regular file (``/dev/stdout``, a FIFO) is written in
    place: moving a file over ``/dev/null`` would replace the device."""
    if path is None or path == "-":
        return stdout, lambda ok: stdout.flush()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}",
                         hint="choose a writable --out FILE") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"cannot write {path}: it is a directory", hint="name a file: --out FILE")
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}",
                             hint="choose a writable --out FILE") from None
        return fh, lambda ok: fh.close()
    tmp = os.path.join(os.path.dirname(path) or ".",
                       f".{os.path.basename(path)}.tmp{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}",
                         hint="choose a writable --out FILE") from None
    fh = os.fdopen(fd, "w", encoding="utf-8")

    def close(ok: bool) -> None:
        try:
            fh.close()
            if ok:
                os.replace(tmp, path)
                return
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}",
                             hint="choose a writable --out FILE with room to spare") from None
        finally:
            if os.path.lexists(tmp):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    return fh, close
