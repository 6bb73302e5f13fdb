"""Text to the terms the aligner scores: lower-case words, stopwords out, Snowball stems, adjacent pairs; and the
vocabularies of how requests are worded (the asking itself, a narrow audience)."""

import re
from dataclasses import dataclass
from itertools import pairwise

import Stemmer  # type: ignore[import-not-found]

__all__ = ["NARROW_AUDIENCE", "REQUEST_PHRASING", "Analyzer", "Term", "phrases_in"]

# Words that describe the asking rather than the work; every request to marketing says "marketing".
# fmt: off
REQUEST_PHRASING = frozenset({
    "need", "needs", "want", "wants", "like", "would", "could", "please", "can", "get", "make",
    "let", "us", "also", "new", "use", "using", "via", "per", "marketing",
})
# Words that say a request is for one account or an internal audience rather than a market.
NARROW_AUDIENCE = frozenset({
    "custom", "customised", "customized", "personalised", "personalized", "tailored", "bespoke",
    "co-branded", "their logo", "their branding", "my biggest", "one account", "single account",
    "internal", "board", "investor", "investors", "leadership team",
})
# fmt: on

_CLAUSE = re.compile(r"[.;:!?()\[\]\"\u201c\u201d]+(?:\s|$)|[,\u2013\u2014]\s")  # 2013/2014: en/em dash
_THOUSANDS = re.compile(r"(\d),(\d{3})\b")
_WORD = re.compile(r"[^\W_]+(?:[-.'\u2019][^\W_]+)*")  # letters and digits; 2019: typographic apostrophe
_PART = re.compile(r"[-'\u2019]")


@dataclass(frozen=True)
class Term:
    key: str  # stem, or two stems joined by a space
    surface: str  # the word or words it came from, for people


class Analyzer:
    """Text to terms: lower-case words, stopwords out, Snowball stems, adjacent pairs."""

    def __init__(self, stopwords: frozenset[str]) -> None:
        self._stopwords = stopwords
        self._stemmer = Stemmer.Stemmer("english")

    def terms(self, text: str) -> list[Term]:
        out: list[Term] = []
        for clause in _CLAUSE.split(_THOUSANDS.sub(r"\1\2", text.lower())):
            words: list[tuple[Term, int]] = []  # content words, with the index of the word they came from
            for n, raw in enumerate(_WORD.findall(clause)):
                raw = raw.removesuffix("'s").removesuffix("\u2019s")
                parts = [p for p in _PART.split(raw) if self._is_content(p)]
                words.extend((Term(self._stem(p), raw), n) for p in parts)
                halves = raw.split("-")
                if len(halves) == 2 and all(h.isalpha() for h in halves):
                    out.append(Term(self._stem("".join(halves)), raw))  # 'sign-up' ~ 'signup'
            # A bare number says little alone; "19 August" or "90 days" says a lot.
            out.extend(t for t, _ in words if not t.key.isdigit())
            out.extend(
                Term(f"{a.key} {b.key}", a.surface if i == j else f"{a.surface} {b.surface}")
                for (a, i), (b, j) in pairwise(words)
            )
        return out

    def _is_content(self, word: str) -> bool:
        return (len(word) > 1 or word.isdigit()) and word not in self._stopwords

    def _stem(self, word: str) -> str:
        return word if word[0].isdigit() else str(self._stemmer.stemWord(word))


def phrases_in(text: str, phrases: frozenset[str]) -> tuple[str, ...]:
    """The phrases (lower-case words, space-separated) that occur in ``text`` word for word, in text order."""
    words = [w.removesuffix("'s").removesuffix("\u2019s") for w in _WORD.findall(text.lower())]
    starts: dict[str, int] = {}  # first word: most words in a phrase that starts with it
    for p in phrases:
        starts[p.split(" ", 1)[0]] = max(starts.get(p.split(" ", 1)[0], 0), p.count(" ") + 1)
    found: list[str] = []
    for i, word in enumerate(words):
        for n in range(1, starts.get(word, 0) + 1):
            phrase = " ".join(words[i:i + n])
            if i + n <= len(words) and phrase in phrases and phrase not in found:
                found.append(phrase)
    return tuple(found)
