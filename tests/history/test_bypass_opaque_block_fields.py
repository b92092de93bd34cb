"""Bypass class: text beside an image or file in a transcript.

The history audit skipped any block typed image/image_url/input_file whole,
so a presigned URL's credential or a note next to the bytes went unscanned.
Only the bytes are skipped (and counted) now."""

from __future__ import annotations

import base64

from stockade.history.lines import strings


def test_the_fields_beside_the_bytes_are_scanned() -> None:
    out: list[str] = []
    url = "https://bucket.example/x.png?X-Amz-Credential=AKIAEXAMPLEEXAMPLE"
    assert strings({"type": "image_url", "image_url": {"url": url}}, out) == 0
    assert any(url in s for s in out)

    out = []
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7\x00\x01").decode()
    n = strings({"type": "input_file", "filename": "payroll.pdf", "note": "see attached",
                 "file_data": pdf}, out)
    assert n == 1 and "payroll.pdf" in out and "see attached" in out
    assert not any("JVBER" in s for s in out)  # the bytes are not scanned as text


def test_nested_bytes_are_counted_not_scanned() -> None:
    out: list[str] = []
    raw = base64.b64encode(b"RIFF" * 64).decode()
    n = strings({"type": "input_audio", "input_audio": {"data": raw, "format": "wav"}}, out)
    assert n == 1 and not any(raw[:20] in s for s in out)
