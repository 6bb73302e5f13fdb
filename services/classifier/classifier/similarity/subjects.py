"""What a request's title is about once its deliverable and its named things are set aside.

Look-alikes are often the same sentence with one subject changed and no name to tell them apart:
"Churn analysis by segment" and "Pipeline analysis by segment", an NPS email to customers and one to
partners. Two titles built alike (sharing at least half the words of the longer) where each keeps a
subject word that the other request never uses ask about different things. Words for the deliverable,
its channel or the action asked ("deck", "page", "send") do not count: another format for the same
subject is an overlap, not different work; nor do names, places, months and events, which the entity
rules weigh already.
"""

from __future__ import annotations

import re

from classifier.similarity.entities import EVENT_WORDS, MONTHS, Entities
from classifier.similarity.places import PLACE_WORDS

__all__ = ["audiences", "built_alike", "different_subjects", "stem"]

# Formats, channels and the actions asked of marketing (as ``scoring.content_words`` stems them).
_DELIVERABLE_WORDS = """
page landing microsite site website web home homepage email newsletter mailer deck slide presentation pitch
report pager one-pager datasheet sheet brochure flyer leaflet banner advert video clip post social blog
article press release campaign webinar booth stand sponsorship event session keynote talk letter
announcement invitation invite template copy creative graphic illustration infographic visual image photo
asset content case study story reference quote testimonial pack guide ebook whitepaper paper checklist
script agenda version translation hub section form portal room listing list directory
design create make build write draft update refresh review send translate need help support promote
plan planning produce prepare redesign version edit check proofread localise localize
marketing team account based executive
"""
_ASIDE = (frozenset(_DELIVERABLE_WORDS.split()) | frozenset(MONTHS)
          | frozenset(w for e in EVENT_WORDS for w in e.split()) | PLACE_WORDS)

# Whom the work speaks to. The same asset for customers and for partners, or for staff and for customers,
# is two pieces of work ("NPS survey email to customers" and "... to partners").
_AUDIENCES = {
    "customers": "customer client subscriber",
    "partners": "partner reseller distributor integrator",
    "staff": "employee staff colleague joiner workforce",
    "candidates": "candidate applicant graduate student intern jobseeker",
    "investors": "investor shareholder",
    "board": "board",  # a board deck and a keynote for partners: two talks
    "prospects": "prospect trial trialist",
    "developers": "developer",
}
_AUDIENCE_OF = {word: audience for audience, words in _AUDIENCES.items() for word in words.split()}
_LOWER_WORD = re.compile(r"[a-z]+")
# Boards that are places to post, not people to speak to; and an advisory board, the customers or partners on it.
_NOT_A_BOARD = re.compile(r"\b(?:jobs?|message|bulletin|notice|mood|story|white|key|sound|dash|on|advisory)"
                          r"[ -]?boards?\b")


# Customers as what the work shows, not whom it speaks to: a customer story is a case study.
_ABOUT_CUSTOMERS = re.compile(r"\bcustomers?(?:['\u2019]s?)?[ -](?:stor(?:y|ies)|case stud(?:y|ies)|logos?|quotes?"
                              r"|references?|testimonials?|success|proof|wins?|examples?|videos?|spotlights?)\b")


def audiences(text: str) -> frozenset[str]:
    """The audiences a request's text names (its own words: ``lexicon`` would rewrite "customer newsletter")."""
    text = _ABOUT_CUSTOMERS.sub(" ", _NOT_A_BOARD.sub(" ", text.lower()))
    words = (stem(w) for w in _LOWER_WORD.findall(text))
    return frozenset(_AUDIENCE_OF[w] for w in words if w in _AUDIENCE_OF)


def stem(word: str) -> str:
    """A word without its plural "s", crudely ("logistics" → "logistic", "nimbus" → "nimbu", "class" stays)."""
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _subject(title: frozenset[str], entities: Entities) -> frozenset[str]:
    named = entities.names | {stem(name) for name in entities.names}  # the title's words are stemmed
    return frozenset(w for w in title if w not in _ASIDE and w not in named)


def built_alike(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two texts of one mould: at least half the words of the longer are the other's too."""
    return bool(a and b) and len(a & b) >= max(len(a), len(b)) / 2


def different_subjects(a_title: frozenset[str], a_words: frozenset[str], a_entities: Entities,
                       b_title: frozenset[str], b_words: frozenset[str], b_entities: Entities) -> bool:
    """Titles built alike whose subjects differ: each keeps a subject word the other request never uses.
    ``*_title`` and ``*_words`` are the content words of a title and of the whole request."""
    if not built_alike(a_title, b_title):
        return False
    return bool(_subject(a_title, a_entities) - b_words) and bool(_subject(b_title, b_entities) - a_words)
