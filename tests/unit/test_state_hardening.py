"""Reflex state classes under hostile or stale input, on a state tree built in-process (no server)."""

from __future__ import annotations

import asyncio

from reflex.istate.data import HeaderData
from reflex.state import State

from routy_app.db import session_scope
from routy_app.services import auth
from routy_app.state.account import UserRow, UsersState
from routy_app.state.auth import AuthState, SessionBinding
from routy_app.state.conversions import ConversionsState
from routy_app.state.source import SourceState


def _tree() -> State:
    return State(_reflex_internal_init=True)


def _sub(root: State, cls):
    return root.get_substate(cls.get_full_name().split(".")[1:])


def _connect_as(root: State, ref: str) -> None:
    """What the event socket's handshake leaves on the state: headers, with our session reference."""
    root.rx_router_headers = HeaderData.from_router_data({"headers": {auth.SESSION_REF_HEADER: ref} if ref else {}})


# ---------------------------------------------------------------- item 1: the one-time key


def test_a_pickled_conversions_state_never_holds_the_new_key():
    conv = _sub(_tree(), ConversionsState)
    conv.new_key, conv.key_description = "rk_live_THE-ONE-TIME-KEY", "rk_live_…-KEY"
    payload = conv._serialize()  # what the Redis (and disk) state managers write
    assert b"THE-ONE-TIME-KEY" not in payload and b"rk_live_" in payload
    assert conv.new_key == "rk_live_THE-ONE-TIME-KEY"  # the live dialog still shows it


def test_closing_the_key_dialog_forgets_the_key():
    conv = _sub(_tree(), ConversionsState)
    conv.new_key = "rk_live_abc"
    ConversionsState.key_dialog_changed.fn(conv, True)
    assert conv.new_key == "rk_live_abc"
    ConversionsState.key_dialog_changed.fn(conv, False)
    assert conv.new_key == ""


# ---------------------------------------------------------------- item 3: a new session, fresh states


PASSWORD = "Correct-Horse-Battery-9"


def _signed_in(email: str, role: str = "admin") -> str:
    """A real session of a new user; returns its reference (what the event socket sees)."""
    with session_scope() as session:
        auth.add_user(session, email, PASSWORD, role)
        token = auth.sign_in(session, email, PASSWORD).token
    assert token
    return auth.session_ref(token)


def test_a_change_of_session_resets_every_app_state_before_the_event(db):
    admin_ref, viewer_ref = _signed_in("admin@example.com"), _signed_in("viewer@example.com", "viewer")
    root = _tree()
    _connect_as(root, admin_ref)
    asyncio.run(SessionBinding().preprocess(None, root, None))
    conv, users, source = _sub(root, ConversionsState), _sub(root, UsersState), _sub(root, SourceState)
    conv.new_key, source.source_name = "rk_live_admins-key", "Shop"
    users.users = [UserRow("admin@example.com", "admin", "active", "2026-01-01")]
    _sub(root, AuthState).user_email = "admin@example.com"

    asyncio.run(SessionBinding().preprocess(None, root, None))  # same session: nothing changes
    assert conv.new_key == "rk_live_admins-key"

    _connect_as(root, "")  # signed out (then a viewer signs in: another reference)
    asyncio.run(SessionBinding().preprocess(None, root, None))
    assert (conv.new_key, source.source_name, users.users) == ("", "", [])
    assert _sub(root, AuthState).user_email == ""
    _connect_as(root, viewer_ref)
    asyncio.run(SessionBinding().preprocess(None, root, None))
    assert _sub(root, AuthState)._bound_ref == viewer_ref


def test_a_session_that_ended_on_the_server_resets_the_states_though_the_cookie_stays(db):
    ref = _signed_in("admin@example.com")
    root = _tree()
    _connect_as(root, ref)
    asyncio.run(SessionBinding().preprocess(None, root, None))
    conv = _sub(root, ConversionsState)
    conv.new_key = "rk_live_admins-key"
    with session_scope() as session:  # what a password reset or disabling the user does
        user = auth.get_user(session, "admin@example.com")
        assert user is not None and user.id is not None
        auth.revoke_user_sessions(session, user.id)
        session.commit()
    asyncio.run(SessionBinding().preprocess(None, root, None))  # the same cookie, a dead session
    assert conv.new_key == "" and _sub(root, AuthState)._bound_ref == ""


def test_a_page_load_clears_one_shot_fields_before_its_first_frame():
    from reflex_base.event import Event

    from routy_app.state.connect import ConnectState
    from routy_app.state.oneshot import PageLoadReset
    from routy_app.state.toast import ToastState

    root = _tree()
    _sub(root, ConnectState).redirect_url = "http://localhost:3000/sandbox/google/o/oauth2/v2/auth?state=x"
    _sub(root, SourceState).clean_query = True
    _sub(root, ToastState).kind = "success"
    other = Event(name=f"{ConnectState.get_full_name()}.card_action", payload={})
    asyncio.run(PageLoadReset().preprocess(None, root, other))
    assert _sub(root, ConnectState).redirect_url != ""  # an ordinary event leaves them
    hydrate = Event(name=f"{State.get_full_name()}.hydrate_and_load", payload={})
    asyncio.run(PageLoadReset().preprocess(None, root, hydrate))
    assert (
        _sub(root, ConnectState).redirect_url,
        _sub(root, SourceState).clean_query,
        _sub(root, ToastState).kind,
    ) == ("", False, "")


# ---------------------------------------------------------------- issue 15: viewers' disabled controls are refused too


def test_a_viewer_event_sent_despite_the_disabled_controls_is_refused(db):
    from routy_app.db import session_scope
    from routy_app.providers import registry
    from routy_app.state.connect import ConnectState
    from routy_app.state.settings import SettingsState

    password = "Read-Only-pass-5521"
    with session_scope() as s:
        auth.create_first_admin(s, "admin@example.com", "Ops-Lead-pass-8731")
        auth.add_user(s, "viewer@example.com", password, "viewer")
        token = auth.sign_in(s, "viewer@example.com", password, "10.0.0.1", "pytest-agent").token
    root = _tree()
    _connect_as(root, auth.session_ref(token))
    provider = registry.all_definitions()[0].key
    answers = [
        asyncio.run(ConnectState.card_action.fn(_sub(root, ConnectState), provider, "not_connected", 0)),
        SettingsState.set_paused.fn(_sub(root, SettingsState), True),
    ]
    for answer in answers:
        assert "Only admins can" in str(answer), answer
    assert _sub(root, ConnectState).redirect_url == ""
