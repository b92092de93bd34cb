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

import marshal
import os
import sys

from stockade.errors import EnvironmentProblem, StockadeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: forked first thing
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


class RecorderGone(EnvironmentProblem):
    """The recorder process died or answered something else."""


class ForkedRecorder:
    """``append``/``close`` like a ledger, served by a child process."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid = pid
        self._w: int | None = to_child
        self._r: int | None = from_child
        self._opened = False
        self._signing = False  # a checkpoint the recorder signs after we are gone
        self._unread = 0  # answers to messages sent without waiting
        self._failure: EnvironmentProblem | None = None  # the first of those answers' failures
        self._open_sent = False

    @classmethod
    def start(cls, open_recorder: Callable[[Any], Any] | None = None) -> ForkedRecorder:
        """Fork the recorder now (call it while this process has one thread).
        ``open_recorder``: the ledger seam; by default ``sandbox.deps``', which
        the child imports itself, so the fork happens before this process has
        loaded anything but this module."""
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

    def _send(self, msg: Mapping[str, Any]) -> None:
        frame = _frame(msg)
        try:
            if self._w is None:
                raise ValueError("closed")
            _write_all(self._w, frame)
        except (OSError, ValueError) as exc:
            raise RecorderGone(f"the ledger recorder is gone ({type(exc).__name__})",
                               hint="check `stockade ledger verify` and the state directory")
        self._unread += 1

    def _ask(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        self._collect()
        self._send(msg)
        return self._receive()

    def _collect(self) -> None:
        """Read the answers to messages sent without waiting; the first
        failure is kept for :meth:`end_open_and_append` to raise."""
        while self._unread:
            try:
                self._receive()
            except RecorderGone:
                raise
            except EnvironmentProblem as exc:
                self._failure = self._failure or exc

    def _receive(self) -> dict[str, Any]:
        self._unread -= 1
        try:
            if self._r is None:
                raise ValueError("closed")
            answer = _read_frame(self._r)
        except OSError as exc:
            raise RecorderGone(f"the ledger recorder is gone ({type(exc).__name__})",
                               hint="check `stockade ledger verify` and the state directory")
        except (ValueError, EOFError, TypeError):
            raise RecorderGone("the ledger recorder answered garbage") from None
        if answer is None:
            raise RecorderGone("the ledger recorder exited",
                               hint="check `stockade ledger verify` and the state directory")
        if not isinstance(answer, dict) or not answer.get("ok"):
            answer = answer if isinstance(answer, dict) else {}
            raise EnvironmentProblem(str(answer.get("message") or "the ledger failed"),
                                     hint=answer.get("hint"),
                                     exit_code=int(answer.get("exit_code") or 3))
        return answer

    def open(self, settings: Any) -> None:
        """Open the ledger (``LedgerSettings`` or None for the default), or
        wait for the opening :meth:`begin_open` asked for."""
        self.begin_open(settings)
        self.end_open_and_append()

    def begin_open(self, settings: Any) -> None:
        """Send "open" without waiting, as soon as the settings are known: the
        recorder opens the ledger while this process prepares the sandbox."""
        if not self._open_sent:
            self._send({"op": "open", "settings": _settings_data(settings)})
            self._open_sent = True

    def begin_open_and_append(self, settings: Any, kind: str, *, details: Mapping[str, Any],
                              session: str | None, decision: str | None) -> None:
        """Send "open" (unless :meth:`begin_open` did) and the first append
        without waiting: the recorder works on them while this process
        starts the sandbox.  Then :meth:`end_open_and_append` says whether
        both were done."""
        self.begin_open(settings)
        self._send({"op": "append", "kind": kind, "details": details, "session": session,
                    "decision": decision})

    def end_open_and_append(self) -> None:
        """Every answer outstanding; raises the first failure (after reading
        them all)."""
        self._collect()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
        self._opened = True

    def append(self, kind: str, *, details: Mapping[str, Any], session: str | None = None,
               decision: str | None = None) -> None:
        self._ask({"op": "append", "kind": kind, "details": details, "session": session,
                   "decision": decision})

    def checkpoint(self) -> None:
        """Sign the ledger's head (the session just ended): a tail cut off
        later is then seen by `stockade ledger verify`."""
        self._ask({"op": "checkpoint"})

    def checkpoint_later(self) -> None:
        """Like :meth:`checkpoint`, but answered as soon as the recorder holds
        the ledger's "checkpoint coming" lock (``Ledger.hold_checkpoint``);
        it signs after that, while this process exits (`stockade ledger
        verify` waits for the lock).  The recorder says a failure on stderr."""
        self._ask({"op": "checkpoint_later"})
        self._signing = True

    def append_then_checkpoint_later(self, kind: str, *, details: Mapping[str, Any],
                                     session: str | None = None,
                                     decision: str | None = None) -> Exception | None:
        """:meth:`append` and :meth:`checkpoint_later`, both sent before either
        answer is read (one round trip at the end of every session, not
        two).  Raises what the append raises; returns the checkpoint's
        failure, or None."""
        self._collect()
        self._send({"op": "append", "kind": kind, "details": details, "session": session,
                    "decision": decision})
        self._send({"op": "checkpoint_later"})
        appended: EnvironmentProblem | None = None
        try:
            self._receive()
        except RecorderGone:
            raise
        except EnvironmentProblem as exc:
            appended = exc
        try:
            self._receive()
        except EnvironmentProblem as exc:
            if appended is None:
                return exc
        else:
            self._signing = True
        if appended is not None:
            raise appended
        return None

    def session_key(self, *, user: str, team: str | None) -> tuple[str, str]:
        """A per-session gateway key (made by the recorder, which has the state
        modules loaded already): (key, id)."""
        answer = self._ask({"op": "session_key", "user": user, "team": team})
        return str(answer["key"]), str(answer["id"])

    def revoke_key(self, key_id: str) -> None:
        self._ask({"op": "revoke_key", "id": key_id})

    def watch(self, pid: int) -> None:
        """Stop process ``pid`` (the session's gateway) if the launcher ends
        without stopping it: the recorder outlives a killed launcher."""
        self._ask({"op": "watch", "pid": pid})

    def close(self) -> None:
        """EOF to the recorder, then wait until it closed the ledger (unless it
        is signing a checkpoint: then it finishes on its own)."""
        for fd in (self._w, self._r):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._w = self._r = None
        if self._signing:
            return
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9)  # SIGKILL
        except ProcessLookupError:
            pass
        self._signing = False
        self.close()


def _settings_data(settings: Any) -> dict[str, Any] | None:
    return None if settings is None else {
        "url": settings.url, "durability": settings.durability,
        "checkpoint_every": settings.checkpoint_every}


# The pipe between the two carries frames: a 4-byte length, then marshal
# data.  Both ends are this interpreter (a fork), and json (with the re it
# imports) was ~8 ms of the launcher's start.  What goes in is first made
# what json would have made of it (_plain), so the ledger sees the same.
_MAX_FRAME = 64 << 20


_FLOAT_KEYS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # as json writes them


def _plain(obj: Any) -> Any:
    """``json.loads(json.dumps(obj))`` for what the launcher sends (str keys
    kept, tuples made lists, subclasses made their base type); TypeError for
    what json would refuse."""
    if obj is None or obj is True or obj is False:
        return obj
    # the base types' own methods: a subclass (an enum) cannot say otherwise
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        return int.__index__(obj)
    if isinstance(obj, float):
        return float.__float__(obj)
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if isinstance(k, str):
                key = str.__str__(k)
            elif k is None or k is True or k is False:
                key = {None: "null", True: "true", False: "false"}[k]
            elif isinstance(k, float):
                key = _FLOAT_KEYS.get(float.__repr__(k)) or float.__repr__(k)
            elif isinstance(k, int):
                key = int.__repr__(k)
            else:
                raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")
            out[key] = _plain(v)
        return out
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _frame(msg: Any) -> bytes:
    data = marshal.dumps(_plain(msg))
    return len(data).to_bytes(4, "big") + data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes | None:
    """``n`` bytes, or None at EOF before the first (EOFError after it).
    Straight from the descriptor: nothing read ahead hides in a buffer
    (the recorder's idle wait selects on it)."""
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            if buf:
                raise EOFError("a frame cut short")
            return None
        buf += chunk
    return buf


def _read_frame(fd: int) -> Any:
    """The next message, or None at EOF between messages."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    n = int.from_bytes(head, "big")
    if n > _MAX_FRAME:
        raise ValueError("a frame over the limit")
    body = _read_exact(fd, n) if n else b""
    if body is None:
        raise EOFError("a frame cut short")
    return marshal.loads(body)


def _answer(w: int, ok: bool, exc: BaseException | None = None,
            result: Mapping[str, str] | None = None) -> None:
    if ok:
        msg: dict[str, Any] = {"ok": True, **(result or {})}
    elif isinstance(exc, StockadeError):
        # StockadeError texts never hold a protected value (their contract)
        msg = {"ok": False, "message": exc.message, "hint": exc.hint,
               "exit_code": exc.exit_code}
    else:
        msg = {"ok": False, "message": f"the ledger failed ({type(exc).__name__})",
               "hint": "check `stockade ledger verify` and the state directory",
               "exit_code": 3}
    _write_all(w, _frame(msg))


def _serve(down_r: int, up_w: int, open_recorder: Callable[[Any], Any] | None) -> int:
    # Ctrl-C reaches the whole process group; the launcher decides what
    # happens, and this process ends on EOF, after closing the ledger.
    # (_signal: the signal module builds enums, ~3 ms of this process's start)
    import _signal  # type: ignore[import-not-found]

    for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT):
        _signal.signal(sig, _signal.SIG_IGN)
    # The slow part, done while the launcher works on the rest.  The ledger
    # package loads its names on first use, so name the modules opening and
    # appending need, or all of it would wait for the launcher's "open".
    if open_recorder is None:
        from stockade.sandbox import deps

        open_recorder = deps.open_recorder
    # (__import__, not importlib: that would bring warnings)
    for name in ("stockade.ledgerconf", "stockade.ledger", "stockade.ledger.core",
                 "stockade.ledger.sqlite", "_sqlite3"):
        try:
            __import__(name)
        except Exception:  # noqa: BLE001, S112 - open_recorder reports it properly
            continue
    w = up_w
    ledger: Any = None
    # sessions started and not yet ended: if the launcher goes (SIGKILL, a
    # crash) before it records session.end, the ledger says so itself
    open_sessions: list[str] = []
    # what the launcher must undo at the end: per-session keys it has not
    # revoked yet, and processes (pidfds: never a recycled pid) to stop
    keys: list[str] = []
    watched: list[int] = []
    try:
        while True:
            try:
                msg = _read_frame(down_r)
            except (ValueError, EOFError, TypeError):
                return 1  # not the launcher speaking: stop, closing the ledger
            if msg is None:
                break
            result: dict[str, str] | None = None
            sign_after: Callable[[], None] | None = None
            try:
                if msg["op"] == "session_key":
                    from stockade.sandbox.deps import create_session_key

                    _sweep_keys()
                    key, key_id = create_session_key(user=msg["user"], team=msg["team"])
                    _mark_key(key_id)
                    keys.append(key_id)
                    result = {"key": key, "id": key_id}
                elif msg["op"] == "revoke_key":
                    from stockade.sandbox.deps import revoke_session_key

                    revoke_session_key(msg["id"])
                    _unmark_key(msg["id"])
                    if msg["id"] in keys:
                        keys.remove(msg["id"])
                elif msg["op"] == "watch":
                    watched.append(os.pidfd_open(int(msg["pid"])))
                elif msg["op"] == "open":
                    settings = None
                    if msg["settings"] is not None:
                        from stockade.ledgerconf import LedgerSettings

                        settings = LedgerSettings(**msg["settings"])
                    ledger = open_recorder(settings)
                elif msg["op"] == "checkpoint" and ledger is not None:
                    ledger.checkpoint()
                elif msg["op"] == "checkpoint_later" and ledger is not None:
                    # what signing would refuse (tampering) is said now, to
                    # the launcher, while someone is there to read it
                    precheck = getattr(ledger, "precheck_checkpoint", None)
                    if precheck is not None:
                        precheck()
                    hold = getattr(ledger, "hold_checkpoint", None)
                    sign_after = hold() if hold is not None else None
                    if sign_after is None:
                        ledger.checkpoint()  # no lock to hold: sign before answering
                elif msg["op"] == "append" and ledger is not None:
                    ledger.append(msg["kind"], details=msg["details"], session=msg["session"],
                                  decision=msg["decision"])
                    _track(open_sessions, msg["kind"], msg["session"])
                else:
                    raise RecorderGone("the ledger is not open")
            except Exception as exc:  # noqa: BLE001 - reported to the launcher
                _answer(w, False, exc)
                continue
            _answer(w, True, result=result)
            if sign_after is not None:
                _sign_now(ledger, sign_after)
            if msg["op"] == "append" and msg["kind"] == "session.start":
                _warm(ledger, idle_fd=down_r)
    except OSError:
        return 1
    finally:
        _undo(keys, watched)
        if ledger is not None:
            for sid in open_sessions:
                try:
                    ledger.append("session.end", session=sid, decision=None, details={
                        "mode": "failed", "error": "the launcher ended without recording the "
                        "end of the session (killed, or it crashed)"})
                except Exception:  # noqa: BLE001, S110 - closing the ledger matters more
                    pass
            if open_sessions:
                try:
                    ledger.checkpoint()  # anchor what the dead launcher's session left
                except Exception:  # noqa: BLE001, S110 - verify reports the unanchored tail
                    pass
            try:
                ledger.close()
            except Exception:  # noqa: BLE001
                return 1
    return 0


def _sign_now(ledger: Any, release: Callable[[], None]) -> None:
    """The deferred end-of-session checkpoint, signed while the launcher exits.

    First this process lets go of the terminal or pipes it shares with the
    launcher (stdout/stderr onto /dev/null): whoever reads `stockade run`'s
    output (`$(...)`, a pipe, a test) sees its end when the launcher exits,
    not after the signature.  So a failure is recorded in the ledger
    (``session.checkpoint_failed``, best effort) rather than printed, and
    `stockade ledger verify` reports the events no signature covers."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
    except OSError:
        pass
    try:
        ledger.checkpoint()
    except Exception as exc:  # noqa: BLE001 - recorded; the session itself is recorded
        message = exc.message if isinstance(exc, StockadeError) else type(exc).__name__
        try:
            ledger.append("session.checkpoint_failed", session=None, decision=None,
                          details={"error": message})
        except Exception:  # noqa: BLE001, S110 - verify reports the unanchored tail
            pass
    finally:
        release()


WARM_AFTER = 0.05  # seconds of quiet after session.start


def _warm(ledger: Any, *, idle_fd: int) -> None:
    """Get the end-of-session checkpoint ready while the agent runs, once the
    launcher has been quiet for WARM_AFTER (a short session's session.end
    must not wait behind ~20 ms of loading cryptography; its checkpoint is
    signed after the launcher is gone anyway)."""
    warm = getattr(ledger, "warm_checkpoint", None)
    if warm is None:
        return
    import select

    try:
        if select.select([idle_fd], [], [], WARM_AFTER)[0]:
            return
        warm()
    except Exception:  # noqa: BLE001, S110 - the checkpoint itself reports what is wrong
        pass


def _undo(keys: list[str], watched: list[int]) -> None:
    """What a launcher that died (SIGKILL) left: its gateway still running, its
    per-session key still valid.  A clean end leaves nothing here."""
    import _signal

    for fd in watched:
        try:
            _signal.pidfd_send_signal(fd, _signal.SIGTERM)
        except OSError:
            pass  # already gone: the launcher stopped it
        finally:
            os.close(fd)
    for key_id in keys:
        try:
            from stockade.sandbox.deps import revoke_session_key

            revoke_session_key(key_id)
            _unmark_key(key_id)
        except Exception:  # noqa: BLE001 - said where someone may read it
            os.write(2, f"stockade: could not revoke session key {key_id}; run "
                        f"`stockade keys revoke {key_id}`\n".encode())


# Per-session keys made and not yet revoked, one marker file each naming the
# recorder that made it (pid and start time, so a recycled pid is not it).
# A recorder that never got to revoke its key (killed with its launcher) leaves
# its marker; the next session's recorder revokes that key before making its own.
_KEYS_DIR = "sandbox-session-keys"


def _me() -> str:
    return f"{os.getpid()} {_start_time(os.getpid())}"


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields[0] in (b"Z", b"X"):  # dead, not yet reaped (a container's pid 1 may never)
            return None
        return fields[19].decode()
    except (OSError, IndexError):
        return None


def _keys_dir() -> str:
    from stockade.sandbox.deps import state_root

    return os.path.join(state_root(), _KEYS_DIR)


def _mark_key(key_id: str) -> None:
    folder = _keys_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    # written whole, then renamed: a sweep running meanwhile in another
    # session never reads half a marker (and takes this live key for dead)
    tmp = os.path.join(folder, f".{key_id}.{os.urandom(6).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with open(fd, "w", encoding="ascii") as f:
        f.write(_me())
    os.replace(tmp, os.path.join(folder, key_id))


def _unmark_key(key_id: str) -> None:
    try:
        os.unlink(os.path.join(_keys_dir(), key_id))
    except OSError:
        pass


def _sweep_keys() -> None:
    """Revoke the keys of sessions whose recorder is gone."""
    from stockade.sandbox.deps import revoke_session_key

    folder = _keys_dir()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    from stockade.errors import UsageError

    for key_id in names:
        if key_id.startswith("."):
            continue  # a marker being written
        try:
            with open(os.path.join(folder, key_id), encoding="ascii") as f:
                pid_text, _, started = f.read().partition(" ")
            alive = _start_time(int(pid_text)) == started.strip()
        except (OSError, ValueError):
            alive = False
        if alive:
            continue
        try:
            revoke_session_key(key_id)
        except UsageError:
            pass  # no such key (any more): nothing left to revoke
        except Exception:  # noqa: BLE001, S112 - keep the marker: the next sweep tries again
            continue
        _unmark_key(key_id)


def _track(open_sessions: list[str], kind: str, session: str | None) -> None:
    if session is None:
        return
    if kind == "session.start":
        open_sessions.append(session)
    elif kind == "session.end" and session in open_sessions:
        open_sessions.remove(session)


__all__ = ["ForkedRecorder", "RecorderGone"]
