"""Placeholder until the meta emulator lands."""

from starlette.routing import BaseRoute

from routy_app.sandbox.state import SandboxState


def routes(state: SandboxState) -> list[BaseRoute]:
    return []
