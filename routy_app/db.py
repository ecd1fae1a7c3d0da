"""The database engine, sessions and migrations (Alembic), owned by us rather than Reflex.

Migrations run once before the server starts (`python -m routy_app migrate`, called by `make run`),
never inside racing backend workers.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, create_engine, select

if TYPE_CHECKING:
    from alembic.config import Config

from routy_app.config import ConfigError, ensure_private_dir, get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_SOURCE_NAME = "Default traffic source"


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.close()


def _private_sqlite_file(path: Path) -> None:
    """The database file (and its WAL/SHM, which SQLite creates with the file's mode) is 0600; a
    folder we create for it, and the data dir, are 0700 (config.ensure_private_dir)."""
    try:
        if path.parent.resolve() == get_settings().data_dir.resolve() or not path.parent.exists():
            ensure_private_dir(path.parent)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if name.exists():
                name.chmod(0o600)
    except OSError as exc:
        raise ConfigError(f"DATABASE_URL: cannot create {path} ({exc.strerror})") from None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            _private_sqlite_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@functools.lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def reset_engine() -> None:
    """Drop the cached engine (tests point DATABASE_URL elsewhere)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A short session; commit is explicit so callers decide what is atomic."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


class PlainRows:
    """A Core SELECT run on the driver's own cursor: rows come back as the driver's plain tuples.

    For reads that run for every pushed event. SQLAlchemy's Row objects cost a GC-tracked object per row
    on top of the driver's tuple (a tuple of plain values the collector soon stops tracking); in the push
    benchmark that extra allocation per row was worth ~0.05 of the push/bare ratio. Binds are processed
    with each type's processor for the dialect, as SQLAlchemy would; result columns come as the driver
    returns them, so converting a typed column (`result_processor`) is the caller's job.

    What it gives up, on purpose: driver errors are not wrapped in SQLAlchemy's exceptions, engine events
    and echo logging do not see the statement, and statements needing SQLAlchemy's post-compile step
    (expanding IN, literal_execute) are refused. It runs inside the connection's current transaction,
    which must have begun (a Session's `connection()` has).
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[tuple[type, str], tuple[Any, str, list[tuple[str, Any]]]] = {}

    def result_processor(self, conn: Connection, column: str) -> Any:
        """The function turning the driver's value of `column` into the column type's (None: as is)."""
        column_type = self.statement.selected_columns[column].type
        return column_type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)

    def fetch(self, conn: Connection, params: dict[str, Any], size: int = 100) -> Iterator[list[tuple[Any, ...]]]:
        """The result, `size` rows at a time. Consume it to the end (or close() it): that closes the cursor."""
        if not conn.in_transaction():
            raise RuntimeError("PlainRows.fetch needs a connection with a transaction begun")
        compiled, sql, binds = self._compile(conn)
        values = compiled.construct_params(params)
        processed = [(name, process(values[name]) if process else values[name]) for name, process in binds]
        args: Any = [value for _, value in processed] if compiled.positional else dict(processed)
        # driver_connection is typed Optional (None once the pool has detached it); a checked-out one is set
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, args)
            while part := cursor.fetchmany(size):
                yield part
        finally:
            cursor.close()

    def _compile(self, conn: Connection) -> tuple[Any, str, list[tuple[str, Any]]]:
        """(compiled, SQL text, [(bind name as construct_params() gives it, its processor)] in order)."""
        dialect = conn.dialect
        key = (type(dialect), dialect.paramstyle)  # drivers of one database differ in binds and casts
        if key not in self._compiled:
            compiled = self.statement.compile(dialect=dialect)
            if compiled.post_compile_params or compiled.literal_execute_params:
                raise ValueError("PlainRows cannot run statements with expanding or literal_execute binds")
            escaped = compiled.escaped_bind_names
            processors = {
                escaped.get(name, name): bind.type.dialect_impl(dialect).bind_processor(dialect)
                for bind, name in compiled.bind_names.items()
            }
            names = (
                [escaped.get(name, name) for name in compiled.positiontup] if compiled.positional else list(processors)
            )
            self._compiled[key] = (compiled, str(compiled), [(name, processors[name]) for name in names])
        return self._compiled[key]


def alembic_config(url: str | None = None) -> Config:
    """Alembic config pointing at our migrations and the configured database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the schema to the latest revision and make sure a default traffic source exists."""
    from alembic import command

    try:
        with migration_lock(url or get_settings().database_url):
            command.upgrade(alembic_config(url), "head")
            ensure_default_source()  # inside the lock: replicas starting together create one source
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one readable line
        raise ConfigError(
            f"DATABASE_URL: migration failed ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        ) from None


MIGRATION_LOCK_ID = 0x526F757479  # "Routy": PostgreSQL advisory lock key held while migrating


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """One migration at a time: replicas started together (systemd, `make run` on each) each run
    `migrate` first, and two Alembic upgrades of one database at once would fail on the same DDL. The
    second waits here and then finds nothing to do. PostgreSQL: a session advisory lock; SQLite: a lock
    file beside the database."""
    if url.startswith("postgresql"):
        engine = make_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_ID})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_ID})
        finally:
            engine.dispose()
        return
    path = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)  # private, like the database
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def ensure_default_source() -> int:
    """The first traffic source, created on first run."""
    from routy_app.models import TrafficSource, saved_id

    with session_scope() as session:
        source = session.exec(select(TrafficSource).order_by(col(TrafficSource.id))).first()
        if source is None:
            source = TrafficSource(name=DEFAULT_SOURCE_NAME)
            session.add(source)
            session.commit()
        return saved_id(source)


def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001
        return False
