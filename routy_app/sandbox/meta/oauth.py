"""Meta login emulator: the OAuth dialog page, code/token exchange, debug_token, revocation.

Why: Routy connects Meta with the classic web flow: dialog -> `?code&state`
-> short-lived token -> long-lived token (`fb_exchange_token`, about 60 days, no refresh token).
The dialog is a real HTML page a person (or Playwright) can use: buttons "Allow" and "Deny"
submit a POST form back to the same URL, which redirects to the app's redirect_uri.
"""

from __future__ import annotations

import html
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from routy_app.sandbox.core.clients import registered_redirect
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.meta import graph as g
from routy_app.sandbox_defaults import SANDBOX_META_APP_ID, SANDBOX_META_APP_SECRET

RouteSpec = tuple[str, Callable[[Request], Awaitable[Response]], list[str]]  # (path, endpoint, methods)

SCOPE_TEXT = {
    "ads_read": "Read your ad accounts' performance (Ads Insights)",
    "ads_management": "Manage your ads and send conversion events",
    "business_management": "Read your Business Manager assets",
}


def _with_params(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _error_page(title: str, text: str, status: int = 400) -> HTMLResponse:
    body = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def _check_dialog(state: SandboxState, client_id: str, redirect_uri: str) -> HTMLResponse | None:
    """Meta answers an unregistered redirect_uri with its "URL blocked" page, never a redirect."""
    if client_id != SANDBOX_META_APP_ID:
        return _error_page("Invalid App ID", "The provided app ID does not look like a valid app ID.")
    if not registered_redirect(redirect_uri, state.config.public_url):
        return _error_page(
            "URL blocked",
            "This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings.",
        )
    return None


def _dialog_page(request: Request, client_id: str, redirect_uri: str, state_value: str, scope: str) -> HTMLResponse:
    e = html.escape
    scopes = [s.strip() for s in scope.split(",") if s.strip()]
    # Each permission can be declined, as in Facebook Login's "Edit access" step.
    items = (
        "".join(
            f"<li><label><input type='checkbox' name='granted_scope' value='{e(s)}' checked> <code>{e(s)}"
            f"</code> &mdash; {e(SCOPE_TEXT.get(s, 'Additional permission'))}</label></li>"
            for s in scopes
        )
        or "<li>Your public profile</li>"
    )
    accounts = "".join(f"<li>{e(a.name)} ({e(a.id)}, {e(a.currency)})</li>" for a in g.AD_ACCOUNTS)
    hidden = "".join(
        f"<input type='hidden' name='{e(k)}' value='{e(v)}'>"
        for k, v in (("client_id", client_id), ("redirect_uri", redirect_uri), ("state", state_value), ("scope", scope))
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in with Facebook (sandbox)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;background:#f0f2f5;margin:0}}
main{{max-width:32rem;margin:3rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;
box-shadow:0 1px 3px rgba(0,0,0,.2)}}h1{{font-size:1.3rem}}.actions{{display:flex;gap:1rem;margin-top:1.5rem}}
button{{font-size:1rem;padding:.6rem 1.4rem;border-radius:6px;border:1px solid #ccd0d5;cursor:pointer}}
button[value=allow]{{background:#1877f2;color:#fff;border-color:#1877f2}}</style></head>
<body><main>
<p>Meta for Developers &middot; sandbox &middot; signed in as Sandbox User</p>
<h1>Routy wants to access your Meta ad accounts</h1>
<form method="post" action="{e(request.url.path)}">{hidden}
<p>{e(g.APP_NAME)} (app {e(client_id)}) is asking for these permissions:</p>
<ul>{items}</ul>
<p>Ad accounts it will be able to reach:</p><ul>{accounts}</ul>
<p>After you choose, you will be sent back to <code>{e(redirect_uri)}</code>.</p>
<div class="actions"><button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></div>
</form></main></body></html>"""
    return HTMLResponse(body)


def dialog_routes(state: SandboxState) -> list[RouteSpec]:
    """GET renders the consent page; POST (the page's form) redirects back with a code or an error."""

    async def dialog(request: Request) -> Response:
        if request.method == "GET":
            q = request.query_params
            client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
            problem = _check_dialog(state, client_id, redirect_uri)
            if problem:
                return problem
            return _dialog_page(request, client_id, redirect_uri, q.get("state", ""), q.get("scope", ""))
        form = await request.form()
        client_id, redirect_uri = str(form.get("client_id", "")), str(form.get("redirect_uri", ""))
        problem = _check_dialog(state, client_id, redirect_uri)
        if problem:
            return problem
        state_value, scope = str(form.get("state", "")), str(form.get("scope", ""))
        if form.get("decision") != "allow":
            target = _with_params(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_code": "200",
                    "error_description": "Permissions error",
                    "error_reason": "user_denied",
                    "state": state_value,
                },
            )
            return RedirectResponse(target, status_code=302)
        requested = [x.strip() for x in scope.split(",") if x.strip()]
        granted = [x for x in form.getlist("granted_scope") if x in requested]
        code = state.tokens.issue_code("meta", client_id, redirect_uri, ",".join(granted), None, None)
        return RedirectResponse(_with_params(redirect_uri, {"code": code, "state": state_value}), status_code=302)

    return [("/{ver}/dialog/oauth", dialog, ["GET", "POST"])]


def graph_routes(state: SandboxState) -> list[RouteSpec]:
    """oauth/access_token, debug_token, DELETE me/permissions and GET me."""

    async def access_token(request: Request) -> Response:
        form = await g.form_or_empty(request)

        def p(name: str) -> str:
            return g.param(request, form, name) or ""

        fault = state.faults.take("meta.token")
        if fault:
            return g.fault_response(state, fault)
        if p("client_id") != SANDBOX_META_APP_ID:
            return g.graph_error(state, "Error validating application. Invalid application ID.", 101)
        if p("client_secret") != SANDBOX_META_APP_SECRET:
            return g.graph_error(state, "Error validating client secret.", 1)
        if p("grant_type") == "fb_exchange_token":
            short = p("fb_exchange_token")
            if not short:
                return g.graph_error(state, "Missing fb_exchange_token parameter", 100)
            if (problem := g.check_user_token(state, request, short)) is not None:
                return problem
            issued_short = state.tokens.get(short)
            scope = issued_short.scope if issued_short else ""  # always found: the check above accepted it
            lifetime = state.config.meta_long_lived_lifetime
            token = state.tokens.issue("meta", "access", lifetime, scope, prefix="EAAL")
            token.extra["lived"] = "long"
            return g.ok(state, {"access_token": token.value, "token_type": "bearer", "expires_in": int(lifetime)})
        code = p("code")
        if not code:
            return g.graph_error(state, "Missing authorization code", 100)
        issued_code = state.tokens.codes.get(code)
        if issued_code is None or issued_code.provider != "meta":
            return g.graph_error(state, "Invalid verification code format.", 100, subcode=36007)
        if issued_code.used:
            return g.graph_error(state, "This authorization code has been used.", 100, subcode=36009)
        if issued_code.redirect_uri != p("redirect_uri"):
            return g.graph_error(
                state,
                "Error validating verification code. Please make sure your redirect_uri "
                "is identical to the one you used in the OAuth dialog request",
                100,
                subcode=36008,
            )
        taken = state.tokens.take_code(code)
        if taken is None:
            return g.graph_error(state, "This authorization code has expired.", 100, subcode=36007)
        lifetime = state.config.access_token_lifetime
        token = state.tokens.issue("meta", "access", lifetime, taken.scope, prefix="EAA")
        token.extra["lived"] = "short"
        return g.ok(state, {"access_token": token.value, "token_type": "bearer", "expires_in": int(lifetime)})

    async def debug_token(request: Request) -> Response:
        caller = g.token_of(request)
        if not (g.is_app_token(caller) or state.tokens.check(caller) == "ok"):
            return g.graph_error(state, "Invalid OAuth access token signature.", 190)
        input_token = request.query_params.get("input_token", "")
        fault = state.faults.take("meta.debug_token")
        if fault and fault.condition in ("expired_token", "revoked_token"):
            g.fault_response(state, fault, input_token)  # applies the change to the token
        elif fault:
            return g.fault_response(state, fault)
        issued = state.tokens.get(input_token)
        if issued is None or issued.provider != "meta":
            return g.ok(
                state,
                {
                    "data": {
                        "error": {"code": 190, "message": "Invalid OAuth access token."},
                        "is_valid": False,
                        "scopes": [],
                    }
                },
            )
        status = state.tokens.check(input_token)
        scopes = [s for s in issued.scope.split(",") if s]
        body = {
            "app_id": SANDBOX_META_APP_ID,
            "type": "USER",
            "application": g.APP_NAME,
            "data_access_expires_at": int(time.time()) + 90 * 86400,
            "expires_at": int(issued.expires_at) if issued.expires_at else 0,
            "is_valid": status == "ok",
            "issued_at": int(time.time()),
            "scopes": scopes,
            "granular_scopes": [
                {"scope": s, "target_ids": [a.account_id for a in g.AD_ACCOUNTS]}
                for s in scopes
                if s.startswith("ads_")
            ],
            "user_id": g.USER_ID,
        }
        if status != "ok":
            subcode = 463 if status == "expired" else int(issued.extra.get("revoked_subcode", 460))
            message = (
                g.EXPIRED_MSG.format(when="an earlier date", now="later")
                if status == "expired"
                else g.REVOKED_MSG.get(subcode, g.REVOKED_MSG[460])
            )
            body["error"] = {"code": 190, "message": message, "subcode": subcode}
        return g.ok(state, {"data": body})

    async def permissions(request: Request) -> Response:
        form = await g.form_or_empty(request)
        token = g.token_of(request, form)
        if (refused := g.refuse(state, request, token, "meta.permissions", form)) is not None:
            return refused
        issued = state.tokens.get(token or "")
        if issued is not None:
            issued.extra["revoked_subcode"] = 458
            state.tokens.revoke(issued.value)
        return g.ok(state, {"success": True})

    async def me(request: Request) -> Response:
        token = g.token_of(request)
        problem = g.check_user_token(state, request, token)
        return problem or g.ok(state, {"id": g.USER_ID, "name": "Sandbox User"})

    return [
        ("/{ver}/oauth/access_token", access_token, ["GET", "POST"]),
        ("/{ver}/debug_token", debug_token, ["GET"]),
        ("/{ver}/me/permissions", permissions, ["DELETE"]),
        ("/{ver}/me", me, ["GET"]),
    ]
