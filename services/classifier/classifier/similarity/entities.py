"""The specific things a request is about: accounts and other names, events, months and quarters, places,
product versions, languages. Two requests for the same kind of work differ by these ("the January webinar" and
"the March one"), and real duplicates share them even in other words ("Lisbon hub", "Portugal office").

Rules over the text, with a small gazetteer: the requests are short and the entity kinds few, and no
kept named-entity model small enough to load in every classifier process exists for these kinds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from classifier.similarity.places import PLACE_WORDS, places_in, plain
from classifier.similarity.sentences import Sentences

__all__ = ["Entities", "extract"]

MONTHS = {m: i + 1 for i, m in enumerate((
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december"))}
MONTHS |= {m[:3]: n for m, n in MONTHS.items()} | {"sept": 9}
SEASONS = {"spring": {3, 4, 5}, "summer": {6, 7, 8}, "autumn": {9, 10, 11}, "fall": {9, 10, 11},
           "winter": {12, 1, 2}}
EVENT_WORDS = ("webinar", "summit", "conference", "expo", "trade show", "tradeshow", "roadshow", "meetup",
               "workshop", "hackathon", "forum", "livestream", "keynote", "gala", "awards", "fair", "festival",
               "launch event", "user group", "offsite", "dinner", "breakfast", "lunch", "roundtable", "booth",
               "kickoff", "kick-off", "town hall", "all-hands", "hiring event", "open house", "customer day",
               "party", "reception", "bootcamp", "masterclass", "tour")
# Capitalised words that are not names of an account, product or event.
_GENERIC_WORDS = """
a an and the for of on in at to by with from our we us my your their this that these those new next all any each
please need needs want wants can could would should will is are be it its as or but not no so if up via per
page pages landing email emails deck decks report reports ad ads social post posts microsite site website web
creative review video blog banner campaign launch refresh update copy brief one pager case study studies
sales marketing product products team teams customer customers enterprise partner partners partnership
legal executive exec business unit ops operations brand design content demand gen growth field regional
q1 q2 q3 q4 h1 h2 fy ceo cfo cmo cto vp svp evp hr it ai api pr seo faq kpi okr okrs roi crm
corp inc ltd llc gmbh plc co group holdings
monday tuesday wednesday thursday friday saturday sunday
"""
# A translation or a local edition into one language is other work than into another. ("Polish" is left out:
# "polish the deck".)
_LANGUAGE_WORDS = """
english german french spanish portuguese italian dutch danish swedish norwegian finnish icelandic czech
slovak hungarian romanian bulgarian greek turkish russian ukrainian croatian serbian slovenian estonian latvian
lithuanian arabic hebrew hindi bengali urdu japanese chinese mandarin cantonese korean vietnamese thai
indonesian malay tagalog swahili catalan basque welsh irish
"""
LANGUAGES = frozenset(_LANGUAGE_WORDS.split())
GENERIC = (frozenset(_GENERIC_WORDS.split()) | LANGUAGES | frozenset(MONTHS)
           | frozenset(w for e in EVENT_WORDS for w in e.split()))
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9&'\u2019.-]*[A-Za-z0-9]|[A-Za-z]")
_NEXT = re.compile(r"\s*(\S)")  # the first character after some whitespace
_VERSION = re.compile(r"\b(?:v|version\s+|release\s+)(\d+(?:\.\d+)*)\b|\b(\d+\.\d+(?:\.\d+)?)\b", re.IGNORECASE)
_QUARTER = re.compile(r"\b(q[1-4])\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(20[2-3]\d)\b")
_MONTH_NAME = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAME}\b", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b{_MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b20\d\d-(\d\d)-(\d\d)\b")


@dataclass(frozen=True)
class Entities:
    """What one request names, lower-cased; ``places`` holds each place with what contains it."""

    names: frozenset[str] = frozenset()
    key_names: frozenset[str] = frozenset()  # the names in the title: whom or what the work is for
    key_heads: frozenset[str] = frozenset()  # the first word of each name in the title ("zambezi" of two)
    told_names: frozenset[str] = frozenset()  # the names in the description
    key_lines: frozenset[tuple[str, str]] = frozenset()  # a title's names by two words ("quarry", "edge")
    initials: frozenset[str] = frozenset()  # of each run of capitalised words: "crb" of "Cobalt Ridge Bank"
    firms: frozenset[str] = frozenset()  # the first word of each firm named anywhere ("halyard" of "Halyard Beverages")
    events: frozenset[str] = frozenset()
    months: frozenset[int] = frozenset()  # named months, and those of a named season or quarter
    quarters: frozenset[str] = frozenset()
    years: frozenset[str] = frozenset()
    places: tuple[tuple[str, ...], ...] = field(default=())
    versions: frozenset[str] = frozenset()
    days: frozenset[str] = frozenset()  # dates with a day, as MM-DD
    languages: frozenset[str] = frozenset()

    def specific_places(self) -> tuple[tuple[str, ...], ...]:
        """The places no other named place lies in ("lisbon" of "lisbon" and "portugal")."""
        return tuple(p for p in self.places if not any(q is not p and p[0] in q[1:] for q in self.places))


def _title_cased(text: str) -> bool:
    """A heading such as "Landing Page For Globex": capitals there do not mark names."""
    words = [w for w in _WORD.findall(text) if w.lower() not in ("a", "an", "the", "for", "of", "on", "in", "to",
                                                                   "and", "at", "by", "with")]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


@cache
def _vocabulary() -> frozenset[str]:
    """Whole words the sentence model's tokenizer knows: a capitalised word outside it is likely a name."""
    from classifier.similarity.embedding import model_dir

    words = (model_dir() / "vocab.txt").read_text().split()
    return frozenset(w for w in words if w.isalpha() and not w.startswith("##"))


# Words that end a firm's name: a place before one names the firm, not the place ("Kilimanjaro Freight",
# "Ontario Teachers", "Zambezi Power").
_FIRM_WORDS = """
bank banking bancorp capital credit finance financial insurance mutual assurance health healthcare hospital
hospitals clinic clinics care pharma pharmaceuticals pharmacy pharmacies labs laboratories medical energy power
utilities utility electric gas oil mining metals steel freight shipping logistics transport transit rail
railways airways airlines air airport airports aviation motors automotive foods food grocers grocery
beverages brewing breweries dairy farms growers produce retail stores apparel fashion electronics telecom
telecommunications systems software technologies tech solutions networks media publishing books press
university college schools school academy partners consulting holdings industries manufacturing
construction building supply supplies homes properties realty hotels resorts hospitality restaurants
teachers pension fund co-op cooperative council
"""
FIRM_WORDS = frozenset(_FIRM_WORDS.split())
_FIRM = re.compile(r"\b([A-Z][\w-]+)(?=\s+(?:" + "|".join(w.capitalize() for w in sorted(FIRM_WORDS)) + r")\b)")


def _firm_heads(text: str) -> set[str]:
    """Capitalised words right before a firm's word: "kilimanjaro" of "Kilimanjaro Freight"."""
    return {plain(m.group(1)).lower() for m in _FIRM.finditer(text)}


def _names(text: str, whole: Sentences, firms: set[str]) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """Capitalised words that are not common words, places, months or generic marketing terms; the first
    word of each run of them ("zambezi" of "Zambezi Power", "avocet" of "Avocet Health"); and each run's first
    two words ("quarry", "edge" of "Quarry Edge")."""
    names: set[str] = set()
    heads: set[str] = set()
    lines: set[tuple[str, str]] = set()
    head = ""  # the first word of the run going on, until its second is seen
    titled = _title_cased(text)
    run_end = -1  # where the last name word ended, while a run of them goes on
    opener: tuple[str, int] | None = None  # a sentence's capitalised first word not known as a name, and its end
    sentences = Sentences(text)
    for match in _WORD.finditer(text):
        word = re.split("['\u2019]", match.group())[0].strip(".-")
        lower = word.lower()
        place = plain(lower) in PLACE_WORDS and plain(lower) not in firms
        if not word[:1].isupper() or lower in GENERIC or place or len(lower) < 2:
            run_end, opener = -1, None
            continue
        rare = lower not in _vocabulary()
        if word.isupper() or lower in firms:
            named = True  # an acronym (NPS, ESG), or a firm's first word
        elif sentences.starts(match.start()):
            following = _NEXT.match(text, match.end())
            # A heading's first word is a name when the request capitalises it again inside a sentence
            # (a product that is also a common word: "Beacon webinar in April"), or when it is no common
            # word and another capitalised word follows ("Polar Summit").
            named = whole.named_again(word) or (rare and following is not None and following.group(1).isupper())
        else:
            named = rare or not titled
        if not named:
            run_end = -1
            opener = (lower, match.end()) if sentences.starts(match.start()) else None
            continue
        names.add(lower)
        if opener and not text[opener[1]:match.start()].strip() and lower in FIRM_WORDS:
            # A firm's name from the sentence's first word on: "Ballast Building Supply" is Ballast's.
            names.add(opener[0])
            heads.add(opener[0])
            head = ""
        elif run_end < 0 or text[run_end:match.start()].strip() not in ("", "&"):
            heads.add(lower)
            head = lower
        elif head:
            lines.add((head, lower))
            head = ""
        if word != match.group().strip(".-"):
            head = ""  # a possessive: "Rigel's George Town" holds no line of Rigel's
        run_end, opener = match.end(), None
    return names, heads, lines


_RUN = re.compile(r"[A-Z][\w'\u2019-]*(?:\s+[A-Z][\w'\u2019-]*)+")  # two or more capitalised words
_LONG_RUN = re.compile(r"\S{200,}")
_NUMBERED = re.compile(r"(\S+)\s+(\d{1,2})\b(?![.,]\d)")  # a word, then a whole number of one or two digits


def _releases(lower: str, names: frozenset[str]) -> set[str]:
    """A name and a whole number is a release too: "Orbit 5" (and the same as "Orbit 5.0"). One pass over the
    numbers, each with the word before it and that word's tails from a word boundary on ("x.orbit" names
    "orbit"), rather than a search of the text per name."""
    found = set()
    for match in _NUMBERED.finditer(lower):
        token = match.group(1)
        if any(token[i:] in names for i in range(len(token))
               if i == 0 or not (token[i - 1].isalnum() or token[i - 1] == "_")):
            found.add(match.group(2))
    return found


def _days(text: str) -> frozenset[str]:
    """Dates with a day: "10 March", "March 10th", "2027-03-10"."""
    found = {(MONTHS[m.group(2).lower()[:3]], int(m.group(1))) for m in _DAY_MONTH.finditer(text)}
    found |= {(MONTHS[m.group(1).lower()[:3]], int(m.group(2))) for m in _MONTH_DAY.finditer(text)}
    found |= {(int(m.group(1)), int(m.group(2))) for m in _ISO_DATE.finditer(text)}
    return frozenset(f"{month:02d}-{day:02d}" for month, day in found if 1 <= month <= 12 and 1 <= day <= 31)


def extract(title: str, description: str) -> Entities:
    """The entities a request's title and description name. The rules that try each start inside a run of
    characters without a space (a run of capitalised words, a firm's name, a name before a number) read runs of
    200 or more as a space: they would take the run's length squared, seconds for a few kB. The others read the
    text whole: Japanese or Thai runs on without spaces, and a long link ends its sentence with its full stop."""
    text = f"{title}.\n{description}"
    guarded = _LONG_RUN.sub(" ", text)
    lower = text.lower()
    words = re.findall(r"[a-z]+", lower)
    months = {MONTHS[w] for w in words if w in MONTHS and w != "may"}
    # "may" is a month only as "May" inside a sentence.
    sentences = Sentences(text)
    months |= {5 for m in re.finditer(r"\bMay\b", text) if not sentences.starts(m.start())}
    months |= {m for w in words if w in SEASONS for m in SEASONS[w]}
    quarters = frozenset(q.lower() for q in _QUARTER.findall(text))
    months |= {3 * (int(q[1]) - 1) + i for q in quarters for i in (1, 2, 3)}
    events = {e.replace("-", "") for e in EVENT_WORDS if re.search(rf"\b{e}s?\b", lower)}
    versions = {next(g for g in m.groups() if g) for m in _VERSION.finditer(text)}
    firms = _firm_heads(guarded)
    title_names, heads, lines = _names(title, sentences, firms)
    key_names = frozenset(title_names)
    told_names = frozenset(_names(description, sentences, firms)[0])
    names = key_names | told_names
    versions |= _releases(guarded.lower(), names)
    return Entities(names=names, key_names=key_names, key_heads=frozenset(heads), key_lines=frozenset(lines),
                    told_names=told_names,
                    firms=frozenset(firms - GENERIC), events=frozenset(events),
                    initials=frozenset("".join(w[0] for w in run.split()).lower() for run in _RUN.findall(guarded)),
                    months=frozenset(months),
                    quarters=quarters, years=frozenset(_YEAR.findall(text)), places=places_in(text, firms),
                    versions=frozenset(re.sub(r"(\.0)+$", "", v) for v in versions), days=_days(text),
                    languages=frozenset(w for w in words if w in LANGUAGES))
