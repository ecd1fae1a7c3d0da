"""Write routy_app/sandbox/meta/sdk_fields.py from the installed `facebook-business` SDK's own field lists.

Meta publishes no schema; its official SDK's field lists are the closest thing. The sandbox checks
field names against them (an unknown insights field or CAPI key is refused as Graph refuses it) but
must not depend on the SDK at run time (the SDK is a dev dependency), so the lists are copied into a
module, and tests/contract/test_meta_field_lists.py fails when the copy and the installed SDK differ.
Run after upgrading facebook-business:  . scripts/env.sh && python scripts/gen_meta_fields.py
"""

from __future__ import annotations

import importlib.metadata
import pprint
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "routy_app" / "sandbox" / "meta" / "sdk_fields.py"


def _names(field_class: type) -> list[str]:
    return sorted(v for k, v in vars(field_class).items() if not k.startswith("_") and isinstance(v, str))


def user_data_keys() -> list[str]:
    """The JSON keys UserData.normalize() writes when every attribute is set (em, ph, fn, ...)."""
    from facebook_business.adobjects.serverside.gender import Gender
    from facebook_business.adobjects.serverside.user_data import UserData

    user = UserData()
    for name, kind in UserData.param_types.items():
        value = [Gender.FEMALE] if "Gender" in kind else ["a" * 64] if kind.startswith("list") else "a" * 64
        setattr(user, name, value)
    return sorted(user.normalize())


def current_lists() -> dict[str, list[str]]:
    from facebook_business.adobjects.adaccount import AdAccount
    from facebook_business.adobjects.adsinsights import AdsInsights
    from facebook_business.adobjects.adspixel import AdsPixel
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event
    from facebook_business.adobjects.serverside.event_request import EventRequest

    return {
        "ADS_INSIGHTS_FIELDS": _names(AdsInsights.Field),
        "AD_ACCOUNT_FIELDS": _names(AdAccount.Field),
        "ADS_PIXEL_FIELDS": _names(AdsPixel.Field),
        "CAPI_REQUEST_PARAMS": sorted(set(EventRequest.param_types) - {"events"} | {"data"}),
        "CAPI_EVENT_KEYS": sorted(Event.param_types),
        "CAPI_USER_DATA_KEYS": user_data_keys(),
        "CAPI_CUSTOM_DATA_KEYS": sorted(set(CustomData.param_types) - {"custom_properties"}),
    }


def render() -> str:
    version = importlib.metadata.version("facebook-business")
    lines = [
        '"""Field names from Meta\'s official `facebook-business` SDK ' + version + " (generated).",
        "",
        "Written by scripts/gen_meta_fields.py; tests/contract/test_meta_field_lists.py checks it against the",
        "installed SDK. Do not edit by hand: upgrade the SDK and run the script.",
        '"""',
        "",
        f'SDK_VERSION = "{version}"',
        "",
    ]
    for name, values in current_lists().items():
        text = pprint.pformat(frozenset(values), width=110, compact=True)
        lines.append(f"{name} = {text}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
