"""Google's error bodies (google.rpc.Status, GoogleAdsFailure), bearer-token checks and fault injection.

Shared by the Google Ads API and Data Manager emulators so both fail exactly like the real hosts:
Ads errors carry a `GoogleAdsFailure` detail with a one-key `errorCode`; Data Manager errors carry
`ErrorInfo` / `RequestInfo` / `BadRequest` details.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.core.state import SandboxState

Api = Literal["ads", "datamanager"]

ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"
DATAMANAGER_SCOPE = "https://www.googleapis.com/auth/datamanager"

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

MSG_EXPIRED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
MSG_MISSING = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential."
)


USER_PERMISSION_DENIED = (
    "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's "
    "customer id must be set in the 'login-customer-id' header. See "
    "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid"
)


def new_request_id() -> str:
    return secrets.token_urlsafe(16)


def status_body(http_status: int, message: str) -> dict[str, Any]:
    """The google.rpc.Status fields every Google REST error carries (details are added by the caller)."""
    return {"code": http_status, "message": message, "status": STATUS_BY_CODE.get(http_status, "UNKNOWN")}


def ads_error(
    http_status: int,
    message: str,
    errors: list[dict[str, Any]] | None = None,
    *,
    version: str = "v26",
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    wrap_in_array: bool = False,
) -> JSONResponse:
    """A Google Ads API error: google.rpc.Status with one GoogleAdsFailure detail (or none)."""
    request_id = request_id or new_request_id()
    error = status_body(http_status, message)
    if errors:
        error["details"] = [
            {
                "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
                "errors": errors,
                "requestId": request_id,
            }
        ]
    body: Any = {"error": error}
    if wrap_in_array:
        body = [body]
    return JSONResponse(body, status_code=http_status, headers={"request-id": request_id, **(headers or {})})


def ads_failure(kind: str, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """One `errors[]` entry of a GoogleAdsFailure, e.g. ads_failure("queryError", "PROHIBITED_...", "...")."""
    return {"errorCode": {kind: code}, "message": message, **extra}


def user_permission_denied(version: str, *, wrap_in_array: bool = False) -> JSONResponse:
    """403 for a customer the caller cannot reach (directly, or through the manager in login-customer-id)."""
    return ads_error(
        403,
        "The caller does not have permission",
        [ads_failure("authorizationError", "USER_PERMISSION_DENIED", USER_PERMISSION_DENIED)],
        version=version,
        wrap_in_array=wrap_in_array,
    )


def rpc_error(
    http_status: int,
    message: str,
    *,
    reason: str | None = None,
    domain: str = "datamanager.googleapis.com",
    metadata: dict[str, str] | None = None,
    field_violations: list[dict[str, str]] | None = None,
    retry_delay: str | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A plain google.rpc.Status error as googleapis.com (Data Manager) returns it."""
    request_id = request_id or "t-" + new_request_id()
    details: list[dict[str, Any]] = []
    if reason:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": domain,
                "metadata": {"requestId": request_id, **(metadata or {})},
            }
        )
        details.append({"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id})
    if retry_delay:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    if field_violations:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": field_violations})
    error = status_body(http_status, message)
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=http_status, headers=headers)


# ---------------------------------------------------------------- auth


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def check_auth(state: SandboxState, request: Request, api: Api, version: str = "v26") -> Response | None:
    """None when the bearer token is a live Google access token with the API's scope, else the error."""
    token = bearer(request)
    status = state.tokens.check(token)
    issued = state.tokens.get(token or "")
    if status != "ok" or issued is None or issued.provider != "google" or issued.kind != "access":
        return unauthenticated(api, "invalid" if status == "ok" else status, version)
    scope = ADWORDS_SCOPE if api == "ads" else DATAMANAGER_SCOPE
    if scope not in (issued.scope or "").split():
        message = "Request had insufficient authentication scopes."
        if api == "ads":
            return ads_error(
                403,
                message,
                [ads_failure("authorizationError", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", message)],
                version=version,
            )
        return rpc_error(403, message, reason="ACCESS_TOKEN_SCOPE_INSUFFICIENT", domain="googleapis.com")
    return None


def unauthenticated(api: Api, status: str, version: str = "v26") -> Response:
    """401 for a missing/invalid/expired/revoked token, in the API's own error dialect."""
    if status == "missing" or status == "no_details":
        message = MSG_MISSING if status == "missing" else MSG_EXPIRED
        if api == "ads":
            return ads_error(401, message, version=version)
        return rpc_error(
            401, message, reason="CREDENTIALS_MISSING" if status == "missing" else None, domain="googleapis.com"
        )
    code = {"expired": "OAUTH_TOKEN_EXPIRED", "revoked": "OAUTH_TOKEN_REVOKED"}.get(status, "OAUTH_TOKEN_INVALID")
    if api == "ads":
        detail = {
            "OAUTH_TOKEN_EXPIRED": "Authentication of the request failed: the OAuth access token has expired.",
            "OAUTH_TOKEN_REVOKED": "The OAuth access token has been revoked.",
            "OAUTH_TOKEN_INVALID": "The OAuth access token is invalid.",
        }[code]
        return ads_error(401, MSG_EXPIRED, [ads_failure("authenticationError", code, detail)], version=version)
    reason = (
        "ACCESS_TOKEN_EXPIRED"
        if status == "expired"
        else "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        if status == "invalid"
        else "ACCESS_TOKEN_REVOKED"
    )
    return rpc_error(401, MSG_EXPIRED, reason=reason, domain="googleapis.com")


# ---------------------------------------------------------------- faults


def service_disabled(api: Api, project: str) -> Response:
    """403 for an API not enabled on the caller's Cloud project (plain google.rpc, as googleapis.com sends it:
    ErrorInfo reason SERVICE_DISABLED, domain googleapis.com, metadata with the activation URL)."""
    service, title = (
        ("googleads.googleapis.com", "Google Ads API")
        if api == "ads"
        else ("datamanager.googleapis.com", "Data Manager API")
    )
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={project}"
    message = (
        f"{title} has not been used in project {project} before or it is disabled. Enable it by visiting "
        f"{url} then retry. If you enabled this API recently, wait a few minutes for the action to propagate "
        "to our systems and retry."
    )
    return rpc_error(
        403,
        message,
        reason="SERVICE_DISABLED",
        domain="googleapis.com",
        metadata={
            "service": service,
            "serviceTitle": title,
            "consumer": f"projects/{project}",
            "containerInfo": project,
            "activationUrl": url,
        },
    )


def malformed_response() -> Response:
    """HTTP 200 whose JSON body was cut off mid-way."""
    return Response(
        '{"results": [{"campaign": {"resourceName": "customers/1/campa', status_code=200, media_type="application/json"
    )


def fault_response(fault: Fault, api: Api, version: str = "v26", *, wrap_in_array: bool = False) -> Response:
    """The error a generic fault condition stands for, in the Ads or Data Manager dialect."""
    cond, params = fault.condition, fault.params
    if cond == "expired_token":
        return unauthenticated(api, "expired", version)
    if cond == "unauthenticated_no_details":
        return unauthenticated(api, "no_details", version)
    if cond == "malformed":
        return malformed_response()
    if cond == "service_disabled":
        return service_disabled(api, str(params.get("project", "123456789012")))
    if api == "ads":
        if cond == "wrong_login_customer":
            return user_permission_denied(version, wrap_in_array=wrap_in_array)
        if cond == "quota_429":
            delay = str(params.get("retry_delay", "1s"))
            return ads_error(
                429,
                "Resource has been exhausted (e.g. check quota).",
                [
                    ads_failure(
                        "quotaError",
                        "RESOURCE_TEMPORARILY_EXHAUSTED",
                        "Too many requests. Retry in " + delay + ".",
                        details={
                            "quotaErrorDetails": {
                                "rateScope": "DEVELOPER",
                                "rateName": "Number of operations for basic access",
                                "retryDelay": delay,
                            }
                        },
                    )
                ],
                version=version,
                wrap_in_array=wrap_in_array,
            )
        if cond == "daily_quota":
            return ads_error(
                429,
                "Resource has been exhausted (e.g. check quota).",
                [
                    ads_failure(
                        "quotaError",
                        "RESOURCE_EXHAUSTED",
                        "Too many requests. Retry in 86400 seconds.",
                        details={
                            "quotaErrorDetails": {
                                "rateScope": "DEVELOPER",
                                "rateName": "Number of operations for explorer access",
                            }
                        },
                    )
                ],
                version=version,
                wrap_in_array=wrap_in_array,
            )
        if cond == "http_500":
            return ads_error(
                500,
                "Internal error encountered.",
                [ads_failure("internalError", "INTERNAL_ERROR", "An internal error has occurred.")],
                version=version,
                wrap_in_array=wrap_in_array,
            )
        if cond == "http_503":
            headers = {"Retry-After": str(params["retry_after"])} if "retry_after" in params else None
            return ads_error(
                503,
                "The service is currently unavailable.",
                [ads_failure("internalError", "TRANSIENT_ERROR", "The request failed due to a transient error.")],
                version=version,
                headers=headers,
                wrap_in_array=wrap_in_array,
            )
    else:
        if cond == "wrong_login_customer":
            return rpc_error(403, "The caller does not have permission", reason="PERMISSION_DENIED")
        if cond == "quota_429":
            return rpc_error(
                429,
                "Quota exceeded for quota metric 'Ingestion mutate requests' and limit "
                "'IngestionMutateRequestsPerMinutePerProject'.",
                reason="RATE_LIMIT_EXCEEDED",
                domain="googleapis.com",
                metadata={"quota_limit": "IngestionMutateRequestsPerMinutePerProject"},
                retry_delay=str(params.get("retry_delay", "1s")),
            )
        if cond == "daily_quota":
            return rpc_error(
                429,
                "Quota exceeded for quota metric 'Ingestion mutate requests' and limit "
                "'IngestionMutateRequestsPerDayPerProject'.",
                reason="RATE_LIMIT_EXCEEDED",
                domain="googleapis.com",
                metadata={"quota_limit": "IngestionMutateRequestsPerDayPerProject"},
            )
        if cond == "http_500":
            return rpc_error(500, "Internal error encountered.")
        if cond == "http_503":
            headers = {"Retry-After": str(params["retry_after"])} if "retry_after" in params else None
            return rpc_error(503, "The service is currently unavailable.", headers=headers)
    return JSONResponse(
        {
            "error": {
                "code": 500,
                "status": "INTERNAL",
                "message": f"sandbox: fault condition {cond!r} is not supported on {fault.operation}",
            }
        },
        status_code=500,
    )
