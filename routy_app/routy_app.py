"""The Reflex app: pages, our API routes (api_transformer) and lifespan tasks."""

import reflex as rx

from routy_app.api.app import build_api
from routy_app.logging_setup import configure_logging
from routy_app.pages.account import login_page, setup_page, users_page
from routy_app.pages.source import source_page
from routy_app.services.lifespan import app_lifespan
from routy_app.state.account import LoginState, UsersState
from routy_app.state.source import SourceState

configure_logging()

app = rx.App(
    api_transformer=build_api(),
    head_components=[rx.el.link(rel="icon", type="image/svg+xml", href="/favicon.svg")],
)
app.add_page(source_page, route="/", title="Routy Integrations", on_load=SourceState.load)
app.add_page(source_page, route="/sources/[source_id]", title="Routy Integrations", on_load=SourceState.load)
app.add_page(login_page, route="/login", title="Sign in · Routy", on_load=LoginState.load_login)
app.add_page(setup_page, route="/setup", title="Create the admin · Routy", on_load=LoginState.load_setup)
app.add_page(users_page, route="/users", title="Users · Routy", on_load=UsersState.load)

app.register_lifespan_task(app_lifespan)
