"""`python -m routy_app users ...` and the env admin on `migrate`, through main([...]) on a temp DB."""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from routy_app.__main__ import main
from routy_app.db import session_scope
from routy_app.models import AuditEvent, UserSession
from routy_app.services import auth

GOOD = "Blue-Kettle-Walks-42"


def _run(capsys, monkeypatch, argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_disable_enable(db, capsys, monkeypatch):
    code, out, _ = _run(
        capsys, monkeypatch, ["users", "add", "Boss@Example.com", "--role", "admin", "--password-stdin"], GOOD + "\n"
    )
    assert code == 0 and out.strip() == "routy: added boss@example.com (admin)"
    assert _run(capsys, monkeypatch, ["users", "add", "v@example.com", "--password-stdin"], GOOD + "\n")[0] == 0
    code, out, _ = _run(capsys, monkeypatch, ["users", "list"])
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split()[:3] == ["boss@example.com", "admin", "active"]
    assert lines[1].split()[:3] == ["v@example.com", "viewer", "active"] and "never signed in" in lines[1]
    assert (
        _run(capsys, monkeypatch, ["users", "disable", "v@example.com"])[1].strip() == "routy: v@example.com disabled"
    )
    assert "disabled" in _run(capsys, monkeypatch, ["users", "list"])[1].splitlines()[1]
    assert _run(capsys, monkeypatch, ["users", "enable", "V@example.com"])[0] == 0
    with session_scope() as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
        assert actions == ["user_added", "user_added", "user_disabled", "user_enabled"]
        assert s.exec(select(AuditEvent)).first().user_email == "cli"


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (
            ["users", "add", "a@example.com", "--password-stdin"],
            "short\n",
            "routy: Use at least 12 characters (this one has 5).\n",
        ),
        (["users", "add", "bad-email", "--password-stdin"], GOOD + "\n", "routy: Enter a valid email address.\n"),
        (["users", "add", "a@example.com", "--password-stdin"], "", "routy: no password on standard input\n"),
        (["users", "disable", "ghost@example.com"], None, "routy: No user with email ghost@example.com.\n"),
        (
            ["users", "reset-password", "ghost@example.com", "--password-stdin"],
            GOOD + "\n",
            "routy: No user with email ghost@example.com.\n",
        ),
    ],
)
def test_errors_are_one_line_with_status_1(db, capsys, monkeypatch, argv, stdin, message):
    code, out, err = _run(capsys, monkeypatch, argv, stdin)
    assert (code, out, err) == (1, "", message)


def test_duplicate_user_and_last_admin(db, capsys, monkeypatch):
    _run(capsys, monkeypatch, ["users", "add", "a@example.com", "--role", "admin", "--password-stdin"], GOOD + "\n")
    code, _, err = _run(capsys, monkeypatch, ["users", "add", "A@example.com", "--password-stdin"], GOOD + "\n")
    assert code == 1 and err == "routy: A user with email a@example.com already exists.\n"
    code, _, err = _run(capsys, monkeypatch, ["users", "disable", "a@example.com"])
    assert code == 1 and "last active admin" in err


def test_password_prompt_needs_a_terminal(db, capsys, monkeypatch):
    code, _, err = _run(capsys, monkeypatch, ["users", "add", "a@example.com"], "")
    assert code == 1 and "--password-stdin" in err


def test_password_prompt_asks_twice(db, capsys, monkeypatch):
    answers = iter([GOOD, GOOD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    code, _, err = _run(capsys, monkeypatch, ["users", "add", "a@example.com"])
    assert code == 1 and err == "routy: the two passwords differ\n"
    answers = iter([GOOD, GOOD])
    assert _run(capsys, monkeypatch, ["users", "add", "a@example.com"])[0] == 0


def test_reset_password_signs_out_and_changes_the_password(db, capsys, monkeypatch):
    _run(capsys, monkeypatch, ["users", "add", "a@example.com", "--role", "admin", "--password-stdin"], GOOD + "\n")
    with session_scope() as s:
        token = auth.sign_in(s, "a@example.com", GOOD).token
    code, out, _ = _run(
        capsys, monkeypatch, ["users", "reset-password", "a@example.com", "--password-stdin"], "Fresh-Start-Pass-9\n"
    )
    assert code == 0 and "signed out" in out
    with session_scope() as s:
        assert auth.user_for_token(s, token) is None
        assert s.exec(select(UserSession)).one().revoked_at is not None
        assert auth.sign_in(s, "a@example.com", "Fresh-Start-Pass-9").ok


def test_users_before_migrate_says_what_to_do(data_dir, capsys, monkeypatch):
    code, _, err = _run(capsys, monkeypatch, ["users", "list"])
    assert code == 1 and "run `python -m routy_app migrate` first" in err


def test_list_with_no_users(db, capsys, monkeypatch):
    code, out, _ = _run(capsys, monkeypatch, ["users", "list"])
    assert code == 0 and "no users yet" in out


def test_migrate_creates_the_env_admin_once(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("ROUTY_ADMIN_EMAIL", "ops@example.com")
    monkeypatch.setenv("ROUTY_ADMIN_PASSWORD", GOOD)
    code, out, _ = _run(capsys, monkeypatch, ["migrate"])
    assert code == 0 and out.splitlines()[0].startswith("routy: database ready")
    assert out.splitlines()[1] == "routy: admin ops@example.com created from ROUTY_ADMIN_EMAIL"
    code, out, _ = _run(capsys, monkeypatch, ["migrate"])
    assert code == 0 and len(out.splitlines()) == 1
    with session_scope() as s:
        assert [(u.email, u.role) for u in auth.list_users(s)] == [("ops@example.com", "admin")]


def test_migrate_with_a_weak_env_password_fails_with_one_line(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("ROUTY_ADMIN_EMAIL", "ops@example.com")
    monkeypatch.setenv("ROUTY_ADMIN_PASSWORD", "weak")
    code, _, err = _run(capsys, monkeypatch, ["migrate"])
    assert code == 2 and err == "routy: ROUTY_ADMIN_PASSWORD: Use at least 12 characters (this one has 4).\n"


def test_migrate_without_env_admin_is_unchanged(data_dir, capsys, monkeypatch):
    monkeypatch.delenv("ROUTY_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("ROUTY_ADMIN_PASSWORD", raising=False)
    code, out, err = _run(capsys, monkeypatch, ["migrate"])
    assert code == 0 and err == "" and len(out.splitlines()) == 1
    with session_scope() as s:
        assert auth.needs_first_admin(s)
