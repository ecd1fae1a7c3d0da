"""Google's emulated hosts under the sandbox mount: identity (OAuth), Google Ads API, Data Manager API.

Mount points follow routy_app/providers/endpoints.py SANDBOX_PATHS.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.google import ads_api, datamanager, identity


def routes(state: SandboxState) -> list[BaseRoute]:
    return [
        Mount("/google", routes=identity.routes(state)),
        Mount("/googleads", routes=ads_api.routes(state)),
        Mount("/datamanager", routes=datamanager.routes(state)),
    ]
