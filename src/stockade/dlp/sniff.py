"""Bytes to text for scanning: which codec, and what is a binary to skip.

One odd byte must not take a file out of a scan, so:

* text is decoded with ``errors="replace"``: an invalid byte becomes U+FFFD
  and everything around it is still scanned (credentials are ASCII; a
  Latin-1 or cp1251 file is ASCII where it matters);
* a byte-order mark selects UTF-8, UTF-16 or UTF-32, and UTF-16 without one
  is recognised by where its NUL bytes fall;
* a file is binary (skipped, and reported) only when NUL bytes make up at
  least 1 % of it, or when it starts with a known binary signature *and*
  NUL bytes or invalid UTF-8 follow (a signature pasted on text is scanned).

A binary whose name says text (``.env``, ``.py``, ``id_rsa`` ...) is the shape
of a file padded to dodge the scan; :func:`text_named` lets a caller treat
skipping it as a failure (``stockade scan --staged``, ``--strict``).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

SAMPLE = 4096  # bytes looked at for signatures and UTF-16
NUL_SHARE = 0.01  # at least this share of NUL bytes: binary

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"BM", "BMP image"),
    (0, b"\x00\x00\x01\x00", "icon"),
    (0, b"8BPS", "Photoshop image"),
    (0, b"RIFF", "RIFF media"),
    (4, b"ftyp", "MP4/QuickTime media"),
    (0, b"OggS", "Ogg media"),
    (0, b"fLaC", "FLAC audio"),
    (0, b"ID3", "MP3 audio"),
    (0, b"%PDF-", "PDF document"),
    (0, b"PK\x03\x04", "zip archive"),
    (0, b"PK\x05\x06", "zip archive"),
    (0, b"\x1f\x8b", "gzip data"),
    (0, b"BZh", "bzip2 data"),
    (0, b"\xfd7zXZ\x00", "xz data"),
    (0, b"\x28\xb5\x2f\xfd", "zstd data"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (0, b"Rar!\x1a\x07", "RAR archive"),
    (0, b"!<arch>\n", "ar archive"),
    (257, b"ustar", "tar archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (0, b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (0, b"\xca\xfe\xba\xbe", "Java class or Mach-O executable"),
    (0, b"MZ", "Windows executable"),
    (0, b"\x00asm", "WebAssembly module"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"PAR1", "Parquet data"),
    (0, b"\x93NUMPY", "NumPy array"),
    (0, b"wOFF", "WOFF font"),
    (0, b"wOF2", "WOFF2 font"),
    (0, b"\x00\x01\x00\x00", "TrueType font"),
    (0, b"OTTO", "OpenType font"),
)

# Names that say "text": a binary verdict on one of these is suspicious.
_TEXT_SUFFIXES = frozenset(
    """
    .env .txt .md .rst .adoc .py .pyi .js .mjs .cjs .jsx .ts .tsx .json .jsonl .json5 .yaml .yml
    .toml .ini .cfg .conf .config .properties .props .xml .html .htm .css .scss .csv .tsv .sql
    .sh .bash .zsh .fish .ps1 .bat .cmd .go .rs .java .kt .kts .scala .groovy .gradle .rb .php .pl
    .c .h .cc .cpp .hpp .cs .swift .m .mm .r .lua .tf .tfvars .hcl .nix .dockerfile .vue .svelte
    .pem .key .crt .cer .csr .pub .asc .gpg-key .netrc .npmrc .pypirc .htpasswd .log .tex .ipynb
    """.split()
)
_TEXT_NAMES = frozenset(
    """
    .env dockerfile makefile gemfile rakefile procfile jenkinsfile vagrantfile .netrc .npmrc .pypirc
    .pgpass .git-credentials credentials config id_rsa id_dsa id_ecdsa id_ed25519 .htpasswd
    .bashrc .zshrc .profile .bash_profile authorized_keys known_hosts
    """.split()
)


@dataclass(frozen=True, slots=True)
class Sniff:
    """How to read a file: ``encoding``, or None and why it is binary."""

    encoding: str | None
    reason: str = ""

    @property
    def binary(self) -> bool:
        return self.encoding is None


def _utf16_without_bom(sample: bytes) -> str | None:
    head = sample[: SAMPLE - SAMPLE % 2]
    pairs = len(head) // 2
    if pairs < 8:  # too little to tell from a binary's NUL bytes
        return None
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    if odd >= 0.4 * pairs and even <= 0.05 * pairs:
        return "utf-16-le"
    if even >= 0.4 * pairs and odd <= 0.05 * pairs:
        return "utf-16-be"
    return None


def _signature(sample: bytes) -> str | None:
    for offset, magic, name in _SIGNATURES:
        if sample.startswith(magic, offset):
            return name
    return None


def _invalid_utf8(sample: bytes) -> bool:
    # Not final: a sequence cut by the end of the sample is not an error.
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    return "\ufffd" in decoder.decode(sample, False)


def sniff(data: bytes) -> Sniff:
    """Classify ``data`` (a whole file, or its first chunk)."""
    if data.startswith(codecs.BOM_UTF8):
        return Sniff("utf-8-sig")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return Sniff("utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Sniff("utf-16")
    nul = data.count(0)
    sample = data[:SAMPLE]
    if nul:
        wide = _utf16_without_bom(sample)
        if wide is not None:
            return Sniff(wide)
    kind = _signature(sample)
    if kind is not None and (nul or _invalid_utf8(sample)):
        return Sniff(None, f"binary ({kind})")
    if nul and nul >= NUL_SHARE * len(data):
        return Sniff(None, "binary (NUL bytes)")
    return Sniff("utf-8-sig")


def decode(data: bytes, encoding: str) -> str:
    """``data`` as text; invalid bytes become U+FFFD (never an error)."""
    return data.decode(encoding, "replace")


def text_named(rel: str) -> bool:
    """Whether a file's name says it holds text (``.env``, ``app.py``, ``id_rsa``)."""
    name = rel.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if name in _TEXT_NAMES or name.startswith(".env"):
        return True
    dot = name.rfind(".")
    return dot >= 0 and name[dot:] in _TEXT_SUFFIXES


__all__ = ["NUL_SHARE", "Sniff", "decode", "sniff", "text_named"]
