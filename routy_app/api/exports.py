"""GET /api/metrics/{integration_id}/export.csv: the Metrics tab's current breakdown as CSV.

Signed-in users only (session cookie); streamed, so a large breakdown never sits in memory.
Names come from the providers (anyone who can name a campaign writes them): a cell that a
spreadsheet would run as a formula is written with a leading apostrophe, so it stays text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from routy_app import routes as urls
from routy_app.db import session_scope
from routy_app.models import Integration
from routy_app.services import auth
from routy_app.services import metrics_queries as mq

MAX_ID = 2**63 - 1  # the database's integer; a larger id is no integration of ours
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _bad(field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=422)


def path_id(raw: str) -> int | None:
    """A database id from a path segment: 1 to MAX_ID in ASCII digits, else None (the route answers 404).

    The length is checked before int() runs, so no segment costs more than 19 digits of parsing.
    """
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdecimal()) or len(digits) > len(str(MAX_ID)):
        return None
    value = int(digits or "0")
    return value if 0 < value <= MAX_ID else None


def inert(cell: str) -> str:
    """A text cell no spreadsheet evaluates (OWASP's CSV injection advice: prefix with ')."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


async def export_csv(request: Request) -> Response:
    integration_id = path_id(request.path_params["integration_id"])
    if integration_id is None:  # as before, when the route's pattern wanted digits: no such page
        return JSONResponse({"error": "No such integration."}, status_code=404)
    with session_scope() as session:
        if auth.user_for_token(session, request.cookies.get(auth.SESSION_COOKIE)) is None:
            return JSONResponse({"error": "Sign in to export metrics."}, status_code=401)
        integration = session.get(Integration, integration_id)
        if integration is None:
            return JSONResponse({"error": "No such integration."}, status_code=404)
        currency = integration.account_currency or ""
    q = request.query_params
    level = q.get("level", "campaign")
    if level not in mq.LEVELS:
        return _bad("level", f"level must be one of {', '.join(mq.LEVELS)}")
    try:
        start, end = dt.date.fromisoformat(q.get("start", "")), dt.date.fromisoformat(q.get("end", ""))
    except ValueError:
        return _bad("start", "start and end must be dates like 2026-11-01")
    sort_by = q.get("sort", "cost_micros")
    if sort_by not in mq.SORTABLE:
        return _bad("sort", f"sort must be one of {', '.join(mq.SORTABLE)}")
    parent = {k: q[k] for k in mq.PARENT_FILTERS if q.get(k)}

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        with session_scope() as session:
            for row_id, name, *numbers, row_currency in mq.csv_rows(
                session, integration_id, level, start, end, parent, sort_by, q.get("desc", "1") == "1", currency
            ):
                writer.writerow((inert(row_id), inert(name), *numbers, inert(row_currency)))
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    name = f"routy-{level}-{start}-{end}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def routes() -> list[Route]:
    return [Route(urls.METRICS_EXPORT, export_csv, methods=["GET"])]
