"""A push run's status and texts from its counts (services/push/tally.py) and sentence endings."""

from __future__ import annotations

import pytest

from routy_app.services.push.tally import Tally, for_the_card
from routy_app.services.wording import sentence


def _tally(
    read: int = 0,
    sent: int = 0,
    failed: dict[str, int] | None = None,
    skipped: dict[str, int] | None = None,
    errors: tuple[str, ...] = (),
) -> Tally:
    tally = Tally(read=read, sent=sent, errors=list(errors))
    for reason, n in (failed or {}).items():
        tally.fail(reason, n)
    for reason, n in (skipped or {}).items():
        tally.skip(reason, n)
    return tally


@pytest.mark.parametrize(
    ("tally", "outcome", "status"),
    [
        (_tally(3, sent=3), "done", "success"),
        (_tally(3, skipped={"no click id": 3}), "done", "success"),  # rules at work, not failures
        (_tally(300, failed={"(#100) Invalid parameter": 300}), "done", "failed"),
        (_tally(3, sent=2, failed={"bad": 1}), "done", "partial"),
        (_tally(3, sent=2, errors=("provider down",)), "error", "partial"),
        (_tally(0, errors=("no authorisation stored",)), "error", "failed"),
        (_tally(3, sent=1, errors=("refused",)), "auth", "failed"),
    ],
)
def test_status_follows_the_rows(tally: Tally, outcome: str, status: str):
    assert tally.status(outcome) == status


def test_the_run_text_counts_each_reason_and_lists_batch_errors_once():
    tally = _tally(
        1010,
        sent=5,
        failed={"A": 600, "B": 300, "C": 100, "D": 3},
        skipped={"too old": 2},
        errors=("A", "The push lock was taken over"),
    )
    assert tally.text() == (
        "1,003 failed (600: A; 300: B; 100: C; and 1 more reason) | 2 skipped (2: too old) | "
        "The push lock was taken over"
    )


def test_the_card_says_how_many_of_how_many_failed_and_why():
    failed = _tally(300, failed={"(#100) Invalid parameter.": 300})
    assert for_the_card(failed, "failed").startswith(
        "Push failed: 300 of 300 conversions failed: (#100) Invalid parameter (x300)."
    )
    partial = _tally(1502, sent=500, failed={"(#100) Invalid parameter": 1000}, skipped={"no match": 2})
    assert "1,000 of 1,502 conversions failed" in for_the_card(partial, "partial")
    assert "500 sent, 2 skipped." in for_the_card(partial, "partial")
    assert (
        for_the_card(_tally(0, errors=("Authorisation refused.",)), "failed") == "Push failed: Authorisation refused."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Token has been expired or revoked.", "Token has been expired or revoked."),
        ("Token has been expired or revoked", "Token has been expired or revoked."),
        ("Ends twice.. ", "Ends twice."),
        ("Really?", "Really?"),
    ],
)
def test_a_sentence_ends_in_one_full_stop(text: str, expected: str):
    assert sentence(text) == expected
