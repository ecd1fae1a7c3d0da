"""Alembic environment: our SQLModel metadata, the URL from settings (or the caller's config)."""

from alembic import context
from sqlalchemy import pool
from sqlmodel import SQLModel

import routy_app.models  # noqa: F401 - registers the tables on SQLModel.metadata
from routy_app.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # db.alembic_config always sets it; a hand-made Config may not
        raise RuntimeError("alembic config has no sqlalchemy.url")
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
