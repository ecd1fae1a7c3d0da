"""The Reflex app: pages, our API routes (api_transformer) and lifespan tasks."""

import logging

import reflex as rx
from starlette.types import ASGIApp

from routy_app import routes
from routy_app.api.app import build_api
from routy_app.config import ConfigError, get_settings
from routy_app.logging_setup import configure_logging
from routy_app.observability.metrics import HttpTiming
from routy_app.ops.workers import check_workers
from routy_app.pages.account import login_page, setup_page, users_page
from routy_app.pages.integration import integration_page
from routy_app.pages.notifications import notifications_page
from routy_app.pages.source import source_page
from routy_app.security import secure
from routy_app.services.lifespan import app_lifespan
from routy_app.state.account import LoginState, UsersState
from routy_app.state.auth import SessionBinding
from routy_app.state.connect import ConnectState
from routy_app.state.mappings import MappingsState, PushHistoryState
from routy_app.state.metrics import MetricsState
from routy_app.state.notifications import NotificationsState
from routy_app.state.oneshot import PageLoadReset
from routy_app.state.settings import SettingsState
from routy_app.state.source import SourceState
from routy_app.state.sync import SyncState

configure_logging()
try:
    check_workers(get_settings())  # several workers need REDIS_URL (also checked by `migrate`)
except ConfigError as exc:
    raise SystemExit(f"routy: {exc}") from None


def _log_api_versions() -> None:
    """A configured provider API version that has sunset (or soon will) is said at start-up, in every worker."""
    log = logging.getLogger("routy.versions")
    for status in get_settings().api_versions():
        if status.level != "ok":
            log.log(
                logging.ERROR if status.level == "error" else logging.WARNING,
                "%s=%s: %s",
                status.setting,
                status.version,
                status.message,
            )


_log_api_versions()


class RoutyApp(rx.App):
    """Reflex's app with our security layer as the outermost ASGI app (routy_app/security).

    Outermost, so its checks and headers cover everything Reflex serves too: pages, static files,
    the event socket and the CORS answers Reflex's own middleware gives.
    """

    def __call__(self) -> ASGIApp:
        return secure(super().__call__())


app = RoutyApp(
    api_transformer=[build_api(), HttpTiming],  # HttpTiming wraps the whole backend: /metrics latency
    head_components=[rx.el.link(rel="icon", type="image/svg+xml", href="/favicon.svg")],
    stylesheets=["/routy.css"],  # assets/routy.css: long provider words wrap inside callouts and Details
)
# Each page lists the loaders of every state it shows (the Reflex examples' pattern): no state loads another.
SOURCE_LOADERS = [SourceState.load, ConnectState.on_page_load, SettingsState.on_page_load]
app.add_page(source_page, route=routes.HOME, title="Routy Integrations", on_load=SOURCE_LOADERS)
app.add_page(source_page, route=routes.SOURCE, title="Routy Integrations", on_load=SOURCE_LOADERS)
app.add_page(
    integration_page,
    route=routes.INTEGRATION,
    title="Integration · Routy",
    on_load=[
        SourceState.load,  # first: a signed-out browser goes to sign in, and comes back to this tab
        ConnectState.on_page_load,
        SettingsState.load_page,
        SyncState.load_page,
        MappingsState.load_page,
        PushHistoryState.load_page,
        MetricsState.load_page,
    ],
)
app.add_page(login_page, route=routes.LOGIN, title="Sign in · Routy", on_load=LoginState.load_login)
app.add_page(setup_page, route=routes.SETUP, title="Create the admin · Routy", on_load=LoginState.load_setup)
app.add_page(users_page, route=routes.USERS, title="Users · Routy", on_load=UsersState.load)
app.add_page(
    notifications_page, route=routes.NOTIFICATIONS, title="Notifications · Routy", on_load=NotificationsState.load
)

app.add_middleware(SessionBinding())  # first: a new session starts from fresh states
app.add_middleware(PageLoadReset())
app.register_lifespan_task(app_lifespan)
