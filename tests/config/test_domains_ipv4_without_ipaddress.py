"""IPv4 literals in network.allow / allow_private are compared without
importing ``ipaddress`` (milliseconds of the sandbox proxy's first connection
to an address); the results are held to ``ipaddress`` on generated cases."""

from __future__ import annotations

import ipaddress
import random
import subprocess
import sys

import pytest

from stockade.config import domains


def reference_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def reference_private_allowed(entries: tuple[str, ...], host: str) -> bool:
    norm = domains.normalise_host(host)
    if norm is None or not entries:
        return False
    try:
        ip = ipaddress.ip_address(norm)
    except ValueError:
        return norm in entries
    for entry in entries:
        try:
            if ip in ipaddress.ip_network(entry):
                return True
        except ValueError:
            continue
    return False


def _octet(rnd: random.Random) -> str:
    return rnd.choice([str(rnd.randrange(256)), str(rnd.randrange(256, 1000)), "0", "00",
                       "01", "255", "256", "", "1a", "٣", " 1", "+1", "0x1", "999"])


def _texts(rnd: random.Random, n: int) -> list[str]:
    out = ["1.2.3.4", "0.0.0.0", "255.255.255.255", "127.0.0.1", "1.2.3", "1.2.3.4.5", "",
           "1..2.3", "01.2.3.4", "1.2.3.04", "1.2.3.256", "1.2.3.4%eth0", "1.2.3.4/32"]
    for _ in range(n):
        k = rnd.choice([4, 4, 4, 3, 5])
        out.append(".".join(_octet(rnd) for _ in range(k)))
    return out


def _entries(rnd: random.Random, n: int) -> list[str]:
    out = ["10.0.0.0/8", "10.0.0.1/8", "127.0.0.1", "0.0.0.0/0", "1.2.3.4/32", "1.2.3.4/33",
           "10.0.0.0/255.0.0.0", "10.0.0.0/0.255.255.255", "10.0.0.0/", "10.0.0.0/08",
           "::1", "::ffff:127.0.0.1", "fd00::/8", "git.corp.example", "10.0.0.0/8/8", "10.0.0.0/x"]
    for _ in range(n):
        addr = ".".join(str(rnd.randrange(256)) for _ in range(4))
        bits = rnd.randrange(0, 34)
        if rnd.random() < 0.7 and bits <= 32:  # mostly a proper network
            base = int(ipaddress.IPv4Address(addr)) & ~((1 << (32 - bits)) - 1) & 0xFFFFFFFF
            addr = str(ipaddress.IPv4Address(base))
        out.append(f"{addr}/{bits}" if rnd.random() < 0.8 else addr)
    return out


def test_ipv4_texts_are_addresses_exactly_when_ipaddress_says_so() -> None:
    for text in _texts(random.Random(4), 5000):
        assert domains._ip(text) == reference_ip(text), repr(text)


def test_allow_private_matches_ipv4_hosts_as_ipaddress_does() -> None:
    rnd = random.Random(44)
    entries = _entries(rnd, 300)
    hosts = [".".join(str(rnd.randrange(256)) for _ in range(4)) for _ in range(300)]
    hosts += ["10.1.2.3", "127.0.0.1", "1.2.3.4", "10.0.0.1", "8.8.8.8", "[127.0.0.1]"]
    for _ in range(400):
        chosen = tuple(rnd.sample(entries, rnd.randrange(1, 6)))
        for host in rnd.sample(hosts, 20):
            assert domains.private_allowed(chosen, host) == reference_private_allowed(
                chosen, host), (chosen, host)
    # and each entry alone, against hosts inside and at the edges of it
    for entry in entries:
        try:
            net = ipaddress.ip_network(entry)
        except ValueError:
            continue
        first, last = int(net.network_address), int(net.broadcast_address)
        for n in {first - 1, first, (first + last) // 2, last, last + 1}:
            if 0 <= n < 2**32 and net.version == 4:
                host = str(ipaddress.IPv4Address(n))
                assert domains.private_allowed((entry,), host) == reference_private_allowed(
                    (entry,), host), (entry, host)


@pytest.mark.parametrize("entries", [("10.0.0.0/8",), ("127.0.0.1", "git.corp.example")])
def test_matching_an_ipv4_host_imports_no_ipaddress(entries: tuple[str, ...]) -> None:
    code = ("import sys\nfrom stockade.config import domains\n"
            f"assert domains.normalise_host('10.1.2.3') == '10.1.2.3'\n"
            f"domains.private_allowed({entries!r}, '127.0.0.1')\n"
            "print('ipaddress' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
