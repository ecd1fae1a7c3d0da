"""Sign-in meets the connection flow: OAuth state bound to the browser session, and no secret
(provider token, session token, password) lands in the SQLite file in the clear."""

from __future__ import annotations

from pathlib import Path

from routy_app.db import get_engine, session_scope
from routy_app.services import auth, integrations
from routy_app.services.audit import scan_for_secrets
from tests.integration.consent import consent
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture
from tests.markers import sqlite_only

PASSWORD = "Blue-Kettle-Walks-42"


def _signed_in(email: str, role: str = "admin") -> str:
    with session_scope() as s:
        if auth.needs_first_admin(s):
            auth.create_first_admin(s, email, PASSWORD)
        else:
            auth.add_user(s, email, PASSWORD, role)
        result = auth.sign_in(s, email, PASSWORD, "127.0.0.1", "pytest")
    assert result.ok, result.message
    return result.token


async def test_callback_from_another_signed_in_session_is_refused(hub):
    alice, bob = _signed_in("alice@example.com"), _signed_in("bob@example.com")
    url = await integrations.start_oauth(hub, 1, "google_ads", session_id=auth.session_id_for_token(alice))
    params = await consent(hub.http, url, "allow")
    stolen = await integrations.complete_oauth(hub, "google_ads", params, session_id=auth.session_id_for_token(bob))
    assert not stolen.ok and "another browser session" in stolen.message
    own = await integrations.complete_oauth(hub, "google_ads", params, session_id=auth.session_id_for_token(alice))
    assert own.ok, own.message


@sqlite_only
async def test_database_file_holds_no_token_or_password_in_the_clear(hub, sandbox_state):
    session_token = _signed_in("alice@example.com")
    await connected_integration(hub, "google_ads")
    await connected_integration(hub, "meta_ads")
    provider_tokens = sandbox_state.tokens.all_values()
    assert len(provider_tokens) >= 3  # google access + refresh, meta long-lived
    with session_scope() as s:
        assert auth.user_for_token(s, session_token) is not None
    get_engine().dispose()  # closing checkpoints the WAL; scan the main file and whatever is left
    db_file = Path(get_engine().url.database)
    files = [db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")]
    assert db_file.stat().st_size > 0
    assert scan_for_secrets(files, [*provider_tokens, session_token, PASSWORD]) == []
    # the scan does see what is stored (the email), so the empty answer above means something
    assert scan_for_secrets(files, ["alice@example.com"]) != []
