"""routy_app.outbound.guard: no webhook to link-local or cloud metadata addresses, loopback only when allowed."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from routy_app.outbound import guard
from routy_app.outbound.guard import Guard
from routy_app.outbound.send import send_request


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://169.254.1.1:8080/",
        "http://[fd00:ec2::254]/latest/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./",
        "http://0.0.0.0:8000/",
    ],
)
def test_link_local_and_metadata_addresses_are_refused_even_when_local_is_allowed(url):
    assert guard.url_problem(url, allow_local=True) == guard.REFUSED


@pytest.mark.parametrize(
    "url", ["http://localhost:3000/x", "http://127.0.0.1/", "http://[::1]:8080/", "http://a.localhost/"]
)
def test_this_machine_only_when_allowed(url):
    assert guard.url_problem(url, allow_local=False) == guard.LOCAL_REFUSED
    assert guard.url_problem(url, allow_local=True) is None


@pytest.mark.parametrize("url", ["https://hooks.example.com/x", "http://10.0.0.5/hook", "http://192.168.1.2:8080/"])
def test_public_and_private_network_receivers_are_allowed(url):
    assert guard.url_problem(url, allow_local=False) is None


def test_other_schemes_are_refused():
    assert "http" in (guard.url_problem("file:///etc/passwd", allow_local=True) or "")


async def test_a_name_that_resolves_to_a_metadata_address_is_refused_at_send_time(monkeypatch):
    async def resolve(host: str, port: int):
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("169.254.169.254")]

    monkeypatch.setattr(guard, "resolve", resolve)
    assert await guard.resolved_problem("https://innocent.example.com/x", allow_local=False) == guard.REFUSED

    async def loopback(host: str, port: int):
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(guard, "resolve", loopback)
    assert await guard.resolved_problem("https://rebind.example.com/", allow_local=False) == guard.LOCAL_REFUSED
    assert await guard.resolved_problem("https://rebind.example.com/", allow_local=True) is None


async def test_a_name_that_does_not_resolve_is_left_to_the_request():
    assert await guard.resolved_problem("http://no-such-host.invalid/", allow_local=False) is None


async def test_send_request_with_a_guard_never_sends_to_a_refused_address():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        outcome = await send_request(client, "POST", "http://169.254.169.254/x", content=b"{}", guard=Guard())
        assert not outcome.ok and not outcome.retryable and "Not sent" in outcome.error
        assert seen == []
        allowed = await send_request(client, "POST", "http://10.1.2.3/x", content=b"{}", guard=Guard())
        assert allowed.ok and len(seen) == 1


# ---------------------------------------------------------------- at the connection (DNS rebinding)


async def test_the_app_transport_connects_to_the_address_it_checked(monkeypatch):
    """The name is resolved once, by the guard: a name no DNS knows still reaches the checked address."""
    from tests.receivers import HttpReceiver

    with HttpReceiver() as receiver:
        port = receiver.server.server_address[1]

        async def pinned(host: str, port: int):
            return [ipaddress.ip_address("127.0.0.1")]

        monkeypatch.setattr(guard, "resolve", pinned)
        async with httpx.AsyncClient(transport=guard.guarded_transport()) as client:
            answer = await client.get(f"http://rebind.invalid:{port}/pinned")
        assert answer.status_code == 200
        assert [r.path for r in receiver.requests.items] == ["/pinned"]
        assert receiver.requests.items[0].headers["host"] == f"rebind.invalid:{port}"


async def test_the_app_transport_never_connects_to_a_metadata_address(monkeypatch):
    async def metadata(host: str, port: int):
        return [ipaddress.ip_address("169.254.169.254")]

    monkeypatch.setattr(guard, "resolve", metadata)
    async with httpx.AsyncClient(transport=guard.guarded_transport()) as client:
        with pytest.raises(httpx.ConnectError, match="metadata"):
            await client.get("http://innocent.example.com/latest/meta-data/")
        with pytest.raises(httpx.ConnectError, match="metadata"):
            await client.get("http://169.254.169.254/latest/meta-data/")


async def test_the_app_transport_tries_each_checked_address(monkeypatch):
    """A name with an address that refuses (nothing listens on 127.0.0.2) and one that answers: the second
    is used, as a resolver's fallback would."""
    from tests.receivers import HttpReceiver

    with HttpReceiver() as receiver:  # listens on 127.0.0.1 only
        port = receiver.server.server_address[1]

        async def two(host: str, port_: int):
            return [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.1")]

        monkeypatch.setattr(guard, "resolve", two)
        async with httpx.AsyncClient(transport=guard.guarded_transport()) as client:
            answer = await client.get(f"http://two.invalid:{port}/x")
        assert answer.status_code == 200


async def test_the_app_client_is_pinned_without_a_proxy_and_honours_one_from_the_environment(monkeypatch):
    """With HTTPS_PROXY set the proxy connects (a client given its own transport would silently ignore it);
    without, connections go through the pinned backend."""

    async def metadata(host: str, port: int):
        return [ipaddress.ip_address("169.254.169.254")]

    monkeypatch.setattr(guard, "resolve", metadata)
    for key in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    async with guard.guarded_client(5.0) as client:
        with pytest.raises(httpx.ConnectError, match="metadata"):
            await client.get("http://innocent.example.com/")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    async with guard.guarded_client(5.0) as client:
        with pytest.raises((httpx.ProxyError, httpx.ConnectError)) as refused:
            await client.get("https://innocent.example.com/")  # went to the (closed) proxy port
    assert "metadata" not in str(refused.value)
