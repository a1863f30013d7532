"""Answers across documents: newer reports first, latest-state questions, differing figures.

This is the quote stage's view of time. Ranking and the answer-or-decline decision do not know
about dates; once they have picked the relevant passages, this module orders them (newest
document first when scores nearly tie; the newest answering document first when the question
asks for the current state) and tells when two dated reports give different figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.core.decide import covers
from bot.core.rank import Ranked
from bot.core.text import fold, words

# Passages scoring within this share of a run's best are a near-tie: the newer report leads.
NEAR_TIE = 0.15
# A multi-document summary quotes at most this many documents (one sentence each).
MAX_SUMMARY_DOCUMENTS = 3

# Words and phrases that ask for the current state of affairs rather than any report: the
# issue's examples ("¿sigue vigente…?", "¿qué ha cambiado?", "lo más reciente", "now",
# "latest") and their usual variants, folded (no accents, lower case).
LATEST_CUES = (
    ("sigue",),
    ("siguen",),
    ("todavia",),
    ("aun",),
    ("actualmente",),
    ("actual",),
    ("ahora",),
    ("hoy",),
    ("ultimo",),
    ("ultima",),
    ("ultimos",),
    ("ultimas",),
    ("reciente",),
    ("recientes",),
    ("ha", "cambiado"),
    ("han", "cambiado"),
    ("cambiado",),
    ("now",),
    ("latest",),
    ("currently",),
    ("current",),
    ("still",),
    ("today",),
    ("recent",),
    ("changed",),
    ("anymore",),
)

# Figures a report can disagree on: a percentage, an amount of money, a year.
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:%|por\s+ciento|percent)", re.IGNORECASE)
_AMOUNT = re.compile(
    r"(\d{1,3}(?:\.\d{3})+|\d+(?:,\d+)?)\s*(mil\s+millones|millones|billones|euros|d[óo]lares"
    r"|€|\$)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(19\d{2}|20\d{2})\b(?!\s*(?:%|por\s+ciento))")


@dataclass(frozen=True)
class Figures:
    """The percentages, amounts and years a sentence states."""

    percent: frozenset[str]
    amount: frozenset[str]
    year: frozenset[str]


def is_latest_question(question: str) -> bool:
    """Tell whether a question asks for the latest state ("¿sigue vigente…?", "latest")."""
    tokens = words(question)
    for cue in LATEST_CUES:
        n = len(cue)
        if any(tuple(tokens[i : i + n]) == cue for i in range(len(tokens) - n + 1)):
            return True
    return False


def order(
    ranked: Sequence[Ranked], published: Callable[[Ranked], date], *, latest: bool
) -> list[Ranked]:
    """Order relevant passages: newest document first on near-ties; newest answer if `latest`.

    With a single publication date among the passages the ranking is returned as it is.
    """
    dates = [published(r) for r in ranked]
    if len(set(dates)) < 2:
        return list(ranked)
    out: list[Ranked] = []
    i = 0
    while i < len(ranked):
        top = ranked[i]
        j = i + 1
        while (
            j < len(ranked)
            and ranked[j].score >= (1 - NEAR_TIE) * top.score
            and covers(ranked[j].coverage) == covers(top.coverage)
        ):
            j += 1
        run = sorted(range(i, j), key=lambda n: dates[n], reverse=True)  # stable: by score
        out.extend(ranked[n] for n in run)
        i = j
    if latest:
        answering = [r for r in out if covers(r.coverage)]
        if answering:
            newest = max(published(r) for r in answering)
            front = [r for r in answering if published(r) == newest]
            out = front + [r for r in out if r not in front]
    return out


def figures(sentence: str) -> Figures:
    """Return the figures a sentence states, normalized for comparison."""
    amounts = frozenset(
        f"{n.replace('.', '')} {fold(' '.join(unit.split()))}"
        for n, unit in _AMOUNT.findall(sentence)
    )
    without_amounts = _AMOUNT.sub(" ", sentence)
    return Figures(
        percent=frozenset(n.replace(",", ".") for n in _PERCENT.findall(sentence)),
        amount=amounts,
        year=frozenset(_YEAR.findall(_PERCENT.sub(" ", without_amounts))),
    )


def differ(a: str, b: str) -> bool:
    """Tell whether two sentences give different figures of one kind (each one the other lacks).

    "hasta 2030" and "hasta 2032 … desde 2019" differ; "en 2019" and "desde 2019 … 2032" do not
    (the second only adds a figure).
    """
    fa, fb = figures(a), figures(b)
    for x, y in ((fa.percent, fb.percent), (fa.amount, fb.amount), (fa.year, fb.year)):
        if x - y and y - x:
            return True
    return False


def disagreements(
    quotes: Sequence[tuple[str, date, str]],
) -> list[tuple[int, int]]:
    """Return pairs (i, j) of quotes (document id, date, sentence) from different dates that
    give different figures."""
    pairs = []
    for i, (doc_a, date_a, sent_a) in enumerate(quotes):
        for j in range(i + 1, len(quotes)):
            doc_b, date_b, sent_b = quotes[j]
            if doc_a != doc_b and date_a != date_b and differ(sent_a, sent_b):
                pairs.append((i, j))
    return pairs


def one_per_document(items: Sequence[tuple[str, str]]) -> list[int]:
    """Return the indices of the first item of each document ((document id, text) items)."""
    seen: dict[str, int] = {}
    for n, (doc, _text) in enumerate(items):
        seen.setdefault(doc, n)
    return list(seen.values())[:MAX_SUMMARY_DOCUMENTS]


def newest_first(items: Mapping[str, date]) -> list[str]:
    """Return document ids from the newest to the oldest (ties keep their order)."""
    return sorted(items, key=lambda d: items[d], reverse=True)
