"""/metrics and JSON logs over real pull and push runs against the in-process sandbox."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from starlette.testclient import TestClient

from routy_app.api.app import build_api
from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.logging_setup import RedactSecrets, _formatter
from routy_app.models import ConversionPush, Integration
from routy_app.observability import metrics
from routy_app.services import pull, push
from routy_app.timeutil import utcnow
from tests.integration.factories import hub  # noqa: F401 - fixture
from tests.integration.test_push import ingest, mapped

TOKEN = "scrape-token-6f1c2b"


def scrape(token: str | None = TOKEN) -> dict[tuple[str, tuple], float]:
    """GET /metrics -> {(sample name, sorted labels): value}."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = TestClient(build_api()).get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_metrics_count_runs_rows_conversions_and_the_outbox_from_the_database(hub, sandbox_state, monkeypatch):
    monkeypatch.setenv("ROUTY_METRICS_TOKEN", TOKEN)
    reload_settings()
    integration_id, _ = await mapped(hub)
    summary = await pull.run_pull(hub, integration_id, "manual")
    assert summary.status == "success" and summary.read > 0
    ingest(5, gclid="Cj0-{i}")
    ingest(2, start=100)  # no click id: skipped by the push rules

    before = scrape()
    assert value(before, "routy_sync_runs_total", provider="google_ads", kind="pull", outcome="success") == 1
    assert value(before, "routy_pull_rows_total", provider="google_ads") == summary.read
    assert value(before, "routy_conversions_ingested_total", traffic_source_id="1") == 7
    assert value(before, "routy_outbox_depth", provider="google_ads") == 7
    assert value(before, "routy_outbox_due", provider="google_ads") == 7
    assert value(before, "routy_outbox_oldest_due_age_seconds", provider="google_ads") >= 0
    labels = {
        "integration_id": str(integration_id),
        "provider": "google_ads",
        "traffic_source_id": "1",
        "status": "active",
    }
    assert abs(value(before, "routy_integration_last_success_timestamp_seconds", **labels) - utcnow().timestamp()) < 120
    assert value(before, "routy_scheduler_leader") == 0  # no scheduler in this process

    sent = await push.run_push(hub, integration_id, "manual")
    assert (sent.sent, sent.skipped) == (5, 2)
    ingest(2, start=200, gclid="g{i}")
    with session_scope() as session:  # two new rows, due for an hour (as if nothing had pushed since)
        session.exec(
            update(ConversionPush)
            .where(ConversionPush.next_attempt_at.is_not(None))
            .values(next_attempt_at=utcnow() - dt.timedelta(hours=1))
        )
        session.commit()
    monkeypatch.setattr(metrics, "_registry", None)  # past the collector's few seconds of cache
    after = scrape()
    assert value(after, "routy_conversions_pushed_total", provider="google_ads", outcome="sent") == 5
    assert value(after, "routy_conversions_pushed_total", provider="google_ads", outcome="skipped") == 2
    assert value(after, "routy_sync_runs_total", provider="google_ads", kind="push", outcome="success") == 1
    assert value(after, "routy_outbox_depth", provider="google_ads") == 2
    assert 3590 < value(after, "routy_outbox_oldest_due_age_seconds", provider="google_ads") < 3700


def test_metrics_need_the_bearer_token(db, monkeypatch):
    client = TestClient(build_api())
    off = client.get("/metrics")
    assert off.status_code == 404 and "ROUTY_METRICS_TOKEN" in off.json()["error"]
    monkeypatch.setenv("ROUTY_METRICS_TOKEN", TOKEN)
    reload_settings()
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer"), headers
        assert TOKEN not in answer.text
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


async def test_json_logs_of_real_runs_name_the_run_and_never_a_token(hub, sandbox_state, monkeypatch):
    """Every line a pull and a push log at DEBUG is one JSON object; run lines carry run and integration
    ids; none of the tokens the sandbox issued (nor the API secret) appears anywhere in the output."""
    monkeypatch.setenv("ROUTY_LOG_FORMAT", "json")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_formatter(reload_settings().log_format))
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("routy")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        integration_id, _ = await mapped(hub)
        ga4_id, _ = await mapped(hub, "ga4")
        summary = await pull.run_pull(hub, integration_id, "manual")
        ingest(3, gclid="Cj0-{i}", ga_client_id="555.{i}")
        await push.run_push(hub, integration_id, "manual")
        await push.run_push(hub, ga4_id, "manual")
        with session_scope() as session:
            credentials = session.get(Integration, integration_id).credentials_enc
        # What a careless log line could carry: a token in a message, in an exception and in extra fields.
        token = sandbox_state.tokens.all_values()[0]
        logging.getLogger("routy.test").warning(
            "refresh failed for %s?access_token=%s",
            "url",
            token,
            extra={"refresh_token": token, "detail": f"Bearer {token}"},
        )
        try:
            raise RuntimeError(f"provider said no to {token}")
        except RuntimeError:
            logging.getLogger("routy.test").exception("crash with Authorization: Bearer %s", token)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) >= 3 and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    pull_lines = [line for line in lines if line.get("run_id") == summary.run_id]
    assert pull_lines and all(
        line["integration_id"] == integration_id and line["run_kind"] == "pull" for line in pull_lines
    )
    secrets = [*sandbox_state.tokens.all_values(), "sandbox-mp-secret", credentials]
    assert secrets and not [s for s in secrets if s and s in output]
    crash = next(line for line in lines if line["message"].startswith("crash"))
    assert "[redacted]" in crash["exc_info"] and crash["message"] == "crash with Authorization: Bearer [redacted]"
    careless = next(line for line in lines if line["message"].startswith("refresh failed"))
    assert careless["refresh_token"] == "[redacted]" and careless["detail"] == "Bearer [redacted]"
