"""Speaking Graph API: Meta's error answers as our typed errors, money as micros, the usage headers' waits.

Meta's errors carry a numeric `code` (and `error_subcode`): 190/102/104/10/2xx are authorisation or
permission problems, 4/17/32/613/80000-80014 throttling, 1/2 and `is_transient` passing trouble. Money
and action values are decimal strings, turned into integer micros with Decimal, never float.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import httpx

from routy_app.providers.errors import AuthExpired, PermanentError, ProviderError, RateLimited, TransientError
from routy_app.providers.values import Account

_MICRO = Decimal(1_000_000)
# An ad account's `account_status` as Meta names it ("ENABLED" is 1); Account ids are "act_<digits>".
ACCOUNT_STATUS = {
    1: "ENABLED",
    2: "DISABLED",
    3: "UNSETTLED",
    7: "PENDING_RISK_REVIEW",
    8: "PENDING_SETTLEMENT",
    9: "IN_GRACE_PERIOD",
    100: "PENDING_CLOSURE",
    101: "CLOSED",
}


def to_micros(value: Any) -> int:
    """A Graph decimal string ("43.12") as integer micros (43_120_000), exactly; junk counts as 0."""
    if value is None or value == "":
        return 0
    try:
        return int((Decimal(str(value)) * _MICRO).to_integral_value(rounding=ROUND_HALF_EVEN))
    except InvalidOperation:
        return 0


def retry_after(headers: httpx.Headers) -> float:
    """Seconds until access is back: the usage headers' own estimate, else 60 s."""
    try:
        usage = json.loads(headers.get("x-business-use-case-usage") or "{}")
        minutes = [
            float(item.get("estimated_time_to_regain_access") or 0)
            for items in usage.values()
            if isinstance(items, list)
            for item in items
            if isinstance(item, dict)
        ]
        if minutes and max(minutes) > 0:
            return max(minutes) * 60
    except (ValueError, AttributeError):
        pass
    try:
        reset = float(json.loads(headers.get("x-ad-account-usage") or "{}").get("reset_time_duration") or 0)
        if reset > 0:
            return reset
    except (ValueError, AttributeError):
        pass
    return 60.0


def error_from_response(response: httpx.Response) -> ProviderError:
    """Map a Graph failure to our typed errors, keeping Meta's own message (docs/providers/meta_ads.md)."""
    status = response.status_code
    trace = response.headers.get("x-fb-trace-id")
    try:
        body = response.json()
    except ValueError:
        return TransientError(
            f"Meta returned a response that is not JSON (HTTP {status})",
            status_code=status,
            code="malformed",
            request_id=trace,
        )
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        cls = TransientError if status >= 500 else PermanentError
        return cls(f"Meta returned HTTP {status}", status_code=status, request_id=trace)
    try:
        code = int(err.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    subcode = err.get("error_subcode")
    message = str(err.get("message") or f"Meta error {code}")
    kwargs = {
        "status_code": status,
        "code": f"{code}/{subcode}" if subcode else str(code),
        "request_id": err.get("fbtrace_id") or trace,
    }
    if code in (190, 102, 104, 10) or 200 <= code <= 299:
        return AuthExpired(message, **kwargs)
    if code in (4, 17, 32, 613) or 80000 <= code <= 80014:
        return RateLimited(message, retry_after=retry_after(response.headers), **kwargs)
    if code == 1 and "reduce the amount of data" in message.lower():
        return TransientError(message, status_code=status, code="reduce_data", request_id=kwargs["request_id"])
    if code in (1, 2) or err.get("is_transient") is True or status >= 500:
        return TransientError(message, **kwargs)
    user_msg = err.get("error_user_msg")
    if user_msg:  # CAPI validation: the user-facing text says which event and why
        title = err.get("error_user_title")
        message = f"{title}: {user_msg}" if title else str(user_msg)
    return PermanentError(message, **kwargs)


class ReduceData(Exception):
    """Graph asked for less data: not retried as is; fetch_metrics switches to an async run."""

    def __init__(self, error: TransientError) -> None:
        super().__init__(error.message)
        self.error = error


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def appsecret_proof(app_secret: str, token: str) -> dict[str, str]:
    """appsecret_proof, required when the app has "Require App Secret" switched on."""
    if not app_secret or not token:
        return {}
    return {"appsecret_proof": hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()}


def node_of(account: Account) -> str:
    """The ad account's Graph node id, "act_<digits>"."""
    return account.id if account.id.startswith("act_") else f"act_{account.id}"
