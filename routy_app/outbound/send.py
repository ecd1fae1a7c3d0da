"""Send one HTTP request to a URL a person configured, and say what became of it.

Never raises for the network or the answer: the caller gets an `HttpOutcome` it can store and show.
Classification (what a sender with an outbox does next):
- 2xx: delivered.
- 408, 425, 429 and 5xx, timeouts, refused or dropped connections: retry later (Retry-After honoured).
- Any other answer (4xx, a redirect: redirects are not followed, so a moved URL is fixed once by a
  person rather than silently forever), a malformed URL: do not retry; the error says why.

Error texts never contain the URL: webhook URLs often carry a token (Slack's do).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from dataclasses import dataclass

import httpx

from routy_app.outbound.guard import Guard

EXCERPT_BYTES = 2048
RETRYABLE_STATUSES = frozenset({408, 425, 429})
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "Routy-Integrations/1.0"


@dataclass(frozen=True)
class HttpOutcome:
    """What one request achieved; `error` is a sentence for a person ("" when delivered)."""

    ok: bool
    retryable: bool
    status_code: int | None
    latency_ms: int
    response_excerpt: str  # the first 2 KB of the answer's body, decoded leniently
    error: str = ""
    retry_after: float | None = None  # seconds the receiver asked us to wait (429 / 503)

    def summary(self) -> str:
        """One line: "HTTP 204 in 35 ms" or the error."""
        if self.ok:
            return f"HTTP {self.status_code} in {self.latency_ms} ms"
        return self.error


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _excerpt(content: bytes) -> str:
    return content[:EXCERPT_BYTES].decode("utf-8", errors="replace")


def _scrub(text: str, url: str) -> str:
    return text.replace(url, "<url>") if url else text


async def send_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the per-request budget handed to httpx, not a wrapper
    guard: Guard | None = None,
) -> HttpOutcome:
    """One request (no redirects followed); the outcome classified for retrying.

    With a `guard`, the URL's host is resolved first and a request to a refused address is not sent
    (not retried either: the URL must change).
    """
    started = time.monotonic()
    if guard is not None and (problem := await guard.resolved_problem(url)):
        return HttpOutcome(False, False, None, 0, "", f"Not sent: {problem}")
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}

    def ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        response = await client.request(
            method, url, headers=all_headers, content=content, timeout=timeout, follow_redirects=False
        )
    except httpx.TimeoutException:
        return HttpOutcome(False, True, None, ms(), "", f"No answer within {timeout:g} s (timed out).")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return HttpOutcome(False, False, None, ms(), "", f"The URL cannot be used: {_scrub(str(exc), url)}")
    except httpx.TransportError as exc:
        reason = _scrub(str(exc), url) or type(exc).__name__
        return HttpOutcome(False, True, None, ms(), "", f"Could not connect: {reason}")
    latency = ms()
    status = response.status_code
    body = _excerpt(response.content)
    if 200 <= status < 300:
        return HttpOutcome(True, False, status, latency, body)
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    if status in RETRYABLE_STATUSES or status >= 500:
        return HttpOutcome(
            False, True, status, latency, body, f"The receiver answered HTTP {status}; retrying later.", retry_after
        )
    if 300 <= status < 400:
        return HttpOutcome(
            False,
            False,
            status,
            latency,
            body,
            f"The receiver answered HTTP {status} (a redirect; redirects are not followed): configure the final URL.",
        )
    return HttpOutcome(
        False, False, status, latency, body, f"The receiver refused the request with HTTP {status}; not retried."
    )
