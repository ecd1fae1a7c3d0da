import logging

from starlette.testclient import TestClient

from routy_app.api.app import build_api
from routy_app.logging_setup import RedactSecrets


def test_healthz_reports_db_and_version(db):
    client = TestClient(build_api())
    body = client.get("/healthz").json()
    assert body["db"] is True and body["status"] == "ok" and body["version"]


def test_healthz_lists_api_versions_and_degrades_on_a_sunset_one(db, monkeypatch):
    from routy_app.config import reload_settings

    body = TestClient(build_api()).get("/healthz").json()
    assert [(v["setting"], v["version"], v["status"]) for v in body["api_versions"]] == [
        ("GOOGLE_ADS_API_VERSION", "v26", "ok"),
        ("META_API_VERSION", "v27.0", "ok"),
    ]
    monkeypatch.setenv("GOOGLE_ADS_API_VERSION", "v22")
    reload_settings()
    answer = TestClient(build_api()).get("/healthz")
    assert answer.status_code == 200  # the database answers; the UI must stay reachable to fix this
    body = answer.json()
    assert body["status"] == "degraded"
    google, meta = body["api_versions"]
    assert google["status"] == "error" and "2026-10-07" in google["message"]
    assert meta["status"] == "ok"


def test_sandbox_is_mounted_only_in_sandbox_mode(db, monkeypatch):
    from routy_app.config import reload_settings

    assert TestClient(build_api()).get("/sandbox/").status_code == 200
    monkeypatch.setenv("ROUTY_PROVIDER_MODE", "live")
    reload_settings()
    assert TestClient(build_api()).get("/sandbox/").status_code == 404


def test_log_filter_masks_tokens():
    record = logging.LogRecord(
        "routy",
        logging.INFO,
        __file__,
        1,
        "got %s and url ?access_token=EAAB123&x=1 Bearer ya29.abc",
        ("1//refresh",),
        None,
    )
    RedactSecrets().filter(record)
    text = record.getMessage()
    assert "1//refresh" not in text and "EAAB123" not in text and "ya29.abc" not in text
    assert "access_token=[redacted]" in text


def test_log_filter_masks_ingest_keys_in_postback_urls():
    record = logging.LogRecord(
        "granian.access", logging.INFO, __file__, 1, "GET /postback?key=rk_live_AbC-123&event=lead 200", (), None
    )
    RedactSecrets().filter(record)
    assert "rk_live_AbC" not in record.getMessage() and "key=[redacted]" in record.getMessage()
