"""Emulated Google Ads API (REST): listAccessibleCustomers, googleAds:search (paged) and :searchStream.

Reports are computed row by row from the page token's offset (rows are addressed as entity x day),
so any page of a million-row keyword report costs the same and nothing is kept between calls.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from routy_app.sandbox.core import api_versions
from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.core.state import SandboxConfig, SandboxState
from routy_app.sandbox.google import ads_data as gd
from routy_app.sandbox.google import gaql
from routy_app.sandbox.google.errors import ads_error, ads_failure, check_auth, fault_response, new_request_id

PAGE_SIZE = 10_000
PAGE_TOKEN_TTL = 2 * 3600
SEARCH_KEYS = {"query", "pageToken", "validateOnly", "searchSettings", "pageSize", "summaryRowSetting"}
STREAM_KEYS = {"query", "summaryRowSetting"}


class QueryPlan:
    """Which rows a validated query yields, addressable by row index (entity-major, then day)."""

    def __init__(self, query: gaql.Query, customer: gd.Customer, config: SandboxConfig) -> None:
        self.query = query
        self.seed = config.seed
        self.select = query.select
        self.resource = query.resource
        _validate_fields(query, customer)
        fields = set(query.select) | {c.field for c in query.where}
        self.needs_metrics = any(f.startswith("metrics.") for f in fields)
        self.by_date = "segments.date" in query.select
        start, end = gaql.date_range(query, gd.today_in(customer))
        if self.by_date and (start is None or end is None):
            raise gaql.GaqlError(
                "EXPECTED_FILTERS_ON_DATE_RANGE",
                "Error in query: a finite date range filter (BETWEEN or DURING) on segments.date is "
                "required when segments.date is selected.",
            )
        first, last = gd.history(customer, config)
        start, end = max(first, start or first), min(last, end or last)
        self.days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)] if start <= end else []
        self.day_slots: list[dt.date | None] = list(self.days) if self.by_date else [None]
        self.metric_conds = [c for c in query.where if c.field.startswith("metrics.")]
        entity_conds = [c for c in query.where if not c.field.startswith(("metrics.", "segments."))]
        self.tree = gd.EntityTree(customer, config)
        self._static: list[dict[str, Any]] | None = None
        if self.resource == "customer_client":
            self._static = gd.customer_client_rows(customer)
        elif self.resource == "conversion_action":
            self._static = [
                {**gd.customer_ctx(customer), **ctx} for ctx in gd.conversion_actions(config.seed, customer.id)
            ]
        if self._static is not None:
            self.entities: list[Any] | range = [r for r in self._static if _passes(entity_conds, r)]
        elif entity_conds:
            self.entities = [
                i
                for i in range(self.tree.count(self.resource))
                if _passes(entity_conds, self.tree.entity(self.resource, i)[1])
            ]
        else:
            self.entities = range(self.tree.count(self.resource))
        if self.by_date and not self.days:
            self.entities = []
        self._cache: tuple[Any, tuple[str, dict[str, Any]]] | None = None

    def _entity(self, e: Any) -> tuple[str, dict[str, Any]]:
        if isinstance(e, dict):
            return "", e
        if self._cache is None or self._cache[0] != e:
            self._cache = (e, self.tree.entity(self.resource, e))
        return self._cache[1]

    def _row(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """(entity fields, per-row fields: date and metrics) of the index-th row; kept apart to avoid copies."""
        slots = len(self.day_slots)
        key, ctx = self._entity(self.entities[index // slots])
        day = self.day_slots[index % slots]
        extra: dict[str, Any] = (
            gd.metrics_for(self.seed, key, self.resource, [day] if day else self.days) if self.needs_metrics else {}
        )
        if day is not None:
            extra["segments.date"] = day.isoformat()
        return ctx, extra

    def _raw_total(self) -> int:
        return len(self.entities) * len(self.day_slots)

    def _matching(self, start: int = 0) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for index in range(start, self._raw_total()):
            ctx, extra = self._row(index)
            if _passes(self.metric_conds, extra):
                yield ctx, extra

    def total(self) -> int:
        if self.metric_conds:
            count = sum(1 for _ in self._matching())
        else:
            count = self._raw_total()
        return min(count, self.query.limit) if self.query.limit else count

    def page(self, offset: int, size: int) -> tuple[list[dict[str, Any]], bool]:
        """Rows [offset, offset+size) as REST JSON, and whether more rows follow."""
        limit = self.query.limit
        if self.metric_conds:
            rows: list[dict[str, Any]] = []
            more = False
            for n, (ctx, extra) in enumerate(self._matching()):
                if limit and n >= limit:
                    break
                if n < offset:
                    continue
                if len(rows) == size:
                    more = True
                    break
                rows.append(gd.to_json(ctx, self.select, self.resource, extra))
            return rows, more
        total = self._raw_total() if not limit else min(limit, self._raw_total())
        stop = min(offset + size, total)
        pairs = (self._row(i) for i in range(offset, stop))
        return [gd.to_json(ctx, self.select, self.resource, extra) for ctx, extra in pairs], stop < total

    def field_mask(self) -> str:
        return ",".join(gd.camel_path(f) for f in self.select)


def _passes(conds: list[gaql.Condition], ctx: dict[str, Any]) -> bool:
    return all(gaql.matches(c, ctx.get(c.field)) for c in conds)


def _validate_fields(query: gaql.Query, customer: gd.Customer) -> None:
    if query.resource not in gd.RESOURCES:
        raise gaql.GaqlError(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            f"Error in query: '{query.resource}' is not a supported resource in the FROM clause.",
        )
    allowed, metrics_ok = gd.RESOURCES[query.resource]
    clauses = (
        [("SELECT", f) for f in query.select]
        + [("WHERE", c.field) for c in query.where]
        + [("ORDER_BY", f) for f, _ in query.order_by]
    )
    for clause, fname in clauses:
        if fname not in gd.FIELDS:
            raise gaql.GaqlError("UNRECOGNIZED_FIELD", f"Error in query: unrecognized field '{fname}'.")
        res = gd.resource_of(fname)
        if res in ("metrics", "segments"):
            if not metrics_ok:
                code = (
                    "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"
                    if res == "metrics"
                    else "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE"
                )
                raise gaql.GaqlError(
                    code, f"Error in query: '{fname}' cannot be used with resource '{query.resource}'."
                )
            if res == "metrics" and customer.manager:
                raise gaql.GaqlError(
                    "REQUESTED_METRICS_FOR_MANAGER",
                    "Metrics cannot be requested for a manager account. To retrieve metrics, issue "
                    "separate requests against each client account under the manager account.",
                )
        elif res not in allowed:
            code = {
                "SELECT": "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                "WHERE": "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE",
            }.get(clause, "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE")
            raise gaql.GaqlError(
                code, f"Error in query: '{fname}' cannot be selected with resource '{query.resource}'."
            )


def _query_digest(customer_id: str, query: str) -> str:
    return hashlib.sha256(f"{customer_id}\n{' '.join(query.split())}".encode()).hexdigest()[:16]


def _encode_token(digest: str, offset: int) -> str:
    raw = json.dumps({"q": digest, "o": offset, "t": int(time.time())}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, digest: str) -> int | str:
    """The offset a page token points at, or the requestError code explaining why it is unusable."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
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
            body = json.loads(bytes(denied.body))
            return JSONResponse([body], status_code=denied.status_code, headers=dict(denied.headers))
        return denied

    async def list_customers(request: Request) -> Response:
        if (denied := _guard(request, "google_ads.list_customers")) is not None:
            return denied
        return JSONResponse(
            {"resourceNames": [f"customers/{cid}" for cid in gd.DIRECTLY_ACCESSIBLE]},
            headers={"request-id": new_request_id()},
        )

    async def _prepare(request: Request, allowed_keys: set[str], stream: bool) -> tuple[QueryPlan, dict] | Response:
        ver, cid = request.path_params["ver"], request.path_params["cid"]

        def fail(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Response:
            return ads_error(status, message, errors, version=ver, wrap_in_array=stream)

        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
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
            msg = (
                "User doesn't have permission to access customer. Note: If you're accessing a client customer, the "
                "manager's customer id must be set in the 'login-customer-id' header. See "
                "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid"
            )
            return fail(
                403,
                "The caller does not have permission",
                [ads_failure("authorizationError", "USER_PERMISSION_DENIED", msg)],
            )
        try:
            plan = QueryPlan(gaql.parse(str(body.get("query", ""))), gd.CUSTOMERS[cid], state.config)
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
        error = json.loads(
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
    plan: QueryPlan, request_id: str, error_after: int | None = None, error: dict[str, Any] | None = None
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
