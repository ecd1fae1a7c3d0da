"""`make run` faces this machine only unless told otherwise: a fresh install's first-admin page must not be
reachable from the network before the operator gets to it (attack report F5)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _listen_address(**env: str) -> str:
    command = subprocess.run(
        ["make", "-n", "run", "PORT=3999"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "ROUTY_HOST"}, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"reflex run .*--backend-host (\S+)", command)
    assert found, command
    return found.group(1)


def test_make_run_listens_on_loopback_by_default():
    assert _listen_address() == "127.0.0.1"


def test_routy_host_opens_it_to_the_network():
    assert _listen_address(ROUTY_HOST="0.0.0.0") == "0.0.0.0"
