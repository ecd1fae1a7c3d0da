"""Google's emulated hosts under the sandbox mount: identity (OAuth), Google Ads API, Data Manager API.

Mount points follow routy_app/providers/endpoints.py SANDBOX_PATHS.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from routy_app.sandbox import datamanager, google_ads_api, google_identity
from routy_app.sandbox.state import SandboxState


def routes(state: SandboxState) -> list[BaseRoute]:
    return [
        Mount("/google", routes=google_identity.routes(state)),
        Mount("/googleads", routes=google_ads_api.routes(state)),
        Mount("/datamanager", routes=datamanager.routes(state)),
    ]
