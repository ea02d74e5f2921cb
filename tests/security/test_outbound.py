"""S-01..S-04, S-06, S-07: the guarded client (``labelhouse.security.outbound``) on its own.

No packet leaves the machine: the ``connects`` fixture fails any connect() off loopback, and the
"external" server is a canary on 127.0.0.2, opened by the allowlist. Every refusal is checked
twice: the error says "destination not allowed", and the canary that stands for the internal
target counted 0 connections (or nothing was connected at all).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from labelhouse.security.addresses import AllowList, is_public
from labelhouse.security.outbound import (
    FetchFailed,
    OutboundClient,
    OutboundPolicy,
    Refused,
    system_resolve,
)
from tests.security.canary import endless, trickle

EXTERNAL = "127.0.0.2"  # "the internet": opened by the allowlist
INTERNAL = "127.0.0.3"  # the internal network: refused like 127.0.0.1


def stub_resolver(names: dict[str, list[str]]) -> Any:
    import ipaddress

    def resolve(host: str, port: int) -> list[Any]:
        if host in names:
            return [ipaddress.ip_address(a) for a in names[host]]
        return system_resolve(host, port)

    return resolve


def policy(**changes: Any) -> OutboundPolicy:
    base = OutboundPolicy(
        allow=AllowList.parse(EXTERNAL),
        max_bytes=1024 * 1024,
        timeout_s=2.0,
        idle_timeout_s=1.0,
        resolve=stub_resolver(
            {
                "metadata.google.internal": ["169.254.169.254"],
                "allowed.test": [EXTERNAL],
            }
        ),
    )
    return dataclasses.replace(base, **changes)


def fetch(url: str, **changes: Any) -> bytes:
    with OutboundClient(policy(**changes)) as client:
        return client.fetch(url).data


def refused(url: str, **changes: Any) -> None:
    with pytest.raises(Refused) as info:
        fetch(url, **changes)
    assert info.value.message == "destination not allowed"


def test_S_01_allowed_destination_is_fetched(canaries, connects) -> None:  # type: ignore[no-untyped-def]
    external = canaries(EXTERNAL, {"/x": (200, {}, b"hello")})
    assert fetch(external.url("/x")) == b"hello"
    assert external.connections == 1
    assert [a[0] for a in connects] == [EXTERNAL]


def test_S_01_loopback_and_private_refused_before_connecting(canaries, connects, caplog) -> None:  # type: ignore[no-untyped-def]
    internal = canaries(INTERNAL)
    local = canaries("127.0.0.1")
    p = local.port
    for url in (
        local.url(),
        f"http://localhost:{p}/x",
        f"http://[::1]:{p}/x",
        internal.url(),
        "http://10.0.0.1/x",
        "http://172.16.0.1/x",
        "http://192.168.0.1/x",
        "http://0.0.0.0/x",
        "http://[::]/x",
        "http://224.0.0.1/x",
        "http://[ff02::1]/x",
    ):
        refused(url)
    assert internal.connections == 0 and local.connections == 0
    assert connects == []  # no connect() was even tried
    assert "outbound request refused" in caplog.text  # a security event in the log


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",  # decimal
        "0177.0.0.1",  # octal
        "0x7f.0.0.1",  # hex
        "0x7f000001",
        "127.1",  # short form
        "017700000001",
        "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
        "[::ffff:7f00:1]",
        "[64:ff9b::7f00:1]",  # NAT64
        "[2002:7f00:1::]",  # 6to4
        "[::ffff:a9fe:a9fe]",  # 169.254.169.254 mapped
    ],
)
def test_S_01_every_encoding_of_an_internal_address_is_refused(host: str, canaries, connects) -> None:  # type: ignore[no-untyped-def]
    local = canaries("127.0.0.1")
    refused(f"http://{host}:{local.port}/x")
    assert local.connections == 0
    assert connects == []


def test_S_02_cloud_metadata_refused(connects) -> None:  # type: ignore[no-untyped-def]
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://100.100.100.200/",
        "http://169.254.170.2/v2/credentials",
    ):
        refused(url)
    assert connects == []
    # Even a broad allowlist entry does not pass for production (see test_A_05 in test_settings).
    assert AllowList.parse("169.254.0.0/16").too_broad() == ["169.254.0.0/16"]


def test_S_03_scheme_allowlist_and_parser_confusion(canaries, connects) -> None:  # type: ignore[no-untyped-def]
    local = canaries("127.0.0.1")
    external = canaries(EXTERNAL)
    p = local.port
    for url in (
        "file:///etc/passwd",
        "gopher://127.0.0.2:70/_x",
        "dict://127.0.0.2:11211/stat",
        "ftp://127.0.0.2/x",
        "jar:http://127.0.0.2/x.jar!/",
        "data:text/html,<script>alert(1)</script>",
        f"http://allowed.test@127.0.0.1:{p}/",
        f"http://127.0.0.1:{p}#@allowed.test/",
        f"http://allowed.test\\@127.0.0.1:{p}/",
        f" http://{EXTERNAL}:{external.port}/x",
        f"http://{EXTERNAL}:{external.port}/x\r\nX-Injected: 1",
        f"http://{EXTERNAL}:{external.port}/x\n",
        "//127.0.0.2/x",
        "",
    ):
        with pytest.raises(Refused):
            fetch(url)
    assert local.connections == 0 and external.connections == 0
    assert connects == []
    # The scheme is case-insensitive, and https-only mode refuses plain http.
    assert fetch(f"HTTP://{EXTERNAL}:{external.port}/x") == b"canary"
    refused(external.url(), https_only=True)


def test_S_03_dns_is_resolved_once_and_the_checked_address_is_used(canaries, connects) -> None:  # type: ignore[no-untyped-def]
    import ipaddress

    external = canaries(EXTERNAL)
    internal = canaries(INTERNAL, {"/x": (200, {}, b"internal")})
    answers = [[EXTERNAL], [INTERNAL]]  # a rebinding name server: public first, internal next
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[Any]:
        calls.append(host)
        return [ipaddress.ip_address(a) for a in answers[min(len(calls) - 1, 1)]]

    assert fetch(f"http://rebind.test:{external.port}/x", resolve=rebinding) == b"canary"
    assert calls == ["rebind.test"]
    assert internal.connections == 0 and [a[0] for a in connects] == [EXTERNAL]
    # A name with one public and one internal address is refused as a whole.
    mixed = stub_resolver({"mixed.test": [EXTERNAL, INTERNAL]})
    refused(f"http://mixed.test:{external.port}/x", resolve=mixed)
    assert internal.connections == 0


def test_S_04_every_redirect_hop_is_checked(canaries, connects) -> None:  # type: ignore[no-untyped-def]
    internal = canaries(INTERNAL)
    routes: dict[str, Any] = {
        "/to-internal": (302, {"Location": internal.url("/secret")}, b""),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/to-metadata": (301, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/to-ok": (307, {"Location": "/ok"}, b""),
        "/ok": (200, {}, b"after a redirect"),
    }
    routes.update({f"/hop{i}": (302, {"Location": f"/hop{i + 1}"}, b"") for i in range(20)})
    external = canaries(EXTERNAL, routes)
    for path in ("/to-internal", "/to-file", "/to-metadata"):
        refused(external.url(path))
    assert internal.connections == 0
    assert fetch(external.url("/to-ok")) == b"after a redirect"
    with pytest.raises(FetchFailed, match="more than 5 redirects"):
        fetch(external.url("/hop0"))
    assert max(int(p[4:]) for p in external.paths if p.startswith("/hop")) == 5  # 1 + 5 hops
    assert {a[0] for a in connects} == {EXTERNAL}


def test_S_06_errors_are_blind(canaries) -> None:  # type: ignore[no-untyped-def]
    external = canaries(
        EXTERNAL, {"/x": (500, {"X-Secret": "CANARY-INTERNAL-HEADER"}, b"CANARY-INTERNAL-BODY")}
    )
    with pytest.raises(FetchFailed) as info:
        fetch(external.url("/x"))
    assert info.value.message == "fetch failed (HTTP 500)"
    assert "CANARY" not in repr(info.value.to_dict())


def test_S_07_size_and_time_are_bounded_while_streaming(canaries) -> None:  # type: ignore[no-untyped-def]
    external = canaries(
        EXTERNAL,
        {
            "/declared": (200, {"Content-Length": str(10**9)}, b"x"),
            "/endless": (200, {"Connection": "close"}, endless),
            "/trickle": (200, {"Connection": "close"}, trickle(5)),
            "/stall": (200, {"Content-Length": "10"}, lambda out: time.sleep(3)),
        },
    )
    with pytest.raises(FetchFailed, match="over 1 MB"):
        fetch(external.url("/declared"))
    with pytest.raises(FetchFailed, match="over 1 MB"):
        fetch(external.url("/endless"))
    start = time.monotonic()
    with pytest.raises(FetchFailed, match="timed out"):
        fetch(external.url("/trickle"), timeout_s=1.0, idle_timeout_s=1.0)
    with pytest.raises(FetchFailed, match="timed out"):
        fetch(external.url("/stall"), timeout_s=1.0, idle_timeout_s=0.5)
    assert time.monotonic() - start < 3.5


def test_S_01_address_classes() -> None:
    import ipaddress

    public = ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"]
    internal = [
        "127.0.0.1",
        "10.1.2.3",
        "100.64.0.1",
        "169.254.1.1",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "fe80::1",
        "fc00::1",
        "fec0::1",
        "2001:db8::1",
        "2001::1",
        "::ffff:10.0.0.1",
        "239.1.1.1",
    ]
    assert all(is_public(ipaddress.ip_address(a)) for a in public)
    assert not any(is_public(ipaddress.ip_address(a)) for a in internal)
    allow = AllowList.parse("cdn.internal, 10.0.5.0/24")
    assert allow.allows_host("CDN.internal.") and allow.allows_address(ipaddress.ip_address("10.0.5.9"))
    assert not allow.allows_address(ipaddress.ip_address("10.0.6.1"))
    assert AllowList.parse("0.0.0.0/0, ::/0").too_broad() == ["0.0.0.0/0", "::/0"]
