"""The one guarded HTTP client: every URL the server fetches for a user goes through here.

What it does, and why (each line is a published bug in a peer labeling tool, see docs/security.md):

* only ``http`` and ``https`` (or ``https`` alone), no credentials in the URL, no control
  characters; URLs are parsed by httpx, the same parser that then connects;
* the host is resolved **once**, at connect time, by the transport itself; every address it
  resolves to is judged (``addresses.allowed``) and the socket connects to the address that was
  judged, so DNS rebinding between check and connect is impossible, and so is any spelling of an
  internal address (decimal, octal, hex, IPv4-mapped IPv6): the resolver decodes them first;
* redirects are followed by hand, at most ``max_redirects``, and each hop goes through the same
  checks (a new connection to a new host is judged again); no cookies or credentials are sent;
* the body is read raw (``Accept-Encoding: identity``, nothing decompressed here) and stops at
  ``max_bytes`` + 1; a total deadline and an idle (read) timeout bound the time;
* errors are blind: the caller learns "destination not allowed" or "fetch failed (HTTP 500)",
  never the remote body or headers. Refusals are logged on ``labelhouse.security``.

Environment proxies are ignored (``trust_env=False``): a proxy would connect on our behalf to
addresses we never judged.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import httpcore
import httpx

from labelhouse.core.errors import Invalid
from labelhouse.security import logsafe
from labelhouse.security.addresses import Address, AllowList, all_allowed

log = logsafe.logger("labelhouse.security")

Resolver = Callable[[str, int], list[Address]]
_CONTROL = frozenset(chr(c) for c in range(0x20)) | {"\x7f", " "}


def system_resolve(host: str, port: int) -> list[Address]:
    """The addresses the operating system resolves ``host`` to (literals of every spelling too)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


@dataclass(frozen=True)
class OutboundPolicy:
    allow: AllowList = field(default_factory=AllowList)
    max_bytes: int = 50 * 1024 * 1024
    timeout_s: float = 30.0
    idle_timeout_s: float = 10.0
    max_redirects: int = 5
    https_only: bool = False
    resolve: Resolver = system_resolve  # a seam for tests: a stub name service


class Refused(Invalid):
    """The URL or one of its redirects points somewhere the server may not go."""


class FetchFailed(Invalid):
    """The destination was allowed but did not give a usable answer."""


@dataclass(frozen=True)
class Fetched:
    data: bytes
    url: str  # after redirects
    redirects: int


def _refuse(reason: str, host: str = "", address: str = "") -> Refused:
    log.warning("outbound request refused: %s host=%r address=%s", reason, host, address or "-")
    return Refused("destination not allowed", field="url")


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves, judges and connects in one step: the address checked is the address used."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = self.policy.resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            raise FetchFailed("fetch failed (unknown host)", field="url") from None
        if not all_allowed(host, found, self.policy.allow):
            raise _refuse("internal address", host, ",".join(str(a) for a in found))
        return super().connect_tcp(str(found[0]), port, timeout, local_address, socket_options)

    def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> httpcore.NetworkStream:
        raise _refuse("unix socket")


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: OutboundPolicy) -> None:
        super().__init__(trust_env=False, retries=0)
        # httpx has no public hook for the network backend; its pool is rebuilt with ours.
        # tests/security/test_outbound.py fails (canary connections) if this stops working.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )


def check_url(url: str, policy: OutboundPolicy) -> httpx.URL:
    """The parsed URL, or ``Refused`` for a scheme, credentials or characters we do not accept."""
    if not isinstance(url, str) or any(c in _CONTROL for c in url):
        raise _refuse("control characters or spaces in the URL")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise _refuse("unparseable URL") from None
    schemes = ("https",) if policy.https_only else ("http", "https")
    if parsed.scheme not in schemes:
        raise _refuse(f"scheme {parsed.scheme!r}")
    if parsed.userinfo:
        raise _refuse("credentials in the URL", parsed.host)
    if not parsed.host:
        raise _refuse("no host")
    return parsed


class OutboundClient:
    """``fetch(url)``: the body of a URL that the policy allows, or ``Refused`` / ``FetchFailed``."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        idle = min(policy.idle_timeout_s, policy.timeout_s)
        self._client = httpx.Client(
            transport=_GuardedTransport(policy),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(idle, connect=idle),
            headers={"Accept-Encoding": "identity", "User-Agent": "labelhouse"},
        )

    def __enter__(self) -> OutboundClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str) -> Fetched:
        deadline = time.monotonic() + self.policy.timeout_s
        current = check_url(url, self.policy)
        for hop in range(self.policy.max_redirects + 1):
            try:
                with self._client.stream("GET", current) as response:
                    if response.is_redirect:
                        current = self._next_hop(current, response)
                        continue
                    if response.status_code != 200:
                        raise FetchFailed(f"fetch failed (HTTP {response.status_code})", field="url")
                    return Fetched(self._read(response, deadline), str(current), hop)
            except httpx.TimeoutException:
                raise FetchFailed("fetch failed (timed out)", field="url") from None
            except httpx.HTTPError:
                raise FetchFailed("fetch failed (no usable answer)", field="url") from None
        raise FetchFailed(f"fetch failed (more than {self.policy.max_redirects} redirects)", field="url")

    def post_form(self, url: str, form: Mapping[str, str], *, auth: tuple[str, str] | None = None) -> Fetched:
        """POST a form (an OAuth token request) under the same checks. A redirect is refused, not
        followed: a form carrying a code or a secret is never sent on to another address."""
        deadline = time.monotonic() + self.policy.timeout_s
        target = check_url(url, self.policy)
        try:
            with self._client.stream("POST", target, data=dict(form), auth=auth) as response:
                if response.is_redirect:
                    raise FetchFailed("fetch failed (redirected)", field="url")
                if response.status_code != 200:
                    raise FetchFailed(f"fetch failed (HTTP {response.status_code})", field="url")
                return Fetched(self._read(response, deadline), str(target), 0)
        except httpx.TimeoutException:
            raise FetchFailed("fetch failed (timed out)", field="url") from None
        except httpx.HTTPError:
            raise FetchFailed("fetch failed (no usable answer)", field="url") from None

    def _next_hop(self, current: httpx.URL, response: httpx.Response) -> httpx.URL:
        location = response.headers.get("location", "")
        try:
            target = str(current.join(location))
        except (httpx.InvalidURL, ValueError):
            raise _refuse("unparseable redirect", current.host) from None
        return check_url(target, self.policy)

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        limit = self.policy.max_bytes
        too_big = FetchFailed(f"fetch failed (over {max(1, limit // (1024 * 1024))} MB)", field="url")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        body = bytearray()
        for chunk in response.iter_raw():
            body += chunk
            if len(body) > limit:
                raise too_big
            if time.monotonic() > deadline:
                raise FetchFailed("fetch failed (timed out)", field="url")
        return bytes(body)
