"""IP addresses without ``ipaddress``: parsed, judged public or not, and
IPv4 networks of a policy's ``allow_private``.  Shared by the egress proxy
(``sandbox/proxy.py``) and ``config/domains.py``; imports nothing of
stockade's.

Addresses are parsed with the C library's ``inet_pton`` and judged on their
integer value against one table of every range that never names a public
host.  ``ipaddress`` says the same (``tests/core/test_netaddr.py`` holds this
module to it, range by range) but costs the agent's first connection
milliseconds of imports (functools, and its classes are built on first use);
it is still asked, lazily, for the rare text ``inet_pton`` refuses (an IPv6
scope id), so no form it accepts as an address passes here as a name.

The table is the union of what every Python from 3.11 on calls private,
reserved, loopback, link-local, multicast or unspecified, plus the ranges
``ipaddress`` calls global that are not (see ``_NEVER_PUBLIC``).  It is
stricter than a given Python's ``ipaddress`` only where a newer one is
stricter too (``STRICTER``).
"""

from __future__ import annotations

import _socket

_V4, _V6 = 4, 6


def parse(text: str) -> tuple[int, int] | None:
    """``(4 or 6, the address as an integer)``, or None when ``text`` is no IP
    address: what ``ipaddress.ip_address`` accepts, no more (an IPv6 scope id,
    ``fe80::1%eth0``, is accepted and ignored; an IPv4 one is not)."""
    if "/" in text:
        return None  # a network, never an address (ipaddress refuses it anywhere)
    base, scoped, scope = text.partition("%")
    try:
        if not scoped:
            try:
                return _V4, int.from_bytes(_socket.inet_pton(_socket.AF_INET, text), "big")
            except OSError:
                pass
        if ":" in base and (not scoped or (scope and "%" not in scope)):
            try:
                return _V6, int.from_bytes(_socket.inet_pton(_socket.AF_INET6, base), "big")
            except OSError:
                pass
    except ValueError:  # a NUL or a lone surrogate: no address
        return None
    if ":" not in text:
        return None  # inet_pton and ipaddress take the same IPv4 texts (held by tests)
    import ipaddress  # IPv6 forms the C parser refuses, if any: ipaddress decides

    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return addr.version, int(addr)


def _net(cidr: str) -> tuple[int, int]:
    """``(first, last)`` address of a network, as integers."""
    base, bits = cidr.split("/")
    got = parse(base)
    assert got is not None, cidr
    width = 32 if got[0] == _V4 else 128
    size = 1 << (width - int(bits))
    assert got[1] % size == 0, cidr  # a network address, not a host in it
    return got[1], got[1] + size - 1


# Every IPv4 range that is not public: "this network", private (RFC 1918),
# shared/CGNAT, loopback, link-local, IETF protocol assignments, the
# documentation nets, benchmarking, multicast, reserved and broadcast.
_V4_NOT_PUBLIC = tuple(_net(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
))
# IPv6: only global unicast (2000::/3) is ever public, and not all of it:
# the IETF protocol assignments (Teredo among them), documentation, and the
# newer documentation prefix.  ``::/8`` holds loopback, unspecified, the
# IPv4-compatible and IPv4-translated forms and local-use NAT64 (RFC 8215).
_V6_GLOBAL = _net("2000::/3")
_V6_NOT_PUBLIC = tuple(_net(n) for n in ("2001::/23", "2001:db8::/32", "3fff::/20"))
# IPv6 that reaches the IPv4 address it carries: mapped (::ffff:a.b.c.d),
# 6to4 (2002:aabb:ccdd::) and the well-known NAT64 prefix (64:ff9b::a.b.c.d;
# DNS64 networks hand it out for every public name).
_MAPPED = _net("::ffff:0:0/96")
_SIXTOFOUR = _net("2002::/16")
_NAT64 = _net("64:ff9b::/96")

# Addresses this module refuses that Python 3.11's ipaddress calls global:
# newer Pythons call them private too (documentation, 3fff::/20), or they
# are anycast services inside 2001::/23 that no agent needs to reach.
STRICTER = (_V6_NOT_PUBLIC[0], _V6_NOT_PUBLIC[2])


def _within(n: int, nets: tuple[tuple[int, int], ...]) -> bool:
    return any(first <= n <= last for first, last in nets)


def is_public(text: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved,
    unspecified, site-local and shared (CGNAT) addresses, and for IPv6 that
    carries a non-public IPv4 address (mapped, 6to4, NAT64; Teredo is never
    public).  Text that is no address is not public."""
    got = parse(text.split("%", 1)[0])  # a resolver's scoped fe80::1%eth0 included
    if got is None:
        return False
    version, n = got
    if version == _V4:
        return not _within(n, _V4_NOT_PUBLIC)
    carried = _carried_v4(n)
    if carried is not None:
        return not _within(carried, _V4_NOT_PUBLIC)
    first, last = _V6_GLOBAL
    return first <= n <= last and not _within(n, _V6_NOT_PUBLIC)


def is_loopback(text: str) -> bool:
    """127.0.0.0/8, ``::1``, and IPv6 that carries an IPv4 loopback address."""
    got = parse(text)
    if got is None:
        return False
    version, n = got
    if version == _V6:
        if n == 1:
            return True
        carried = _carried_v4(n)
        if carried is None:
            return False
        n = carried
    return n >> 24 == 127


def ipv4_network(entry: str) -> tuple[int, int] | None:
    """``(first, last)`` of what ``ipaddress.ip_network(entry)`` (strict) is
    when that is an IPv4 network (an address alone is a /32); None when it
    is none (invalid, host bits set, IPv6, a name)."""
    if ":" in entry:
        return None
    addr, slash, prefix = entry.partition("/")
    got = parse(addr)
    if got is None or got[0] != _V4:
        return None
    first = got[1]
    if not slash:
        return first, first
    if not (prefix.isascii() and prefix.isdigit()):
        return _ipaddress_v4_network(entry)  # a netmask written as an address
    bits = int(prefix)
    if bits > 32:
        return None
    host = (1 << (32 - bits)) - 1
    if first & host:
        return None  # host bits set: ipaddress refuses it (strict)
    return first, first | host


def _ipaddress_v4_network(entry: str) -> tuple[int, int] | None:
    import ipaddress

    try:
        net = ipaddress.ip_network(entry)
    except ValueError:
        return None
    if net.version != _V4:
        return None
    return int(net.network_address), int(net.broadcast_address)


def _carried_v4(n: int) -> int | None:
    for first, last in (_MAPPED, _NAT64):
        if first <= n <= last:
            return n & 0xFFFFFFFF
    first, last = _SIXTOFOUR
    if first <= n <= last:
        return (n >> 80) & 0xFFFFFFFF
    return None


__all__ = ["STRICTER", "ipv4_network", "is_loopback", "is_public", "parse"]
