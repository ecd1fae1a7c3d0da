"""/_control: fault injection, token expiry/revocation, what the providers received, knobs.

Bodies are JSON objects; malformed JSON, another JSON type or a field of the wrong type is a 400
`{"error": ...}` naming the problem (never a 500, never a half-applied change).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from routy_app.sandbox.core import jsonio
from routy_app.sandbox.core.state import SandboxConfig, SandboxState

MAX_FAULT_TIMES = 1_000_000
MAX_NAME = 200
MAX_URL = 2000
# Settings that size the generated data (days x campaigns x ad groups x ...): bounded so one call cannot
# make every later report build an enormous table. Other settings are seconds or a seed.
_CONFIG_MAX = {
    "days": 3660,
    "campaigns_per_account": 1000,
    "ad_groups_per_campaign": 1000,
    "ads_per_ad_group": 1000,
    "keywords_per_ad_group": 1000,
    "verdict_after_polls": 1000,
}
_INT_MAX = 2**53  # seconds and seeds: anything a JSON client can send exactly


class BadBody(Exception):
    """The request body cannot be used; the message says why (answered as 400)."""


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (an empty body counts as {})."""
    raw = await request.body()
    try:
        body = jsonio.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise BadBody(f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadBody("the body must be a JSON object")
    return body


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadBody(f"{name} must be a string")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _config_value(name: str, value: Any) -> Any:
    """`value` checked against the type of SandboxConfig's field `name` and its bounds."""
    kind = str(next(f.type for f in dataclasses.fields(SandboxConfig) if f.name == name))
    if value is None and "None" in kind:  # only the nullable settings take null
        return None
    if kind.startswith("str"):
        if not isinstance(value, str) or not value.startswith(("http://", "https://")) or len(value) > MAX_URL:
            raise BadBody(f"{name} must be an http(s) URL")
        return value
    if not _is_int(value):
        raise BadBody(f"{name} must be an integer")
    if not 0 <= value <= _CONFIG_MAX.get(name, _INT_MAX):
        raise BadBody(f"{name} must be between 0 and {_CONFIG_MAX.get(name, _INT_MAX)}")
    return value


def routes(state: SandboxState) -> list[Route]:
    async def add_fault(request: Request) -> JSONResponse:
        try:
            body = await _object(request)
            operation, condition = _optional_str(body, "operation"), _optional_str(body, "condition")
            times, params = body.get("times", 1), body.get("params") or {}
            if not _is_int(times) or not 1 <= times <= MAX_FAULT_TIMES:
                raise BadBody(f"times must be an integer from 1 to {MAX_FAULT_TIMES}")
            if not isinstance(params, dict):
                raise BadBody("params must be a JSON object")
        except BadBody as exc:
            return _bad(str(exc))
        if not operation or not condition:
            return _bad("operation and condition are required", 422)
        fault = state.faults.add(operation, condition, times, **{str(k): v for k, v in params.items()})
        return JSONResponse(fault.describe(), status_code=201)

    async def list_faults(_: Request) -> JSONResponse:
        return JSONResponse({"faults": state.faults.pending()})

    async def clear_faults(_: Request) -> JSONResponse:
        state.faults.clear()
        return JSONResponse({"ok": True})

    async def token_action(request: Request) -> JSONResponse:
        action = request.path_params["action"]
        if action not in ("expire", "revoke"):
            return _bad("no such action (expire or revoke)", 404)
        try:
            body = await _object(request)
            token, provider, every = _optional_str(body, "token"), _optional_str(body, "provider"), body.get("all")
            if every is not None and not isinstance(every, bool):
                raise BadBody("all must be true or false")
        except BadBody as exc:
            return _bad(str(exc))
        values = state.tokens.all_values() if every else [token or ""]
        if provider:
            values = [v for v in values if (t := state.tokens.get(v)) and t.provider == provider]
        fn = state.tokens.expire if action == "expire" else state.tokens.revoke
        changed = [v for v in values if v and fn(v)]
        if not changed:
            return JSONResponse({"error": "no such token"}, status_code=404)
        return JSONResponse({"changed": len(changed)})

    async def received(request: Request) -> JSONResponse:
        provider = request.query_params.get("provider")
        data = state.received if not provider else {provider: state.received.get(provider, [])}
        return JSONResponse({"received": data})

    async def config(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                body = await _object(request)
            except BadBody as exc:
                return _bad(str(exc))
            known = {f.name for f in dataclasses.fields(state.config)}
            unknown = sorted(set(body) - known)
            if unknown:
                return JSONResponse({"error": f"unknown settings: {', '.join(unknown)}"}, status_code=422)
            try:
                changes = {key: _config_value(key, value) for key, value in body.items()}
            except BadBody as exc:
                return _bad(str(exc))
            for key, value in changes.items():  # all checked first: a refused call changes nothing
                setattr(state.config, key, value)
        return JSONResponse(dataclasses.asdict(state.config))

    async def issued_tokens(_: Request) -> JSONResponse:
        """Every token value the emulated OAuth servers issued (for tests that prove none leaked)."""
        return JSONResponse({"tokens": state.tokens.all_values()})

    async def rename_account(request: Request) -> JSONResponse:
        """Give a seeded Google Ads customer another name (process-wide), e.g. to test escaping."""
        import dataclasses as dc

        from routy_app.sandbox.google.ads_data import CUSTOMERS

        try:
            body = await _object(request)
            name = _optional_str(body, "name")
            if name is not None and not 0 < len(name) <= MAX_NAME:
                raise BadBody(f"name must be 1 to {MAX_NAME} characters")
        except BadBody as exc:
            return _bad(str(exc))
        customer = CUSTOMERS.get(request.path_params["account_id"])
        if customer is None or name is None:
            return JSONResponse({"error": "unknown account or missing name"}, status_code=404)
        CUSTOMERS[customer.id] = dc.replace(customer, name=name)
        return JSONResponse({"id": customer.id, "name": name})

    async def reset(_: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"ok": True})

    return [
        Route("/faults", add_fault, methods=["POST"]),
        Route("/faults", list_faults, methods=["GET"]),
        Route("/faults", clear_faults, methods=["DELETE"]),
        Route("/tokens/{action:str}", token_action, methods=["POST"]),
        Route("/received", received, methods=["GET"]),
        Route("/tokens", issued_tokens, methods=["GET"]),
        Route("/google_ads/accounts/{account_id}/name", rename_account, methods=["POST"]),
        Route("/config", config, methods=["GET", "POST"]),
        Route("/reset", reset, methods=["POST"]),
    ]
