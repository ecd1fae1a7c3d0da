"""Shared plumbing of the Meta Graph emulator: error bodies, usage headers, token checks, faults.

Why: every emulated Graph endpoint must fail the way graph.facebook.com fails:
HTTP 400 with `{"error": {message, type: "OAuthException", code, error_subcode, fbtrace_id}}` for
token and throttling problems, rate-limit usage headers on every answer, and the token accepted in
the `access_token` query/form parameter or an `Authorization: Bearer` header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from routy_app.sandbox.core import data
from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox_defaults import SANDBOX_META_APP_ID, SANDBOX_META_APP_SECRET

# Graph endpoints: plain, or dispatched on the node the path names (an ad account, or a run / pixel id).
Endpoint = Callable[[Request], Awaitable[Response]]
AccountEndpoint = Callable[[Request, "AdAccount"], Awaitable[Response]]
NodeEndpoint = Callable[[Request, str], Awaitable[Response]]

BUSINESS_ID = "1000000000000099"  # the business object the usage header is keyed by
USER_ID = "10000000000042"
APP_NAME = "Routy (sandbox)"

EXPIRED_MSG = "Error validating access token: Session has expired on {when}. The current time is {now}."
REVOKED_MSG = {
    460: (
        "Error validating access token: The session has been invalidated because the user changed "
        "their password or Facebook has changed the session for security reasons."
    ),
    458: f"Error validating access token: The user has not authorized application {SANDBOX_META_APP_ID}.",
}


@dataclass(frozen=True)
class AdAccount:
    account_id: str  # digits; the Graph node id is "act_" + this
    name: str
    currency: str
    timezone_name: str
    account_status: int

    @property
    def id(self) -> str:
        return "act_" + self.account_id


# Enough accounts for several pages at limit=2, with different currencies, zones and statuses.
AD_ACCOUNTS: tuple[AdAccount, ...] = (
    AdAccount("1000000001", "Sandbox Shop EU", "EUR", "Europe/Berlin", 1),
    AdAccount("1000000002", "Sandbox Shop US", "USD", "America/Los_Angeles", 1),
    AdAccount("1000000003", "Sandbox Agency UK", "GBP", "Europe/London", 1),
    AdAccount("1000000004", "Sandbox Brazil (unsettled)", "BRL", "America/Sao_Paulo", 3),
    AdAccount("1000000005", "Sandbox Old Shop (disabled)", "USD", "America/New_York", 2),
)


def find_account(node: str) -> AdAccount | None:
    digits = node.removeprefix("act_")
    return next((a for a in AD_ACCOUNTS if a.account_id == digits), None)


def pixels_of(state: SandboxState, account: AdAccount) -> list[dict[str, str]]:
    """The account's pixels (datasets): two on the first account so the mapping has a choice."""
    count = 2 if account is AD_ACCOUNTS[0] else 1
    return [
        {
            "id": data.entity_id(state.config.seed, "meta_pixel", account.account_id, n, digits=15),
            "name": f"{account.name} Pixel" + (f" {n + 1}" if n else ""),
        }
        for n in range(count)
    ]


def find_pixel(state: SandboxState, pixel_id: str) -> tuple[AdAccount, dict[str, str]] | None:
    for account in AD_ACCOUNTS:
        for pixel in pixels_of(state, account):
            if pixel["id"] == pixel_id:
                return account, pixel
    return None


@dataclass
class GraphUsage:
    """Calls answered so far: the usage headers' percentages move with it, as they do on Graph."""

    calls: int = 0


def fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(15)


# ---------------------------------------------------------------- responses


def usage_headers(
    state: SandboxState, *, pct: float | None = None, kind: str = "ads_insights", regain_minutes: int = 0
) -> dict[str, str]:
    """x-app-usage, x-ad-account-usage and x-business-use-case-usage as Graph sends them (JSON text)."""
    usage = state.part(GraphUsage)
    with state.lock:
        usage.calls += 1
        calls = usage.calls
    low = float(calls % 20 + 1)
    value = low if pct is None else pct
    return {
        "x-app-usage": json.dumps(
            {"call_count": int(value), "total_cputime": int(value / 2), "total_time": int(value / 2)}
        ),
        "x-ad-account-usage": json.dumps(
            {
                "acc_id_util_pct": value,
                "reset_time_duration": regain_minutes * 60,
                "ads_api_access_tier": "standard_access",
            }
        ),
        "x-business-use-case-usage": json.dumps(
            {
                BUSINESS_ID: [
                    {
                        "type": kind,
                        "call_count": int(value),
                        "total_cputime": int(value / 2),
                        "total_time": int(value / 2),
                        "estimated_time_to_regain_access": regain_minutes,
                        "ads_api_access_tier": "standard_access",
                    }
                ]
            }
        ),
    }


def ok(state: SandboxState, body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=usage_headers(state))


def graph_error(
    state: SandboxState,
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    status: int = 400,
    transient: bool = False,
    user_title: str | None = None,
    user_msg: str | None = None,
    headers: dict[str, str] | None = None,
    error_type: str = "OAuthException",
) -> JSONResponse:
    """A Graph error body; OAuth and throttling errors are HTTP 400, like the real API."""
    trace = fbtrace_id()
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = trace
    all_headers = {**usage_headers(state), **(headers or {}), "x-fb-trace-id": trace}
    return JSONResponse({"error": error}, status_code=status, headers=all_headers)


def no_such_object(state: SandboxState, node: str, method: str = "get") -> JSONResponse:
    return graph_error(
        state,
        f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the "
        "Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        subcode=33,
        error_type="GraphMethodException",
    )


def token_error(state: SandboxState, status: str, token: str | None) -> JSONResponse:
    """The code-190 family for a token that is missing, unknown, expired or revoked."""
    if status == "missing":
        return graph_error(state, "An access token is required to request this resource.", 104)
    if status == "expired":
        issued = state.tokens.get(token or "")
        when = time.strftime(
            "%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(issued.expires_at if issued and issued.expires_at else time.time())
        )
        now = time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime())
        return graph_error(state, EXPIRED_MSG.format(when=when, now=now), 190, subcode=463)
    if status == "revoked":
        issued = state.tokens.get(token or "")
        subcode = int(issued.extra.get("revoked_subcode", 460)) if issued else 460
        return graph_error(state, REVOKED_MSG.get(subcode, REVOKED_MSG[460]), 190, subcode=subcode)
    return graph_error(state, "Invalid OAuth access token - Cannot parse access token", 190)


async def form_or_empty(request: Request) -> dict[str, str]:
    """Form fields of a urlencoded/multipart POST (empty for other bodies)."""
    kind = request.headers.get("content-type", "")
    if request.method in ("POST", "DELETE") and ("form" in kind or "multipart" in kind):
        form = await request.form()
        return {k: str(v) for k, v in form.items()}
    return {}


def token_of(request: Request, form: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> str | None:
    """The access token from the Authorization header, the query, the form or a JSON body."""
    header = request.headers.get("authorization", "")
    for scheme in ("bearer ", "oauth "):
        if header.lower().startswith(scheme):
            return header[len(scheme) :].strip() or None
    for source in (request.query_params, form or {}, body or {}):
        value = source.get("access_token")
        if value:
            return str(value)
    return None


def param(request: Request, form: dict[str, str], name: str, default: str | None = None) -> str | None:
    """A Graph parameter from the query string or the POST form (both are accepted)."""
    return request.query_params.get(name) or form.get(name) or default


def check_user_token(
    state: SandboxState, request: Request, token: str | None, form: dict[str, str] | None = None
) -> JSONResponse | None:
    """None if `token` is a live Meta user token (and any appsecret_proof matches), else the error."""
    status = state.tokens.check(token)
    issued = state.tokens.get(token or "")
    if status == "ok" and issued is not None and issued.provider != "meta":
        status = "invalid"
    if status != "ok":
        return token_error(state, status, token)
    proof = param(request, form or {}, "appsecret_proof")
    if proof:
        expected = hmac.new(SANDBOX_META_APP_SECRET.encode(), (token or "").encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(proof, expected):
            return graph_error(state, "Invalid appsecret_proof provided in the API argument", 100)
    return None


def is_app_token(token: str | None) -> bool:
    return token == f"{SANDBOX_META_APP_ID}|{SANDBOX_META_APP_SECRET}"


# ---------------------------------------------------------------- faults


THROTTLES = {
    # condition: (code, subcode, message, usage type)
    "throttle_4": (4, 1504022, "(#4) Application request limit reached", "ads_insights"),
    "throttle_17": (17, 2446079, "(#17) User request limit reached", "ads_insights"),
    "throttle_613": (613, 1487742, "(#613) Calls to this api have exceeded the rate limit.", "ads_management"),
    "throttle_80000": (
        80000,
        2446079,
        (
            "(#80000) There have been too many calls from this ad-account. "
            "Wait a bit and try again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
        ),
        "ads_insights",
    ),
    "throttle_80004": (
        80004,
        2446079,
        (
            "(#80004) There have been too many calls to this ad-account. "
            "Wait a bit and try again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management."
        ),
        "ads_management",
    ),
}


def fault_response(state: SandboxState, fault: Fault, token: str | None = None) -> Response:
    """The real Graph failure for an injected fault condition (see meta/__init__.py for the list)."""
    cond, params = fault.condition, fault.params
    if cond == "expired_token":
        if token:
            state.tokens.expire(token)  # an expired token stays expired, as on Meta
        return token_error(state, "expired", token)
    if cond == "revoked_token":
        issued = state.tokens.get(token or "")
        if issued is not None:
            issued.extra["revoked_subcode"] = int(params.get("subcode", 460))
            state.tokens.revoke(issued.value)
        message = REVOKED_MSG.get(int(params.get("subcode", 460)), REVOKED_MSG[460])
        return graph_error(state, message, 190, subcode=int(params.get("subcode", 460)))
    if cond in THROTTLES:
        code, subcode, message, kind = THROTTLES[cond]
        minutes = int(params.get("estimated_time_to_regain_access", params.get("minutes", 1)))
        headers = usage_headers(state, pct=100, kind=kind, regain_minutes=minutes)
        return graph_error(state, message, code, subcode=subcode, transient=True, headers=headers)
    if cond == "transient_2":
        return graph_error(
            state,
            "An unexpected error has occurred. Please retry your request later.",
            2,
            status=int(params.get("status", 500)),
            transient=True,
        )
    if cond == "reduce_data":
        return graph_error(
            state, "Please reduce the amount of data you're asking for, then retry your request", 1, status=500
        )
    if cond == "http_500":
        return graph_error(state, "An unknown error occurred", 1, subcode=99, status=500, transient=True)
    if cond == "permission_denied":
        return graph_error(
            state,
            "(#200) Requires ads_read permission to manage the object",
            200,
            status=403,
            error_type="OAuthException",
        )
    if cond == "invalid_parameter":
        return graph_error(state, "(#100) Invalid parameter", 100)
    if cond == "malformed":
        return Response(
            '{"data": [{"campaign_id": "23850',
            status_code=int(params.get("status", 200)),
            media_type="application/json",
            headers=usage_headers(state),
        )
    return graph_error(state, f"sandbox: unknown fault condition {cond!r}", 1, status=500)


def refuse(
    state: SandboxState, request: Request, token: str | None, operation: str, form: dict[str, str] | None = None
) -> Response | None:
    """What a user-token call answers before doing any work: the token's error, else an injected fault's."""
    problem = check_user_token(state, request, token, form)
    if problem is not None:
        return problem
    fault = state.faults.take(operation)
    return fault_response(state, fault, token) if fault is not None else None
