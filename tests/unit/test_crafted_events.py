"""Events with values no page sends (attack report F9): ignored or refused, and the state keeps working.
Events come from the browser, so anything can arrive; a bad value must neither raise nor stay in the state."""

from __future__ import annotations

import asyncio

import pytest
from reflex.state import State

from routy_app.services.auth.rules import form_message
from routy_app.state import paging, reading
from routy_app.state.auth import AuthState
from routy_app.state.mappings import PushHistoryState


def _substate(cls: type) -> State:
    return State(_reflex_internal_init=True).get_substate(cls.get_full_name().split(".")[1:])


@pytest.mark.parametrize("delta", [10**40, -(10**40), "x", None, True, 1.5, [1]])
def test_paging_ignores_a_delta_that_is_no_small_int(delta):
    assert paging.move(3, delta, 1000, 20) == 3


def test_paging_moves_within_the_pages():
    assert (paging.move(1, 1, 45, 20), paging.move(3, 5, 45, 20), paging.move(1, -1, 45, 20)) == (2, 3, 1)


@pytest.mark.parametrize("wait", ["²", "٣٣", "1e9", "99999999999", "-5", ""])
def test_the_lockout_message_never_raises_on_a_crafted_wait(wait):
    assert "a while" in form_message("locked", wait)


def test_the_lockout_message_names_the_minutes():
    assert "a while" not in form_message("locked", "120")


def test_an_unknown_push_filter_is_ignored(monkeypatch):
    history = _substate(PushHistoryState)
    loaded: list[int] = []
    monkeypatch.setattr(PushHistoryState, "_load", lambda self, integration_id: loaded.append(integration_id))

    async def integration_id(self) -> int:
        return 1

    monkeypatch.setattr(PushHistoryState, "_integration_id", integration_id)
    asyncio.run(PushHistoryState.set_filter.fn(history, "'; drop table conversionpush; --"))
    assert history.status_filter == "all" and loaded == []
    asyncio.run(PushHistoryState.set_filter.fn(history, "failed"))
    assert history.status_filter == "failed" and loaded == [1]


@pytest.mark.parametrize("raw", ["²", "٣", "1" * 5000, "-1", "1e3", "", None, {"x": 1}, "0x10", " 7"])
def test_an_id_in_a_url_that_is_no_plain_number_is_zero(raw):
    assert reading.url_id(raw) == 0


def test_a_plain_id_in_a_url_is_read():
    assert (reading.url_id("42"), reading.url_id(7), reading.url_id("007")) == (42, 7, 7)


def test_auth_helpers_are_not_events():
    assert not {"bind", "resolve", "bound_ref", "sign_in_redirect"} & set(AuthState.event_handlers)
