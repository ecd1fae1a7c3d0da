"""A request bin: `/sandbox/webhook/<bin>[/<path>]` records every request it receives and answers 200.

Why: the Webhook card sends conversions to a URL of the user's choosing; in sandbox mode (and in tests)
that URL is this bin, so the journey works offline and a test can read exactly what was sent (method,
path, query, headers, body) from `state.received["webhook"]` or GET /sandbox/_control/received?provider=webhook.

Told to fail through the control API's faults (POST /sandbox/_control/faults): operation
`webhook.receive` (every bin) or `webhook.<bin>` (one bin), condition `http_<status>` (e.g. http_500,
http_400, http_429), `times` = for how many requests; params `body` (the answer's text) and `retry_after`
(a Retry-After header). A failing request is recorded too, with the status it was answered.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from routy_app.sandbox.core.state import SandboxState

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MAX_BODY = 1_000_000
_STATUS = re.compile(r"^http_([1-5]\d\d)$")


def _answer(state: SandboxState, bin_name: str) -> Response | None:
    """The injected failure for this request, or None to accept it."""
    fault = state.faults.take(f"webhook.{bin_name}") or state.faults.take("webhook.receive")
    if fault is None:
        return None
    match = _STATUS.match(fault.condition)
    status = int(match.group(1)) if match else 500
    headers = {"Retry-After": str(fault.params["retry_after"])} if "retry_after" in fault.params else None
    body = str(fault.params.get("body") or json.dumps({"error": f"sandbox fault {fault.condition}"}))
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def routes(state: SandboxState) -> list[BaseRoute]:
    async def receive(request: Request) -> Response:
        bin_name = request.path_params["bin"]
        raw = (await request.body())[:MAX_BODY]
        text = raw.decode("utf-8", "replace")
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = None
        failure = _answer(state, bin_name)
        status = failure.status_code if failure is not None else 200
        with state.lock:
            number = len(state.received["webhook"]) + 1
        state.record(
            "webhook",
            {
                "number": number,
                "bin": bin_name,
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "params": dict(request.query_params),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": text,
                "json": parsed,
                "status": status,
                "at": time.time(),
            },
        )
        if failure is not None:
            return failure
        return JSONResponse({"ok": True, "bin": bin_name, "request": number})

    return [
        Route("/webhook/{bin}", receive, methods=METHODS),
        Route("/webhook/{bin}/{rest:path}", receive, methods=METHODS),
    ]
