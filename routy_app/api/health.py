"""GET /healthz: is the database reachable, which version runs, which provider mode."""

from starlette.requests import Request
from starlette.responses import JSONResponse

from routy_app import __version__
from routy_app.config import get_settings
from routy_app.db import ping


async def healthz(_request: Request) -> JSONResponse:
    db_ok = ping()
    body = {"status": "ok" if db_ok else "degraded", "db": db_ok, "version": __version__,
            "provider_mode": get_settings().provider_mode}
    return JSONResponse(body, status_code=200 if db_ok else 503)
