"""Big files are scanned in windows and big trees in a process pool; the
findings (offsets, lines, columns) must be exactly those of a plain scan."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pytest

import stockade.dlp.scanfiles as sf
from stockade.model import Finding


class RegexScanner:
    """A minimal Scanner: every ``tok_`` + 20 letters is a finding."""

    pattern = re.compile(r"tok_[a-z]{20}")

    def scan(self, text: str, *, path: str | None = None) -> list[Finding]:
        out = []
        for m in self.pattern.finditer(text):
            s, e = m.span()
            line = text.count("\n", 0, s) + 1
            col = s - (text.rfind("\n", 0, s) + 1) + 1
            end_line = text.count("\n", 0, e - 1) + 1
            end_col = e - (text.rfind("\n", 0, e - 1) + 1) + 1
            out.append(Finding("tok", "secret", s, e, line, col, end_line, end_col, 0.9, "tok_****"))
        return out


def token(rng: random.Random) -> str:
    return "tok_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(20))


def make_text(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    n = 0
    while n < size:
        kind = rng.random()
        if kind < 0.1:
            piece = token(rng)
        elif kind < 0.2:
            piece = "\n"
        elif kind < 0.3:
            piece = "é中文"  # multi-byte: byte windows split characters
        else:
            piece = "x" * rng.randint(1, 60)
        parts.append(piece)
        n += len(piece)
    return "".join(parts)


def key(f: Finding) -> tuple[int, ...]:
    return (f.start, f.end, f.line, f.column, f.end_line, f.end_column)


@pytest.mark.parametrize("seed", range(8))
def test_windowed_scan_equals_whole_scan(seed: int) -> None:
    rng = random.Random(seed)
    text = make_text(rng, 20_000)
    data = text.encode()
    engine = RegexScanner()
    whole = [key(f) for f in sf.scan_text(engine, text)]
    windowed = sf.scan_stream(engine, io.BytesIO(data).read, rel="big.txt", chunk=997, overlap=128)
    assert windowed.skipped is None
    assert [key(f) for f in windowed.findings] == whole
    assert windowed.nbytes == len(data)
    assert len(whole) > 50


def test_windowed_scan_keeps_columns_on_a_long_line() -> None:
    rng = random.Random(1)
    text = "\n\n" + "".join("y" * 300 + token(rng) for _ in range(40)) + "\n"
    engine = RegexScanner()
    windowed = sf.scan_stream(engine, io.BytesIO(text.encode()).read, rel="x", chunk=500, overlap=64)
    assert [key(f) for f in windowed.findings] == [key(f) for f in engine.scan(text)]
    assert {f.line for f in windowed.findings} == {3}


def test_windowed_scan_reads_past_a_late_nul_or_invalid_byte() -> None:
    """A stray NUL or non-UTF-8 byte late in a big file does not end its scan."""
    tok = token(random.Random(7))
    data = b"a" * 5000 + b"\x00\xff" + b" " + tok.encode() + b"\n" + b"b" * 100
    result = sf.scan_stream(RegexScanner(), io.BytesIO(data).read, rel="x", chunk=1000, overlap=64)
    assert result.skipped is None
    assert [f.start for f in result.findings] == [5003]


def test_windowed_scan_skips_a_binary_by_its_first_chunk() -> None:
    data = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 2000 + b"tok_" + b"a" * 20
    result = sf.scan_stream(RegexScanner(), io.BytesIO(data).read, rel="x", chunk=1000, overlap=64)
    assert result.skipped == "binary (ELF executable)" and result.findings == ()


def test_big_file_goes_through_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    text = make_text(rng, 50_000)
    p = tmp_path / "huge.log"
    p.write_text(text)
    monkeypatch.setattr(sf, "BIG_FILE", 10_000)
    monkeypatch.setattr(sf, "CHUNK", 4096)
    monkeypatch.setattr(sf, "OVERLAP", 256)
    calls: list[int] = []
    engine = RegexScanner()

    class Counting(RegexScanner):
        def scan(self, text: str, *, path: str | None = None) -> list[Finding]:
            calls.append(len(text))
            return super().scan(text, path=path)

    result = sf.scan_file(Counting(), str(p), rel="huge.log")
    assert max(calls) < 10_000  # never the whole file at once
    assert [key(f) for f in result.findings] == [key(f) for f in engine.scan(text)]


def test_pool_scan_equals_serial_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    for i in range(40):
        (tmp_path / f"d{i % 4}").mkdir(exist_ok=True)
        (tmp_path / f"d{i % 4}" / f"f{i}.txt").write_text(make_text(rng, 3000))
    (tmp_path / "bin.dat").write_bytes(b"\x00tok_")
    monkeypatch.setattr(sf, "POOL_MIN_BYTES", 1)
    monkeypatch.setattr(sf, "POOL_MIN_FILES", 2)
    engine = RegexScanner()
    serial = sf.scan_paths(engine, [str(tmp_path)], jobs=1)
    pooled = sf.scan_paths(engine, [str(tmp_path)], jobs=2)

    def view(r: sf.ScanReport) -> tuple[object, ...]:
        return (
            [(ff.path, key(ff.finding)) for ff in r.findings],
            [(s.rel, s.reason) for s in r.skipped],
            r.files,
            r.bytes,
        )

    assert view(pooled) == view(serial)
    assert len(serial.findings) > 40 and serial.files == 40
