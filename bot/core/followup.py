"""Follow-up questions: carry the previous question's content words over, with less weight."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core.text import word_spans, words

if TYPE_CHECKING:
    from bot.core.analyze import QueryGroup

# A carried-over word counts half as much as a word of the follow-up itself: the follow-up
# says what is new ("¿y Microsoft?"), the previous question what it is about.
CARRY_WEIGHT = 0.5
# A follow-up with at most this many content words leans on the previous question.
SHORT_GROUPS = 2
# Words that point back at the previous question or answer (folded; Spanish and English).
# They carry no content of their own in a follow-up ("and who else?" is not about "else").
REFERS_BACK = frozenset(
    {
        # Spanish ("este", "esta"... are left out: folded, "está" and "éste" look the same)
        "eso", "esto", "ello", "ese", "esa", "esos", "esas", "aquello", "aquel", "aquella",
        "tambien", "entonces", "mas", "otro", "otra", "otros", "otras", "demas", "ademas",
        "igual", "mismo", "misma", "dicho", "dicha",
        # English
        "that", "it", "this", "those", "these", "they", "them", "its", "their", "else", "also",
        "too", "then", "other", "others", "more", "same", "such",
    }
)  # fmt: skip
# A follow-up often opens with a conjunction: "¿y hasta cuándo?", "and who else?".
OPENERS = frozenset({"y", "e", "pero", "and", "but", "so"})


def refers_back(question: str) -> bool:
    """Tell whether a question points back at the previous one ("¿y eso?", "and who else?")."""
    tokens = words(question)
    if not tokens:
        return False
    return tokens[0] in OPENERS or any(t in REFERS_BACK for t in tokens)


def carry_over(
    groups: list[QueryGroup], previous: list[QueryGroup], question: str, context: str
) -> tuple[list[QueryGroup], tuple[str, ...]]:
    """Add the previous question's content groups (less weight) to a short or referring one.

    Return the groups to rank and the carried words as the previous question spelled them.
    """
    own = [g for g in groups if g.surface not in REFERS_BACK]
    content = [g for g in own if not g.meta]
    if len(content) > SHORT_GROUPS and not refers_back(question):
        return groups, ()
    have = {g.surface for g in own} | {t for g in own for t in g.terms}
    carried = [
        replace(g, weight=g.weight * CARRY_WEIGHT)
        for g in previous
        if not g.meta and g.surface not in have and not have.intersection(g.terms)
    ]
    if not carried:
        return groups, ()
    return own + carried, tuple(_spelled(context, g.surface) for g in carried)


def _spelled(text: str, surface: str) -> str:
    """Return a folded group surface as the text wrote it ("duracion" -> "duración")."""
    spans = list(word_spans(text))
    n = len(surface.split())
    for i in range(len(spans) - n + 1):
        if " ".join(w for _s, _e, w in spans[i : i + n]) == surface:
            return text[spans[i][0] : spans[i + n - 1][1]]
    return surface
