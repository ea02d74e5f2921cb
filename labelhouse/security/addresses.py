"""Which network addresses an outbound request may reach: public ones, and what the operator allows.

Refused unless allowed on purpose: loopback, private (RFC 1918, unique-local ``fc00::/7``),
link-local (``169.254/16``, ``fe80::/10``: cloud metadata lives there), carrier-grade NAT
(``100.64/10``: Alibaba's metadata at ``100.100.100.200``), multicast, unspecified, reserved and
documentation ranges: everything Python's ``ipaddress`` does not call global, plus multicast
(which it does). An IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``,
NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by the IPv4 address inside.

Encodings do not matter here: addresses are judged after the resolver has turned a host
(``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``[::ffff:7f00:1]``) into the address the socket
will connect to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from labelhouse.core.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_6TO4 = ipaddress.ip_network("2002::/16")
# Addresses that an operator may not open by a broad range: the cloud metadata services.
METADATA = tuple(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: Address) -> bool:
    """True for an address on the public internet (unicast, global)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public(inner)
        if ip.teredo is not None or ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class AllowList:
    """What the operator opened on purpose (``LABELHOUSE_OUTBOUND_ALLOW``): host names and networks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """``"cdn.internal, 10.0.5.0/24, 127.0.0.2"``: comma- or space-separated names and CIDRs."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in text.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                name = entry.lower().rstrip(".")
                if not name or "/" in name or ":" in name:
                    raise Invalid(
                        f"LABELHOUSE_OUTBOUND_ALLOW: {entry!r} is neither a host name nor an address/CIDR",
                        field="outbound_allow",
                    ) from None
                hosts.add(name)
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, ip: Address) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def too_broad(self) -> list[str]:
        """Entries that switch the guard off in effect: a very wide range, or one holding a
        cloud metadata address (production mode refuses these)."""
        bad = []
        for net in self.networks:
            widest = 8 if net.version == 4 else 32
            if net.prefixlen < widest or any(m.version == net.version and m in net for m in METADATA):
                bad.append(str(net))
        return bad


def allowed(host: str, ip: Address, allow: AllowList) -> bool:
    """May a request for ``host`` connect to ``ip``?"""
    return is_public(ip) or allow.allows_address(ip) or allow.allows_host(host)


def all_allowed(host: str, addresses: Iterable[Address], allow: AllowList) -> bool:
    found = list(addresses)
    return bool(found) and all(allowed(host, ip, allow) for ip in found)
