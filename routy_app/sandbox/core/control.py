"""/_control: fault injection, token expiry/revocation, what the providers received, knobs."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from routy_app.sandbox.core.state import SandboxState


def routes(state: SandboxState) -> list[Route]:
    async def add_fault(request: Request) -> JSONResponse:
        body = await request.json()
        if not body.get("operation") or not body.get("condition"):
            return JSONResponse({"error": "operation and condition are required"}, status_code=422)
        fault = state.faults.add(
            body["operation"], body["condition"], int(body.get("times", 1)), **(body.get("params") or {})
        )
        return JSONResponse(fault.describe(), status_code=201)

    async def list_faults(_: Request) -> JSONResponse:
        return JSONResponse({"faults": state.faults.pending()})

    async def clear_faults(_: Request) -> JSONResponse:
        state.faults.clear()
        return JSONResponse({"ok": True})

    async def token_action(request: Request) -> JSONResponse:
        body = await request.json()
        action = request.path_params["action"]
        values = state.tokens.all_values() if body.get("all") else [body.get("token", "")]
        if body.get("provider"):
            values = [v for v in values if (t := state.tokens.get(v)) and t.provider == body["provider"]]
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
            body = await request.json()
            known = {f.name for f in dataclasses.fields(state.config)}
            unknown = sorted(set(body) - known)
            if unknown:
                return JSONResponse({"error": f"unknown settings: {', '.join(unknown)}"}, status_code=422)
            for key, value in body.items():
                setattr(state.config, key, value)
        return JSONResponse(dataclasses.asdict(state.config))

    async def issued_tokens(_: Request) -> JSONResponse:
        """Every token value the emulated OAuth servers issued (for tests that prove none leaked)."""
        return JSONResponse({"tokens": state.tokens.all_values()})

    async def rename_account(request: Request) -> JSONResponse:
        """Give a seeded Google Ads customer another name (process-wide), e.g. to test escaping."""
        import dataclasses as dc

        from routy_app.sandbox.google.ads_data import CUSTOMERS

        body = await request.json()
        customer = CUSTOMERS.get(request.path_params["account_id"])
        if customer is None or not isinstance(body.get("name"), str):
            return JSONResponse({"error": "unknown account or missing name"}, status_code=404)
        CUSTOMERS[customer.id] = dc.replace(customer, name=body["name"])
        return JSONResponse({"id": customer.id, "name": body["name"]})

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
