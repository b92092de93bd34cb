"""Bypass class: internal addresses in IPv6 forms ``is_public`` let through.

``ipaddress`` calls some reserved IPv6 ranges global, so a name resolving to
``64:ff9b:1::a9fe:a9fe`` (local-use NAT64 of 169.254.169.254), ``::7f00:1``
(IPv4-compatible 127.0.0.1), ``::ffff:0:7f00:1`` (IPv4-translated) or
``fec0::1`` (site-local) was connected to as a public address.
"""

from __future__ import annotations

import pytest

from stockade.sandbox.proxy import is_public

NOT_PUBLIC = [
    "64:ff9b:1::a9fe:a9fe", "64:ff9b:1::808:808",  # local-use NAT64 (RFC 8215), whatever it embeds
    "::7f00:1", "::808:808", "::",  # IPv4-compatible (deprecated) and unspecified
    "::ffff:0:7f00:1", "::ffff:0:808:808",  # IPv4-translated
    "fec0::1", "feff::1",  # site-local (deprecated)
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",  # mapped, internal v4
    "2002:7f00:1::", "2002:a9fe:a9fe::1",  # 6to4 of internal v4
    "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1",  # NAT64 of internal v4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
    "::1", "fe80::1", "fe80::1%eth0", "fd00::1", "ff02::1", "ff0e::1", "100::1", "2001:db8::1",
    "127.0.0.1", "10.0.0.1", "100.64.0.1", "169.254.169.254", "192.0.0.8", "198.18.0.1",
    "224.0.0.1", "240.0.0.1", "255.255.255.255", "0.0.0.0", "203.0.113.80",
    "not-an-address",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "2a00:1450:4001:81b::200e",
          "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("ip", NOT_PUBLIC)
def test_internal_and_reserved_forms_are_not_public(ip: str) -> None:
    assert not is_public(ip)


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_stay_reachable(ip: str) -> None:
    assert is_public(ip)
