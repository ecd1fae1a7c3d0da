"""`make test-scale`: one cluster for the whole session (tests/scale/cluster.py) and the figures it measured.

The figures (takeover time, conversions ingested / pushed / duplicated, ...) are printed at the end and
written to scale-report.json (SCALE_REPORT=path to change it).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM_ARGS, _chromium
from tests.scale.cluster import (
    METRICS_TOKEN,
    ROOT,
    SECRET_KEY,
    TEST_ONLY,
    Balancer,
    Postgres,
    Redis,
    Replica,
    Sandbox,
    env_file,
    free_port,
    until,
)

FIGURES: dict[str, object] = {}
_STARTED = time.monotonic()


@dataclass
class Cluster:
    postgres: Postgres
    redis: Redis
    sandbox: Sandbox
    balancer: Balancer
    replicas: dict[str, Replica] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.balancer.url

    def balanced(self) -> None:
        """Wait until HAProxy sees every replica up (a restarted one needs two good health checks)."""
        until(lambda: set(self.balancer.status().values()) == {"UP"}, 60, "HAProxy to see every replica up")

    def other(self, replica: Replica) -> Replica:
        return next(r for r in self.replicas.values() if r is not replica)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> Cluster:
    base = tmp_path_factory.mktemp("scale")
    started: list = []
    try:
        postgres = Postgres().start()
        started.append(postgres)
        redis = Redis(base / "redis").start()
        started.append(redis)
        ports = {"app1": free_port(), "app2": free_port()}
        balancer = Balancer(base, [f"127.0.0.1:{port}" for port in ports.values()])
        # The sandbox's OAuth clients accept only the app's callbacks, at the balancer's address (PUBLIC_URL).
        sandbox = Sandbox(base, public_url=balancer.url).start()
        started.append(sandbox)
        balancer.start()
        started.append(balancer)
        shared = env_file(
            {
                "DATABASE_URL": postgres.url,
                "REDIS_URL": redis.url,
                "PUBLIC_URL": balancer.url,
                "ROUTY_SECRET_KEY": SECRET_KEY,
                "ROUTY_METRICS_TOKEN": METRICS_TOKEN,
                "TRUSTED_PROXIES": "127.0.0.1",
                "ROUTY_DATA_DIR": "set per replica",
            }
        )
        cluster = Cluster(postgres, redis, sandbox, balancer)
        began = time.monotonic()
        for name, port in ports.items():  # both at once: their `migrate` steps meet the migration lock
            settings = {
                **shared,
                **TEST_ONLY,
                "ROUTY_SANDBOX_URL": sandbox.url,
                "ROUTY_DATA_DIR": str(base / f"{name}-data"),
            }  # one data dir per "host"
            replica = Replica(name, base, settings, port=port).start()
            started.append(replica)
            cluster.replicas[name] = replica
        for replica in cluster.replicas.values():
            replica.wait_ready()
        cluster.balanced()
        FIGURES["replicas_ready_seconds"] = round(time.monotonic() - began, 1)
        _use_cluster_database(cluster)
        yield cluster
    finally:
        for service in reversed(started):
            with contextlib.suppress(Exception):  # stop the rest whatever happens
                service.stop()


def _use_cluster_database(cluster: Cluster) -> None:
    """The test process reads and seeds the cluster's database and talks to its sandbox through the services."""
    from routy_app import crypto
    from routy_app.config import reload_settings
    from routy_app.db import reset_engine
    from routy_app.services import hub

    os.environ.update(
        {
            "DATABASE_URL": cluster.postgres.url,
            "ROUTY_SECRET_KEY": SECRET_KEY,
            "ROUTY_PROVIDER_MODE": "sandbox",
            "ROUTY_SANDBOX_URL": cluster.sandbox.url,
            "PUBLIC_URL": cluster.url,
            "ROUTY_SCHEDULER_ENABLED": "false",
        }
    )
    reload_settings()
    crypto.get_box.cache_clear()
    reset_engine()
    hub._default_hub = None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    executable = _chromium()
    if executable:
        args["executable_path"] = executable
    return args


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:  # nothing ran (e.g. --collect-only)
        return
    FIGURES["make_test_scale_pytest_seconds"] = round(time.monotonic() - _STARTED, 1)
    path = Path(os.environ.get("SCALE_REPORT") or ROOT / "scale-report.json")
    path.write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
    terminalreporter.section("test-scale figures")
    for key, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{key}: {value}")
    terminalreporter.write_line(f"(written to {path})")
