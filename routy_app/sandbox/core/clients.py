"""The redirect URIs registered with the sandbox's OAuth clients (Google's Cloud console, Meta's
"Valid OAuth Redirect URIs"): the app's own callbacks, `{PUBLIC_URL}/oauth/<provider>/callback`, exactly
as the app builds them (routy_app/routes.py `oauth_callback`). The real hosts refuse any other
redirect_uri with an error page and never redirect to it; so does the sandbox (an open redirect otherwise).

PUBLIC_URL is the app's setting, read from the same environment variable the app reads (the sandbox
imports nothing of the app's), unless SandboxConfig.public_url names it.
"""

from __future__ import annotations

import os
import re

DEFAULT_PUBLIC_URL = "http://localhost:3000"  # the app's default PUBLIC_URL (routy_app/config.py)
_CALLBACK = re.compile(r"/oauth/[a-z0-9_]{1,64}/callback")


def app_public_url(configured: str | None = None) -> str:
    """The app's PUBLIC_URL without a trailing slash."""
    return (configured or os.environ.get("PUBLIC_URL") or DEFAULT_PUBLIC_URL).strip().rstrip("/")


def registered_redirect(uri: str, public_url: str | None = None) -> bool:
    """True when `uri` is one of the app's OAuth callbacks: no other path, query or fragment."""
    base = app_public_url(public_url)
    return uri.startswith(base + "/") and _CALLBACK.fullmatch(uri[len(base) :]) is not None
