"""GET /healthz: is the database reachable, which version runs, which provider mode, API versions.

A configured provider API version that has sunset makes the status "degraded" (every call to that
provider fails) but keeps HTTP 200 while the database answers: the app still serves its data and
the admin needs the UI to see what to change. A database that does not answer is a 503.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse

from routy_app import __version__
from routy_app.config import get_settings
from routy_app.db import ping
from routy_app.providers.versions import worst


async def healthz(_request: Request) -> JSONResponse:
    settings = get_settings()
    db_ok = ping()
    statuses = settings.api_versions()
    api_versions = [
        {
            "api": s.api,
            "setting": s.setting,
            "version": s.version,
            "status": s.level,
            "sunset": s.sunset,
            "message": s.message,
        }
        for s in statuses
    ]
    status = "ok" if db_ok and worst(statuses) != "error" else "degraded"
    body = {
        "status": status,
        "db": db_ok,
        "version": __version__,
        "provider_mode": settings.provider_mode,
        "api_versions": api_versions,
    }
    return JSONResponse(body, status_code=200 if db_ok else 503)
