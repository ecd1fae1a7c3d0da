"""Google's answers as our typed errors: google.rpc.Status bodies, GoogleAdsFailure details, OAuth errors.

Why here: both Google APIs (Ads and Data Manager) speak google.rpc.Status; the details decide what the
caller should do (a 401 is refreshed once, a 429 waits for RetryInfo or Pacific midnight for daily quotas,
INTERNAL/UNAVAILABLE are transient, fieldViolations reject a whole Data Manager request).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import httpx

from routy_app.providers.errors import AuthExpired, PermanentError, ProviderError, RateLimited, TransientError
from routy_app.providers.retry import parse_duration

TRANSIENT_CODES = {"INTERNAL_ERROR", "TRANSIENT_ERROR", "DEADLINE_EXCEEDED", "CONCURRENT_MODIFICATION", "UNAVAILABLE"}


class Unauthenticated(AuthExpired):
    """A 401 from an API call: refresh once and retry before it becomes the caller's AuthExpired."""


class Rejected(PermanentError):
    """A 400 carrying google.rpc BadRequest fieldViolations (Data Manager rejected the whole request)."""

    def __init__(self, message: str, violations: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.violations = violations


def seconds_to_pacific_midnight() -> float:
    """Google's daily quotas reset at midnight Pacific time."""
    now = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles"))
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - now).total_seconds())


def error_from(status: int, body: Any, headers: httpx.Headers | dict[str, str]) -> ProviderError:
    """A typed error from a google.rpc.Status body (Ads GoogleAdsFailure or plain googleapis details)."""
    if isinstance(body, list):
        body = next((item for item in body if isinstance(item, dict) and "error" in item), {})
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):  # OAuth-style or non-JSON body
        err = {"message": (body.get("error_description") or body.get("error")) if isinstance(body, dict) else None}
    message = str(err.get("message") or f"Google returned HTTP {status}")
    code: str | None = err.get("status") if isinstance(err.get("status"), str) else None
    kind = None
    request_id = headers.get("request-id")
    retry_after = parse_duration(headers.get("retry-after"))
    quota_limit = ""
    violations: list[dict[str, Any]] = []
    for detail in err.get("details") or []:
        if not isinstance(detail, dict):
            continue
        dtype = str(detail.get("@type", ""))
        if dtype.endswith(".GoogleAdsFailure"):
            request_id = detail.get("requestId") or request_id
            errors = [e for e in detail.get("errors") or [] if isinstance(e, dict)]
            if errors:
                error_code = errors[0].get("errorCode") or {}
                if error_code:
                    kind, code = next(iter(error_code.items()))
                message = errors[0].get("message") or message
            for e in errors:
                quota = (e.get("details") or {}).get("quotaErrorDetails") or {}
                retry_after = retry_after or parse_duration(quota.get("retryDelay"))
        elif dtype.endswith("google.rpc.ErrorInfo"):
            code = detail.get("reason") or code
            metadata = detail.get("metadata") or {}
            request_id = metadata.get("requestId") or request_id
            quota_limit = str(metadata.get("quota_limit") or metadata.get("quotaLimit") or "")
        elif dtype.endswith("google.rpc.RequestInfo"):
            request_id = detail.get("requestId") or request_id
        elif dtype.endswith("google.rpc.RetryInfo"):
            retry_after = retry_after or parse_duration(detail.get("retryDelay"))
        elif dtype.endswith("google.rpc.BadRequest"):
            violations = [v for v in detail.get("fieldViolations") or [] if isinstance(v, dict)]
    reasons = {str(v.get("reason")) for v in violations if v.get("reason")}
    if len(reasons) == 1 and code in (None, "INVALID_ARGUMENT"):
        code = reasons.pop()  # e.g. INVALID_REQUEST_ID says more than INVALID_ARGUMENT
    common: dict[str, Any] = {"status_code": status, "code": code, "request_id": request_id}
    if status == 401:
        return Unauthenticated(message, **common)
    if status == 429:
        daily = (kind == "quotaError" and code == "RESOURCE_EXHAUSTED") or "PerDay" in quota_limit
        if retry_after is None and daily:
            retry_after = seconds_to_pacific_midnight()
        return RateLimited(message, retry_after=retry_after, **common)
    if status in (408, 500, 502, 503, 504) or code in TRANSIENT_CODES:
        if retry_after is not None:  # "come back in N s": RateLimited is how the shared retry policy honours it
            return RateLimited(message, retry_after=retry_after, **common)
        return TransientError(message, **common)
    if violations:
        return Rejected(message, violations, **common)
    return PermanentError(message, **common)


def decode(resp: httpx.Response) -> Any:
    """The JSON body of a 2xx answer, or the typed error the answer stands for."""
    try:
        body = resp.json()
    except ValueError:
        body = None
        if resp.is_success:
            raise TransientError(
                "Google returned a malformed (non-JSON or truncated) response",
                status_code=resp.status_code,
                request_id=resp.headers.get("request-id"),
            ) from None
    if not resp.is_success:
        raise error_from(resp.status_code, body if body is not None else {}, resp.headers)
    return body


async def send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:  # timeouts included; the message never carries the URL or headers
        raise TransientError(f"Could not reach Google ({type(exc).__name__})") from None
