"""Where outbound requests to URLs people choose may go: never to link-local or cloud metadata addresses.

Why: a webhook URL (the Webhook card's, an alert channel's) is typed by a person, and the server sends to
it. Pointed at `169.254.169.254` or `metadata.google.internal`, it would hand the cloud's instance
credentials to whoever reads the answer in Push History (server-side request forgery). So:
- refused always: link-local addresses (169.254.0.0/16, fe80::/10, which hold the AWS, GCP, Azure and
  OpenStack metadata services), AWS's IPv6 metadata address fd00:ec2::254, the unspecified addresses
  (0.0.0.0, ::) and the metadata host names (metadata.google.internal, metadata);
- refused unless allowed: loopback (localhost, 127.0.0.0/8, ::1). Sandbox mode allows it (the sandbox is
  served by Routy itself), and so does ROUTY_WEBHOOK_ALLOW_LOCAL=true (a receiver on the same machine);
- allowed: everything else, private networks included (a self-hoster's receiver often lives there).

Checked when the URL is saved (`url_problem`, the host name as written), before every send
(`resolved_problem`: every address the host name resolves to, so a public name pointing at a metadata
address is refused too), and at the connection itself: the app's HTTP clients (`guarded_transport`)
resolve each host once, refuse link-local and metadata addresses, and connect to the address they
checked, so a DNS answer that changes between the check and the connection (DNS rebinding) cannot slip a
metadata address in. TLS still verifies the certificate against the host name. A name that does not
resolve is left to the request itself, which then fails as unreachable.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.google.internal.", "metadata", "instance-data"})
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("169.254.169.254")})
LOCAL_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})
RESOLVE_TIMEOUT = 5.0

REFUSED = (
    "This address is refused: link-local and cloud metadata addresses (169.254.0.0/16, fd00:ec2::254, "
    "metadata.google.internal) can hand out the server's own credentials."
)
LOCAL_REFUSED = (
    "Addresses on this machine (localhost, 127.0.0.1, ::1) are refused unless ROUTY_WEBHOOK_ALLOW_LOCAL=true "
    "(or in sandbox mode)."
)


@dataclass(frozen=True)
class Guard:
    """The policy: whether loopback is allowed (sandbox mode or ROUTY_WEBHOOK_ALLOW_LOCAL)."""

    allow_local: bool = False

    def url_problem(self, url: str) -> str | None:
        return url_problem(url, allow_local=self.allow_local)

    async def resolved_problem(self, url: str) -> str | None:
        return await resolved_problem(url, allow_local=self.allow_local)


def _address(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    return address


def address_problem(address: IPAddress, *, allow_local: bool) -> str | None:
    """Why a request may not go to `address`, or None."""
    if address in METADATA_ADDRESSES or any(address in net for net in LINK_LOCAL) or address.is_unspecified:
        return REFUSED
    if address.is_loopback and not allow_local:
        return LOCAL_REFUSED
    return None


def host_problem(host: str, *, allow_local: bool) -> str | None:
    """The host as written (a name or a literal address), without resolving it."""
    name = host.strip().lower()
    if not name:
        return "The URL has no host."
    if name in METADATA_HOSTS:
        return REFUSED
    address = _address(name)
    if address is not None:
        return address_problem(address, allow_local=allow_local)
    if (name in LOCAL_NAMES or name.endswith((".localhost", ".localhost."))) and not allow_local:
        return LOCAL_REFUSED
    return None


def url_problem(url: str, *, allow_local: bool) -> str | None:
    """Why `url` may not be sent to (scheme, host as written), or None. No DNS lookup."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return "The URL cannot be read."
    if parts.scheme not in ("http", "https"):
        return "The URL must start with http:// or https://."
    return host_problem(host, allow_local=allow_local)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to ([] when it does not resolve in time)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT)
    except (OSError, TimeoutError, UnicodeError):
        return []
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = _address(str(sockaddr[0]))
        if address is not None:
            found.append(address)
    return found


async def resolved_problem(url: str, *, allow_local: bool) -> str | None:
    """`url_problem`, then every address its host resolves to (before each send)."""
    problem = url_problem(url, allow_local=allow_local)
    if problem:
        return problem
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _address(host) is not None:
        return None  # a literal address was checked above
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in await resolve(host, port):
        problem = address_problem(address, allow_local=allow_local)
        if problem:
            return problem
    return None


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves each host itself, refuses link-local and metadata addresses, and
    connects to an address it checked (never resolving again). Loopback is not refused here: provider
    base URLs may point at a local emulator; `Guard` decides that per request."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface passes it through
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _address(host)
        addresses = [literal] if literal is not None else await resolve(host, port)
        for address in addresses:
            if address_problem(address, allow_local=True):
                raise httpcore.ConnectError(REFUSED)
        targets = [str(a) for a in dict.fromkeys(addresses)] or [host]
        error: Exception | None = None
        for target in targets:  # each checked address in turn, as the resolver ordered them
            try:
                return await self.inner.connect_tcp(
                    target, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface passes it through
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_client(timeout: httpx.Timeout | float) -> httpx.AsyncClient:
    """The app's outbound client: connections pinned to checked addresses, unless the environment names an
    HTTP(S) proxy (HTTPS_PROXY, ...): then the proxy connects, as before, and httpx keeps honouring it
    (a client given its own transport would ignore the environment's proxies)."""
    if any(key in ("http", "https", "all") for key in urllib.request.getproxies()):
        return httpx.AsyncClient(timeout=timeout)
    return httpx.AsyncClient(timeout=timeout, transport=guarded_transport())


def guarded_transport(**kwargs: Any) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through `PinnedBackend` (the app's clients use it)."""
    transport = httpx.AsyncHTTPTransport(**kwargs)
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool):  # a proxy pool: the proxy connects, not us
        return transport
    pool._network_backend = PinnedBackend(pool._network_backend)  # noqa: SLF001 - httpx has no public hook
    return transport
