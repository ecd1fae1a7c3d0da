"""Security headers on every answer: pages, static files, our API, the sandbox, errors.

The Content-Security-Policy is one the app works under (tests/e2e/test_headers_and_limits.py walks
the main journeys and fails on any violation in the browser console):
- scripts: our own files plus the inline scripts of *our* build, allowed by their SHA-256 (React
  Router and Reflex inline a few bootstrap scripts into each prerendered page; the hashes are read
  from the built HTML, so a rebuild is picked up). No 'unsafe-inline', no 'unsafe-eval': the app
  never asks the browser to evaluate a string (server-sent toasts and redirects go through state).
- styles: 'unsafe-inline' is needed: Emotion (Reflex's styling) writes <style> blocks into the
  prerendered pages and at run time, and React sets style attributes.
- connect: our own origin, including its ws(s):// form for the event socket.
- frame-ancestors 'none' (and X-Frame-Options: DENY) against clickjacking; form-action 'self'.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from routy_app.config import get_settings

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
HSTS = b"max-age=31536000"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, build_dir: Path | None = None) -> None:
        self.app = app
        self._build_dir = build_dir
        self._hashes: tuple[float, tuple[str, ...]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers() if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)

    def headers(self) -> list[tuple[bytes, bytes]]:
        settings = get_settings()
        out = [
            (b"content-security-policy", self.policy(settings.public_origin).encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
        if settings.public_url.startswith("https://"):
            out.append((b"strict-transport-security", HSTS))
        return out

    def policy(self, origin: str) -> str:
        parts = urlsplit(origin)
        socket_origin = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
        scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in self.script_hashes())])
        return "; ".join(
            [
                "default-src 'self'",
                f"script-src {scripts}",
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data: blob:",
                "font-src 'self' data:",
                f"connect-src 'self' {socket_origin}",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ]
        )

    def script_hashes(self) -> tuple[str, ...]:
        """SHA-256 of every inline script in the built pages, re-read when the build changes."""
        build = self.build_dir()
        try:
            stamp = build.stat().st_mtime
        except OSError:
            return ()
        if self._hashes is None or self._hashes[0] != stamp:
            self._hashes = (stamp, inline_script_hashes(build))
        return self._hashes[1]

    def build_dir(self) -> Path:
        if self._build_dir is None:
            from reflex.utils import prerequisites
            from reflex_base import constants

            self._build_dir = (prerequisites.get_web_dir() / constants.Dirs.STATIC).resolve()
        return self._build_dir


def inline_script_hashes(build_dir: Path) -> tuple[str, ...]:
    found: set[str] = set()
    for page in sorted(build_dir.rglob("*.html")):
        for body in _INLINE_SCRIPT.findall(page.read_bytes()):
            found.add(base64.b64encode(hashlib.sha256(body).digest()).decode())
    return tuple(sorted(found))
