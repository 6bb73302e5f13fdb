"""One word for each thing marketers call by several: "brand mark" and "logo", "online session" and
"webinar", "one-pager" and "datasheet", "jobs site" and "careers page".

Real duplicates are often paraphrases that share few words, and the small sentence model (``embedding``)
bridges only some of them. Before a request is embedded and its entities and words are read, each phrase
of a group in ``lexicon.json`` is written as the group's first phrase, longest phrase first and plurals
included. The groups name one deliverable, channel, event format or activity each, and keep apart what a
marketer would (a blog post is not a press release, a webinar not a conference).

The lexicon was written from knowledge of in-house marketing work, without reading the labelled pairs
in ``data/`` or the detector; on the tuning sets it raised the cross-validated recall from 0.75 to 0.80 at
the same precision (``scripts/fit_similarity.py``). No kept thesaurus of marketing deliverables exists to
install instead: general ones (WordNet) do not know a one-pager from a datasheet.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from importlib import resources

__all__ = ["canonical", "digest"]


# A word, with the apostrophes and ampersands inside it ("q&a", "what's"), none at its edges: a phrase in
# quotes ('pricing page') is still the phrase.
_TOKEN = re.compile(r"\w+(?:['\u2019&]\w+)*")
# Between two words of one phrase: spaces, a hyphen or a slash ("one-pager" and "one pager" read alike,
# "win/loss"), no other punctuation ("the blog, homepage" holds no "blog homepage").
_JOINED = re.compile(r"[\s/-]*")
# Words that are also ordinary verbs in their plural form ("a brand that stands out"): singular only.
_SINGULAR_ONLY = frozenset({"stand"})


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.lower().replace("\u2019", "'")))


@cache
def _lexicon() -> tuple[dict[tuple[str, ...], str], int]:
    """Each phrase's words (and its plurals') to its group's first phrase; the most words a phrase has."""
    groups = json.loads(resources.files(__package__).joinpath("lexicon.json").read_text(encoding="utf-8"))["groups"]
    index = {_tokens(form): group["phrases"][0] for group in groups for phrase in group["phrases"]
             for form in _forms(phrase)}
    return index, max(map(len, index))


@cache
def digest() -> str:
    """A short name of this lexicon's content: vectors of text it rewrote differ from another's."""
    return hashlib.sha256(resources.files(__package__).joinpath("lexicon.json").read_bytes()).hexdigest()[:10]


def _forms(phrase: str) -> tuple[str, ...]:
    """A phrase and its plural: "case study", "case studies"; "booth", "booths"; "box", "boxes"."""
    phrase = phrase.lower()
    if phrase in _SINGULAR_ONLY:
        return (phrase,)
    if re.search(r"[^aeiou]y$", phrase):
        return phrase, phrase[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", phrase):
        return phrase, phrase + "es"
    return phrase, phrase + "s"


def canonical(text: str) -> str:
    """``text`` with each lexicon phrase written as its group's first phrase, in lower case: the sentence
    model reads no case, and a capital inside a sentence would read as a name (``entities``). The longest
    phrase starting at a word wins ("video case study" before "case study")."""
    index, longest = _lexicon()
    spans = [(m.start(), m.end(), m.group().lower().replace("\u2019", "'")) for m in _TOKEN.finditer(text)]
    out: list[str] = []
    done = i = 0
    while i < len(spans):
        # The most words from here that no punctuation parts.
        reach = 1
        while reach < min(longest, len(spans) - i) and _JOINED.fullmatch(
                text, spans[i + reach - 1][1], spans[i + reach][0]):
            reach += 1
        for n in range(reach, 0, -1):
            word = index.get(tuple(span[2] for span in spans[i:i + n]))
            if word is not None:
                out += (text[done:spans[i][0]], word)
                done, i = spans[i + n - 1][1], i + n
                break
        else:
            i += 1
    out.append(text[done:])
    return "".join(out)

