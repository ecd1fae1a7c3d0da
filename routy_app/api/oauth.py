"""GET /oauth/{provider}/callback: the provider sends the browser back here after consent.

Always answers with a redirect to the traffic source page, carrying the outcome in the query
(`connected=` opens the account picker; `oauth_error=` is a code the page turns into our own text,
see integrations.CALLBACK_MESSAGES; the provider's detail goes to the server log, not the URL).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse

from routy_app import routes
from routy_app.db import session_scope
from routy_app.services import auth, integrations
from routy_app.services.audit import Actor
from routy_app.services.hub import default_hub

log = logging.getLogger("routy.oauth")


async def oauth_callback(request: Request) -> RedirectResponse:
    provider = request.path_params["provider"]
    params = dict(request.query_params.items())
    token = request.cookies.get(auth.SESSION_COOKIE)
    outcome = await integrations.complete_oauth(
        default_hub(),
        provider,
        params,
        session_id=auth.session_id_for_token(token) if token else None,
        actor=_actor(token),
    )
    page = routes.source(outcome.source_id)
    if outcome.ok:
        query = {"connected": provider, "integration": str(outcome.integration_id or "")}
    else:
        log.warning("OAuth callback for %s refused: %s", provider, outcome.message)
        query = {"oauth_error": outcome.code, "provider": provider}
    return RedirectResponse(f"{page}?{urlencode(query)}", status_code=303)


def _actor(token: str | None) -> Actor:
    """Who came back from the consent page (the session cookie's user), for the audit row."""
    with session_scope() as session:
        user = auth.user_for_token(session, token)
        return Actor(user.email, user.id) if user else Actor.system()
