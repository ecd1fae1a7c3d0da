"""The official Data API client's HTTP, sent through our shared httpx client, and its errors as ours.

Why: the `google-analytics-data` client is synchronous and speaks `requests`. It runs in a worker
thread; a small `requests` transport adapter hands each request back to the event loop that owns the
httpx client, so timeouts, the sandbox's ASGI transport and tests apply to it like to every adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import httpx
import requests
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.protobuf import json_format
from requests.adapters import BaseAdapter

from routy_app.providers.errors import AuthExpired, PermanentError, RateLimited, TransientError
from routy_app.providers.retry import parse_duration

T = TypeVar("T")


class HttpxBridge(BaseAdapter):
    """A `requests` transport adapter that sends through our async httpx client.

    The SDK runs in a worker thread (it is synchronous); each request is handed back to the event
    loop that owns `http` and the thread waits for the answer.
    """

    _DROP = frozenset({"content-length", "connection", "host", "transfer-encoding"})

    def __init__(self, http: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._http = http
        self._loop = loop

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        kept = [(k, v) for k, v in request.headers.items() if k.lower() not in self._DROP]
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in kept}
        raw = request.body  # the SDK sends JSON text (or nothing)
        body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
        call = self._http.request(request.method or "GET", request.url or "", headers=headers, content=body)
        try:
            answer = asyncio.run_coroutine_threadsafe(call, self._loop).result()
        except httpx.TimeoutException as exc:
            raise requests.Timeout("GA4 Data API timed out", request=request) from exc
        except httpx.TransportError as exc:
            raise requests.ConnectionError(f"GA4 Data API unreachable ({type(exc).__name__})", request=request) from exc
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update({k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"})
        response._content = answer.content  # noqa: SLF001 - requests has no public setter for a built body
        response.url = request.url or ""
        response.request = request
        response.encoding = answer.encoding or "utf-8"
        response.reason = answer.reason_phrase
        return response

    def close(self) -> None:
        """Nothing to close: the httpx client belongs to the caller."""


def _google_message(exc: gexc.GoogleAPICallError) -> str:
    """Google's own error text (the SDK prefixes it with method and URL, which we do not show)."""
    response = getattr(exc, "response", None)
    try:
        # response may be None (not an HTTP error): the AttributeError lands in the except below
        return str(response.json()["error"]["message"])  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - any unreadable body falls back to the SDK's text
        return str(exc.message)


def raise_mapped(exc: BaseException) -> NoReturn:
    """Data API / SDK exception -> our typed error."""
    if isinstance(exc, auth_exc.RefreshError):
        raise AuthExpired(
            f"Google refused the service-account credentials: {exc.args[0] if exc.args else exc}", code="REFRESH_FAILED"
        ) from None
    if isinstance(exc, gexc.GoogleAPICallError):
        message, status = _google_message(exc), exc.code
        if isinstance(exc, gexc.Unauthorized):
            raise AuthExpired(message, status_code=status, code="UNAUTHENTICATED") from None
        if isinstance(exc, gexc.TooManyRequests):
            response = getattr(exc, "response", None)
            retry_after = parse_duration(response.headers.get("Retry-After")) if response is not None else None
            raise RateLimited(message, retry_after=retry_after, status_code=status, code="RESOURCE_EXHAUSTED") from None
        if isinstance(exc, gexc.ServerError):
            raise TransientError(message, status_code=status, code=type(exc).__name__) from None
        raise PermanentError(message, status_code=status, code=type(exc).__name__) from None
    if isinstance(exc, (requests.RequestException, auth_exc.TransportError)):
        raise TransientError(f"Could not reach the GA4 Data API: {exc}") from None
    if isinstance(exc, (ValueError, json_format.Error)):  # an unparseable body (proxy page, truncated JSON)
        raise TransientError("The GA4 Data API answered with an unreadable response.") from None
    raise exc


async def in_thread(call: Callable[[], T]) -> T:
    """Run a synchronous SDK call off the event loop, translating its errors."""
    try:
        return await asyncio.to_thread(call)
    except Exception as exc:  # noqa: BLE001 - every SDK failure is mapped to a typed error
        raise_mapped(exc)
