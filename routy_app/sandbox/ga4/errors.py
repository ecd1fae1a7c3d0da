"""The errors GA4's Google hosts answer with (google.rpc status bodies, as every Google REST API: see
sandbox/google/errors.py) and the faults a test can inject.

Fault operations: ga4.mp_collect, ga4.debug_collect, ga4.run_report. Conditions: http_500, http_503 and
quota_429 (params: retry_after, message), unauthenticated, permission_denied, invalid_argument (params:
message), validation_messages (a 200 from the validation server; params: messages), malformed.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.ga4.mp_validation import validation_message
from routy_app.sandbox.google.errors import MSG_EXPIRED, status_body


def google_error(code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The plain google.rpc error body GA4's Google hosts answer with (no details)."""
    return JSONResponse({"error": status_body(code, message)}, status_code=code, headers=headers)


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
        return google_error(401, MSG_EXPIRED)
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
