"""The sandbox's copy of Meta's field lists equals the installed official SDK's (sandbox/meta/sdk_fields.py).

The sandbox refuses field names the SDK does not know and must not import the SDK at run time, so it
keeps a generated copy; this test fails when the copy is stale. Fix: `python scripts/gen_meta_fields.py`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from routy_app.sandbox.meta import sdk_fields

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_meta_fields", ROOT / "scripts" / "gen_meta_fields.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_copy_matches_the_installed_sdk() -> None:
    assert importlib.metadata.version("facebook-business") == sdk_fields.SDK_VERSION
    for name, values in _generator().current_lists().items():
        assert getattr(sdk_fields, name) == frozenset(values), f"{name} differs from the SDK: regenerate"


def test_what_routy_sends_is_in_the_lists() -> None:
    """Every insights field and account field our adapter asks for, and every CAPI key it writes."""
    import datetime as dt

    from routy_app.providers.meta_ads.insights import insights_params

    for level in ("campaign", "ad_group", "ad"):
        fields = insights_params(level, dt.date(2026, 11, 1), dt.date(2026, 11, 2))["fields"]
        assert set(fields.split(",")) <= sdk_fields.ADS_INSIGHTS_FIELDS
    assert {"id", "account_id", "name", "currency", "timezone_name", "account_status"} <= sdk_fields.AD_ACCOUNT_FIELDS
    assert {
        "event_name",
        "event_time",
        "event_id",
        "action_source",
        "user_data",
        "custom_data",
        "event_source_url",
    } <= sdk_fields.CAPI_EVENT_KEYS
    assert {"em", "ph", "fbc", "fbp", "client_ip_address", "client_user_agent"} <= sdk_fields.CAPI_USER_DATA_KEYS
