"""The ClientHello parser the egress proxy checks a CONNECT tunnel with: real
hellos from Python's ssl module and built ones, whole, cut into records and
reads, truncated and corrupted.  Whatever the bytes, the answer is a hello,
a reason, or "not yet": never an exception."""

from __future__ import annotations

import ssl

import pytest

from stockade.sandbox.tlshello import (
    MAX_HELLO,
    MAX_RAW,
    ClientHello,
    parse_client_hello,
    server_name_problem,
)


def real_hello(server_hostname: str | None) -> bytes:
    """The bytes Python's TLS client sends first (one record, as a real
    client does)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname=server_hostname)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return out.read()


def records(msg: bytes, *sizes: int) -> bytes:
    """``msg`` (handshake bytes) in TLS records of ``sizes`` bytes, the rest
    in a last one."""
    out, pos = b"", 0
    for size in (*sizes, len(msg)):
        part = msg[pos:pos + size]
        if not part:
            break
        out += b"\x16\x03\x01" + len(part).to_bytes(2, "big") + part
        pos += len(part)
    return out


def ext(kind: int, data: bytes) -> bytes:
    return kind.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def sni(*names: bytes, name_type: int = 0) -> bytes:
    entries = b"".join(bytes([name_type]) + len(n).to_bytes(2, "big") + n for n in names)
    return ext(0, len(entries).to_bytes(2, "big") + entries)


def hello_msg(*extensions: bytes, session_id: bytes = b"\x01" * 32) -> bytes:
    """A ClientHello handshake message (header included) with these extensions."""
    exts = b"".join(extensions)
    body = (b"\x03\x03" + b"\x07" * 32 + bytes([len(session_id)]) + session_id
            + b"\x00\x04\x13\x01\x13\x02" + b"\x01\x00"
            + len(exts).to_bytes(2, "big") + exts)
    return b"\x01" + len(body).to_bytes(3, "big") + body


SUPPORTED = ext(43, b"\x02\x03\x04")  # supported_versions: TLS 1.3, around the name


def test_a_real_client_hello_names_its_server() -> None:
    got = parse_client_hello(real_hello("Allowed.test"))
    assert got == ClientHello("Allowed.test", ech=False)
    assert server_name_problem(got, "allowed.test") is None  # names compare canonically


def test_a_hello_cut_into_records_and_reads_is_read_whole() -> None:
    msg = hello_msg(SUPPORTED, sni(b"allowed.test."))
    data = records(msg, 3, 1, 40)  # the header itself split, as a client may
    for cut in range(len(data)):
        assert parse_client_hello(data[:cut]) is None, cut  # not yet: read on
    got = parse_client_hello(data)
    assert got == ClientHello("allowed.test.", ech=False)
    assert server_name_problem(got, "allowed.test") is None  # the trailing dot is the same name
    # what follows the hello (0-RTT data, a change_cipher_spec) is the tunnel's
    assert parse_client_hello(data + b"\x14\x03\x03\x00\x01\x01") == got


def test_every_prefix_of_a_real_hello_is_not_yet_and_never_raises() -> None:
    data = real_hello("allowed.test")
    for cut in range(len(data)):
        assert parse_client_hello(data[:cut]) is None


def test_no_corruption_of_a_real_hello_raises() -> None:
    data = real_hello("allowed.test")
    for i in range(len(data)):
        for value in (0x00, 0xFF, data[i] ^ 0x01):
            bad = data[:i] + bytes([value]) + data[i + 1:]
            got = parse_client_hello(bad)
            assert got is None or isinstance(got, (str, ClientHello)), (i, value)
            if isinstance(got, ClientHello) and got.server_name is not None:
                # a changed name is still a name, and still checked
                assert got.server_name.isascii()


def test_no_server_name_is_accepted_only_for_an_address() -> None:
    got = parse_client_hello(records(hello_msg(SUPPORTED)))
    assert got == ClientHello(None, ech=False)
    assert server_name_problem(got, "93.184.215.14") is None
    assert server_name_problem(got, "2606:4700::1111") is None
    problem = server_name_problem(got, "allowed.test")
    assert problem is not None and problem[0] == "sni-mismatch"
    assert "names no server" in problem[1]
    # a client without any extension (SSL 3-era hello) names nothing either
    bare = hello_msg()[:-2]  # no extensions block at all
    bare = bare[:1] + (len(bare) - 4).to_bytes(3, "big") + bare[4:]
    assert parse_client_hello(records(bare)) == ClientHello(None, ech=False)


def test_another_name_is_a_mismatch_said_with_both_names() -> None:
    got = parse_client_hello(records(hello_msg(sni(b"api.openai.com"))))
    assert isinstance(got, ClientHello)
    assert server_name_problem(got, "registry.npmjs.org") == (
        "sni-mismatch",
        "TLS server name api.openai.com does not match CONNECT host registry.npmjs.org")


def test_a_name_carrying_data_is_masked_in_the_reason() -> None:
    secret = b"sk9f3k2m4n5b6v7c8x9z1q2w3e4r5t6y7u8i9o0p.attacker.example"
    got = parse_client_hello(records(hello_msg(sni(secret))))
    assert isinstance(got, ClientHello)
    problem = server_name_problem(got, "allowed.test")
    assert problem is not None and secret.decode() not in problem[1]
    assert "attacker.example" in problem[1]


@pytest.mark.parametrize(("msg", "why"), [
    (hello_msg(sni(b"allowed.test", b"api.openai.com")), "several server names"),
    (hello_msg(sni(b"allowed.test"), sni(b"api.openai.com")), "twice"),
    (hello_msg(sni(b"allowed.test", name_type=1)), "unknown type"),
    (hello_msg(sni(b"")), "not a printable ASCII"),
    (hello_msg(sni(b"allowed.test\x00.evil")), "not a printable ASCII"),
    (hello_msg(ext(0, b"")), "runs past the end"),
    (hello_msg(ext(0, b"\x00\x10\x00\x00\x0callowed.test")), "runs past the end"),
    (hello_msg(sni(b"allowed.test"), session_id=b"\x01" * 33), "session id"),
    (hello_msg(sni(b"allowed.test")) + b"\x00", "more handshake data"),
    (b"\x02" + hello_msg(sni(b"allowed.test"))[1:], "not a ClientHello"),
])
def test_malformed_hellos_are_refused_with_a_reason(msg: bytes, why: str) -> None:
    got = parse_client_hello(records(msg))
    assert isinstance(got, str) and why in got, got


def test_an_inner_length_that_disagrees_with_the_message_is_refused() -> None:
    msg = bytearray(hello_msg(sni(b"allowed.test")))
    msg[-1 - len(b"allowed.test") - 2] += 1  # the name's length runs past its extension
    got = parse_client_hello(records(bytes(msg)))
    assert isinstance(got, str) and got.startswith("malformed ClientHello")


def test_encrypted_client_hello_is_judged_by_its_outer_name() -> None:
    # Chrome's decoy ECH (GREASE) rides on every hello, the real name outside
    got = parse_client_hello(records(hello_msg(sni(b"allowed.test"), ext(0xFE0D, b"\x00" * 40))))
    assert got == ClientHello("allowed.test", ech=True)
    assert server_name_problem(got, "allowed.test") is None
    other = parse_client_hello(records(hello_msg(sni(b"cover.test"), ext(0xFE0D, b"\x00" * 40))))
    assert isinstance(other, ClientHello)
    problem = server_name_problem(other, "allowed.test")
    assert problem is not None and problem[0] == "sni-mismatch"


@pytest.mark.parametrize(("data", "why"), [
    (b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", "does not start with a TLS handshake"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "does not start with a TLS handshake"),
    (b"\x80\x2e\x01\x03\x01", "does not start with a TLS handshake"),  # SSL 2 hello
    (b"\x16\x03\x05\x00\x10", "not a TLS record version"),
    (b"\x16\x03\x01\x00\x00", "invalid length"),
    (b"\x16\x03\x01\x40\x01", "invalid length"),  # over 2^14
    (b"\x16\x03\x01\x00\x04\x01\x01\x00\x00", "larger than"),
    (records(hello_msg(sni(b"a.test")), 10)[:15] + b"\x17\x03\x03\x00\x01x", "other than the handshake"),
])
def test_what_is_no_tls_hello_is_said_from_its_first_bytes(data: bytes, why: str) -> None:
    got = parse_client_hello(data)
    assert isinstance(got, str) and why in got, got


def test_a_hello_in_too_many_records_is_refused_within_the_read_limit() -> None:
    msg = hello_msg(sni(b"allowed.test"))
    data = records(msg, *([1] * 40))
    got = parse_client_hello(data)
    assert isinstance(got, str) and "records" in got
    # the proxy stops reading at MAX_RAW: the verdict comes before that
    assert parse_client_hello(data[:MAX_RAW]) is not None
    assert MAX_RAW > MAX_HELLO
