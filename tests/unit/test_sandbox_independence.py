"""The sandbox stands in for the providers to check our adapters, so it must not take their knowledge on
trust: loading the whole emulator loads no other part of Routy (no routy_app.providers, not even through
config), only the sandbox and the shared client values in routy_app/sandbox_defaults.py."""

from __future__ import annotations

import subprocess
import sys

_LOADED = (
    "import sys, routy_app.sandbox.app\n"
    "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('routy_app.'))))\n"
)


def test_the_sandbox_loads_nothing_of_routy_but_itself():
    loaded = subprocess.run([sys.executable, "-c", _LOADED], capture_output=True, text=True, check=True).stdout.split()
    assert "routy_app.sandbox.app" in loaded
    others = [
        m
        for m in loaded
        if m not in ("routy_app.sandbox", "routy_app.sandbox_defaults") and not m.startswith("routy_app.sandbox.")
    ]
    assert others == []
