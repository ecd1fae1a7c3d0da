"""Emulated Google Ads API (REST): listAccessibleCustomers, googleAds:search (paged) and :searchStream.

Each page is computed from the offset its page token carries (query_plan.py), so any page of a
million-row keyword report costs the same and nothing is kept between calls. Page tokens are tied to the
query and expire, and the API's refusals (versions, page sizes, customer ids, login-customer-id access)
answer in its own error dialect (errors.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from routy_app.sandbox.core import api_versions, jsonio
from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.google import ads_data as gd
from routy_app.sandbox.google import gaql, query_plan
from routy_app.sandbox.google.errors import (
    ads_error,
    ads_failure,
    check_auth,
    fault_response,
    new_request_id,
    user_permission_denied,
)

PAGE_SIZE = 10_000
PAGE_TOKEN_TTL = 2 * 3600
SEARCH_KEYS = {"query", "pageToken", "validateOnly", "searchSettings", "pageSize", "summaryRowSetting"}
STREAM_KEYS = {"query", "summaryRowSetting"}


def _query_digest(customer_id: str, query: str) -> str:
    return hashlib.sha256(f"{customer_id}\n{' '.join(query.split())}".encode()).hexdigest()[:16]


def _encode_token(digest: str, offset: int) -> str:
    raw = json.dumps({"q": digest, "o": offset, "t": int(time.time())}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, digest: str) -> int | str:
    """The offset a page token points at, or the requestError code explaining why it is unusable."""
    try:
        raw = jsonio.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, issued, q = int(raw["o"]), int(raw["t"]), str(raw["q"])
    except (ValueError, KeyError, TypeError):
        return "INVALID_PAGE_TOKEN"
    if q != digest or offset < 0:
        return "INVALID_PAGE_TOKEN"
    if time.time() - issued > PAGE_TOKEN_TTL:
        return "EXPIRED_PAGE_TOKEN"
    return offset


def routes(state: SandboxState) -> list[BaseRoute]:

    def _guard(
        request: Request, operation: str, stream: bool = False, fault: Fault | None = None, take: bool = True
    ) -> Response | None:
        ver = request.path_params["ver"]
        served = api_versions.google_ads(ver)
        if served == "unknown":
            return JSONResponse(
                {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}}, status_code=404
            )
        if served == "sunset":
            return ads_error(
                400,
                "Request contains an invalid argument.",
                [
                    ads_failure(
                        "requestError",
                        "UNSUPPORTED_VERSION",
                        f"Version {ver} is deprecated. Requests to this version will be blocked.",
                    )
                ],
                version=ver,
                wrap_in_array=stream,
            )
        if fault is None and take:
            fault = state.faults.take(operation)
        if fault is not None:
            return fault_response(fault, "ads", ver, wrap_in_array=stream)
        denied = check_auth(state, request, "ads", ver)
        if denied is not None and stream:
            body = jsonio.loads(bytes(denied.body))
            return JSONResponse([body], status_code=denied.status_code, headers=dict(denied.headers))
        return denied

    async def list_customers(request: Request) -> Response:
        if (denied := _guard(request, "google_ads.list_customers")) is not None:
            return denied
        return JSONResponse(
            {"resourceNames": [f"customers/{cid}" for cid in gd.DIRECTLY_ACCESSIBLE]},
            headers={"request-id": new_request_id()},
        )

    async def _prepare(
        request: Request, allowed_keys: set[str], stream: bool
    ) -> tuple[query_plan.QueryPlan, dict[str, Any]] | Response:
        ver, cid = request.path_params["ver"], request.path_params["cid"]

        def fail(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Response:
            return ads_error(status, message, errors, version=ver, wrap_in_array=stream)

        try:
            body = jsonio.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return fail(400, "Invalid JSON payload received.")
        unknown = sorted(set(body) - allowed_keys)
        if unknown:
            return fail(400, f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')
        if "pageSize" in body:
            msg = "Setting the page size is not supported. Search Responses will have fixed page size of '10000' rows."
            return fail(
                400,
                "Request contains an invalid argument.",
                [ads_failure("requestError", "PAGE_SIZE_NOT_SUPPORTED", msg)],
            )
        if not cid.isdigit():
            return fail(
                400,
                "Request contains an invalid argument.",
                [
                    ads_failure(
                        "requestError", "INVALID_CUSTOMER_ID", "The customer ID must be 10 digits without dashes."
                    )
                ],
            )
        login = request.headers.get("login-customer-id")
        if login is not None and not login.isdigit():
            return fail(
                400,
                "Request contains an invalid argument.",
                [ads_failure("requestError", "INVALID_CUSTOMER_ID", "Invalid login-customer-id header: digits only.")],
            )
        if not gd.can_access(cid, login):
            return user_permission_denied(ver, wrap_in_array=stream)
        try:
            plan = query_plan.QueryPlan(gaql.parse(str(body.get("query", ""))), gd.CUSTOMERS[cid], state.config)
        except gaql.GaqlError as exc:
            return fail(
                400, "Request contains an invalid argument.", [ads_failure("queryError", exc.code, exc.message)]
            )
        return plan, body

    async def search(request: Request) -> Response:
        if (denied := _guard(request, "google_ads.search")) is not None:
            return denied
        prepared = await _prepare(request, SEARCH_KEYS, stream=False)
        if isinstance(prepared, Response):
            return prepared
        plan, body = prepared
        request_id = new_request_id()
        digest = _query_digest(request.path_params["cid"], body["query"])
        offset = 0
        if body.get("pageToken"):
            decoded = _decode_token(str(body["pageToken"]), digest)
            if isinstance(decoded, str):
                msg = (
                    "Page token has expired."
                    if decoded == "EXPIRED_PAGE_TOKEN"
                    else "Page token is invalid: resend the identical query with a token from its previous page."
                )
                return ads_error(
                    400,
                    "Request contains an invalid argument.",
                    [ads_failure("requestError", decoded, msg)],
                    version=request.path_params["ver"],
                    request_id=request_id,
                )
            offset = decoded
        out: dict[str, Any] = {"fieldMask": plan.field_mask()}
        if not body.get("validateOnly"):
            rows, more = plan.page(offset, PAGE_SIZE)
            if rows:
                out["results"] = rows
            if more:
                out["nextPageToken"] = _encode_token(digest, offset + PAGE_SIZE)
            if (body.get("searchSettings") or {}).get("returnTotalResultsCount"):
                out["totalResultsCount"] = str(plan.total())
            out["queryResourceConsumption"] = "1" if offset == 0 else "0"
        return JSONResponse(out, headers={"request-id": request_id})

    async def search_stream(request: Request) -> Response:
        fault = state.faults.take("google_ads.search_stream")
        stream_fault = fault if fault is not None and fault.condition == "stream_error" else None
        if (
            denied := _guard(
                request, "google_ads.search_stream", stream=True, fault=None if stream_fault else fault, take=False
            )
        ) is not None:
            return denied
        prepared = await _prepare(request, STREAM_KEYS, stream=True)
        if isinstance(prepared, Response):
            return prepared
        plan, _ = prepared
        request_id = new_request_id()
        if stream_fault is None:
            return StreamingResponse(
                _stream_batches(plan, request_id), media_type="application/json", headers={"request-id": request_id}
            )
        # "stream_error": an array-wrapped error, alone (HTTP status = its code) or after `after_batches` batches
        # of a 200 stream, as REST searchStream reports failures.
        code = int(stream_fault.params.get("status", 500))
        after = int(stream_fault.params.get("after_batches", 0))
        kind, value, text = (
            ("internalError", "TRANSIENT_ERROR", "The request failed due to a transient error.")
            if code == 503
            else ("internalError", "INTERNAL_ERROR", "An internal error has occurred.")
        )
        error = jsonio.loads(
            bytes(
                ads_error(
                    code,
                    "Internal error encountered." if code >= 500 else "Request failed.",
                    [ads_failure(kind, value, text)],
                    version=request.path_params["ver"],
                    request_id=request_id,
                ).body
            )
        )
        if after <= 0:
            return JSONResponse([error], status_code=code, headers={"request-id": request_id})
        return StreamingResponse(
            _stream_batches(plan, request_id, after, error),
            media_type="application/json",
            headers={"request-id": request_id},
        )

    return [
        Route("/{ver}/customers:listAccessibleCustomers", list_customers, methods=["GET"]),
        Route("/{ver}/customers/{cid}/googleAds:search", search, methods=["POST"]),
        Route("/{ver}/customers/{cid}/googleAds:searchStream", search_stream, methods=["POST"]),
    ]


def _stream_batches(
    plan: query_plan.QueryPlan, request_id: str, error_after: int | None = None, error: dict[str, Any] | None = None
) -> Iterator[bytes]:
    """`[batch, batch, ...]` built one 10,000-row batch at a time (an error element may end it)."""
    yield b"["
    offset, first, batches = 0, True, 0
    while True:
        if error is not None and error_after is not None and batches >= error_after:
            yield (b"" if first else b",") + json.dumps(error).encode() + b"]"
            return
        rows, more = plan.page(offset, PAGE_SIZE)
        batch: dict[str, Any] = {"fieldMask": plan.field_mask(), "requestId": request_id}
        if rows:
            batch["results"] = rows
        if not more and error is None:
            batch["queryResourceConsumption"] = "1"
        yield (b"" if first else b",") + json.dumps(batch).encode()
        first, batches = False, batches + 1
        offset += PAGE_SIZE
        if not more:
            break
    if error is not None:
        yield b"," + json.dumps(error).encode()
    yield b"]"
