"""Running several workers and replicas: the worker refusal, /readyz, HTTP timing, the migration lock,
JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Histogram
from sqlmodel import select
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from routy_app.api.app import build_api
from routy_app.config import ConfigError, Settings, reload_settings
from routy_app.db import migrate, reset_engine, session_scope
from routy_app.logging_setup import RedactSecrets, _formatter
from routy_app.models import TrafficSource
from routy_app.observability import logs, metrics
from routy_app.ops.workers import check_workers

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- several workers need Redis


@pytest.mark.parametrize("environ", [{"GRANIAN_WORKERS": "4"}, {"REFLEX_REDIS_URL": "redis://r:6379/0"}])
def test_several_workers_without_redis_are_refused_with_the_reason(environ):
    with pytest.raises(ConfigError) as refused:
        check_workers(Settings(), environ)
    assert "REDIS_URL" in str(refused.value) and "state" in str(refused.value)


@pytest.mark.parametrize("environ", [{}, {"GRANIAN_WORKERS": "1"}, {"GRANIAN_WORKERS": "x"}])
def test_one_worker_needs_no_redis(environ):
    check_workers(Settings(), environ)


def test_several_workers_with_redis_are_fine():
    check_workers(Settings(REDIS_URL="redis://127.0.0.1:6379/0"), {"GRANIAN_WORKERS": "4"})


def test_make_run_stops_before_reflex_starts_with_one_line(tmp_path):
    env = {**os.environ, "ROUTY_DATA_DIR": str(tmp_path), "GRANIAN_WORKERS": "3", "ROUTY_SECRET_KEY": "k"}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "routy_app", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("routy: GRANIAN_WORKERS=3 needs REDIS_URL")
    assert not (tmp_path / "routy.db").exists()


def test_the_app_module_refuses_too_for_a_direct_reflex_run(tmp_path):
    env = {**os.environ, "ROUTY_DATA_DIR": str(tmp_path), "GRANIAN_WORKERS": "2", "ROUTY_SECRET_KEY": "k"}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "import routy_app.routy_app"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1 and "routy: GRANIAN_WORKERS=2 needs REDIS_URL" in done.stderr


# ---------------------------------------------------------------- /readyz


def test_readyz_reports_db_scheduler_role_and_outbox(db):
    answer = TestClient(build_api()).get("/readyz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["ready"] is True and body["db"] is True and "redis" not in body
    assert body["scheduler"] == "follower"  # this process does not run the scheduler
    assert body["outbox"] == {"waiting": 0, "due": 0, "oldest_due_seconds": 0.0}


def test_readyz_is_not_ready_when_redis_does_not_answer(db, monkeypatch):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("ROUTY_SCHEDULER_ENABLED", "false")
    reload_settings()
    answer = TestClient(build_api()).get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert (body["ready"], body["db"], body["redis"], body["scheduler"]) == (False, True, False, "disabled")
    assert "Connection" in body["redis_error"]


# ---------------------------------------------------------------- HTTP latency, by route


def test_route_labels_are_a_bounded_set():
    assert metrics.route_of("/oauth/google_ads/callback") == "/oauth/{provider}/callback"
    assert metrics.route_of("/api/metrics/12/export.csv") == "/api/metrics/{id}/export.csv"
    assert metrics.route_of("/metrics") == "/metrics" and metrics.route_of("/metricsx") == "page"
    assert metrics.route_of("/sources/4") == "page" and metrics.route_of("/assets/app-1a2b.js") == "static"
    assert metrics.route_of("/_event/") == "/_event" and metrics.route_of("/postback") == "/postback"


def test_http_timing_observes_each_request_with_method_route_and_status_class(monkeypatch):
    registry = CollectorRegistry()
    histogram = Histogram("t_seconds", "t", ["method", "route", "status"], registry=registry)
    monkeypatch.setattr(metrics, "HTTP_LATENCY", histogram)

    async def ok(_request):
        return PlainTextResponse("ok")

    async def boom(_request):
        raise RuntimeError("boom")

    app = metrics.HttpTiming(Starlette(routes=[Route("/postback", ok), Route("/sources/1", boom)]))
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/postback").status_code == 200
    assert client.get("/sources/1").status_code == 500
    assert client.get("/nowhere.js").status_code == 404

    def count(**labels):
        return registry.get_sample_value("t_seconds_count", labels)

    assert count(method="GET", route="/postback", status="2xx") == 1
    assert count(method="GET", route="page", status="5xx") == 1
    assert count(method="GET", route="static", status="4xx") == 1


# ---------------------------------------------------------------- one migration at a time


def test_replicas_migrating_at_once_create_one_schema_and_one_default_source(data_dir):
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    reset_engine()
    with session_scope() as session:
        assert len(session.exec(select(TrafficSource)).all()) == 1


# ---------------------------------------------------------------- JSON lines


def _json_logger(stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger(f"routy.t{id(stream)}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_formatter("json"))
    handler.addFilter(RedactSecrets())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def test_json_lines_carry_the_run_bound_in_this_context_only():
    stream = io.StringIO()
    log = _json_logger(stream)
    log.info("before")
    with logs.run_context(7, 3, "push"):
        log.info("inside", extra={"rows": 12})
    log.info("after")
    before, inside, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "run_id" not in before and "run_id" not in after
    assert (inside["run_id"], inside["integration_id"], inside["run_kind"], inside["rows"]) == (7, 3, "push", 12)
    assert inside["level"] == "INFO" and inside["logger"].startswith("routy.") and inside["time"].endswith("+00:00")


def test_json_lines_redact_messages_exceptions_and_secret_named_fields():
    stream = io.StringIO()
    log = _json_logger(stream)
    try:
        raise ValueError("token EAAGm0PX4ZCpsBA and ?client_secret=abc123&x=1")
    except ValueError:
        log.exception(
            "call with Bearer ya29.a0AfB_byC failed",
            extra={"password": "hunter2-hunter2", "nested": {"api_secret": "x", "n": 1}},
        )
    line = json.loads(stream.getvalue())
    text = json.dumps(line)
    for secret in ("EAAGm0PX4ZCpsBA", "abc123", "ya29.a0AfB_byC", "hunter2-hunter2"):
        assert secret not in text
    assert line["password"] == "[redacted]" and line["nested"] == {"api_secret": "[redacted]", "n": 1}
    assert "client_secret=[redacted]" in line["exc_info"]
