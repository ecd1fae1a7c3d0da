"""Test markers shared across test folders."""

import os

import pytest

# Tests of SQLite specifics (the database file, the file lock leader election, the default URL, a
# migration test on an SQLite file), skipped when the suite runs on PostgreSQL (ROUTY_TEST_DATABASE_URL).
sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("ROUTY_TEST_DATABASE_URL")), reason="SQLite-specific; the suite runs on PostgreSQL"
)
