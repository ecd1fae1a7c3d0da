"""Reflex configuration: telemetry and the sitemap plugin off; the database is ours (routy_app.db).

The state manager and the allowed browser origin follow our settings (routy_app.config.reflex_options):
memory by default, Redis when REDIS_URL is set; CORS and the event socket only for PUBLIC_URL's origin.
The pages reach the backend at PUBLIC_URL (the address browsers use, e.g. a load balancer's), which the
build bakes into its env.json; without it, Reflex's default (localhost and the backend port) applies.
"""

import os

import reflex as rx

from routy_app.config import reflex_options

_public_url = os.environ.get("PUBLIC_URL", "").strip().rstrip("/")

config = rx.Config(
    app_name="routy_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium")),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    **reflex_options(),
    **({"api_url": _public_url} if _public_url else {}),
)
