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


# ---------------------------------------------------------------- issue 12: state manager, origins, proxies


def test_one_process_uses_reflexs_memory_state_manager_and_only_our_origin(data_dir, monkeypatch):
    from routy_app.config import reflex_options

    monkeypatch.setenv("PUBLIC_URL", "https://Routy.Example.com:8443/app/")
    reload_settings()
    assert reflex_options() == {
        "state_manager_mode": "memory",
        "cors_allowed_origins": ["https://routy.example.com:8443"],
    }


def test_redis_url_switches_to_reflexs_redis_state_manager(data_dir, monkeypatch):
    from routy_app.config import reflex_options

    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    reload_settings()
    options = reflex_options()
    assert options["state_manager_mode"] == "redis" and options["redis_url"] == "redis://localhost:6379/0"


def test_rxconfig_hands_our_choice_to_reflex(data_dir):
    import importlib

    from reflex_base.constants import StateManagerMode

    import rxconfig

    config = importlib.reload(rxconfig).config
    assert config.state_manager_mode == StateManagerMode.MEMORY
    assert list(config.cors_allowed_origins) == ["http://sandbox.test"]


@pytest.mark.parametrize(
    "name, value", [("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"), ("REDIS_URL", "localhost:6379")]
)
def test_bad_security_settings_name_the_setting(data_dir, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        reload_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GOOGLE_ADS_API_VERSION", "22"),
        ("GOOGLE_ADS_API_VERSION", "v22.1"),
        ("META_API_VERSION", "v27"),
        ("META_API_VERSION", "27.0"),
    ],
)
def test_malformed_api_versions_name_the_setting(data_dir, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        reload_settings()


def test_trusted_proxies_are_parsed_as_networks(data_dir, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8; 192.0.2.7, ::1")
    assert [str(n) for n in reload_settings().proxy_networks] == ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]


@sqlite_only
def test_data_dir_is_0700_and_database_files_0600(data_dir):
    import stat

    from routy_app.crypto import get_box
    from routy_app.db import migrate

    data_dir.chmod(0o755)  # as a fresh folder often is
    migrate()
    get_box()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    files = [p for p in data_dir.iterdir() if p.name.startswith("routy.db") or p.name == "secret.key"]
    assert {p.name for p in files} >= {"routy.db", "secret.key"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}


@pytest.mark.parametrize(
    "url, origin",
    [
        ("http://localhost:3000/", "http://localhost:3000"),
        ("https://Routy.Example.com:443/x", "https://routy.example.com"),
        ("http://user@[::1]:80", "http://[::1]"),
        ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
    ],
)
def test_public_origin_is_written_as_browsers_write_origin(data_dir, monkeypatch, url, origin):
    monkeypatch.setenv("PUBLIC_URL", url)
    assert reload_settings().public_origin == origin


@pytest.mark.parametrize("url", ["http://localhost:port", "http://:3000"])
def test_a_public_url_without_a_usable_host_or_port_names_the_setting(data_dir, monkeypatch, url):
    monkeypatch.setenv("PUBLIC_URL", url)
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
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
