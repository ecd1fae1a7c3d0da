"""`backup` / `restore` (routy_app/ops/backup.py) and the command line around them."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlmodel import select

from routy_app import crypto
from routy_app.__main__ import main
from routy_app.config import reload_settings
from routy_app.db import reset_engine, session_scope
from routy_app.models import Integration, TrafficSource
from routy_app.ops import backup as ops

SQLITE_ONLY = pytest.mark.skipif(bool(os.environ.get("ROUTY_TEST_DATABASE_URL")), reason="SQLite backups")


def _connected(name: str = "Shop", provider: str = "google_ads") -> int:
    """An integration holding encrypted tokens, as a connect leaves it."""
    with session_scope() as session:
        integration = Integration(
            traffic_source_id=1,
            provider=provider,
            status="active",
            account_id="123",
            account_name=name,
            credentials_enc=crypto.get_box().encrypt_json({"access_token": "ya29.t"}),
        )
        session.add(integration)
        session.commit()
        return int(integration.id)


def _switch_key(monkeypatch, key: str) -> None:
    monkeypatch.setenv("ROUTY_SECRET_KEY", key)
    reload_settings()
    crypto.get_box.cache_clear()
    reset_engine()


def _names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT account_name FROM integration ORDER BY id")]
    finally:
        conn.close()


@SQLITE_ONLY
def test_backup_is_consistent_while_the_app_writes(db, tmp_path):
    """A writer commits two rows per transaction throughout; every backup holds whole transactions only."""
    live = db / "routy.db"
    stop = threading.Event()

    def write() -> None:
        conn = sqlite3.connect(live, timeout=30)
        i = 0
        while not stop.is_set():
            with conn:
                conn.execute(
                    "INSERT INTO lease (name, holder, expires_at) VALUES (?, 'w', '2030-01-01 00:00:00')", (f"a{i}",)
                )
                conn.execute(
                    "INSERT INTO lease (name, holder, expires_at) VALUES (?, 'w', '2030-01-01 00:00:00')", (f"b{i}",)
                )
            i += 1
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        counts = []
        for n in range(5):
            info = ops.backup(reload_settings(), crypto.get_box(), tmp_path / f"b{n}.db")
            conn = sqlite3.connect(info.path)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            counts.append(conn.execute("SELECT count(*) FROM lease").fetchone()[0])
            assert conn.execute(f"SELECT revision FROM {ops.INFO_TABLE}").fetchone()[0] == info.revision
            conn.close()
            assert oct(os.stat(info.path).st_mode & 0o777) == "0o600"
    finally:
        stop.set()
        writer.join()
    assert all(c % 2 == 0 for c in counts) and counts[-1] > 0, counts


@SQLITE_ONLY
def test_restore_brings_back_the_data_and_keeps_the_previous_database(db, tmp_path, capsys):
    _connected("Before")
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    assert "secret key id" in capsys.readouterr().out
    _connected("After the backup", "meta_ads")
    assert main(["restore", str(tmp_path / "b.db")]) == 0
    out = capsys.readouterr().out
    assert "restored" in out and "before-restore" in out
    reset_engine()
    with session_scope() as session:
        assert [i.account_name for i in session.exec(select(Integration)).all()] == ["Before"]
        assert len(session.exec(select(TrafficSource)).all()) == 1
    kept = next(db.glob("routy.db.before-restore-*"))
    assert _names(kept) == ["Before", "After the backup"]
    assert (
        not sqlite3.connect(db / "routy.db")
        .execute(f"SELECT 1 FROM sqlite_master WHERE name = '{ops.INFO_TABLE}'")
        .fetchone()
    )


@SQLITE_ONLY
def test_restore_with_another_secret_key_says_so_and_changes_nothing(db, tmp_path, monkeypatch, capsys):
    _connected("Backed up")
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    _connected("Live", "meta_ads")
    _switch_key(monkeypatch, "a different secret key")
    assert main(["restore", str(tmp_path / "b.db")]) == 1
    err = capsys.readouterr().err
    assert "secret key cannot decrypt the tokens of 1 integration(s)" in err and "ROUTY_SECRET_KEY" in err
    assert "key id" in err and "nothing was changed" in err
    assert _names(db / "routy.db") == ["Backed up", "Live"] and not list(db.glob("*.before-restore-*"))


@SQLITE_ONLY
def test_forget_secrets_restores_the_rest_and_asks_for_reconnection(db, tmp_path, monkeypatch):
    integration_id = _connected("Backed up")
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    _switch_key(monkeypatch, "a different secret key")
    assert main(["restore", str(tmp_path / "b.db"), "--forget-secrets"]) == 0
    reset_engine()
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
    assert integration.credentials_enc is None and integration.status == "reconnect_required"
    assert "reconnect" in integration.last_error


@SQLITE_ONLY
def test_restore_refuses_while_routy_runs_on_the_data_dir(db, tmp_path, capsys):
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    fd = os.open(db / "scheduler.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242")
    fcntl.flock(fd, fcntl.LOCK_EX)  # what the running app's scheduler holds
    try:
        assert main(["restore", str(tmp_path / "b.db")]) == 1
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert "Routy is running" in err and "process 4242" in err


@SQLITE_ONLY
def test_restore_refuses_files_that_are_not_routy_backups(db, tmp_path, capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    assert main(["restore", str(junk)]) == 1
    assert "not a SQLite database" in capsys.readouterr().err
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert main(["restore", str(other)]) == 1
    assert "not a Routy database" in capsys.readouterr().err
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    conn = sqlite3.connect(tmp_path / "b.db")
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    assert main(["restore", str(tmp_path / "b.db")]) == 1
    assert "made by a newer version" in capsys.readouterr().err
    assert main(["backup", str(tmp_path / "b.db")]) == 1  # never overwrites
    assert "exists already" in capsys.readouterr().err


def test_postgresql_gets_the_pg_dump_line_without_the_password(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://routy:s3cret-pw@db.internal:5433/routy")
    monkeypatch.setenv("ROUTY_SECRET_KEY", "k")
    reload_settings()
    crypto.get_box.cache_clear()
    assert main(["backup", "/tmp/never-written.db"]) == 1
    err = capsys.readouterr().err
    assert "pg_dump --format=custom" in err and "postgresql://routy@db.internal:5433/routy" in err
    assert "pg_restore" in err and "s3cret-pw" not in err


def test_check_config_says_when_the_database_was_saved_under_another_key(db, monkeypatch, capsys):
    """What follows a pg_restore (or a copied database file) with the wrong key."""
    _connected("Restored elsewhere")
    assert main(["check-config"]) == 0 and "cannot decrypt" not in capsys.readouterr().err
    _switch_key(monkeypatch, "a different secret key")
    assert main(["check-config"]) == 0
    err = capsys.readouterr().err
    assert "cannot decrypt the stored tokens of 1 integration(s)" in err and "ROUTY_SECRET_KEY" in err
