"""Meta emulator: the OAuth dialog under /facebook and the Graph API under /graph.

Why: one place that mounts the Meta parts (oauth, insights, capi) the way the real
hosts lay them out, dispatching Graph's generic `/{ver}/{node}` and `/{ver}/{node}/{edge}` paths
on what the node is (an `act_` ad account, an async report run, a pixel).

Fault operations (state.faults / POST /sandbox/_control/faults):
  meta.token, meta.debug_token, meta.adaccounts, meta.account (GET act_{id}), meta.insights
  (sync GET, async POST, GET {run}/insights), meta.report_run (GET {run}), meta.events, meta.pixels,
  meta.permissions (DELETE me/permissions).
Conditions: expired_token, revoked_token (params: subcode), throttle_4, throttle_17, throttle_613,
  throttle_80000, throttle_80004 (params: estimated_time_to_regain_access, minutes, default 1),
  transient_2 (params: status, default 500), reduce_data, http_500, permission_denied,
  invalid_parameter, malformed (params: status, default 200), job_failed (meta.report_run only).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from routy_app.sandbox.core import api_versions
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.meta import capi, insights, oauth
from routy_app.sandbox.meta import graph as g


def routes(state: SandboxState) -> list[BaseRoute]:
    ins = insights.routes(state)
    conversions = capi.routes(state)

    def unknown(node: str, edge: str | None, method: str) -> Response:
        if edge is None:
            return g.no_such_object(state, node, method.lower())
        return g.graph_error(state, f"Unknown path components: /{edge}", 2500)

    async def node(request: Request) -> Response:
        name = request.path_params["node"]
        if (account := g.find_account(name)) and name.startswith("act_"):
            return await ins.account_node(request, account)
        if insights.is_report_run(state, name):
            return await ins.run_node(request, name)
        if g.find_pixel(state, name):
            return await conversions.pixel_node(request, name)
        return unknown(name, None, request.method)

    async def edge(request: Request) -> Response:
        name, what = request.path_params["node"], request.path_params["edge"]
        account = g.find_account(name) if name.startswith("act_") else None
        if name.startswith("act_") and account is None:
            return g.no_such_object(state, name, request.method.lower())
        if account and what == "insights":
            return await ins.insights(request, account)
        if account and what == "adspixels" and request.method == "GET":
            return await conversions.adspixels(request, account)
        if insights.is_report_run(state, name) and what == "insights" and request.method == "GET":
            return await ins.run_insights(request, name)
        if what == "events" and request.method == "POST":
            if not g.find_pixel(state, name):
                return g.no_such_object(state, name, "post")
            return await conversions.events(request, name)
        return unknown(name, what, request.method)

    def marketing(handler: g.Endpoint) -> g.Endpoint:
        """Marketing API endpoints answer only on versions Meta still serves (login and debug_token follow
        the Graph API's longer schedule and are not gated)."""

        async def gated(request: Request) -> Response:
            version = request.path_params["ver"]
            served = api_versions.meta_marketing(version)
            if served == "expired":
                return g.graph_error(
                    state,
                    "(#2635) You are calling a deprecated version of the Ads API. Please "
                    f"update to the latest version: {api_versions.META_NEWEST}.",
                    2635,
                )
            if served == "unknown":
                return g.graph_error(state, f"Unknown path components: /{version}", 2500)
            return await handler(request)

        return gated

    graph = [Route(path, fn, methods=methods) for path, fn, methods in oauth.graph_routes(state)]
    graph += [
        Route("/{ver}/me/adaccounts", marketing(ins.adaccounts), methods=["GET"]),
        Route("/{ver}/{node}", marketing(node), methods=["GET"]),
        Route("/{ver}/{node}/{edge}", marketing(edge), methods=["GET", "POST"]),
    ]
    dialog = [Route(path, fn, methods=methods) for path, fn, methods in oauth.dialog_routes(state)]
    return [Mount("/facebook", routes=dialog), Mount("/graph", routes=graph)]
