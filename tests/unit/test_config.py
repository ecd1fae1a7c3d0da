import pytest

from routy_app.config import ConfigError, reload_settings
from tests.markers import sqlite_only


@sqlite_only
def test_defaults_are_sqlite_in_data_dir_and_sandbox(data_dir):
    settings = reload_settings()
    assert settings.database_url == f"sqlite:///{(data_dir / 'routy.db').as_posix()}"
    assert settings.provider_mode == "sandbox"
    assert settings.sandbox_url == "http://sandbox.test/sandbox"


def test_real_credentials_switch_default_mode_to_live(data_dir, monkeypatch):
    monkeypatch.delenv("ROUTY_PROVIDER_MODE")
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "abc.apps.googleusercontent.com")
    assert reload_settings().provider_mode == "live"


def test_unparseable_database_url_names_the_setting(data_dir, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "not a url")
    with pytest.raises(ConfigError) as err:
        reload_settings()
    message = str(err.value)
    assert "DATABASE_URL" in message and "\n" not in message


def test_bad_public_url_names_the_setting(data_dir, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "localhost:3000")
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        reload_settings()


def test_unknown_provider_mode_is_refused(data_dir, monkeypatch):
    monkeypatch.setenv("ROUTY_PROVIDER_MODE", "staging")
    with pytest.raises(ConfigError, match="ROUTY_PROVIDER_MODE"):
        reload_settings()


@pytest.mark.parametrize(("name", "value"), [("GOOGLE_ADS_API_VERSION", "22"), ("GOOGLE_ADS_API_VERSION", "v22.1"),
                                             ("META_API_VERSION", "v27"), ("META_API_VERSION", "27.0")])
def test_malformed_api_versions_name_the_setting(data_dir, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        reload_settings()
