"""`python -m routy_app backup PATH` and `restore PATH`: SQLite backups taken while the app runs.

What a backup holds and what it does not: every table, with OAuth tokens and API secrets encrypted under
the secret key (ROUTY_SECRET_KEY, or the data dir's secret.key). The key itself is not in the backup, on
purpose: a stolen backup is then useless. Keep the key somewhere else (a password manager, the secret
store of your deployment). Without it the tokens in a backup cannot be decrypted, and every integration
would have to be connected again; `restore` checks the key before it changes anything and says so.

- Backup uses SQLite's online backup API in one step: a consistent snapshot while the app keeps writing
  (WAL readers do not block writers). A small table `routy_backup_info` records when, the schema revision
  and a one-way id of the key (never the key), so a restore can name a key mismatch.
- Restore refuses while Routy runs on this data dir, a file that is not a Routy backup, a backup from a
  newer Routy, and a backup whose secrets the current key cannot decrypt (unless `--forget-secrets`:
  restore without the tokens; the integrations then ask to be reconnected). The current database is kept
  beside it first (`routy.db.before-restore-<time>`), and migrations bring the restored one up to date.
- PostgreSQL: pg_dump and pg_restore do this job (`postgres_commands` gives the lines; README).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url

from routy_app import __version__
from routy_app.config import ConfigError, Settings
from routy_app.crypto import SecretBox

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

INFO_TABLE = "routy_backup_info"


class BackupError(Exception):
    """A refusal, as one line for the command line; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: str
    revision: str
    key_id: str
    integrations_with_secrets: int

    def other_key_note(self, box: SecretBox) -> str:
        """A sentence when the backup was made under another key although nothing needed it, else ""."""
        if not self.key_id or self.key_id == key_id(box):
            return ""
        return (
            f"It was made with another secret key (id {self.key_id}; the current one is {key_id(box)}), but "
            "none of its secrets needs that key now."
        )


def key_id(box: SecretBox) -> str:
    """A short one-way id of the secret key (from its fingerprint): tells keys apart, reveals nothing."""
    return hashlib.sha256(b"routy-backup-key-id:" + box.key_fingerprint()).hexdigest()[:12]


def sqlite_path(settings: Settings) -> Path:
    """The SQLite file of DATABASE_URL; BackupError naming pg_dump / pg_restore for PostgreSQL."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        dump, restore = postgres_commands(settings)
        raise BackupError(
            "DATABASE_URL is PostgreSQL: back it up with pg_dump and restore with pg_restore "
            f"(keep ROUTY_SECRET_KEY with it):\n  {dump}\n  {restore}"
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("DATABASE_URL is an in-memory SQLite database: there is nothing to back up")
    return Path(url.database)


def postgres_commands(settings: Settings) -> tuple[str, str]:
    """The pg_dump and pg_restore lines for DATABASE_URL (password left to PGPASSWORD or ~/.pgpass)."""
    url = make_url(settings.database_url)
    target = URL.create(
        "postgresql", username=url.username, host=url.host, port=url.port, database=url.database, query=url.query
    ).render_as_string(hide_password=False)
    return (
        f"pg_dump --format=custom --file routy-$(date +%F).dump '{target}'",
        f"pg_restore --clean --if-exists --no-owner --dbname '{target}' routy-YYYY-MM-DD.dump",
    )


# ---------------------------------------------------------------- backup


def backup(settings: Settings, box: SecretBox, target: Path) -> BackupInfo:
    """Write a consistent copy of the live SQLite database to `target` (which must not exist)."""
    source = sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"{source} does not exist yet: run `python -m routy_app migrate` (or the app) first")
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds (encrypted) secrets
        os.close(fd)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one consistent snapshot
            revision = _revision(dst)
            with_secrets = _count_secrets(dst)
            created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            dst.execute(
                f"CREATE TABLE {INFO_TABLE} (created_at TEXT, revision TEXT, key_id TEXT, "
                "app_version TEXT, integrations_with_secrets INTEGER)"
            )
            dst.execute(
                f"INSERT INTO {INFO_TABLE} VALUES (?, ?, ?, ?, ?)",
                (created, revision, key_id(box), __version__, with_secrets),
            )
            dst.commit()
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    finally:
        src.close()
    os.replace(partial, target)
    return BackupInfo(target, created, revision, key_id(box), with_secrets)


# ---------------------------------------------------------------- restore


def inspect_backup(path: Path) -> BackupInfo:
    """What a backup file holds; BackupError when it is not a readable Routy backup."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (SQLite quick_check failed)")
            revision = _revision(conn)
            info = None
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (INFO_TABLE,)).fetchone():
                info = conn.execute(f"SELECT created_at, key_id FROM {INFO_TABLE}").fetchone()
            with_secrets = _count_secrets(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    created, kid = info if info else ("unknown (not made by `backup`)", "")
    return BackupInfo(path, created, revision, kid, with_secrets)


def undecryptable(path: Path, box: SecretBox) -> list[int]:
    """Ids of integrations in the SQLite file at `path` whose stored secrets `box` cannot decrypt."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, credentials_enc FROM integration WHERE credentials_enc IS NOT NULL").fetchall()
    finally:
        conn.close()
    bad = []
    for integration_id, ciphertext in rows:
        try:
            box.decrypt(ciphertext)
        except ConfigError:  # the box's word for "another key"
            bad.append(int(integration_id))
    return bad


def undecryptable_in_database(box: SecretBox) -> list[int]:
    """Ids of integrations in the configured database (SQLite or PostgreSQL) whose tokens `box` cannot
    decrypt: what `check-config` reports after a pg_restore made under another key."""
    from sqlalchemy import inspect, select
    from sqlmodel import col

    from routy_app.db import get_engine, session_scope
    from routy_app.models import Integration

    if "integration" not in inspect(get_engine()).get_table_names():
        return []
    with session_scope() as session:
        rows = session.execute(
            select(col(Integration.id), col(Integration.credentials_enc)).where(
                col(Integration.credentials_enc).is_not(None)
            )
        ).all()
    bad = []
    for integration_id, ciphertext in rows:
        try:
            box.decrypt(ciphertext)
        except ConfigError:
            bad.append(int(integration_id))
    return bad


def restore(settings: Settings, box: SecretBox, path: Path, *, forget_secrets: bool = False) -> tuple[BackupInfo, Path]:
    """Replace the live SQLite database with the backup at `path`; returns (what it held, where the old
    database was kept). Checks everything before changing anything."""
    from routy_app.db import MIGRATIONS_DIR

    live = sqlite_path(settings)
    info = inspect_backup(path)
    _refuse_newer(info.revision, MIGRATIONS_DIR)
    bad = undecryptable(path, box)
    if bad and not forget_secrets:
        named = f" (made with key id {info.key_id}; the current key's id is {key_id(box)})" if info.key_id else ""
        raise BackupError(
            f"the current secret key cannot decrypt the tokens of {len(bad)} integration(s) in this backup{named}. "
            "Set ROUTY_SECRET_KEY to the key in use when the backup was made (or put that secret.key in the data "
            "dir) and restore again; nothing was changed. If that key is lost, `restore --forget-secrets` restores "
            "everything else and those integrations ask to be reconnected."
        )
    with _app_stopped(settings.data_dir):
        kept = live.with_name(f"{live.name}.before-restore-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}")
        if live.exists():
            _copy(live, kept)
        _copy(path, live)
        conn = sqlite3.connect(live)
        try:
            conn.execute(f"DROP TABLE IF EXISTS {INFO_TABLE}")
            if bad:
                marks = ",".join("?" * len(bad))
                conn.execute(
                    f"UPDATE integration SET credentials_enc = NULL, status = 'reconnect_required', "
                    f"last_error = ? WHERE id IN ({marks})",
                    ("Restored from a backup without its secret key: reconnect to sync again.", *bad),
                )
            conn.commit()
        finally:
            conn.close()
    return info, kept


def _copy(source: Path, target: Path) -> None:
    """SQLite to SQLite through the backup API (the target's WAL and locks are honoured)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.chmod(target, 0o600)


def _revision(conn: sqlite3.Connection) -> str:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        raise BackupError("not a Routy database (no alembic_version table)") from None
    if not row:
        raise BackupError("not a Routy database (no schema revision)")
    return str(row[0])


def _count_secrets(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT count(*) FROM integration WHERE credentials_enc IS NOT NULL").fetchone()[0])
    except sqlite3.OperationalError:
        raise BackupError("not a Routy database (no integration table)") from None


def _refuse_newer(revision: str, migrations_dir: Path) -> None:
    from alembic.script import ScriptDirectory

    if not _known(ScriptDirectory(str(migrations_dir)), revision):
        raise BackupError(
            f"the backup's schema revision {revision} is unknown to this Routy {__version__}: "
            "it was made by a newer version; upgrade Routy first"
        )


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        return False


class _app_stopped:
    """Holds the scheduler's lock file for the restore: the running app (its scheduler holds the same
    lock) is told apart, and cannot start halfway through."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "scheduler.lock"
        self.fd: int | None = None

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip()
            os.close(self.fd)
            raise BackupError(
                f"Routy is running on {self.path.parent} (process {holder or '?'} holds "
                f"{self.path.name}): stop it, then restore"
            ) from None

    def __exit__(self, *exc: object) -> None:
        assert self.fd is not None
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
