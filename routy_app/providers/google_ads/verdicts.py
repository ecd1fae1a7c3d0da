"""Data Manager's asynchronous verdicts (`requestStatus:retrieve`) and how Push History words them.

An accepted request is only "received": Google processes it later and reports, per destination, a status
and error counts (not which event failed). A request id Google does not know (INVALID_REQUEST_ID, e.g.
one older than its retention) is an unknown verdict, not an error.
"""

from __future__ import annotations

from routy_app.providers.errors import PermanentError
from routy_app.providers.google_ads.api import GoogleApi
from routy_app.providers.values import Credentials, Verdict

UNKNOWN = "REQUEST_STATUS_UNKNOWN"


async def check_verdict(api: GoogleApi, creds: Credentials, request_id: str) -> Verdict:
    """The processing verdict of an events:ingest request, combined over its destinations."""
    try:
        body = await api.datamanager(creds, "GET", "v1/requestStatus:retrieve", params={"requestId": request_id})
    except PermanentError as exc:
        if exc.code == "INVALID_REQUEST_ID":
            return Verdict(request_id=request_id, status=UNKNOWN, detail=exc.message)
        raise
    entries = [e for e in body.get("requestStatusPerDestination") or [] if isinstance(e, dict)]
    statuses = [str(e.get("requestStatus") or UNKNOWN) for e in entries]
    if not statuses:
        status = UNKNOWN
    elif "PROCESSING" in statuses:
        status = "PROCESSING"
    elif all(s == "SUCCESS" for s in statuses):
        status = "SUCCESS"
    elif all(s == "FAILED" for s in statuses):
        status = "FAILED"
    elif any(s in ("PARTIAL_SUCCESS", "FAILED") for s in statuses):
        status = "PARTIAL_SUCCESS"
    else:
        status = UNKNOWN
    records = 0
    errors: dict[str, int] = {}
    for entry in entries:
        records += int((entry.get("eventsIngestionStatus") or {}).get("recordCount") or 0)
        for item in (entry.get("errorInfo") or {}).get("errorCounts") or []:
            reason = str(item.get("reason") or "UNKNOWN")
            errors[reason] = errors.get(reason, 0) + int(item.get("recordCount") or 0)
    return Verdict(request_id=request_id, status=status, record_count=records, error_counts=errors)


def describe(verdict: Verdict) -> tuple[str, str]:
    """(short verdict for the Push History column, full sentence for the row's response)."""
    counts = ", ".join(
        f"{reason.replace('PROCESSING_ERROR_REASON_', '')} x{n}" for reason, n in sorted(verdict.error_counts.items())
    )
    if verdict.status == "SUCCESS":
        return "accepted", f"Verdict: SUCCESS ({verdict.record_count} events of the request accepted)."
    if verdict.status == "FAILED":
        return f"rejected: {counts or 'FAILED'}"[:64], f"Verdict: FAILED ({counts or 'no reason given'})."
    if verdict.status == "PARTIAL_SUCCESS":
        return (
            f"partial: {counts}"[:64],
            f"Verdict: PARTIAL_SUCCESS, {counts} out of {verdict.record_count} events of this request. Google "
            "reports counts per request, not which event failed; this event may be among them.",
        )
    if verdict.detail:
        return "unknown", f"Verdict: unavailable ({verdict.detail})."
    return "unknown", f"Verdict: {verdict.status}."
