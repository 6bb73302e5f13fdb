"""The load benchmark's varied corpus: distinct work, valid bodies, and one request in ten asked again by
another stakeholder."""

from pathlib import Path

from bench.load.targets import ASKED_AGAIN_EVERY, ASKED_AGAIN_FROM, stories, varied
from shared.events import RequestDetails

TEMPLATES = stories(Path(__file__).resolve().parents[2] / "data/stories.json")


def test_varied_requests_are_valid_and_distinct_but_for_the_repeats() -> None:
    bodies = [varied(TEMPLATES, n) for n in range(5_000)]
    for b in bodies[:50]:
        RequestDetails.model_validate(b)
    firsts = [b for n, b in enumerate(bodies) if n % ASKED_AGAIN_EVERY != ASKED_AGAIN_EVERY - 1]
    assert len({b["title"] for b in firsts}) == len(firsts)


def test_every_tenth_request_repeats_the_work_of_the_fifth_before_in_another_name() -> None:
    for n in range(ASKED_AGAIN_EVERY - 1, 500, ASKED_AGAIN_EVERY):
        again, first = varied(TEMPLATES, n), varied(TEMPLATES, n - ASKED_AGAIN_FROM)
        assert (again["title"], again["description"], again["work_type"]) == (
            first["title"], first["description"], first["work_type"])
        assert again["requester"]["id"] != first["requester"]["id"]


def test_neighbours_differ_in_account_city_and_month() -> None:
    a, b = varied(TEMPLATES, 0), varied(TEMPLATES, 1)
    assert set(a["title"].split(": ")[-1].split(", ")).isdisjoint(b["title"].split(": ")[-1].split(", "))
