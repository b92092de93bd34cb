"""SQLite storage for the ledger: one file, WAL mode, many writer processes.

Writers serialise on SQLite's write lock (``BEGIN IMMEDIATE`` + a busy
timeout): each reads the head and inserts in the same transaction, so the
chain stays linear whoever appends.  In WAL mode a commit has reached the
operating system when it returns, so with ``synchronous=NORMAL`` an
acknowledged event survives the death of any process; ``synchronous=FULL``
(durability ``power-loss``) also fsyncs each commit.

Stored bytes go in as TEXT (so SQLite's JSON functions can index session and
time) and come back as bytes (``text_factory``), untouched.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Generator, Iterator, Sequence
else:
    try:
        # sqlite3's C core: the package adds datetime adapters (and imports
        # datetime, ~4 ms of every ledger writer's start) that the ledger,
        # which stores text, never uses; the classes and connect are these
        import _sqlite3 as sqlite3
    except ImportError:  # pragma: no cover
        import sqlite3

from stockade import pathtext
from stockade.errors import EXIT_USAGE, LedgerError, LedgerTamperError
from stockade.ledger.backend import DURABILITIES, Row
from stockade.ledger.chain import GENESIS, LEAF_PREFIX, sha256_impl
from stockade.ledger.checkpoint import Checkpoint, read_file
from stockade.ledger.event import PendingEvent, canonical_json, now_ts
from stockade.lite import contextmanager  # contextlib's, without contextlib

if TYPE_CHECKING:
    # Paths are text until someone asks for a Path: pathlib and urllib.parse
    # are ~5 ms of the start of every process that appends (see pathtext).
    from pathlib import Path

SCHEMA_VERSION = "1"
CHECKPOINT_SUFFIX = ".checkpoint"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL,"
    " hash BLOB NOT NULL)",
    # The one index: every index page is written again by every commit.  Time
    # needs none, because ts never decreases along seq (see append).
    "CREATE INDEX IF NOT EXISTS events_session ON events (json_extract(data, '$.session'))",
    "CREATE TABLE IF NOT EXISTS checkpoints (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)",
)


# At most this many appends in a row on the no-wait connection (which never copies
# the WAL back), then one by ``append`` (which does when the WAL is over 4000 pages).
_NOWAIT_RUN = 200


class _Refused(Exception):
    pass


def path_from_url(url: str) -> Path:
    """``sqlite:///abs/path`` -> Path; anything else is a LedgerError with a hint."""
    from pathlib import Path

    return Path(file_from_url(url))


def file_from_url(url: str) -> str:
    """``str(path_from_url(url))``, without pathlib."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        scheme = url.split(":", 1)[0] if ":" in url else ""
        what = f"{scheme}:// ledgers are not supported yet" if scheme and scheme != "sqlite" \
            else f"{url!r} is not a ledger URL"
        raise LedgerError(
            what,
            hint="use sqlite:///ABSOLUTE/PATH/ledger.db (note the three slashes)",
            exit_code=EXIT_USAGE,
        )
    return pathtext.normpath("/" + url[len(prefix):].lstrip("/"))


# What urllib.parse.quote leaves alone (with its default safe="/")
_URI_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/"


def _quote(text: str) -> str:
    """``urllib.parse.quote(text)``; a plain path (the usual) without urllib."""
    if not text.strip(_URI_SAFE):  # nothing left: every character is safe
        return text
    from urllib.parse import quote

    return quote(text)


def _connect(path: str | Path, *, create: bool, timeout: float) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    uri = f"file:{_quote(str(path))}?mode={mode}"
    return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout,
                           check_same_thread=False)


def _ledger_error(exc: sqlite3.Error, path: str | Path, doing: str) -> LedgerError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LedgerError(
            f"ledger {path} is busy: could not {doing} (another process holds its write lock)",
            hint="retry; if it persists, look for a stuck stockade process",
        )
    return LedgerError(f"ledger {path}: could not {doing}: {text}",
                       hint="check the file and its directory are writable and not corrupt")


class SqliteBackend:
    """Implements :class:`stockade.ledger.backend.LedgerBackend`."""

    def __init__(self, path: str | Path, *, durability: str = "process", create: bool = True,
                 busy_timeout: float = 60.0):
        if durability not in DURABILITIES:
            raise LedgerError(f"unknown ledger durability {durability!r}", exit_code=EXIT_USAGE,
                              hint="use `process` (the default) or `power-loss`")
        self._file = path = str(path)  # text: the .path property makes a Path
        self._durability = durability
        self._nowait_conn: sqlite3.Connection | None = None  # made by append_nowait
        self._nowait_run = 0  # append_nowait calls since one said None to let append run
        self._created = False
        if not create and not pathtext.exists(path):
            raise LedgerError(f"there is no ledger at {path}",
                              hint="run `stockade init`, or pass --ledger sqlite:///PATH")
        try:
            self._conn = _connect(path, create=create, timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise _ledger_error(exc, path, "open it") from exc
        self._conn.text_factory = bytes
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != b"wal":
                raise LedgerError(
                    f"ledger {path}: SQLite cannot use WAL mode here ({mode.decode()})",
                    hint="keep the ledger on a local filesystem",
                )
            sync = "FULL" if durability == "power-loss" else "NORMAL"
            self._conn.execute(f"PRAGMA synchronous={sync}")
            # Copy the WAL back (and fsync) every ~16 MB rather than every 4 MB:
            # with one commit per event, those fsyncs are most of the wall time.
            self._conn.execute("PRAGMA wal_autocheckpoint=4000")
            self._ledger_id = self._init_schema(create=create)
        except sqlite3.Error as exc:
            self._conn.close()
            raise _ledger_error(exc, path, "open it") from exc
        except BaseException:
            self._conn.close()
            raise

    # -- properties -------------------------------------------------------

    @property
    def ledger_id(self) -> str:
        return self._ledger_id

    @property
    def durability(self) -> str:
        return self._durability

    @property
    def created(self) -> bool:
        return self._created

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self._file)

    @property
    def location(self) -> str:
        return self._file

    @property
    def checkpoint_path(self) -> Path:
        return self.path.with_name(self.path.name + CHECKPOINT_SUFFIX)

    @property
    def checkpoint_file(self) -> str:
        """:attr:`checkpoint_path` as text, without loading pathlib."""
        return self._file + CHECKPOINT_SUFFIX

    # -- schema -----------------------------------------------------------

    def _read_id(self) -> str | None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        except sqlite3.OperationalError:
            return None  # no meta table yet
        return row[0].decode() if row else None

    def _init_schema(self, *, create: bool) -> str:
        found = self._read_id()
        if found is not None:
            return found
        if not create:
            raise LedgerError(f"{self.path} is not a stockade ledger",
                              hint="check --ledger / STOCKADE_LEDGER")
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA:
                c.execute(stmt)
            row = c.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
            if row is not None:  # another process created it first
                c.execute("COMMIT")
                return str(row[0].decode())
            # A new, empty ledger where a checkpoint file says one existed: the old
            # one was deleted.  Refuse, so that the evidence is not overwritten.
            old = read_file(self.checkpoint_path)
            if old is not None:
                raise LedgerTamperError(
                    f"ledger {self.path} is missing or empty, but {self.checkpoint_path} says "
                    f"it existed (signed at {old.seq} events): the ledger was deleted",
                    seq=1,
                    hint="if you removed the ledger on purpose, move the checkpoint file away too",
                )
            import uuid  # once per ledger: not on every appending process's start

            ledger_id = uuid.uuid4().hex
            c.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", (
                ("schema_version", SCHEMA_VERSION), ("ledger_id", ledger_id),
                ("created", now_ts()),
            ))
            c.execute("COMMIT")
            self._created = True
            return ledger_id
        except BaseException:
            self._rollback()
            raise

    # -- writing ----------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        c = self._conn
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _ledger_error(exc, self.path, "take the write lock") from exc
        with self._locked():
            yield

    @contextmanager
    def _locked(self, conn: sqlite3.Connection | None = None) -> Iterator[None]:
        """The rest of a write transaction already begun on ``conn``: commit, or roll back."""
        c = conn or self._conn
        try:
            yield
        except BaseException:
            self._rollback(c)
            raise
        try:
            c.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(c)
            raise _ledger_error(exc, self.path, "commit") from exc

    def _rollback(self, conn: sqlite3.Connection | None = None) -> None:
        # SQLite may have rolled back already (e.g. after an I/O error).
        try:
            (conn or self._conn).execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def append(self, pending: Sequence[PendingEvent]) -> list[tuple[int, str, bytes]]:
        c = self._conn
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _ledger_error(exc, self.path, "take the write lock") from exc
        return self._append_locked(c, pending)

    def _append_locked(self, c: sqlite3.Connection, pending: Sequence[PendingEvent], *,
                       refuse: Callable[[int], bool] | None = None,
                       ) -> list[tuple[int, str, bytes]]:
        """The body of ``append``, inside a transaction begun on ``c``; commits (or
        rolls back and raises).  ``refuse(last seq)`` true: roll back, raise _Refused."""
        sha = sha256_impl()
        out: list[tuple[int, str, bytes]] = []
        params: list[tuple[int, str, bytes]] = []
        with self._locked(c):
            try:
                row = c.execute(
                    "SELECT seq, hash, CASE WHEN json_valid(data) THEN json_extract(data, '$.ts')"
                    " END FROM events ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev, last_ts = (0, GENESIS, b"") if row is None else row
                if refuse is not None and refuse(seq + len(pending)):
                    raise _Refused
                # Never before the previous event, even if the clock steps back: time
                # queries rely on ts being ordered like seq.
                ts = max(now_ts(), last_ts.decode() if isinstance(last_ts, bytes) else "")
                for p in pending:
                    seq += 1
                    text = f'{p.head}{seq}{p.tail}{ts}"}}'
                    raw = text.encode("utf-8")
                    prev = sha(LEAF_PREFIX + prev + raw).digest()
                    params.append((seq, text, prev))
                    out.append((seq, ts, raw))
                c.executemany("INSERT INTO events (seq, data, hash) VALUES (?, ?, ?)", params)
            except sqlite3.Error as exc:
                raise _ledger_error(exc, self.path, "append") from exc
        return out

    def append_nowait(self, pending: Sequence[PendingEvent], *,
                      refuse: Callable[[int], bool] | None = None,
                      ) -> list[tuple[int, str, bytes]] | None:
        """``append``, or None (nothing stored) when it would wait: another connection
        holds the write lock, ``refuse(last seq)`` says so (a checkpoint would be due),
        or it is time to let a waiting writer copy the WAL back.

        On a second connection with no busy timeout (so neither needs a PRAGMA per
        call) and no automatic WAL checkpoint: copying the WAL back fsyncs the
        database (tens of ms), which a caller that must not wait leaves to ``append``
        (every _NOWAIT_RUN-th call says None).  The caller serialises this with
        ``append``.  In WAL mode only taking the lock can wait otherwise."""
        self._nowait_run += 1
        if self._nowait_run > _NOWAIT_RUN:
            self._nowait_run = 0
            return None
        c = self._nowait_conn
        if c is None:
            try:
                c = _connect(self.path, create=False, timeout=0)
                c.text_factory = bytes
                c.execute("PRAGMA synchronous=NORMAL")  # only "process" durability comes here
                c.execute("PRAGMA wal_autocheckpoint=0")
            except sqlite3.Error as exc:
                raise _ledger_error(exc, self.path, "open it") from exc
            self._nowait_conn = c
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return None
            raise _ledger_error(exc, self.path, "take the write lock") from exc
        try:
            return self._append_locked(c, pending, refuse=refuse)
        except _Refused:
            return None

    def head(self) -> tuple[int, bytes]:
        row = self._conn.execute(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return 0, GENESIS
        return int(row[0]), bytes(row[1])

    def insert_checkpoint(self, cp: Checkpoint) -> None:
        body = canonical_json(cp.to_dict()).decode("ascii")
        try:
            self._conn.execute("INSERT OR REPLACE INTO checkpoints (seq, body) VALUES (?, ?)",
                               (cp.seq, body))
        except sqlite3.Error as exc:
            raise _ledger_error(exc, self.path, "store a checkpoint") from exc

    # -- reading ----------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        c = self._conn
        c.execute("BEGIN")
        try:
            # A deferred transaction takes its read snapshot at the first read.
            c.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
            yield
        finally:
            c.execute("COMMIT")

    def checkpoints(self) -> list[tuple[int, bytes]]:
        return [(int(s), bytes(b)) for s, b in
                self._conn.execute("SELECT seq, body FROM checkpoints ORDER BY seq")]

    def last_checkpoint(self) -> tuple[int, bytes] | None:
        got = self._conn.execute(
            "SELECT seq, body FROM checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
        return None if got is None else (int(got[0]), bytes(got[1]))

    def rows(self, first: int, last: int | None, *,
             chunk: int) -> Generator[Sequence[Row], None, None]:
        if last is None:
            cur = self._conn.execute(
                "SELECT seq, data, hash FROM events WHERE seq >= ? ORDER BY seq", (first,))
        else:
            cur = self._conn.execute(
                "SELECT seq, data, hash FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq",
                (first, last))
        try:
            while True:
                got = cur.fetchmany(chunk)
                if not got:
                    return
                yield got
        finally:
            cur.close()

    def row(self, seq: int) -> Row | None:
        got = self._conn.execute("SELECT seq, data, hash FROM events WHERE seq = ?",
                                 (seq,)).fetchone()
        return None if got is None else (got[0], got[1], got[2])

    def count_below(self, seq: int) -> int:
        return int(self._conn.execute("SELECT count(*) FROM events WHERE seq < ?",
                                      (seq,)).fetchone()[0])

    def select(self, *, session: str | None, kind: str | None, since: str | None,
               after: int | None, limit: int, newest_first: bool) -> list[tuple[int, bytes]]:
        conds: list[str] = []
        args: list[object] = []
        if session is not None:
            conds.append("json_extract(data, '$.session') = ?")
            args.append(session)
        if kind is not None:
            conds.append("json_extract(data, '$.kind') = ?")
            args.append(kind)
        if since is not None:
            conds.append("seq >= ?")
            args.append(self._first_seq_since(since))
            conds.append("json_extract(data, '$.ts') >= ?")
            args.append(since)
        if after is not None:
            conds.append("seq < ?" if newest_first else "seq > ?")
            args.append(after)
        sql = "SELECT seq, data FROM events"
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        sql += f" ORDER BY seq {'DESC' if newest_first else 'ASC'} LIMIT ?"
        try:
            return [(int(s), bytes(d)) for s, d in self._conn.execute(sql, (*args, limit))]
        except sqlite3.Error as exc:
            raise _ledger_error(exc, self.path, "read events") from exc

    def _first_seq_since(self, since: str) -> int:
        """Binary search on seq: ts never decreases along the chain, so no index."""
        lo, hi = 1, self.head()[0] + 1  # answer in [lo, hi]; hi means "none"
        while lo < hi:
            mid = (lo + hi) // 2
            got = self._conn.execute(
                "SELECT CASE WHEN json_valid(data) THEN json_extract(data, '$.ts') END"
                " FROM events WHERE seq >= ? ORDER BY seq LIMIT 1", (mid,)).fetchone()
            ts = got[0].decode() if got is not None and isinstance(got[0], bytes) else ""
            if ts >= since:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def close(self) -> None:
        if self._nowait_conn is not None:
            self._nowait_conn.close()
        self._conn.close()
