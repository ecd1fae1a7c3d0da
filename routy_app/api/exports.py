"""GET /api/metrics/{integration_id}/export.csv: the Metrics tab's current breakdown as CSV.

Signed-in users only (session cookie); streamed, so a large breakdown never sits in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from routy_app.db import session_scope
from routy_app.models import Integration
from routy_app.services import auth
from routy_app.services import metrics_queries as mq


def _bad(field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=422)


async def export_csv(request: Request) -> Response:
    with session_scope() as session:
        if auth.user_for_token(session, request.cookies.get(auth.SESSION_COOKIE)) is None:
            return JSONResponse({"error": "Sign in to export metrics."}, status_code=401)
        integration = session.get(Integration, int(request.path_params["integration_id"]))
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
    integration_id = int(request.path_params["integration_id"])

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        with session_scope() as session:
            for row in mq.csv_rows(session, integration_id, level, start, end, parent, sort_by,
                                   q.get("desc", "1") == "1", currency):
                writer.writerow(row)
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    name = f"routy-{level}-{start}-{end}.csv"
    return StreamingResponse(lines(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def routes() -> list[Route]:
    return [Route("/api/metrics/{integration_id:int}/export.csv", export_csv, methods=["GET"])]
