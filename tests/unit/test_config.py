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


def test_start_up_commands_name_a_sunset_api_version(data_dir, monkeypatch, capsys):
    from routy_app.__main__ import main

    assert main(["check-config"]) == 0
    assert "GOOGLE_ADS_API_VERSION" not in capsys.readouterr().err
    monkeypatch.setenv("GOOGLE_ADS_API_VERSION", "v22")
    reload_settings()
    assert main(["check-config"]) == 0  # the app still starts: its data stays readable, the UI says what to fix
    err = capsys.readouterr().err
    assert "routy: error: GOOGLE_ADS_API_VERSION=v22: Google Ads API v22 was switched off on 2026-10-07" in err
    assert "Set GOOGLE_ADS_API_VERSION=v26" in err
