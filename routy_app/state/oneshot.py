"""One-shot UI fields are cleared whenever a page (re)connects, before its first frame is built.

A few fields ask the browser to do something once when they appear: follow a redirect to a
provider (ConnectState.redirect_url), tidy the address bar (SourceState.clean_query), show a toast
(ToastState.kind). Reflex keeps state per tab across page loads and sends it whole on the hydrate
that starts every page, so a field still set from the previous page would fire again (the
redirect would send the browser straight back to the consent page). They are reset here.
"""

from __future__ import annotations

import functools

import reflex as rx
from reflex.middleware import Middleware
from reflex_base.constants import CompileVars

from routy_app.state.connect import ConnectState
from routy_app.state.source import SourceState
from routy_app.state.toast import ToastState


@functools.cache
def _hydrate_events() -> frozenset[str]:
    root = rx.State.get_full_name()
    return frozenset(f"{root}.{name}" for name in (CompileVars.HYDRATE, CompileVars.HYDRATE_AND_LOAD))


def _one_shot_fields() -> dict[type[rx.State], tuple[str, ...]]:
    return {ConnectState: ("redirect_url",), SourceState: ("clean_query",), ToastState: ("kind",)}


class PageLoadReset(Middleware):
    async def preprocess(self, app, state, event):  # noqa: ANN001 - Reflex's signature
        if event.name not in _hydrate_events():
            return
        root = state._get_root_state()  # noqa: SLF001 - Reflex gives middleware no public way to the root
        for cls, names in _one_shot_fields().items():
            substate = await root.get_state(cls)
            for name in names:
                setattr(substate, name, cls.get_fields()[name].default_value())
        return
