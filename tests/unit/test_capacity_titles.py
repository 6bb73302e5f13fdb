"""The board names a card's objective as its classification did; older cards look it up in the OKR sets."""

from capacity.domain import Ledger
from capacity.events import fold
from capacity.objectives import NO_TITLES, Titles
from tests.builders import classification

SETS = Titles({("2026-Q4", 1): {"O2": "Customers reach value in 90 days"}})


def _card_of(**data: object) -> Ledger:
    ledger = Ledger()
    fold(ledger, classification("webinar", data, objective="O2", rank=2))
    return ledger


def test_a_card_is_named_by_the_title_its_classification_carried_with_no_okr_set_known() -> None:
    card = _card_of(objective_title="Reduce customer churn", okr_quarter="2026-Q4", okr_version=1).cards["webinar"]
    assert NO_TITLES.of_card(card) == "Reduce customer churn"
    assert SETS.of_card(card) == "Reduce customer churn"
    assert SETS.by_objective([card]) == {"O2": "Reduce customer churn"}


def test_a_card_classified_before_classifications_carried_titles_is_named_from_its_okr_set() -> None:
    card = _card_of(okr_quarter="2026-Q4", okr_version=1).cards["webinar"]
    assert card.objective_title is None
    assert SETS.of_card(card) == "Customers reach value in 90 days"
    assert NO_TITLES.of_card(card) is None
