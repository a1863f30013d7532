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
from functools import lru_cache

from bot.core.analyze import YEAR_DIGITS, QueryGroup
from bot.core.decide import covers
from bot.core.knowledge import Document
from bot.core.rank import Ranked
from bot.core.text import Analyzer, fold, stopwords, word_spans, words

# Passages scoring within this share of a run's best are a near-tie: the newer report leads.
NEAR_TIE = 0.15
# For a latest-state question a passage answers when it holds nearly as much of the question as
# the best one: a newer report that only shares the names ("Microsoft", "OpenAI") does not.
ANSWER_COVERAGE_SLACK = 0.1
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

CUE_WORDS = frozenset(w for cue in LATEST_CUES for w in cue)
# Each cue as the words between spaces of a question's words joined by spaces.
_CUE_PHRASES = tuple(f" {' '.join(cue)} " for cue in LATEST_CUES)

# Figures a report can disagree on: a percentage, an amount of money, a year.
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:%|por\s+ciento|percent)", re.IGNORECASE)
_AMOUNT = re.compile(
    r"(\d{1,3}(?:\.\d{3})+|\d+(?:,\d+)?)\s*(mil\s+millones|millones|billones|euros|d[óo]lares"
    r"|€|\$)",
    re.IGNORECASE,
)
_YEAR = re.compile(rf"\b({YEAR_DIGITS})\b(?!\s*(?:%|por\s+ciento))")


# Words either side of a figure that say what it measures; two figures disagree only when
# they share one ("recibe el 15 por ciento de los ingresos" vs "recibe el 20 por ciento…"),
# not a stake and a revenue share that both happen to be percentages.
CONTEXT_WORDS = 2
_UNIT_WORDS = frozenset(
    {"por", "ciento", "percent", "mil", "millones", "billones", "euros", "dolares"}
)


@dataclass(frozen=True)
class Figure:
    """A figure a sentence states: its kind, its normalized value and what it measures."""

    kind: str  # "percent", "amount" or "year"
    value: str
    context: frozenset[str]


def is_latest_question(question: str) -> bool:
    """Tell whether a question asks for the latest state ("¿sigue vigente…?", "latest")."""
    joined = f" {' '.join(words(question))} "
    return any(cue in joined for cue in _CUE_PHRASES)


def is_cue(surface: str) -> bool:
    """Tell whether a question word only asks for recency ("sigue", "ahora", "latest")."""
    tokens = words(surface)
    return bool(tokens) and all(t in CUE_WORDS for t in tokens)


def order(
    ranked: Sequence[Ranked],
    published: Callable[[Ranked], date],
    *,
    latest: bool,
    coverage: Mapping[int, float] | None = None,
) -> list[Ranked]:
    """Order relevant passages: newest document first on near-ties; newest answer if `latest`.

    `coverage` (passage -> share of the question) measures what a passage answers without the
    recency words and figures of the question: "¿sigue vigente hasta 2030?" is answered by a
    newer report that says 2032. With a single publication date the ranking stands.
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

        def share(r: Ranked) -> float:
            return coverage.get(r.passage, 0.0) if coverage is not None else r.coverage

        best = max(share(r) for r in out)
        answering = [
            r for r in out if covers(share(r)) and share(r) >= best - ANSWER_COVERAGE_SLACK
        ]
        if answering:
            newest = max(published(r) for r in answering)
            front = [r for r in answering if published(r) == newest]
            out = front + [r for r in out if r not in front]
    return out


def figures(sentence: str) -> list[Figure]:
    """Return the figures a sentence states, with the content words around each."""
    found: list[tuple[str, str, int, int]] = []
    taken: list[tuple[int, int]] = []
    for m in _AMOUNT.finditer(sentence):
        unit = fold(" ".join(m.group(2).split()))
        found.append(("amount", f"{m.group(1).replace('.', '')} {unit}", m.start(), m.end()))
        taken.append(m.span())
    for m in _PERCENT.finditer(sentence):
        found.append(("percent", m.group(1).replace(",", "."), m.start(), m.end()))
        taken.append(m.span())
    for m in _YEAR.finditer(sentence):
        if not any(s <= m.start() < e for s, e in taken):
            found.append(("year", m.group(1), m.start(), m.end()))
    content = [
        (s, e, w)
        for n, (s, e, w) in enumerate(word_spans(sentence))
        if not w.isdigit()
        and w not in _UNIT_WORDS
        and w not in stopwords("es")
        # Names ("Microsoft", "OpenAI") are in every report on the subject: they say nothing
        # about what a figure measures.
        and not (n > 0 and sentence[s].isupper())
    ]
    out = []
    for kind, value, start, end in found:
        before = [_stem(w) for s, _e, w in content if s < start][-CONTEXT_WORDS:]
        after = [_stem(w) for s, _e, w in content if s >= end][:CONTEXT_WORDS]
        out.append(Figure(kind, value, frozenset(before + after)))
    return out


def differ(a: str, b: str) -> bool:
    """Tell whether two sentences give different figures for the same thing.

    "sigue vigente hasta 2030" and "sigue vigente hasta 2032" differ; "colaboran desde 2019" and
    "desde 2019 … hasta 2032" do not (the second adds a figure), nor do a 27 % stake and a 15 %
    revenue share.
    """
    return _differ(figures(a), figures(b))


def _differ(fa: list[Figure], fb: list[Figure]) -> bool:
    values_a = {(f.kind, f.value) for f in fa}
    values_b = {(f.kind, f.value) for f in fb}
    return any(
        x.kind == y.kind
        and (x.kind, x.value) not in values_b
        and (y.kind, y.value) not in values_a
        and x.context & y.context
        for x in fa
        for y in fb
    )


@lru_cache(maxsize=1)
def _stemmer() -> Analyzer:
    return Analyzer("spanish")


def _stem(word: str) -> str:
    return _stemmer().stem(word)


def disagreement(
    quotes: Sequence[tuple[str, date, str]], *, with_first: bool = False
) -> tuple[int, int] | None:
    """Return the first pair (i, j) of quotes (document id, date, sentence) from different
    documents and dates that give different figures, or None; `with_first`: pairs (0, j) only.

    Each sentence's figures are found once, and only when a pair needs them.
    """
    found: dict[int, list[Figure]] = {}

    def figures_of(n: int) -> list[Figure]:
        if n not in found:
            found[n] = figures(quotes[n][2])
        return found[n]

    for i, (doc_a, date_a, _sentence) in enumerate(quotes[:1] if with_first else quotes):
        for j in range(i + 1, len(quotes)):
            doc_b, date_b, _ = quotes[j]
            if doc_a != doc_b and date_a != date_b and _differ(figures_of(i), figures_of(j)):
                return i, j
    return None


def one_per_document(document_ids: Sequence[str]) -> list[int]:
    """Return the indices of the first item of each document (items given by document id)."""
    seen: dict[str, int] = {}
    for n, doc in enumerate(document_ids):
        seen.setdefault(doc, n)
    return list(seen.values())[:MAX_SUMMARY_DOCUMENTS]


def content_groups(groups: list[QueryGroup]) -> list[QueryGroup]:
    """Leave out recency words ("ahora", "latest"): the quote stage orders by date for them."""
    return [g for g in groups if not is_cue(g.surface)] or groups


def timeline(documents: Sequence[Document]) -> list[Document]:
    """Return the documents from the oldest to the newest (same date: folder order)."""
    return sorted(documents, key=lambda d: d.published)
