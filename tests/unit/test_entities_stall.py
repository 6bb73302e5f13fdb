"""A request's description, however it is written, cannot stall the classifier: entity extraction runs on its
event loop, for a dry run of the public form and for every submission. Descriptions of 10,000 characters (the
most intake takes) shaped to make rules that re-read the text per word go quadratic or cubic took from 5 s to
over three minutes each; each must now be read in well under the bound here, which is a guard against a stall,
not a speed target (those are in ``bench/``)."""

import time

import pytest

from classifier.similarity.detector import profile
from classifier.similarity.entities import extract
from tests.support import details

CRAFTED = {
    "one name opening every sentence": "Zorblax. " * 1111,
    "a new name opening every sentence": " ".join(f"Qx{i}." for i in range(2000)),
    "one word without a space": "A" * 10_000,
    "long words before numbers": ("A" * 199 + " 5 ") * 49,
}
BOUND_S = 3.0


@pytest.mark.parametrize("shape", list(CRAFTED))
def test_a_crafted_description_is_read_in_bounded_time(shape: str) -> None:
    profile("warm", details(), None)  # the tokenizer's vocabulary loads once per process
    started = time.perf_counter()
    found = profile("r", details(title="Zorblax webinar page", description=CRAFTED[shape][:10_000]), None)
    assert time.perf_counter() - started < BOUND_S
    assert found.request_id == "r" and found.title_words


def test_names_are_told_from_sentence_openers_as_before() -> None:
    # A heading's first word is a name when the text capitalises it again inside a sentence; a line break ends a
    # sentence; a common word opening one is not a name.
    found = extract("Beacon webinar in April", "Please book it.\nBeacon is our product; the Beacon team hosts.")
    assert "beacon" in found.names and "please" not in found.names
    assert extract("Orbit launch", "The Orbit 5 page.").versions == frozenset({"5"})


def test_text_running_on_without_spaces_still_names_its_entities() -> None:
    # Japanese runs on without spaces: a 200-character run is still read for names and places.
    run = ("アクメ社の新製品Zyntrixのローンチに向けて、2027年5月までにランディングページとメールを作成してください。"
           "対象はLisbonの顧客です。") * 3
    found = extract("Landing page for Zyntrix launch", run)
    assert "zyntrix" in found.told_names and found.places and found.places[0][0] == "lisbon"
    # A long link ends its sentence with its full stop: the next sentence's first word opens a sentence.
    link = "https://contoso.sharepoint.com/sites/marketing/Shared%20Documents/" + "a" * 150 + "/deck.pptx."
    assert "beacon" not in extract("Beacon webinar", f"Slides are at {link} Beacon needs a refresh.").key_names


def test_a_name_inside_a_longer_one_is_found_as_a_pattern_would_find_it() -> None:
    # "Go-Go" inside "Go-Go-Go": the first match opens the sentence; the overlapping one is not a match.
    assert extract("Go-Go event", "Go-Go-Go dance night.").names == frozenset()
