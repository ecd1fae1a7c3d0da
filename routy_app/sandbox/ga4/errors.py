"""The errors GA4's Google hosts answer with (google.rpc status bodies) and the faults a test can inject.

Fault operations: ga4.mp_collect, ga4.debug_collect, ga4.run_report. Conditions: http_500, http_503 and
quota_429 (params: retry_after, message), unauthenticated, permission_denied, invalid_argument (params:
message), validation_messages (a 200 from the validation server; params: messages), malformed.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.ga4.mp_validation import validation_message

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_error(code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The standard google.rpc error body every Google REST API answers with."""
    return JSONResponse(
        {"error": {"code": code, "message": message, "status": _STATUS.get(code, "UNKNOWN")}},
        status_code=code,
        headers=headers,
    )


def fault_response(fault: Fault) -> Response:
    """Turn an injected fault into the Google-shaped error (or garbage) it names."""
    condition = fault.condition
    retry_after = fault.params.get("retry_after")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if condition == "http_500":
        return google_error(500, "Internal error encountered.")
    if condition == "http_503":
        return google_error(503, "The service is currently unavailable.", headers)
    if condition == "quota_429":
        return google_error(
            429,
            fault.params.get("message")
            or "Exhausted property tokens per hour for a project "
            "per property. This property's quota will be refreshed in under an hour.",
            headers,
        )
    if condition == "unauthenticated":
        return google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
    if condition == "permission_denied":
        return google_error(
            403,
            "User does not have sufficient permissions for this property. To learn more "
            "about Property ID, see https://developers.google.com/analytics/devguides/reporting/"
            "data/v1/property-id.",
        )
    if condition == "invalid_argument":
        return google_error(400, fault.params.get("message") or "Request contains an invalid argument.")
    if condition == "validation_messages":  # a 200 from the validation server carrying messages
        return JSONResponse(
            {
                "validationMessages": fault.params.get("messages")
                or [
                    validation_message(
                        "measurement_id",
                        "Measurement ID [G-XXXX] does not belong to a web data stream.",
                        "VALUE_INVALID",
                    )
                ]
            }
        )
    if condition == "malformed":
        return Response("<html><body>502 Bad Gateway</body></html>", status_code=200, media_type="text/html")
    return google_error(500, f"sandbox: unknown fault condition {condition!r}")
