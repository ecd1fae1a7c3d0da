"""One integration's page: /sources/{id}/integrations/{integration_id}/{tab} (it replaced the Settings dialog)."""

from __future__ import annotations

import reflex as rx

from routy_app.components.integration_view import integration_view
from routy_app.components.layout import shell
from routy_app.components.notices import provider_redirect


def integration_page() -> rx.Component:
    return shell(integration_view(), provider_redirect())
