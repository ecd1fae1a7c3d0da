"""/healthz and /readyz answer without a sign-in: they say what a balancer needs and no more (attack report
F13). No setting's value (database path, Redis URL with its password, keys, tokens, client secrets) and no
exception text (a failed Redis check used to carry "host:port") appear in either answer."""

from __future__ import annotations

import logging
import socket

from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from routy_app.api.app import build_api
from routy_app.config import reload_settings

SECRETS = {
    "ROUTY_METRICS_TOKEN": "metrics-token-5c1f0e",
    "ROUTY_SANDBOX_CONTROL_TOKEN": "control-token-a9d27b",
    "GOOGLE_CLIENT_SECRET": "google-client-secret-77e1",
    "GOOGLE_ADS_DEVELOPER_TOKEN": "developer-token-3b90",
    "META_APP_SECRET": "meta-app-secret-0d44",
}


def _free_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_health_answers_carry_no_setting_value_or_error_text(db, monkeypatch, caplog):
    port = _free_port()
    redis_password = "redis-pass-f00d42"
    key = Fernet.generate_key().decode()
    for name, value in {**SECRETS, "ROUTY_SECRET_KEY": key}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REDIS_URL", f"redis://:{redis_password}@127.0.0.1:{port}/0")
    monkeypatch.setenv("ROUTY_SCHEDULER_ENABLED", "false")
    settings = reload_settings()
    client = TestClient(build_api())
    with caplog.at_level(logging.WARNING, logger="routy.ops"):
        ready = client.get("/readyz")
    health = client.get("/healthz")

    assert ready.status_code == 503 and ready.json()["redis"] is False
    assert ready.json()["redis_error"] in {"ConnectionError", "TimeoutError", "OSError"}  # the kind only
    assert health.status_code == 200
    forbidden = [*SECRETS.values(), key, redis_password, f":{port}", str(port), "redis://", "127.0.0.1"]
    forbidden.append(str(settings.data_dir))
    for answer in (ready, health):
        for value in forbidden:
            assert value not in answer.text, (answer.request.url.path, value)
    assert any(str(port) in r.getMessage() for r in caplog.records)  # the details are in the server's log
