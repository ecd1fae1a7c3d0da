"""Per-request checks for our own routes: did a form come from our own pages, who is the client.

Login CSRF: a page on another site can auto-submit a form to /auth/login (signing the victim into
the attacker's account) or /auth/logout. Browsers send `Origin` with every cross-origin POST (and
`Referer` unless told not to), so a form POST is accepted only when those name PUBLIC_URL's origin.
A request with neither header comes from a non-browser client, which has no victim's cookies to
abuse, and is let through (scripts and tests sign in that way).

Client address: behind a reverse proxy every request comes from the proxy. `X-Forwarded-For` is
honoured only when the request arrives from a TRUSTED_PROXIES address; the client is then the
right-most address in it that is not itself a trusted proxy (left-most entries are whatever the
client wrote and prove nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request

from routy_app.config import get_settings


def from_our_origin(request: Request) -> bool:
    """True unless the browser says the request was sent by a page of another origin."""
    ours = get_settings().public_origin
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.strip().lower() == ours
    referer = request.headers.get("referer")
    if referer is not None:
        parts = urlsplit(referer.strip())
        return f"{parts.scheme}://{parts.netloc}".lower() == ours
    return True


def client_ip(request: HTTPConnection) -> str | None:
    peer = request.client.host if request.client else None
    networks = get_settings().proxy_networks
    if not peer or not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed([h for h in hops if h]):
        if _parse(hop) is None:
            return peer  # a malformed chain proves nothing: fall back to the proxy itself
        if not _trusted(hop, networks):
            return hop
    return peer


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: str, networks: Iterable[IPv4Network | IPv6Network]) -> bool:
    ip = _parse(address)
    return ip is not None and any(ip in net for net in networks)
