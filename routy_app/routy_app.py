"""The Reflex app: pages, our API routes (api_transformer) and lifespan tasks."""

import logging

import reflex as rx

from routy_app.api.app import build_api
from routy_app.config import get_settings
from routy_app.logging_setup import configure_logging
from routy_app.pages.account import login_page, setup_page, users_page
from routy_app.pages.notifications import notifications_page
from routy_app.pages.source import source_page
from routy_app.services import jobs
from routy_app.services.alerts import job as alerts_job
from routy_app.services.scheduler import scheduler_lifespan
from routy_app.state.account import LoginState, UsersState
from routy_app.state.notifications import NotificationsState
from routy_app.state.source import SourceState

configure_logging()


def _log_api_versions() -> None:
    """A configured provider API version that has sunset (or soon will) is said at start-up, in every worker."""
    log = logging.getLogger("routy.versions")
    for status in get_settings().api_versions():
        if status.level != "ok":
            log.log(logging.ERROR if status.level == "error" else logging.WARNING, "%s=%s: %s", status.setting,
                    status.version, status.message)


_log_api_versions()

app = rx.App(
    api_transformer=build_api(),
    head_components=[rx.el.link(rel="icon", type="image/svg+xml", href="/favicon.svg")],
)
app.add_page(source_page, route="/", title="Routy Integrations", on_load=SourceState.load)
app.add_page(source_page, route="/sources/[source_id]", title="Routy Integrations", on_load=SourceState.load)
app.add_page(login_page, route="/login", title="Sign in · Routy", on_load=LoginState.load_login)
app.add_page(setup_page, route="/setup", title="Create the admin · Routy", on_load=LoginState.load_setup)
app.add_page(users_page, route="/users", title="Users · Routy", on_load=UsersState.load)
app.add_page(notifications_page, route="/notifications", title="Notifications · Routy", on_load=NotificationsState.load)

jobs.install()
alerts_job.install()
app.register_lifespan_task(scheduler_lifespan)
