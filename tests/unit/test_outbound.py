"""routy_app.outbound: signatures, templates, backoff and the classification of answers."""

from __future__ import annotations

import json
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routy_app.outbound import backoff, signing, templates
from routy_app.outbound.send import EXCERPT_BYTES, send_request

SECRET = "whsec_test-secret-0123456789"
BODY = b'{"id":"inc1-opened-0","type":"incident.opened"}'


# ---------------------------------------------------------------- signing


def test_a_signature_verifies_and_any_change_breaks_it():
    header = signing.signature_header(SECRET, 1_800_000_000, BODY)
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert signing.verify(SECRET, header, BODY, now=1_800_000_100)
    assert not signing.verify(SECRET, header, BODY + b" ", now=1_800_000_100)
    assert not signing.verify("whsec_another-secret-000000", header, BODY, now=1_800_000_100)
    assert not signing.verify(SECRET, header.replace("t=1800000000", "t=1800000001"), BODY, now=1_800_000_100)


def test_an_old_or_future_timestamp_is_refused():
    header = signing.signature_header(SECRET, 1_800_000_000, BODY)
    assert signing.verify(SECRET, header, BODY, now=1_800_000_300)
    assert not signing.verify(SECRET, header, BODY, now=1_800_000_301)
    assert not signing.verify(SECRET, header, BODY, now=1_799_999_699)


def test_one_matching_signature_of_several_is_enough_for_secret_rotation():
    good = signing.signature(SECRET, 1_800_000_000, BODY)
    assert signing.verify(SECRET, f"t=1800000000,v1={'0' * 64},v1={good}", BODY, now=1_800_000_000)


@given(st.text(max_size=200))
def test_any_header_text_is_parsed_without_error_and_never_verifies_by_accident(header):
    signing.parse_header(header)
    assert not signing.verify(SECRET, header, BODY, now=1_800_000_000)


def test_new_secrets_are_long_random_and_recognisable():
    one, two = signing.new_secret(), signing.new_secret()
    assert one != two and one.startswith("whsec_") and len(one) > 40


# ---------------------------------------------------------------- templates


def test_json_template_escapes_by_context():
    template = '{"id": "{id}", "value": {value}, "note": "say \\"{text}\\"", "none": {missing}, "raw": {text}}'
    rendered = templates.render_json(template, {"id": 'a"b\\c', "value": 12.5, "text": "x\ny", "missing": None})
    assert json.loads(rendered) == {"id": 'a"b\\c', "value": 12.5, "note": 'say "x\ny"', "none": None, "raw": "x\ny"}


def test_json_template_that_does_not_parse_is_refused_with_the_reason():
    with pytest.raises(templates.TemplateError, match="not valid JSON"):
        templates.render_json('{"a": {value}', {"value": 1})


def test_unknown_macros_are_named():
    with pytest.raises(templates.TemplateError, match=r"\{clickid\}"):
        templates.check("https://x.test/?c={clickid}&v={value}", {"value", "gclid"})
    templates.check('{"a": 1, "v": {value}}', {"value"})  # a JSON object is not a macro


def test_url_template_percent_encodes_every_reserved_character():
    url = templates.render_url("https://r.test/pb?cid={id}&v={value}", {"id": "a&b=c/d?e#f g", "value": 3})
    assert url == "https://r.test/pb?cid=a%26b%3Dc%2Fd%3Fe%23f%20g&v=3"


@given(
    st.text(max_size=100),
    st.one_of(
        st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.text(max_size=50)
    ),
)
def test_json_rendering_round_trips_any_value(text, value):
    rendered = templates.render_json('{"in_string": "<{text}>", "as_value": {value}}', {"text": text, "value": value})
    parsed = json.loads(rendered)
    assert parsed["in_string"] == f"<{text}>"
    assert parsed["as_value"] == value


@given(st.text(max_size=100))
def test_url_rendering_round_trips_and_cannot_add_parameters(value):
    url = templates.render_url("https://r.test/pb?cid={v}", {"v": value})
    query = url.split("?", 1)[1]
    assert "&" not in query and "#" not in query and " " not in url
    assert unquote(query.removeprefix("cid=")) == value


def test_text_rendering():
    assert (
        templates.render_text("[Routy] {state}: {title}", {"state": "Opened", "title": "{x}"}) == "[Routy] Opened: {x}"
    )
    assert templates.macros("{a} {b} {a}") == ["a", "b"]


# ---------------------------------------------------------------- backoff


def test_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after():
    fixed = {"uniform": lambda low, high: 1.0}
    assert [backoff.delay(n, first=60, cap=3600, **fixed) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]
    assert backoff.delay(1, first=60, cap=3600, retry_after=600, **fixed) == 600
    assert backoff.delay(1, first=60, cap=3600, retry_after=86_400, **fixed) == 3600
    for _ in range(50):
        assert 48 <= backoff.delay(1, first=60, cap=3600) <= 72


# ---------------------------------------------------------------- send_request


URL = "https://hooks.example.test/services/T000/B000/sEcReTtOkEn"


async def _outcome(handler):
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await send_request(client, "POST", URL, content=b"{}", headers={"Content-Type": "application/json"})


async def test_2xx_is_delivered_with_status_latency_and_excerpt():
    outcome = await _outcome(lambda request: httpx.Response(200, text="ok" * 2000))
    assert outcome.ok and not outcome.retryable and outcome.status_code == 200
    assert len(outcome.response_excerpt) == EXCERPT_BYTES and outcome.summary().startswith("HTTP 200 in ")


@pytest.mark.parametrize(
    "status, retryable",
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (404, False),
        (410, False),
        (301, False),
    ],
)
async def test_answers_are_classified_for_retrying(status, retryable):
    outcome = await _outcome(
        lambda request: httpx.Response(
            status, headers={"Location": "https://x.test/"} if status == 301 else {}, text="no"
        )
    )
    assert not outcome.ok and outcome.retryable is retryable and outcome.status_code == status
    assert str(status) in outcome.error and "sEcReTtOkEn" not in outcome.error


async def test_retry_after_is_read_in_seconds_or_as_a_date():
    outcome = await _outcome(lambda request: httpx.Response(429, headers={"Retry-After": "120"}))
    assert outcome.retry_after == 120
    outcome = await _outcome(
        lambda request: httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )
    assert outcome.retry_after == 0.0


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
async def test_network_trouble_is_retryable_and_never_raises(error):
    def handler(request):
        raise error

    outcome = await _outcome(handler)
    assert not outcome.ok and outcome.retryable and outcome.status_code is None and outcome.error
    assert "sEcReTtOkEn" not in outcome.error


async def test_redirects_are_not_followed():
    seen = []

    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://elsewhere.test/"})

    outcome = await _outcome(handler)
    assert len(seen) == 1 and "redirect" in outcome.error and not outcome.retryable
