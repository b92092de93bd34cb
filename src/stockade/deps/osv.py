"""Known malicious and vulnerable versions, from OSV data imported offline.

``stockade deps update-db --from FILE.zip`` reads one of OSV's
per-ecosystem exports (a zip holding one JSON advisory per file) into a
SQLite database under the state directory.  ``MAL-`` advisories (OpenSSF
malicious-packages) mark a package malicious; the others, vulnerable.

Version ranges follow the OSV schema (``introduced`` / ``fixed`` /
``last_affected`` / ``limit`` events, or an explicit ``versions`` list).
Versions are compared with a generic key good for PEP 440 and SemVer
release numbers with pre-releases; GIT ranges are ignored.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockade.deps.names import normalise
from stockade.errors import UsageError

OSV_ECOSYSTEMS = {"PyPI": "pypi", "npm": "npm", "crates.io": "crates", "Go": "go"}
DB_NAME = "osv.sqlite"
MAX_ENTRY = 8 << 20
# PEP 440 spellings of one pre-release kind; "a" < "b" < "rc" as strings
_PRE = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}
_VER = re.compile(r"^v?(?:(\d+)!)?(\d+(?:\.\d+)*)([-_.+]?[0-9a-z.+_-]*)$")


class OsvError(UsageError):
    """An OSV export stockade cannot read."""


def db_path(state_root: str) -> str:
    return os.path.join(state_root, "deps", DB_NAME)


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    malicious: bool
    summary: str
    affects: bool | None  # None: no version to test (unpinned, unknown latest)
    open_ended: bool  # some range has no fix


def version_key(v: str, *, semver: bool = False) -> tuple[Any, ...]:
    """A sort key for a PEP 440 or SemVer version (``semver`` for OSV's
    SEMVER ranges: npm, crates.io, Go).

    (epoch, release, phase, pre-release ids): phase is dev < pre-release <
    release < post; numeric ids compare as numbers and before words (SemVer
    section 11, PEP 440 ``rc9 < rc10``); build metadata and PEP 440 local
    parts (``+...``) do not order.  Raises ValueError for what is neither."""
    m = _VER.match(v.strip().lower())
    if m is None:
        raise ValueError(f"not a version: {v!r}")
    epoch = int(m.group(1) or 0)
    nums = tuple(int(x) for x in m.group(2).split("."))
    while len(nums) > 1 and nums[-1] == 0:
        nums = nums[:-1]
    rest = m.group(3).split("+", 1)[0]
    ids = tuple((0, int(t)) if t.isdigit() else (1, _PRE.get(t, t))
                for t in re.findall(r"\d+|[a-z]+", rest))
    if not ids:
        return (epoch, nums, 2, ())
    first = ids[0][1]
    if semver:
        return (epoch, nums, 1, ids)  # any -suffix is a pre-release
    if first in ("post", "rev", "r") or (rest.startswith("-") and ids[0][0] == 0):
        return (epoch, nums, 3, ids)  # 1.0.post1, 1.0-1
    if first == "dev":
        return (epoch, nums, 0, ids)
    return (epoch, nums, 1, ids)


def affects(entry: dict[str, Any], version: str) -> bool:
    """Whether ``version`` is in ``entry``'s explicit versions or ranges.  A
    version that cannot be ordered is affected by any range (fail closed)."""
    if version in (entry.get("versions") or ()):
        return True
    for rng in entry.get("ranges") or ():
        kind_of_range = rng.get("type")
        if kind_of_range not in ("ECOSYSTEM", "SEMVER"):
            continue
        semver = kind_of_range == "SEMVER"
        try:
            key = version_key(version, semver=semver)
            events = []
            for ev in rng.get("events") or ():
                for kind in ("introduced", "fixed", "last_affected", "limit"):
                    if kind in ev:
                        at = str(ev[kind])
                        events.append(((-1,) if at == "0" else version_key(at, semver=semver),
                                       kind))
        except ValueError:
            return True
        # introduced before fixed at the same version (OSV's evaluation order)
        order = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 2}
        events.sort(key=lambda e: (e[0], order[e[1]]))
        hit = False
        for vk, kind in events:
            if kind == "introduced" and key >= vk:
                hit = True
            elif kind in ("fixed", "limit") and key >= vk or kind == "last_affected" and key > vk:
                hit = False
        if hit:
            return True
    return False


def _open_ended(entry: dict[str, Any]) -> bool:
    for rng in entry.get("ranges") or ():
        kinds = [k for ev in rng.get("events") or () for k in ev]
        if "introduced" in kinds and not any(k in kinds for k in ("fixed", "last_affected",
                                                                  "limit")):
            return True
    return False


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=5)
    db.executescript(
        "CREATE TABLE IF NOT EXISTS advisories (id TEXT PRIMARY KEY, malicious INTEGER, "
        "summary TEXT);"
        "CREATE TABLE IF NOT EXISTS affected (id TEXT, ecosystem TEXT, name TEXT, entry TEXT);"
        "CREATE INDEX IF NOT EXISTS affected_pkg ON affected (ecosystem, name);"
        "CREATE TABLE IF NOT EXISTS imports (ecosystem TEXT PRIMARY KEY, source TEXT, "
        "advisories INTEGER, imported REAL);")
    return db


def _entries(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise OsvError(f"{path}: no such file",
                       hint="download an export such as https://osv-vulnerabilities.storage."
                            "googleapis.com/PyPI/all.zip and pass its path") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise OsvError(f"{path}: not a zip file ({type(exc).__name__})",
                       hint="pass OSV's per-ecosystem export (ECOSYSTEM/all.zip), unpacked "
                            "advisories are not read") from None
    with zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.endswith(".json"):
                continue
            if info.file_size > MAX_ENTRY:
                raise OsvError(f"{path}: {info.filename} is larger than {MAX_ENTRY >> 20} MiB",
                               hint="this is not an OSV advisory; check the export")
            try:
                data = json.loads(zf.read(info))
            except (ValueError, UnicodeDecodeError) as exc:
                line = getattr(exc, "lineno", None)
                where = f"{info.filename}:{line}" if line else info.filename
                raise OsvError(f"{path}: {where} is not valid JSON",
                               hint="re-download the export; it may be truncated") from None
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise OsvError(f"{path}: {info.filename} is not an OSV advisory (no id)",
                               hint="pass OSV's per-ecosystem export (ECOSYSTEM/all.zip)")
            yield info.filename, data


def import_zip(path: Path, *, state_root: str) -> dict[str, int]:
    """Replace the imported advisories of each ecosystem the export holds.
    Returns advisories per ecosystem."""
    target = db_path(state_root)
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    if os.path.exists(target):
        import shutil

        shutil.copyfile(target, tmp)
    db = _connect(tmp)
    counts: dict[str, int] = {}
    try:
        seen_ecos: set[str] = set()
        with db:
            for _fn, adv in _entries(path):
                if adv.get("withdrawn"):
                    continue
                ecos_here = set()
                rows = []
                for aff in adv.get("affected") or ():
                    pkg = aff.get("package") or {}
                    eco = OSV_ECOSYSTEMS.get(str(pkg.get("ecosystem", "")).split(":")[0])
                    name = pkg.get("name")
                    if eco is None or not isinstance(name, str):
                        continue
                    if eco not in seen_ecos:  # a full export replaces what was there
                        db.execute("DELETE FROM affected WHERE ecosystem=?", (eco,))
                        seen_ecos.add(eco)
                    entry = {"versions": aff.get("versions") or [],
                             "ranges": aff.get("ranges") or []}
                    rows.append((adv["id"], eco, normalise(eco, name), json.dumps(entry)))
                    ecos_here.add(eco)
                if not rows:
                    continue
                db.executemany("INSERT INTO affected VALUES (?, ?, ?, ?)", rows)
                summary = str(adv.get("summary") or adv.get("details") or "")[:200]
                db.execute("INSERT OR REPLACE INTO advisories VALUES (?, ?, ?)",
                           (adv["id"], int(adv["id"].startswith("MAL-")), summary))
                for eco in ecos_here:
                    counts[eco] = counts.get(eco, 0) + 1
            import time

            for eco, n in counts.items():
                db.execute("INSERT OR REPLACE INTO imports VALUES (?, ?, ?, ?)",
                           (eco, os.path.basename(str(path)), n, time.time()))
        if not counts:
            raise OsvError(f"{path}: holds no advisory for PyPI, npm, crates.io or Go",
                           hint="pass OSV's export of one of those ecosystems")
        db.execute("DELETE FROM advisories WHERE id NOT IN (SELECT id FROM affected)")
        db.commit()
    except BaseException:
        db.close()
        os.unlink(tmp)
        raise
    db.close()
    os.replace(tmp, target)
    return counts


class Database:
    """The imported advisories; absent until ``update-db`` ran."""

    def __init__(self, state_root: str):
        self.path = db_path(state_root)
        self._db: sqlite3.Connection | None = None
        if os.path.exists(self.path):
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)

    def has(self, eco: str) -> bool:
        if self._db is None:
            return False
        try:
            return self._db.execute("SELECT 1 FROM imports WHERE ecosystem=?",
                                    (eco,)).fetchone() is not None
        except sqlite3.Error:
            return False

    def advisories(self, eco: str, name: str, version: str | None) -> list[Advisory]:
        if self._db is None:
            return []
        rows = self._db.execute(
            "SELECT a.id, a.malicious, a.summary, f.entry FROM affected f JOIN advisories a "
            "ON a.id = f.id WHERE f.ecosystem=? AND f.name=? ORDER BY a.id",
            (eco, normalise(eco, name))).fetchall()
        out = []
        for adv_id, mal, summary, entry_text in rows:
            entry = json.loads(entry_text)
            hit = affects(entry, version) if version else None
            out.append(Advisory(adv_id, bool(mal), summary, hit, _open_ended(entry)))
        return out

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


__all__ = ["Advisory", "Database", "OsvError", "affects", "db_path", "import_zip", "version_key"]
