"""Reflex configuration: telemetry and the sitemap plugin off; the database is ours (routy_app.db)."""

import reflex as rx

config = rx.Config(
    app_name="routy_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium")),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
