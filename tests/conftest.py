"""Shared fixtures: a fresh, migrated SQLite database per test and a temporary data dir.

`ROUTY_TEST_DATABASE_URL=postgresql+psycopg://...` runs the tests that use them against that PostgreSQL
database instead (its public schema is dropped and migrated afresh for every test: use a scratch one).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from routy_app import crypto
from routy_app.config import get_settings, reload_settings
from routy_app.db import migrate, reset_engine


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Point every setting that touches disk at a temporary folder."""
    monkeypatch.setenv("ROUTY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if os.environ.get("ROUTY_TEST_DATABASE_URL"):
        monkeypatch.setenv("DATABASE_URL", _empty_postgres(os.environ["ROUTY_TEST_DATABASE_URL"]))
    monkeypatch.delenv("ROUTY_SECRET_KEY", raising=False)
    monkeypatch.setenv("ROUTY_PROVIDER_MODE", "sandbox")
    monkeypatch.setenv("PUBLIC_URL", "http://sandbox.test")
    reload_settings()
    crypto.get_box.cache_clear()
    reset_engine()
    yield tmp_path
    reset_engine()
    crypto.get_box.cache_clear()
    get_settings.cache_clear()  # the environment is restored after this fixture ends


@pytest.fixture
def db(data_dir):
    """A migrated database with the default traffic source."""
    migrate()
    return data_dir


def _empty_postgres(url: str) -> str:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
