"""Which objective a request ladders up to, and what becomes of the requester's claim."""

import ast
import dataclasses
from pathlib import Path

import pytest

from classifier import alignment
from classifier.alignment import Aligner, Alignment, AlignmentConfig, Objective
from classifier.terms import NARROW_AUDIENCE, phrases_in


@pytest.fixture
def objectives() -> tuple[Objective, ...]:
    """A bicycle maker's quarter: deliberately not the sample OKR set."""
    return (
        Objective(
            id="K1",
            rank=1,
            title="Launch the Horizon e-bike in Germany",
            description=(
                "Make the Horizon e-bike the first choice of German commuters: the launch campaign, "
                "dealer events, test rides and press for the new model."
            ),
            key_results=(
                "Book 5,000 test rides of the Horizon in Germany by 31 December",
                "Sign 120 German dealers to stock the Horizon",
            ),
            keywords=("Horizon", "launch", "e-bike", "Germany", "dealer", "test ride"),
        ),
        Objective(
            id="K2",
            rank=2,
            title="Keep subscribers riding through onboarding and service",
            description=(
                "Riders who never book a first service cancel their subscription. Help new subscribers "
                "through the first 60 days with onboarding emails, how-to videos and service reminders."
            ),
            key_results=(
                "Cut monthly subscription churn from 3% to 2%",
                "70% of new subscribers book their first service within 60 days",
            ),
            keywords=("churn", "onboarding", "subscription", "service reminder", "rider app"),
        ),
        Objective(
            id="K3",
            rank=3,
            title="Grow sales in the web shop",
            description=(
                "Let people buy accessories and spare parts online without visiting a store: the web "
                "shop's product pages, basket and checkout, and organic search traffic."
            ),
            key_results=(
                "Lift web shop conversion from 1.8% to 2.5%",
                "Grow organic search visits to the web shop by 25%",
            ),
            keywords=("web shop", "checkout", "basket", "conversion", "SEO", "accessories"),
        ),
    )


@pytest.fixture
def aligner(objectives: tuple[Objective, ...]) -> Aligner:
    return Aligner(objectives)


LAUNCH_PAGE = {
    "title": "Launch page for the Horizon e-bike",
    "description": (
        "The main page every Horizon launch asset points to: what is new, a short film, "
        "a dealer finder for Germany and a form to book a test ride."
    ),
    "customer_outcome": "German commuters see what the Horizon does for them and book a test ride.",
}
ONE_ACCOUNT_PAGE = {
    "title": "Landing page for Halvorsen Logistics",
    "description": (
        "Can we get a custom landing page for Halvorsen Logistics? They are one of my biggest "
        "accounts. Their logo, a welcome note from their sponsor and the material we sent."
    ),
    "customer_outcome": "Helps me close the Halvorsen deal this quarter.",
}
CHECKOUT_COPY = {
    "title": "Shorter checkout for the web shop",
    "description": "Cut the checkout to two steps and show the basket next to the payment form.",
    "customer_outcome": "People can buy spare parts online in under a minute.",
}


def align(aligner: Aligner, request: dict[str, str], okr_claim: str | None = None) -> Alignment:
    return aligner.align(
        title=request["title"],
        description=request["description"],
        customer_outcome=request["customer_outcome"],
        okr_claim=okr_claim,
    )


def test_launch_page_ladders_up_to_the_launch_objective(aligner: Aligner) -> None:
    result = align(aligner, LAUNCH_PAGE)

    assert result.objective_id == "K1"
    assert result.score >= AlignmentConfig().threshold


def test_checkout_work_ladders_up_to_the_web_shop_objective(aligner: Aligner) -> None:
    assert align(aligner, CHECKOUT_COPY).objective_id == "K3"


def test_one_account_landing_page_ladders_up_to_nothing(aligner: Aligner) -> None:
    result = align(aligner, ONE_ACCOUNT_PAGE)

    assert result.objective_id is None
    assert result.score < AlignmentConfig().threshold


def test_runner_up_is_the_next_best_objective(aligner: Aligner) -> None:
    result = align(aligner, LAUNCH_PAGE)

    assert result.runner_up_id in {"K2", "K3"}
    assert result.runner_up_score is not None
    assert result.runner_up_score < result.score


def test_when_nothing_fits_the_runner_up_is_the_closest_objective(aligner: Aligner) -> None:
    result = align(aligner, ONE_ACCOUNT_PAGE)

    assert result.runner_up_id is not None
    assert result.runner_up_score == result.score


def test_request_without_claim_is_not_claimed(aligner: Aligner) -> None:
    assert align(aligner, LAUNCH_PAGE).claim == "not_claimed"


def test_claim_of_the_best_objective_is_confirmed(aligner: Aligner) -> None:
    assert align(aligner, LAUNCH_PAGE, okr_claim="K1").claim == "confirmed"


def test_claim_of_a_weaker_objective_is_contradicted(aligner: Aligner) -> None:
    result = align(aligner, CHECKOUT_COPY, okr_claim="K1")

    assert result.claim == "contradicted"
    assert result.objective_id == "K3"
    assert "K1" in result.rationale


def test_claim_when_nothing_fits_is_contradicted(aligner: Aligner) -> None:
    result = align(aligner, ONE_ACCOUNT_PAGE, okr_claim="K1")

    assert result.claim == "contradicted"
    assert result.objective_id is None


def test_claim_of_unknown_objective_is_reported(aligner: Aligner) -> None:
    result = align(aligner, LAUNCH_PAGE, okr_claim="K9")

    assert result.claim == "unknown_objective"
    assert result.objective_id == "K1"
    assert "K9" in result.rationale


def test_a_near_tie_goes_to_the_claimed_objective(objectives: tuple[Objective, ...]) -> None:
    both = {
        "title": "Horizon test rides booked from the web shop",
        "description": "Let people book a Horizon test ride from the web shop checkout.",
        "customer_outcome": "",
    }
    unclaimed = align(Aligner(objectives), both)
    claimed = align(Aligner(objectives), both, okr_claim="K1")
    no_margin = align(Aligner(objectives, AlignmentConfig(claim_margin=0.0)), both, okr_claim="K1")

    assert unclaimed.objective_id == "K3"
    assert unclaimed.runner_up_id == "K1"
    assert (claimed.objective_id, claimed.claim) == ("K1", "confirmed")
    assert (no_margin.objective_id, no_margin.claim) == ("K3", "contradicted")


def test_rationale_names_the_matched_terms(aligner: Aligner) -> None:
    result = align(aligner, LAUNCH_PAGE)

    assert "horizon e-bike" in result.matched_terms
    assert "test ride" in result.matched_terms
    for term in result.matched_terms:
        assert f'"{term}"' in result.rationale
    assert result.rationale.startswith('Ladders up to K1 "Launch the Horizon e-bike in Germany"')


def test_rationale_says_why_nothing_fits(aligner: Aligner) -> None:
    rationale = align(aligner, ONE_ACCOUNT_PAGE).rationale

    assert rationale.startswith("Ladders up to no objective")
    assert "threshold" in rationale


def test_threshold_is_configuration(objectives: tuple[Objective, ...]) -> None:
    default = align(Aligner(objectives), LAUNCH_PAGE)
    strict = align(Aligner(objectives, AlignmentConfig(threshold=default.score + 1)), LAUNCH_PAGE)
    lenient = align(Aligner(objectives, AlignmentConfig(threshold=0.1)), ONE_ACCOUNT_PAGE)

    assert default.objective_id == "K1"
    assert strict.objective_id is None
    assert lenient.objective_id is not None


def test_a_keyword_phrase_counts_more_than_its_words_apart(aligner: Aligner) -> None:
    phrase = aligner.align(title="Test ride booking", description="", customer_outcome=None, okr_claim=None)
    apart = aligner.align(title="Ride booking test", description="", customer_outcome=None, okr_claim=None)

    assert phrase.score > apart.score


def test_title_counts_more_than_description(aligner: Aligner) -> None:
    in_title = aligner.align(
        title="Onboarding emails", description="Six emails.", customer_outcome=None, okr_claim=None
    )
    in_description = aligner.align(
        title="Six emails", description="Onboarding emails.", customer_outcome=None, okr_claim=None
    )

    assert in_title.score > in_description.score


def test_hyphenated_and_joined_spellings_match(aligner: Aligner) -> None:
    hyphenated = aligner.align(title="E-bike", description="", customer_outcome=None, okr_claim=None)
    joined = aligner.align(title="Ebike", description="", customer_outcome=None, okr_claim=None)

    assert joined.score > 0
    assert joined.matched_terms == ("ebike",)
    assert hyphenated.score >= joined.score


def test_a_bare_number_is_no_evidence_but_a_number_phrase_is(aligner: Aligner) -> None:
    bare = aligner.align(title="60", description="", customer_outcome=None, okr_claim=None)
    phrase = aligner.align(title="60 days", description="", customer_outcome=None, okr_claim=None)

    assert bare.score == 0
    assert phrase.score > 0


def test_an_empty_request_ladders_up_to_nothing(objectives: tuple[Objective, ...]) -> None:
    result = Aligner(objectives, AlignmentConfig(threshold=0.0)).align(
        title="", description="", customer_outcome=None, okr_claim=None
    )

    assert result.objective_id is None
    assert result.matched_terms == ()


def test_objective_order_does_not_change_the_answer(objectives: tuple[Objective, ...]) -> None:
    forward = align(Aligner(objectives), LAUNCH_PAGE)
    backward = align(Aligner(tuple(reversed(objectives))), LAUNCH_PAGE)

    assert dataclasses.astuple(forward) == dataclasses.astuple(backward)


def test_objectives_without_keywords_still_align(objectives: tuple[Objective, ...]) -> None:
    bare = tuple(dataclasses.replace(o, keywords=()) for o in objectives)

    assert align(Aligner(bare), LAUNCH_PAGE).objective_id == "K1"


def test_work_for_one_account_needs_a_clearer_match_to_ladder_up(objectives: tuple[Objective, ...]) -> None:
    general = align(Aligner(objectives), LAUNCH_PAGE)
    config = AlignmentConfig(threshold=general.score * 0.9, narrow_threshold_factor=1.5)
    one_account = {**LAUNCH_PAGE, "description": LAUNCH_PAGE["description"] + " Custom, with their logo."}

    assert align(Aligner(objectives, config), LAUNCH_PAGE).objective_id == "K1"
    narrow = align(Aligner(objectives, config), one_account)
    assert (narrow.objective_id, narrow.score) == (None, general.score)
    assert '"custom", "their logo"' in narrow.rationale
    assert f"below the threshold of {config.threshold * 1.5:.2f}" in narrow.rationale


def test_work_for_an_internal_audience_needs_a_clearer_match_to_ladder_up(
    objectives: tuple[Objective, ...],
) -> None:
    deck = {**LAUNCH_PAGE, "title": "Board deck: " + LAUNCH_PAGE["title"]}
    score = align(Aligner(objectives), deck).score
    config = AlignmentConfig(threshold=score * 0.9, narrow_threshold_factor=1.5)
    unaware = dataclasses.replace(config, narrow_audience=frozenset())

    assert align(Aligner(objectives, unaware), deck).objective_id == "K1"
    assert align(Aligner(objectives, config), deck).objective_id is None


def test_a_clear_match_ladders_up_even_for_one_account(aligner: Aligner) -> None:
    tailored = {**LAUNCH_PAGE, "description": LAUNCH_PAGE["description"] + " Tailored to one account."}

    result = align(aligner, tailored)

    assert result.objective_id == "K1"
    assert result.score >= AlignmentConfig().threshold * AlignmentConfig().narrow_threshold_factor


def test_a_claim_on_work_for_one_account_is_judged_against_the_raised_threshold(
    objectives: tuple[Objective, ...],
) -> None:
    one_account = {**CHECKOUT_COPY, "title": "Personalised checkout for Müller Räder"}
    score = align(Aligner(objectives), one_account, okr_claim="K3").score
    config = AlignmentConfig(threshold=score * 0.9, narrow_threshold_factor=1.5)

    result = align(Aligner(objectives, config), one_account, okr_claim="K3")

    assert (result.objective_id, result.claim) == (None, "contradicted")


def test_audience_words_are_matched_as_whole_words() -> None:
    assert phrases_in("Dashboard for onboarding, co-branded", NARROW_AUDIENCE) == ("co-branded",)
    assert phrases_in("Their logo on the board's deck", NARROW_AUDIENCE) == ("their logo", "board")


def test_an_empty_okr_set_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one objective"):
        Aligner(())


def test_an_objective_without_a_word_to_match_is_named_and_a_wordless_set_matches_nothing() -> None:
    words = Objective("O1", 1, "Customers reach value", "In 90 days", ("Onboarding",))
    wordless = Objective("O2", 2, "-", "The.", ("100%",))
    assert Aligner.wordless([words, wordless]) == ["O2"]
    found = Aligner([wordless]).align(title="Onboarding webinar", description="For new customers",
                                      customer_outcome=None, okr_claim=None)
    assert found.objective_id is None


def test_alignment_module_imports_no_service_framework() -> None:
    tree = ast.parse(Path(alignment.__file__).read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
    }

    assert imported.isdisjoint({"faststream", "fastapi", "redis", "aiokafka", "pydantic", "shared"})
