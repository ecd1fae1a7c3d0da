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

Checked twice: when the URL is saved (`url_problem`, the host name as written) and before every send
(`resolved_problem`: every address the host name resolves to, so a public name pointing at a metadata
address is refused too). A name that does not resolve is left to the request itself, which then fails
as unreachable. What remains: a DNS answer that changes between the check and the connection (DNS
rebinding); the check narrows it to a moment, it does not close it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

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


def resolved_problem_sync(url: str, *, allow_local: bool) -> str | None:
    """`resolved_problem` for synchronous callers (a form saved outside an event loop)."""
    problem = url_problem(url, allow_local=allow_local)
    if problem:
        return problem
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _address(host) is not None:
        return None
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in infos:
        address = _address(str(sockaddr[0]))
        if address is not None and (problem := address_problem(address, allow_local=allow_local)):
            return problem
    return None
