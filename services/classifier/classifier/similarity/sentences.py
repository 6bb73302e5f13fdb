"""Sentences in a request's text, for the entity rules (``entities``): where each starts, and whether a word is
used inside one. Pure."""

from __future__ import annotations

__all__ = ["Sentences"]


class Sentences:
    """Where the sentences of a text start: a word at ``i`` starts one when only whitespace comes before it, or
    a sentence's end (``.!?:;`` or a line break) and then only whitespace.

    Worked out in one pass, so each question costs nothing: asked of the text before each word, the text's
    length in steps each time, a request's description of a few kilobytes took minutes (its words times the
    times each is named again, times its length), holding the classifier's event loop."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = starts = bytearray(len(text) + 1)
        ended = True
        for i, char in enumerate(text):
            starts[i] = ended
            if char in ".!?:;\n":
                ended = True
            elif not char.isspace():
                ended = False
        starts[len(text)] = ended
        self._again: dict[str, bool] = {}

    def starts(self, i: int) -> bool:
        return bool(self._starts[i])

    def named_again(self, word: str) -> bool:
        """``word`` is capitalised inside a sentence somewhere in the text: a name, not a heading's first word."""
        found = self._again.get(word)
        if found is None:
            found = self._again[word] = self._inside(word)
        return found

    def _inside(self, word: str) -> bool:
        # As ``re.finditer(rf"\b{word}\b")`` would find it, with ``str.find``: matches do not overlap, so after
        # one the search goes on past it; after a mere substring, from the next character.
        text, end = self.text, len(word)
        at = text.find(word)
        while at >= 0:
            if _edge(text, at) and _edge(text, at + end):
                if not self._starts[at]:
                    return True
                at = text.find(word, at + max(end, 1))
                continue
            at = text.find(word, at + 1)
        return False


def _edge(text: str, i: int) -> bool:
    """A word boundary (regex ``\b``) at ``i``: a word character on one side only."""
    before = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
    after = i < len(text) and (text[i].isalnum() or text[i] == "_")
    return before != after
