"""The session's ledger writer, in a process of its own.

Importing and opening the ledger (the hash chain, its signing keys, sqlite)
is the largest single piece of a ``stockade run`` start, and all of it is
Python work that would otherwise hold the launcher's one interpreter lock.  So
the launcher forks this recorder first thing; it loads the ledger on the
other core while the launcher loads the policy, plans the mounts and starts
bubblewrap.

The launcher stays the only one deciding what is recorded, and every record
is still synchronous: :meth:`ForkedRecorder.append` sends one JSON line and
waits for the recorder's answer, so a failure is seen where it happened (the
agent is not started without its ``session.start``; connections are refused
once recording fails).  The recorder never decides anything, never reads the
environment for secrets, and exits when the launcher closes the pipe (or
dies: EOF all the same), closing the ledger first.

Not for tests' in-memory recorders: the seam (``deps.open_recorder``) is
called in the child, so whatever it records stays there; tests that swap
the seam pass ``fork=False``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from stockade.errors import EnvironmentProblem, StockadeError


class RecorderGone(EnvironmentProblem):
    """The recorder process died or answered something else."""


class ForkedRecorder:
    """``append``/``close`` like a ledger, served by a child process."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid = pid
        self._w = os.fdopen(to_child, "w", encoding="utf-8")
        self._r = os.fdopen(from_child, "r", encoding="utf-8")
        self._opened = False

    @classmethod
    def start(cls, open_recorder: Callable[[Any], Any]) -> ForkedRecorder:
        """Fork the recorder now (call it while this process has one thread)."""
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the recorder
            code = 0
            try:
                os.close(down_w)
                os.close(up_r)
                code = _serve(down_r, up_w, open_recorder)
            except BaseException:  # noqa: BLE001 - never back into the launcher's code
                code = 1
            finally:
                os._exit(code)
        os.close(down_r)
        os.close(up_w)
        return cls(pid, down_w, up_r)

    def _ask(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        try:
            self._w.write(json.dumps(msg, separators=(",", ":")) + "\n")
            self._w.flush()
            line = self._r.readline()
        except (OSError, ValueError) as exc:
            raise RecorderGone(f"the ledger recorder is gone ({type(exc).__name__})",
                               hint="check `stockade ledger verify` and the state directory")
        if not line:
            raise RecorderGone("the ledger recorder exited",
                               hint="check `stockade ledger verify` and the state directory")
        try:
            answer = json.loads(line)
        except ValueError:
            raise RecorderGone("the ledger recorder answered garbage") from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            answer = answer if isinstance(answer, dict) else {}
            raise EnvironmentProblem(str(answer.get("message") or "the ledger failed"),
                                     hint=answer.get("hint"),
                                     exit_code=int(answer.get("exit_code") or 3))
        return answer

    def open(self, settings: Any) -> None:
        """Open the ledger (``LedgerSettings`` or None for the default)."""
        data = None if settings is None else {
            "url": settings.url, "durability": settings.durability,
            "checkpoint_every": settings.checkpoint_every}
        self._ask({"op": "open", "settings": data})
        self._opened = True

    def append(self, kind: str, *, details: Mapping[str, Any], session: str | None = None,
               decision: str | None = None) -> None:
        self._ask({"op": "append", "kind": kind, "details": details, "session": session,
                   "decision": decision})

    def session_key(self, *, user: str, team: str | None) -> tuple[str, str]:
        """A per-session gateway key (made by the recorder, which has the state
        modules loaded already): (key, id)."""
        answer = self._ask({"op": "session_key", "user": user, "team": team})
        return str(answer["key"]), str(answer["id"])

    def revoke_key(self, key_id: str) -> None:
        self._ask({"op": "revoke_key", "id": key_id})

    def close(self) -> None:
        """EOF to the recorder, then wait until it closed the ledger."""
        for f in (self._w, self._r):
            try:
                f.close()
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9)  # SIGKILL
        except ProcessLookupError:
            pass
        self.close()


def _answer(w: Any, ok: bool, exc: BaseException | None = None,
            result: Mapping[str, str] | None = None) -> None:
    if ok:
        w.write(json.dumps({"ok": True, **(result or {})}) + "\n")
    elif isinstance(exc, StockadeError):
        # StockadeError texts never hold a protected value (their contract)
        w.write(json.dumps({"ok": False, "message": exc.message, "hint": exc.hint,
                            "exit_code": exc.exit_code}) + "\n")
    else:
        w.write(json.dumps({"ok": False, "message": f"the ledger failed ({type(exc).__name__})",
                            "hint": "check `stockade ledger verify` and the state directory",
                            "exit_code": 3}) + "\n")
    w.flush()


def _serve(down_r: int, up_w: int, open_recorder: Callable[[Any], Any]) -> int:
    # Ctrl-C reaches the whole process group; the launcher decides what
    # happens, and this process ends on EOF, after closing the ledger.
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    try:  # the slow part, done while the launcher works on the rest
        import stockade.ledger  # noqa: F401
        import stockade.ledgerconf  # noqa: F401
    except Exception:  # noqa: BLE001, S110 - open_recorder reports it properly
        pass
    r = os.fdopen(down_r, "r", encoding="utf-8")
    w = os.fdopen(up_w, "w", encoding="utf-8")
    ledger: Any = None
    try:
        for line in r:
            result: dict[str, str] | None = None
            try:
                msg = json.loads(line)
                if msg["op"] == "session_key":
                    from stockade.sandbox.deps import create_session_key

                    key, key_id = create_session_key(user=msg["user"], team=msg["team"])
                    result = {"key": key, "id": key_id}
                elif msg["op"] == "revoke_key":
                    from stockade.sandbox.deps import revoke_session_key

                    revoke_session_key(msg["id"])
                elif msg["op"] == "open":
                    settings = None
                    if msg["settings"] is not None:
                        from stockade.ledgerconf import LedgerSettings

                        settings = LedgerSettings(**msg["settings"])
                    ledger = open_recorder(settings)
                elif msg["op"] == "append" and ledger is not None:
                    ledger.append(msg["kind"], details=msg["details"], session=msg["session"],
                                  decision=msg["decision"])
                else:
                    raise RecorderGone("the ledger is not open")
            except Exception as exc:  # noqa: BLE001 - reported to the launcher
                _answer(w, False, exc)
                continue
            _answer(w, True, result=result)
    except OSError:
        return 1
    finally:
        if ledger is not None:
            try:
                ledger.close()
            except Exception:  # noqa: BLE001
                return 1
    return 0


__all__ = ["ForkedRecorder", "RecorderGone"]
