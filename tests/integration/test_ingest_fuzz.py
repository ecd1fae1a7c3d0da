"""Property-based fuzz of both ingest routes (issue 12, item 5): whatever arrives, the answer is
2xx or 4xx (never a 500), the database holds exactly the events a 2xx answer acknowledged, and no
stored text carries an invisible, format, private-use or unassigned character or a U+FFFD left by
decoding bytes that were not UTF-8 (attack report F8).

Inputs are mostly event-shaped (so validation is reached, not only the JSON parser), with every
field drawn from hostile values: lone surrogates, control and direction characters, huge and
tiny numbers, extreme dates and offsets, wrong types, nesting, unknown keys; plus raw bytes and
random JSON. Runs derandomised in `make test`; `HYPOTHESIS_PROFILE=fuzz` runs many more, randomly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import unicodedata
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from routy_app.api.app import build_api
from routy_app.db import session_scope
from routy_app.models import Conversion
from routy_app.security import secure
from routy_app.services import conversions
from routy_app.services.conversions import ALLOWED_FIELDS, CLICK_FIELDS

settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=3000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HOSTILE_CHARS = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\x00",
        "\x1b",
        "\x7f",
        "\x85",
        "\u202e",
        "\u2066",
        "\u200f",
        "\ufeff",
        "\u200b",
        "\u2028",
        "\u2029",
        "\U000e0041",
        "\ue000",
        "\ufffe",
        "\ufffd",
        "é",
        "😀",
        " ",
        "\n",
        "=",
        "%",
        "'",
        '"',
        "\\",
    ]
)
# One character a reader cannot see (or U+FFFD) in an otherwise ordinary id: stored, it makes two ids that
# look alike distinct (attack report F8).
HIDDEN_ID = st.tuples(
    st.integers(0, 50),
    st.sampled_from(["\u200b", "\u2060", "\ufeff", "\u2028", "\u2029", "\U000e0041", "\ue000", "\ufffd"]),
).map(lambda pair: f"fz-{pair[0]}{pair[1]}")
TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(HOSTILE_CHARS, st.characters()), max_size=12).map("".join),
    st.sampled_from(
        [
            "",
            " ",
            "lead",
            "sale",
            "USD",
            "EUR",
            "usd",
            "buyer@example.com",
            "+14155550123",
            "203.0.113.7",
            "fe80::1%eth0",
            "::1",
            "a" * 1001,
        ]
    ),
)
MOMENTS = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(9999, 12, 31, 23, 59, 59),
        timezones=st.sampled_from(
            [
                dt.UTC,
                dt.timezone(dt.timedelta(hours=1)),
                dt.timezone(dt.timedelta(hours=-1)),
                dt.timezone(dt.timedelta(hours=23, minutes=59)),
            ]
        ),
    ).map(dt.datetime.isoformat),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00Z",
            "2020-02-30T00:00:00Z",
            "nonsense",
        ]
    ),
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True),
    st.sampled_from(["1e999999", "-0", "NaN", "1e-999999", "19.99", "0.0000001", "999999999999.99"]),
)
JSON_LEAF = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_ANY = st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
FIELD_VALUE = st.one_of(
    TEXT,
    NUMBERS,
    st.none(),
    st.booleans(),
    st.lists(JSON_LEAF, max_size=2),
    st.dictionaries(TEXT, JSON_LEAF, max_size=2),
)

EVENT = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(0, 50).map(lambda n: f"fz-{n}"), HIDDEN_ID, FIELD_VALUE),
        "event_type": st.one_of(st.sampled_from(["sale", "lead"]), FIELD_VALUE),
        "occurred_at": st.one_of(MOMENTS, FIELD_VALUE),
    },
    optional={
        "value": st.one_of(NUMBERS, FIELD_VALUE),
        "currency": st.one_of(st.sampled_from(["USD", "EUR"]), FIELD_VALUE),
        **dict.fromkeys(
            sorted(ALLOWED_FIELDS - {"id", "event_type", "occurred_at", "value", "currency", "consent"}), FIELD_VALUE
        ),
        "consent": st.one_of(
            st.fixed_dictionaries({}, optional={"ad_user_data": FIELD_VALUE, "ad_personalization": FIELD_VALUE}),
            FIELD_VALUE,
        ),
        "unknown": FIELD_VALUE,
    },
)
BODIES = st.one_of(
    EVENT.map(lambda e: json.dumps(e).encode()),
    st.lists(EVENT, min_size=0, max_size=4).map(lambda es: json.dumps(es).encode()),
    JSON_ANY.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.binary(max_size=200),
)
POSTBACK_VALUE = st.one_of(TEXT, MOMENTS, NUMBERS.map(str))
POSTBACK_NAMES = st.sampled_from(
    sorted(
        {
            "event",
            "click_id",
            "click_id_type",
            "value",
            "currency",
            "id",
            "occurred_at",
            "email",
            "phone",
            "user_agent",
            "ip",
            *CLICK_FIELDS,
            "bogus",
        }
    )
)
POSTBACK_FIELDS = st.fixed_dictionaries(
    {"event": st.one_of(st.sampled_from(["sale", "lead"]), TEXT)},
    optional={
        "occurred_at": MOMENTS,
        "id": st.one_of(st.integers(0, 50).map(lambda n: f"pb-{n}"), TEXT),
        **dict.fromkeys(
            ("click_id", "click_id_type", "value", "currency", "email", "phone", "user_agent", "ip", *CLICK_FIELDS),
            POSTBACK_VALUE,
        ),
    },
)


def _query(pairs) -> str:
    return urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs])


QUERIES = st.one_of(
    POSTBACK_FIELDS.map(lambda fields: _query(fields.items())),
    st.lists(st.tuples(POSTBACK_NAMES, POSTBACK_VALUE), max_size=6).map(_query),
    st.binary(max_size=60).map(lambda raw: "event=" + quote(raw, safe="") + "&id=" + quote(raw[::-1], safe="")),
    st.binary(min_size=1, max_size=12).map(lambda raw: "event=sale&id=" + quote(raw, safe="")),
)


class Ledger:
    """What the routes said they stored (external ids acknowledged by a 2xx answer)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def record(self, answer: httpx.Response) -> None:
        assert answer.status_code < 500, (answer.status_code, answer.text[:300])
        if answer.status_code < 300:
            body = answer.json()
            self.ids.update(e["external_id"] for e in body.get("events", [body]))

    def matches_database(self) -> None:
        with session_scope() as session:
            stored = set(session.exec(select(Conversion.external_id)).all())
            texts = session.exec(select(*(getattr(Conversion, name) for name in STORED_TEXT))).all()
        assert stored == self.ids
        for row in texts:  # attack report F8: nothing invisible, and no U+FFFD from a lenient decoder
            for name, text in zip(STORED_TEXT, row, strict=True):
                hidden = [c for c in text or "" if c == "\ufffd" or unicodedata.category(c) in HIDDEN_CATEGORIES]
                assert not hidden, (name, text)


STORED_TEXT = ("external_id", "user_agent", *CLICK_FIELDS)
HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@pytest.fixture
def api_key(db) -> str:
    with session_scope() as session:
        return conversions.create_api_key(session, 1)


def _call(app, method: str, url: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def test_conversions_api_answers_2xx_or_4xx_and_stores_only_what_it_acknowledged(api_key):
    ledger, app = Ledger(), secure(build_api())

    @given(body=BODIES)
    def post(body: bytes) -> None:
        ledger.record(
            _call(
                app,
                "POST",
                "/api/v1/conversions",
                content=body,
                headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            )
        )

    post()
    ledger.matches_database()


def test_a_well_formed_event_stores_no_hidden_character_in_its_text(api_key):
    """Most fuzzed events fail on their date or type; these are valid but for the text fields (F8)."""
    ledger, app = Ledger(), secure(build_api())
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()

    @given(ident=st.one_of(HIDDEN_ID, TEXT), agent=st.one_of(st.none(), TEXT), gclid=st.one_of(st.none(), TEXT))
    def post(ident: str, agent: str | None, gclid: str | None) -> None:
        event = {"id": ident, "event_type": "sale", "occurred_at": recent, "user_agent": agent, "gclid": gclid}
        body = json.dumps(event).encode()
        ledger.record(
            _call(app, "POST", "/api/v1/conversions", content=body, headers={"Authorization": f"Bearer {api_key}"})
        )

    post()
    ledger.matches_database()


def test_postback_answers_2xx_or_4xx_and_stores_only_what_it_acknowledged(api_key):
    ledger, app = Ledger(), secure(build_api())

    @given(query=QUERIES)
    def fire(query: str) -> None:
        ledger.record(_call(app, "GET", f"/postback?key={api_key}&{query}"))

    fire()
    ledger.matches_database()
