"""The database engine, sessions and migrations (Alembic), owned by us rather than Reflex.

Migrations run once before the server starts (`python -m routy_app migrate`, called by `make run`),
never inside racing backend workers.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select

from routy_app.config import ConfigError, get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_SOURCE_NAME = "Default traffic source"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.close()


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"DATABASE_URL: cannot create the folder for {path} ({exc.strerror})") from None
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


def alembic_config(url: str | None = None):
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
        command.upgrade(alembic_config(url), "head")
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one readable line
        raise ConfigError(f"DATABASE_URL: migration failed ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    ensure_default_source()


def ensure_default_source() -> int:
    """The first traffic source, created on first run."""
    from routy_app.models import TrafficSource

    with session_scope() as session:
        source = session.exec(select(TrafficSource).order_by(TrafficSource.id)).first()
        if source is None:
            source = TrafficSource(name=DEFAULT_SOURCE_NAME)
            session.add(source)
            session.commit()
        return int(source.id)


def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001
        return False
