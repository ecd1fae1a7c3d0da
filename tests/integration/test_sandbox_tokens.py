"""The sandbox's signed tokens: still valid after a restart (same secret), refused with another."""

from routy_app.sandbox.core.state import TokenStore


def test_signed_tokens_survive_a_restart_and_revocation_cascades():
    before = TokenStore(b"k" * 32)
    refresh = before.issue("google", "refresh", None, "scope-a", prefix="1//sandbox-")
    access = before.issue("google", "access", 3600, "scope-a", refresh_token=refresh.value, prefix="ya29.sandbox-")
    after = TokenStore(b"k" * 32)  # a new process with the same secret
    assert after.check(access.value) == "ok"
    assert after.get(refresh.value).scope == "scope-a"
    after.revoke(refresh.value)
    assert after.check(access.value) == "revoked"


def test_tokens_are_refused_by_another_secret_or_when_tampered():
    token = TokenStore(b"k" * 32).issue("meta", "access", 3600, prefix="EAA").value
    assert TokenStore(b"x" * 32).check(token) == "invalid"
    assert TokenStore(b"k" * 32).check(token[:-3] + "AAA") == "invalid"
    assert TokenStore().check(token) == "invalid"


def test_expired_signed_token_is_expired_after_restart():
    token = TokenStore(b"k" * 32).issue("google", "access", -1, prefix="ya29.sandbox-").value
    assert TokenStore(b"k" * 32).check(token) == "expired"
