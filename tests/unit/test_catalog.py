from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus
from routy_app.services import catalog


def test_four_cards_not_connected_by_default(db):
    with session_scope() as s:
        cards = catalog.cards_for_source(s, 1)
    assert [c.key for c in cards] == ["google_ads", "meta_ads", "ga4", "webhook"]
    assert {c.status_label for c in cards} == {"Not Connected"}
    assert {c.action_label for c in cards} == {"Connect"}
    assert all(c.logo.endswith(".svg") for c in cards)


def test_card_reflects_integration_status(db):
    with session_scope() as s:
        s.add(
            Integration(
                traffic_source_id=1,
                provider="meta_ads",
                status=IntegrationStatus.RECONNECT_REQUIRED,
                account_id="act_1",
                account_name="Shop",
            )
        )
        s.commit()
        cards = {c.key: c for c in catalog.cards_for_source(s, 1)}
    assert cards["meta_ads"].status_label == "Error — Reconnection Required"
    assert cards["meta_ads"].action_label == "Reconnect"
    assert cards["meta_ads"].account_label == "Shop (act_1)"
    assert cards["google_ads"].status_label == "Not Connected"
