"""The similarity detector's rules: which entities a request names, and how they move a score."""

from datetime import date
from typing import Any, cast

import numpy as np
import pytest

from classifier.similarity.detector import Candidate, Detector, Pool, decode, encode, profile, text_of
from classifier.similarity.entities import extract
from classifier.similarity.lexicon import canonical
from classifier.similarity.lookup import Similarity
from classifier.similarity.scoring import Profile, Weights, compare
from classifier.similarity.sentence import DIMENSIONS
from classifier.similarity.subjects import audiences
from classifier.similarity.wording import sentence, shown
from shared.events import SimilarRequest
from tests.support import details


def test_accounts_are_the_capitalised_words_that_are_not_common_words() -> None:
    found = extract("Landing page for the Globex account", "Globex renews in January; we need a demo form.")
    assert found.key_names == {"globex"} and found.names == {"globex"}
    assert extract("Landing Page For The Initech Account", "A page for them.").key_names == {"initech"}
    # A heading's first word is not a name unless the request names it again inside a sentence.
    assert extract("Sweepstakes rules for the draw", "Official rules please.").names == set()
    assert extract("Hooli deal room page", "A room for the Hooli buyers.").key_names == {"hooli"}


def test_months_seasons_and_quarters_name_months() -> None:
    assert extract("Webinar in June", "Mid-June, 45 minutes.").months == {6}
    assert extract("Autumn hackathon", "Sign-ups open soon.").months == {9, 10, 11}
    assert extract("Q2 webinar hub", "All the spring sessions.").months == {3, 4, 5, 6}
    assert extract("May launch", "May be late.").months == set()  # a sentence's first word is not the month
    assert extract("Launch email", "It goes out in May.").months == {5}


def test_places_know_what_contains_them() -> None:
    lisbon = extract("Lisbon hub opening", "Press kit for the new hub.")
    assert lisbon.places == (("lisbon", "portugal", "iberia", "europe", "emea"),)
    both = extract("Mumbai meetup", "Our partners in India meet in Mumbai.")
    assert [p[0] for p in both.specific_places()] == ["mumbai"]
    assert extract("Post about us", "Tell us more.").places == ()  # "us" is not the USA
    assert extract("Bogotá reseller breakfast", "Breakfast in Bogotá.").places[0][:2] == ("bogota", "colombia")
    assert extract("Partner one-pager", "One page in Spanish for resellers.").places == ()


def test_versions_and_events() -> None:
    found = extract("Meridian 2.0 launch webinar", "Also covers v1.4 customers at the user group.")
    assert found.versions == {"2", "1.4"}  # "2.0" and "2" are one release
    assert found.events == {"webinar", "user group"}
    # A name and a whole number is a release too.
    assert extract("Upgrade guide for Orbit 5", "For admins moving to Orbit 5.").versions == {"5"}
    assert extract("Upgrade guide", "Orbit 5.0 is out; 40 customers wait.").versions == {"5"}


def test_a_headings_first_word_is_a_name_when_capitalised_again_inside_a_sentence() -> None:
    assert extract("Beacon webinar in April", "A session on Beacon alerts.").key_names == {"beacon"}
    assert extract("Beacon webinar in April", "A session on alerts.").key_names == set()


def profiled(title: str, description: str, work_type: str = "landing_page", due: date | None = None,
             objective: str | None = None) -> Profile:
    return profile("x", details(title=title, description=description, work_type=work_type, due_date=due),
                   objective)


def test_a_different_account_vetoes_a_close_match() -> None:
    globex = profiled("Landing page for the Globex account", "A page with the renewal offer.")
    initech = profiled("Landing page for the Initech account", "A page with the renewal offer.")
    result = compare(globex, initech, cosine=0.95)
    assert result.kind is None and result.conflicts == ("account",)


def test_each_title_naming_its_own_account_vetoes_what_else_they_share() -> None:
    zambezi = profiled("Press release: Zambezi Power selects Hornbeam Cloud", "Zambezi Power agreed to be named.")
    orinoco = profiled("Press release: Orinoco Mining selects Hornbeam Cloud", "Orinoco Mining agreed to be named.")
    assert compare(zambezi, orinoco, cosine=0.95).conflicts == ("account",)
    # A name is known by its first word: the same account named in full and in short is one account.
    short = profiled("Castellan case study PDF", "Two pages on Castellan's claims work.")
    full = profiled("Castellan Insurance video testimonial", "90 seconds with Castellan's ops director.")
    assert "account" not in compare(short, full, cosine=0.8).conflicts
    assert extract("Avocet Health awards entry", "x").key_heads == {"avocet"}
    assert extract("Posts on Zambezi Power and Orinoco Mining", "x").key_heads == {"zambezi", "orinoco"}


def test_the_worlds_larger_cities_are_places_when_capitalised() -> None:
    izmir = extract("Hiring campaign for the Izmir office", "Ads for the new hub.")
    assert izmir.places == (("izmir", "turkey", "europe", "emea"),) and izmir.names == set()
    assert extract("Recruitment ads for Cluj-Napoca", "x").places[0][:3] == ("cluj napoca", "cluj", "romania")
    assert extract("Reading list for new joiners", "Nice and short.").places == ()  # words, not Reading or Nice
    assert extract("Turkey ads", "For Izmir.").specific_places() == (("izmir", "turkey", "europe", "emea"),)
    assert extract("Ads in izmir", "lower case").places == ()  # a world city is read only when capitalised
    assert extract("Djibouti port visit", "x").places == (("djibouti",),)  # a city-state lies in no other place


def test_states_and_provinces_are_places_holding_their_cities() -> None:
    assert extract("Demo day in Silesia", "x").places == (("silesia", "poland", "europe", "emea"),)
    assert extract("Roadshow stop in Katowice", "x").places[0][:3] == ("katowice", "silesia", "poland")
    # A hand-made city lies in its region too, between it and its country.
    assert extract("Munich meetup", "x").places[0][:3] == ("munich", "bavaria", "germany")
    assert extract("Invites for Baden-Württemberg", "x").places[0][:2] == ("baden wurttemberg", "germany")
    assert extract("Nevada billboard", "x").names == set()  # a place, not an account
    venlo = profiled("Customer demo day in Venlo", "Venue and catering.")
    limburg = profiled("Customer demo day in Limburg", "Venue and catering.")
    result = compare(venlo, limburg, cosine=0.7)
    assert "venlo~limburg" in result.shared_terms and "place" not in result.conflicts
    assert "place" in compare(venlo, profiled("Customer demo day in Ontario", "Venue."), cosine=0.7).conflicts


def test_a_place_before_a_firms_word_is_the_firm() -> None:
    firm = extract("Renewal deck for Kilimanjaro Freight", "Their renewal is due.")
    assert firm.places == () and "kilimanjaro" in firm.key_heads
    other = profiled("Renewal deck for Aconcagua Telecom", "Their renewal is due.")
    assert "account" in compare(profiled("Renewal deck for Kilimanjaro Freight", "Due."), other, 0.9).conflicts


def test_a_firm_named_from_a_sentences_first_word_is_known_by_that_word() -> None:
    assert extract("Bramble Building Supply site tour", "Hosts and transport.").key_heads == {"bramble"}
    tour = profiled("Bramble Building Supply site tour", "Prospects visit their warehouse.")
    handout = profiled("Handout for the Bramble customer visit", "For the prospect tour at Bramble's warehouse.")
    assert "account" not in compare(tour, handout, cosine=0.7).conflicts
    # A sentence's first word before another name, not a firm's word, stays out ("Paid LinkedIn").
    assert extract("Paid LinkedIn for finance directors", "x").key_heads == {"linkedin"}


def test_two_firms_each_named_by_one_request_alone_are_two_pieces_of_work() -> None:
    halyard = profiled("ABM campaign for Quillfeather Beverages", "LinkedIn ads before our Q2 proposal.")
    ballast = profiled("ABM ads ahead of the Q2 proposal", "LinkedIn ads aimed at Tamberly Logistics' leaders.")
    assert compare(halyard, ballast, cosine=0.95).conflicts == ("account",)


def test_two_lines_of_one_family_are_two_pieces_of_work() -> None:
    health = profiled("Case study with Larkin Health", "Two pages.")
    retail = profiled("Case study with Larkin Retail", "Two pages.")
    assert compare(health, retail, cosine=0.95).conflicts == ("line",)
    # A possessive ends the name: "Larkin's George Town plant" names no line of Larkin's.
    assert extract("Photos at Larkin's Brook Street plant", "x").key_lines == frozenset()
    assert "line" not in compare(health, profiled("Larkin Health video", "One minute."), cosine=0.9).conflicts


def test_a_name_written_by_its_initials_is_the_same_name() -> None:
    short = profiled("CRB reference video", "Two minutes with their risk team.")
    full = profiled("Video testimonial: Copperfield River Bank", "Their risk team on camera.")
    assert "account" not in compare(short, full, cosine=0.7).conflicts
    assert "crb" in extract("x", "Copperfield River Bank signed.").initials


def test_a_cities_other_names_are_the_city() -> None:
    assert extract("Breakfast in Firenze", "x").places[0][0] == "florence"
    assert extract("Kundentag Köln", "x").places[0][:2] == ("cologne", "north rhine westphalia")
    saigon = profiled("Partner enablement day in Saigon", "Half a day of training.")
    hcmc = profiled("Ho Chi Minh City partner training", "Half a day of training.")
    assert "ho chi minh city" in compare(saigon, hcmc, cosine=0.7).shared_terms


def test_descriptions_of_one_mould_count_only_when_each_names_what_the_other_does_not() -> None:
    probe = profiled("Retargeting ads", "Display retargeting for visitors to the Larchmont product page.")
    # Descriptions written apart do not count, nor one naming what the other leaves unnamed.
    other = profiled("Retargeting ads", "Ads that follow people who looked at Quenby, on the display network.")
    assert "detail" not in compare(probe, other, cosine=0.9).conflicts
    unnamed = profiled("Retargeting ads", "Display retargeting for visitors to the product page.")
    assert "detail" not in compare(probe, unnamed, cosine=0.9).conflicts


@pytest.mark.parametrize(("a", "b", "conflict"), [
    (("Beacon webinar in April", "Mid-April."), ("Beacon webinar in June", "Mid-June."), "month"),
    (("Careers page for the Izmir hub", "Roles."), ("Careers page for the Durban hub", "Roles."), "place"),
    (("Denver user group meetup", "Evening."), ("Boston user group meetup", "Evening."), "place"),
    (("Meridian 1.4 spec sheet", "Update."), ("Meridian 2.0 spec sheet", "New."), "version"),
    (("Translate the Keel datasheet into Turkish", "For resellers."),
     ("Translate the Keel datasheet into Danish", "For resellers."), "language"),
    (("Board deck for the Q1 review", "Results so far."), ("Board deck for the Q2 review", "Results so far."),
     "quarter"),
    # One title over descriptions of one mould, each naming what the other never names.
    (("Retargeting ads", "Display retargeting for visitors to the Larchmont product page."),
     ("Retargeting ads", "Display retargeting for visitors to the Quenby product page."), "detail"),
    # The customers and the partners on an advisory board; whom a newsletter speaks to, read before the lexicon
    # writes "customer newsletter" its own way.
    (("Advisory board deck", "For the September customer advisory board: roadmap."),
     ("Advisory board deck", "For the September partner advisory board: margins."), "audience"),
    (("July newsletter", "Monthly customer newsletter: product tips and events."),
     ("July newsletter", "Monthly partner newsletter: reseller incentives."), "audience"),
])
def test_conflicting_specific_entities_veto(a: tuple[str, str], b: tuple[str, str], conflict: str) -> None:
    result = compare(profiled(*a), profiled(*b), cosine=0.95)
    assert conflict in result.conflicts and result.kind is None


@pytest.mark.parametrize(("a", "b"), [
    (("Churn analysis by segment", "Which accounts left, per segment."),
     ("Pipeline analysis by segment", "Which deals stalled, per segment.")),
    (("Refresh the careers page", "New photos and open roles."),
     ("Refresh the pricing page", "New plans and prices.")),
])
def test_titles_built_alike_about_different_subjects_lower_the_score(a: tuple[str, str], b: tuple[str, str]) -> None:
    result = compare(profiled(*a), profiled(*b), cosine=0.9)
    assert "subject" in result.conflicts and result.kind is None


def test_one_thing_called_by_several_names_is_written_one_way() -> None:
    assert canonical("Brand mark for our analytics add-on") == "logo for our analytics add-on"
    assert canonical("An online session in March") == "An webinar in March"
    assert canonical("Refresh copy on our jobs site") == "Refresh copy on our careers page"
    # Plurals, hyphens and curly apostrophes; the longest phrase at a word wins.
    assert canonical("Two one-pagers and customer success stories") == "Two datasheet and case study"
    assert canonical("What\u2019s new, and a video case study") == "release note, and a testimonial video"
    assert canonical("Standard terms") == "Standard terms"  # whole words only
    # A phrase in quotes is still the phrase; no phrase spans punctuation, and nothing is dropped.
    assert canonical("Rework the 'pricing page'") == "Rework the 'pricing page'"
    assert canonical("Update the blog, homepage and FAQ") == "Update the blog, homepage and faq"
    assert canonical("Refresh the blog. Homepage banner") == "Refresh the blog. homepage banner"
    assert canonical("A win/loss review") == "A win-loss analysis"
    # Ordinary English stays: plurals only where English makes them, no verb read as a stand at a show.
    assert canonical("Customer tales video, a brand that stands out") == "Customer tales video, a brand that stands out"
    assert canonical("Two booths and an exhibition stand") == "Two booth and an booth"


def test_paraphrases_of_one_deliverable_score_closer_and_share_its_name() -> None:
    detector = Detector()
    logo, mark = (profiled(title, "For the add-on's launch page.") for title in ("New logo for Lumen",
                                                                                  "Brand mark for Lumen"))
    assert "logo" in compare(logo, mark, cosine=0.5).shared_terms
    plain, lexicon = detector.embed(["New logo for Lumen.", "Brand mark for Lumen."]), detector.embed(
        [canonical("New logo for Lumen."), canonical("Brand mark for Lumen.")])
    assert float(lexicon[0] @ lexicon[1]) > float(plain[0] @ plain[1]) + 0.1


def test_a_name_is_no_subject_of_its_own_in_its_plural_spelling() -> None:
    # "Nimbus" is a name; the title's words are stemmed ("nimbu"), and that is still the name.
    sheet = profiled("Nimbus Vault datasheet", "Two pages.")
    pager = profiled("One-pager on Vault for prospects", "What Vault does.")
    assert "subject" not in compare(sheet, pager, cosine=0.7).conflicts


def test_another_deliverable_for_the_same_subject_is_no_subject_conflict() -> None:
    deck = profiled("Partner kickoff deck", "Slides for the kickoff.")
    page = profiled("Registration page for the partner kickoff", "Sign-ups for the kickoff.")
    assert "subject" not in compare(deck, page, cosine=0.7).conflicts
    # A subject word the other request uses in its description is no conflict either.
    churn = profiled("Churn analysis by segment", "Why customers left.")
    report = profiled("Attrition analysis by segment", "The churn numbers, per segment.")
    assert "subject" not in compare(churn, report, cosine=0.7).conflicts


def test_different_audiences_lower_the_score() -> None:
    customers = profiled("NPS survey email to customers", "Twice a year.")
    partners = profiled("NPS survey email to partners", "For resellers, twice a year.")
    both = profiled("NPS survey email", "To customers and partners.")
    assert "audience" in compare(customers, partners, cosine=0.9).conflicts
    assert compare(customers, partners, 0.9).score < compare(customers, both, 0.9).score
    assert "audience" not in compare(customers, both, cosine=0.9).conflicts


def test_the_board_is_an_audience_and_a_job_board_is_not() -> None:
    board = profiled("Board deck for the quarterly business review", "Slides for Friday's board meeting.")
    keynote = profiled("Keynote deck for the CEO's partner summit talk", "Slides for the CEO's talk.")
    assert "audience" in compare(board, keynote, cosine=0.9).conflicts
    assert audiences("Post the role on job boards and the jobs-board of the alumni site") == set()
    # An advisory board is the customers or partners on it, not the company's board.
    assert audiences("Deck for the customer advisory board") == {"customers"}


def test_a_customer_story_names_no_audience() -> None:
    assert audiences("Customer story: their housekeeping teams on the app") == set()
    assert audiences("A customer's video testimonial and customer logos") == set()


def test_a_city_and_its_country_are_the_same_place_and_raise_the_score() -> None:
    lisbon = profiled("Lisbon hub opening", "Press release for the opening.")
    portugal = profiled("Portugal office launch", "Press release for the new office.")
    below = Weights().overlap - 0.02  # a cosine just short of the threshold
    plain = compare(profiled("Hub opening", "Press release."), profiled("Office launch", "Press release."), below)
    result = compare(lisbon, portugal, cosine=below)
    assert "lisbon~portugal" in result.shared_terms and result.score > plain.score
    assert result.kind is not None and plain.kind is None


def test_same_deliverable_due_together_is_a_duplicate_another_deliverable_an_overlap() -> None:
    due = date(2027, 3, 1)
    page = profiled("Customer logos on the site", "Logos on the home page.", "creative", due)
    again = profiled("Brand marks on our public pages", "Marks on the homepage.", "creative", due)
    deck = profiled("Brand marks on our public pages", "Marks on the homepage.", "deck", due)
    assert compare(page, again, cosine=0.8).kind == "duplicate"
    assert compare(page, deck, cosine=0.8).kind == "overlap"
    far = profiled("Brand marks on our public pages", "Marks on the homepage.", "creative", date(2027, 9, 1))
    assert compare(page, far, cosine=0.8).score < compare(page, again, cosine=0.8).score


def test_the_detector_compares_only_other_requesters_and_keeps_the_best_three() -> None:
    detector = Detector(Weights())
    new = profiled("Customer logos on the site", "Logos on the home page.")
    vector = np.eye(DIMENSIONS, dtype=np.float32)[0]
    def candidate(n: int, requester: str, cosine: float) -> Candidate:
        v = np.zeros(DIMENSIONS, dtype=np.float32)
        v[0], v[1] = cosine, np.sqrt(1 - cosine**2)
        return Candidate(Profile(f"r{n}", new.entities, new.words, new.work_type, None, None), requester, v)
    found = detector.similar(new, "me", vector, [candidate(1, "me", 0.99), candidate(2, "a", 0.9),
                                                 candidate(3, "b", 0.7), candidate(4, "c", 0.8),
                                                 candidate(5, "d", 0.85), candidate(6, "e", 0.1)])
    assert [m.request_id for m in found] == ["r2", "r5", "r4"]
    assert np.array_equal(decode(encode(vector)), vector)



def test_the_pool_kept_across_opens_and_closes_scores_as_a_fresh_one() -> None:
    rng = np.random.default_rng(7)
    new = profiled("Customer logos on the site", "Logos on the home page.")

    def candidate(n: int) -> Candidate:
        v = rng.normal(size=DIMENSIONS).astype(np.float32)
        return Candidate(Profile(f"r{n}", new.entities, new.words, new.work_type, None, None), f"u{n % 5}",
                         v / np.linalg.norm(v))

    kept: dict[int, Candidate] = {}
    pool = Pool()
    for step in range(300):  # requests open, close and are classified again, in any order
        n = int(rng.integers(0, 120))
        if n in kept and step % 3 == 0:
            del kept[n]
            pool.drop(f"r{n}")
        else:
            kept[n] = candidate(n)
            pool.put(kept[n])
    assert len(pool) == len(kept)
    vector = candidate(999).vector
    cosines = pool.cosines(vector, "u1", "r4")
    scored = {pool.candidate(i).profile.request_id: float(c) for i, c in enumerate(cosines) if c > -np.inf}
    assert scored == pytest.approx({f"r{n}": float(c.vector @ vector) for n, c in kept.items()
                                    if c.requester_id != "u1" and n != 4}, abs=1e-6)
    detector = Detector(Weights(overlap=-1.0))  # every pair reaches the threshold: the order is what is tested
    assert detector.similar(new, "u1", vector, pool) == detector.similar(new, "u1", vector, list(kept.values()))


def test_the_dry_run_sentence_names_the_team_and_the_day() -> None:
    from datetime import UTC, datetime
    similar = SimilarRequest(request_id="r1", score=0.7, kind="overlap", shared_terms=["globex"], title="T",
                             team="Enterprise Sales", lane="sales", submitted_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert sentence(similar, datetime(2026, 12, 3, tzinfo=UTC)) == (
        "Similar to a request from Enterprise Sales submitted Tuesday.")
    assert sentence(similar, datetime(2026, 12, 20, tzinfo=UTC)).endswith("submitted on 1 Dec.")
    assert set(shown(similar, datetime(2026, 12, 3, tzinfo=UTC), full=False)) == {
        "kind", "score", "team", "lane", "submitted_at", "sentence"}


def test_days_are_read_in_several_spellings() -> None:
    found = extract("Oslo customer breakfast, 10 March", "Invites out by March 1st; the venue holds 2027-03-10.")
    assert found.days == {"03-10", "03-01"}


def test_different_days_or_deadlines_far_apart_lower_the_score() -> None:
    oslo = profiled("Customer breakfast, 10 March", "Invitations please.")
    later = profiled("Customer breakfast, 24 March", "Invitations please.")
    assert "date" in compare(oslo, later, cosine=0.95).conflicts
    soon = profiled("Customer breakfast", "Invitations please.", due=date(2027, 3, 1))
    months_later = profiled("Customer breakfast", "Invitations please.", due=date(2027, 6, 1))
    same_week = profiled("Customer breakfast", "Invitations please.", due=date(2027, 3, 5))
    assert compare(soon, months_later, 0.8).score < compare(soon, same_week, 0.8).score - 0.3


async def test_a_runs_texts_are_each_embedded_alone_and_answered_in_their_own_order() -> None:
    detector = Detector()
    titles = ["Logo", "A much longer title about the customer logos on the website and product pages", "Deck",
              "Landing page for Globex", "Webinar in June about data quality for the finance teams", "Booth"]
    requests = [details(title=title, description="Please.") for title in titles]
    written = [text_of(r) for r in requests]
    vectors = await Similarity(detector, cast(Any, None)).embed(requests)
    # Both models are int8, which scales a batch as a whole: each text alone, so that a vector never depends
    # on the texts beside it (a redelivery or a rebuild computes the same one).
    alone = np.stack([detector.embed([text])[0] for text in written])
    assert np.array_equal(np.stack(vectors), alone)
    assert np.array_equal(detector.embed(list(reversed(written))), alone[::-1])


def test_bulk_embedding_on_several_threads_gives_each_text_its_own_vector_in_order() -> None:
    detector = Detector()
    texts = [f"Landing page {i} for the {name} account" for i, name in enumerate(
        ["Globex", "Initech", "Hooli", "Umbrella", "Stark", "Wayne", "Acme", "Soylent", "Tyrell"])]
    alone = np.stack([detector.embed([text])[0] for text in texts])
    assert np.array_equal(np.stack(detector.embed_each(texts, workers=3)), alone)
    assert np.array_equal(np.stack(detector.embed_each(texts[:3], workers=2)), alone[:3])  # too few to split
