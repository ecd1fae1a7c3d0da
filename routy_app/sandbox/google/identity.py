"""Emulated Google identity: the consent page, the token endpoint (code + refresh grants) and revoke.

Mirrors accounts.google.com / oauth2.googleapis.com closely enough that the adapter's real OAuth code
runs unchanged: PKCE (S256 or plain), single-use codes bound to their redirect_uri, granular consent
(the page lets a person untick a scope), refresh tokens only for access_type=offline, and
`invalid_grant` "Token has been expired or revoked." once a grant is revoked.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from routy_app.sandbox.core.clients import registered_redirect
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.google.errors import malformed_response
from routy_app.sandbox_defaults import SANDBOX_GOOGLE_CLIENT_ID, SANDBOX_GOOGLE_CLIENT_SECRET

SCOPE_LABELS = {
    "https://www.googleapis.com/auth/adwords": "See, edit, create and delete your Google Ads accounts and data.",
    "https://www.googleapis.com/auth/datamanager": "Send your conversion and audience data to Google Ads "
    "(Data Manager API).",
    "https://www.googleapis.com/auth/analytics.readonly": "See and download your Google Analytics data.",
}
OAUTH_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "include_granted_scopes",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
)
INVALID_GRANT = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{ font-family: system-ui, sans-serif; background: #f1f3f4; margin: 0; }}
 main {{ max-width: 460px; margin: 48px auto; background: #fff; border-radius: 8px; padding: 32px;
        box-shadow: 0 1px 3px rgba(0,0,0,.2); }}
 h1 {{ font-size: 1.4rem; font-weight: 500; }}
 .sandbox {{ color: #b06000; font-size: .85rem; }}
 ul {{ list-style: none; padding: 0; }} li {{ margin: .6rem 0; }}
 .actions {{ display: flex; gap: 12px; justify-content: flex-end; margin-top: 24px; }}
 button {{ font-size: 1rem; padding: 8px 20px; border-radius: 4px; cursor: pointer; }}
 .allow {{ background: #1a73e8; color: #fff; border: 0; }} .deny {{ background: #fff; border: 1px solid #dadce0; }}
 .error {{ color: #c5221f; }}
</style></head>
<body><main>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def _error_page(error: str, detail: str) -> HTMLResponse:
    """Google shows an error page (never a redirect) when the client or redirect URI is not trusted."""
    body = (
        f'<p class="sandbox">Sign in with Google (Routy sandbox)</p><h1>Access blocked: authorization error</h1>'
        f'<p class="error">Error 400: {html.escape(error)}</p><p>{html.escape(detail)}</p>'
    )
    return _page("Error 400: " + error, body, status=400)


def _hidden(params: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items() if v
    )


def _with_query(url: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _validate(state: SandboxState, params: dict[str, str]) -> HTMLResponse | None:
    if params.get("client_id") != SANDBOX_GOOGLE_CLIENT_ID:
        return _error_page("invalid_client", "The OAuth client was not found.")
    redirect = params.get("redirect_uri", "")
    if not redirect:
        return _error_page("invalid_request", "Missing required parameter: redirect_uri")
    if not registered_redirect(redirect, state.config.public_url):  # never redirect to it: an error page
        return _error_page(
            "redirect_uri_mismatch",
            "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. "
            "If you're the app developer, register the redirect URI in the Google Cloud Console. "
            f"Request details: redirect_uri={redirect}",
        )
    if params.get("response_type") != "code":
        return _error_page("unsupported_response_type", "Only response_type=code is supported.")
    if not params.get("scope", "").split():
        return _error_page("invalid_request", "Missing required parameter: scope")
    method = params.get("code_challenge_method") or ("plain" if params.get("code_challenge") else "")
    if method and method not in ("S256", "plain"):
        return _error_page("invalid_request", "Invalid code_challenge_method.")
    return None


def _consent_page(params: dict[str, str]) -> HTMLResponse:
    scopes = params["scope"].split()
    items = "".join(
        f'<li><label><input type="checkbox" name="granted_scope" value="{html.escape(s)}" checked> '
        f"{html.escape(SCOPE_LABELS.get(s, s))}</label></li>"
        for s in scopes
    )
    hidden = _hidden({k: params.get(k, "") for k in OAUTH_PARAMS})
    body = (
        '<p class="sandbox">Sign in with Google (Routy sandbox: no real Google account is used)</p>'
        "<h1>Routy wants to access your Google Ads accounts</h1>"
        "<p>Signed in as <strong>sandbox-user@example.com</strong>. Routy will be able to:</p>"
        f'<form method="post" id="allow-form">{hidden}<ul>{items}</ul>'
        '<input type="hidden" name="decision" value="allow">'
        f'</form><form method="post" id="deny-form">{hidden}<input type="hidden" name="decision" value="deny"></form>'
        '<div class="actions"><button type="submit" form="deny-form" class="deny">Deny</button>'
        '<button type="submit" form="allow-form" class="allow">Allow</button></div>'
    )
    return _page("Sign in - Google Accounts", body)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _client_credentials(request: Request, form: dict[str, Any]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            return unquote(client_id), unquote(secret)
        except ValueError:
            return "", ""
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


@dataclass
class OfflineCodes:
    """Authorization codes asked for with access_type=offline: exchanging one also issues a refresh token."""

    codes: set[str] = field(default_factory=set)


def routes(state: SandboxState) -> list[BaseRoute]:

    async def authorize(request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
            return _validate(state, params) or _consent_page(params)
        form = await request.form()
        params = {k: str(v) for k, v in form.items() if k in OAUTH_PARAMS}
        if (error := _validate(state, params)) is not None:
            return error
        redirect = params["redirect_uri"]
        granted = [s for s in form.getlist("granted_scope") if s in params["scope"].split()]
        if form.get("decision") != "allow" or not granted:
            return RedirectResponse(
                _with_query(redirect, {"error": "access_denied", "state": params.get("state")}), status_code=303
            )
        scope = " ".join(granted)
        code = state.tokens.issue_code(
            "google",
            params["client_id"],
            redirect,
            scope,
            params.get("code_challenge") or None,
            params.get("code_challenge_method") or ("plain" if params.get("code_challenge") else None),
        )
        if params.get("access_type") == "offline":
            state.part(OfflineCodes).codes.add(code)
        return RedirectResponse(
            _with_query(redirect, {"code": code, "scope": scope, "state": params.get("state")}), status_code=303
        )

    async def token(request: Request) -> Response:
        fault = state.faults.take("google.token")
        if fault is not None:
            if fault.condition == "revoked_refresh":
                return JSONResponse(INVALID_GRANT, status_code=400)
            if fault.condition == "malformed":
                return malformed_response()
            if fault.condition in ("http_500", "http_503"):
                code = 500 if fault.condition == "http_500" else 503
                headers = {"Retry-After": str(fault.params["retry_after"])} if "retry_after" in fault.params else None
                return JSONResponse(
                    {"error": "internal_failure", "error_description": "Backend Error"},
                    status_code=code,
                    headers=headers,
                )
            if fault.condition == "quota_429":
                return JSONResponse(
                    {"error": "rate_limit_exceeded", "error_description": "Rate Limit Exceeded"}, status_code=429
                )
            return JSONResponse(
                {"error": "server_error", "error_description": f"sandbox: unsupported fault {fault.condition!r}"},
                status_code=500,
            )
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, secret = _client_credentials(request, form)
        if client_id != SANDBOX_GOOGLE_CLIENT_ID or secret != SANDBOX_GOOGLE_CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client", "error_description": "Unauthorized"}, status_code=401)
        grant = form.get("grant_type")
        lifetime = state.config.access_token_lifetime
        if grant == "authorization_code":
            return _exchange(form, client_id, lifetime)
        if grant == "refresh_token":
            refresh = state.tokens.get(form.get("refresh_token", ""))
            if (
                refresh is None
                or refresh.provider != "google"
                or refresh.kind != "refresh"
                or state.tokens.check(refresh.value) != "ok"
            ):
                return JSONResponse(INVALID_GRANT, status_code=400)
            access = state.tokens.issue(
                "google", "access", lifetime, refresh.scope, refresh_token=refresh.value, prefix="ya29.sandbox-"
            )
            return JSONResponse(
                {"access_token": access.value, "expires_in": lifetime, "scope": refresh.scope, "token_type": "Bearer"}
            )
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant}"}, status_code=400
        )

    def _exchange(form: dict[str, str], client_id: str, lifetime: int) -> Response:
        found = state.tokens.take_code(form.get("code", ""))
        if found is None or found.provider != "google" or found.client_id != client_id:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Malformed auth code."}, status_code=400
            )
        if form.get("redirect_uri") != found.redirect_uri:
            return JSONResponse({"error": "redirect_uri_mismatch", "error_description": "Bad Request"}, status_code=400)
        verifier = form.get("code_verifier", "")
        if found.code_challenge:
            if not verifier:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "Missing code verifier."}, status_code=400
                )
            expected = _s256(verifier) if found.code_challenge_method == "S256" else verifier
            if not secrets.compare_digest(expected, found.code_challenge):
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "Invalid code verifier."}, status_code=400
                )
        body: dict[str, Any] = {"expires_in": lifetime, "scope": found.scope, "token_type": "Bearer"}
        refresh_value = None
        offline = state.part(OfflineCodes).codes
        if found.code in offline:
            offline.discard(found.code)
            refresh_lifetime = state.config.google_refresh_token_lifetime
            refresh = state.tokens.issue("google", "refresh", refresh_lifetime, found.scope, prefix="1//sandbox-")
            refresh_value = body["refresh_token"] = refresh.value
            if refresh_lifetime is not None:
                body["refresh_token_expires_in"] = int(refresh_lifetime)
        access = state.tokens.issue(
            "google", "access", lifetime, found.scope, refresh_token=refresh_value, prefix="ya29.sandbox-"
        )
        body["access_token"] = access.value
        return JSONResponse(body)

    async def revoke(request: Request) -> Response:
        value = request.query_params.get("token")
        if not value:
            value = str((await request.form()).get("token", ""))
        found = state.tokens.get(value)
        if found is None or found.provider != "google" or found.revoked:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Token expired or revoked"}, status_code=400
            )
        # Revoking an access token revokes the whole grant, i.e. its refresh token too (as Google does).
        state.tokens.revoke(found.refresh_token if found.kind == "access" and found.refresh_token else value)
        state.tokens.revoke(value)
        return JSONResponse({})

    return [
        Route("/o/oauth2/v2/auth", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["POST"]),
    ]
