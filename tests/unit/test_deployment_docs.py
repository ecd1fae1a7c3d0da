"""docs/deployment.md shows the deployment files `make test-scale` runs, exactly (so the guide cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "deployment.md").read_text()
BLOCKS = [match.group(1) for match in re.finditer(r"```[a-z]*\n(.*?)```", GUIDE, flags=re.DOTALL)]


@pytest.mark.parametrize("name", ["haproxy.cfg", "systemd/routy@.service", "routy.env.example"])
def test_the_guide_shows_each_deployment_file_whole(name):
    assert (ROOT / "deploy" / name).read_text() in BLOCKS, f"docs/deployment.md does not show deploy/{name} as it is"


def test_the_scale_test_starts_replicas_and_balancer_from_those_files():
    from tests.scale import cluster

    assert cluster.UNIT == ROOT / "deploy" / "systemd" / "routy@.service"
    assert cluster.ENV_FILE == ROOT / "deploy" / "routy.env.example"
    assert cluster.HAPROXY_CFG == ROOT / "deploy" / "haproxy.cfg"
    argv, env, runtime = cluster.unit_command(3001, Path("/tmp/run"))
    assert argv[1:] == ["run", "PORT=3001"] and env == {"PROMETHEUS_MULTIPROC_DIR": "/tmp/run/routy-3001"}
    assert runtime == [Path("/tmp/run/routy-3001")]
