"""Answer or decline: the one place that says why a question was declined.

The best passage is judged by a few features that mean the same on any knowledge folder (shares
and ratios, never raw BM25 or passage counts). A logistic model turns them into a confidence
(0-1); the engine answers when the confidence reaches the threshold. The coefficients and the
default threshold live in `bot/core/data/decision.json`, fitted by `scripts/fit_decision.py`
(held out by article); ANSWER_THRESHOLD moves the threshold. With sentence vectors
(meaning.py) the first candidates and the passages closest in meaning are put in order by their
words and their meaning (`by_meaning`), and a second model, which also reads how close in meaning
the best passage is, decides.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.core.analyze import YEAR, YEAR_WORDS, QueryGroup
from bot.core.errors import CoreError
from bot.core.index import BM25Index
from bot.core.meaning import Similarity
from bot.core.paraphrase import SYNONYM_WEIGHT
from bot.core.rank import COVERAGE_FLOOR, Ranked, score_passages

MODEL_PATH = Path(__file__).resolve().parent / "data" / "decision.json"
# Share of the question's content (idf-weighted) a passage must exceed to count as "strong"
# (the summary quotes strong passages first; the overview picks them).
MIN_COVERAGE = 0.5
# Candidates whose scores `document_share` weighs: an in-scope question's best passages cluster
# in the document it was written about; an out-of-scope one's common words scatter over many.
# (squad-es, held out by article: top 5 / 10 / 20 / 50 -> 63.1 / 63.9 / 64.4 / 64.2 % answered
# and right at 95 % of out-of-scope declined.)
SHARE_CANDIDATES = 20
# The best few candidates are put in order again by what BM25 does not see: how much of the
# question one of their sentences holds and how much of the candidates' score their document
# has. (squad-es, held out by article, ranking alone: hit@1 73.8% -> 75.0% re-ordering the
# first 3, 74.9% the first 20.)
RERANK_CANDIDATES = 3
RERANK_NAMES = (
    "score_ratio",
    "coverage",
    "sentence_coverage",
    "document_share",
    "wrong_type",
    "close_pairs",
)
# The re-rank features that read a passage's words (the others come from its score and text):
# each is a share in 0-1, read only for a candidate that could still win with all of them.
RERANK_READS = ("sentence_coverage", "close_pairs")
# Two question words are close in a passage when at most this many content words part them
# ("acuerdo de colaboración": next to each other).
CLOSE_WORDS = 3
# Spanish number words, months and spans of time, as the patterns below look for them.
_NUMBER_WORDS = (
    r"dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|veinte"
    r"|veinti\w+|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|cien|ciento"
    r"|\w+cientos|\w+cientas|mil|miles|mill[oó]n|millones|bill[oó]n|billones|docenas?|mitad"
)
_MONTHS = (
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|se?ptiembre|octubre|noviembre|diciembre"
)
_TIME_UNITS = r"a[nñ]os|meses|semanas|d[ií]as|horas|siglos|d[eé]cadas"
_YEAR = r"(?:1\d|20)\d\d"
# "¿Cuántos…?", "¿Cuándo…?", "¿En qué año…?", "How many…?": the answer is a number or a date,
# so a passage without one cannot hold it.
ASKS_NUMBER = re.compile(
    r"\b(?:cu[aá]nt[oa]s?|cu[aá]ndo|qu[eé] a[nñ]os?|how (?:many|much|long|old)|when|what year)\b",
    re.IGNORECASE,
)
# A number or a date in a passage: digits, Spanish number words, months, centuries.
HOLDS_NUMBER = re.compile(
    rf"\d|\b(?:{_NUMBER_WORDS}|{_MONTHS}|siglos?|d[eé]cadas?)\b", re.IGNORECASE
)
# "¿Cuánto dinero…?", "¿Cuántos empleados…?", "What percentage…?" ask for an amount, which a year
# does not give ("hasta 2030" does not say how much Microsoft invested); a passage without one
# is declined whatever its words (squad-es: of the 80 in-scope questions that ask one, 68 rank
# the evidence first and the rule declines none of them; it declines 6 of 118 out-of-scope
# ones). A duration is left out: "desde 2001" answers "¿Cuánto tiempo…?", "en 2019" answers
# "how many years…".
ASKS_QUANTITY = re.compile(
    r"\b(?:cu[aá]nt[oa]s?|how (?:many|much)|porcentajes?|percentages?)\b"
    rf"(?!\s+(?:tiempo|{_TIME_UNITS}|time|years|months|weeks|days|hours|centuries|decades)\b)",
    re.IGNORECASE,
)
# An amount in a passage: a number that is not a year, or a Spanish number word, that neither
# counts time nor dates ("hace seis años", "22 Ene." do not say how much).
HOLDS_QUANTITY = re.compile(
    rf"(?:(?<!\d)(?!{_YEAR}(?!\d))\d[\d.,]*+|\b(?:{_NUMBER_WORDS}|tercio|cuarto)\b)"
    rf"(?!\s+(?:de\s+)?(?:{_TIME_UNITS}|{_MONTHS}"
    r"|ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\b)",
    re.IGNORECASE,
)
# "¿Cuánto dinero…?", "¿Cuánto ha invertido…?", "¿Cuál es el precio…?", "How much did it
# cost?" ask for a sum of money, which a count does not give ("Las dos compañías" does not say
# how much Microsoft invested; the meaning model, close to the topic, answered it at 0.998).
# Singular "cuánto" only before a money verb or noun: "¿Cuántos partidos ganó?" asks a count.
_MONEY_VERBS = (  # spelt out: cost* would take "costa", cobr* "cobre", pag* "página"
    r"cuesta|cuestan|cost(?:[oó]|aba|aban|aron|ar[aá]n?|ar[ií]an?|ado|ar)|vale|valen|val[ií]a"
    r"|vali[oó]|valieron|pag(?:a|an|[oó]|aron|aba|aban|ado|ar|ar[aá]n?|ar[ií]an?|ue|uen)"
    r"|invert\w*|invirt\w*|inviert\w*|gast(?:a|an|[oó]|aron|aba|aban|ado|ar|ar[aá]n?|ar[ií]an?)"
    r"|cobr(?:a|an|[oó]|aron|aba|aban|ado|ar)|recaud\w*|factur\w*|ingres(?:os?|a|an|[oó]|aron)"
)
_PRICE_NOUNS = r"precios?|costes?|costos?"
_MONEY_NOUNS = rf"{_PRICE_NOUNS}|inversi[oó]n|presupuesto|importe"
ASKS_MONEY = re.compile(
    r"\bcu[aá]nt[oa]s?\s+(?:dinero|d[oó]lares|euros|(?:miles\s+de\s+)?millones|mil\s+millones)\b"
    rf"|\bcu[aá]nto\b(?!\s+(?:tiempo|{_TIME_UNITS})\b)(?:\s+\w+){{0,3}}?\s+(?:{_MONEY_VERBS})\b"
    rf"|\bcu[aá]nto\b(?!\s+(?:tiempo|{_TIME_UNITS})\b)(?:\s+\w+){{0,4}}?\s+(?:{_MONEY_NOUNS})\b"
    rf"|\b(?:qu[eé]|cu[aá]l\s+(?:es|era|fue|ser[aá]|son|eran|fueron))\s+(?:el\s+|los\s+)?"
    rf"(?:{_MONEY_NOUNS})\b"
    r"|\bhow\s+much\s+(?:money|cash|funding)\b"
    r"|\bhow\s+much\b(?:\s+\S+){0,5}?\s+(?:cost|costs|costed|pay|paid|pays|invest|invested"
    r"|invests|spend|spent|spends|charge|charged|charges|earn|earned|earns|worth|price|prices)\b"
    r"|\bhow\s+many\s+(?:dollars|euros|millions|billions)\b"
    r"|\bwhat\s+(?:is|was|were|are|will\s+be)\s+the\s+(?:price|prices|cost|costs)\b",
    re.IGNORECASE,
)
# A keyword query that names a price ("azure openai service price per token", "sueldo
# director openai") asks for it as "¿Cuál es el precio…?" does. A question with a question word
# or mark may name one without asking it ("¿Cuándo elevaron el precio del petróleo?", "¿Por qué
# bajan los salarios?": squad-es's in-scope questions that name one all have both).
_PRICE_WORD = re.compile(
    rf"\b(?:{_PRICE_NOUNS}|tarifas?|sueldos?|salarios?|prices?|pricing|costs?|fees?"
    r"|salary|salaries|wages?)\b",
    re.IGNORECASE,
)
_QUESTION_WORD = re.compile(
    r"[?¿]|\b(?:qu[eé]|cu[aá]l(?:es)?|cu[aá]ndo|cu[aá]nt[oa]s?|c[oó]mo|d[oó]nde|qui[eé]n(?:es)?"
    r"|porqu[eé]|what|which|when|why|how|where|who|whom|whose|is|are|was|were|does|do|did"
    r"|can|could|will|would|should|has|have|had)\b",
    re.IGNORECASE,
)


def asks_money(question: str) -> bool:
    """Tell whether a question asks for a sum of money (ASKS_MONEY, or a keyword query naming a
    price)."""
    if ASKS_MONEY.search(question):
        return True
    return bool(_PRICE_WORD.search(question)) and not _QUESTION_WORD.search(question)


# A sum of money in a passage: a currency sign or name, or millions that count nothing else
# ("invirtió 40 millones en el puerto", not "millones de años" or "de habitantes"). It is asked
# of passages that also hold an amount, so the money rule only ever declines more.
HOLDS_MONEY = re.compile(
    r"[$€£¥₹]|\b(?:d[oó]lar(?:es)?|euros?|esterlinas?|pesos|yen(?:es)?|yuan(?:es)?|rublos?"
    r"|rupias?|pesetas?|dollars?|usd|eur)\b"
    r"|\b(?:mill[oó]n|millones|billones?|millardos?)\b(?!\s+de\b)",
    re.IGNORECASE,
)
# "¿Cuándo…?", "¿En qué año…?", "what year…?" ask for a date: a year, a month, a century.
ASKS_DATE = re.compile(
    r"\b(?:cu[aá]ndo|qu[eé] (?:a[nñ]o|fecha|mes|siglo|d[eé]cada)|when|what (?:year|date|month"
    r"|century|decade))\b",
    re.IGNORECASE,
)
HOLDS_DATE = re.compile(rf"\b(?:{_YEAR}|{_MONTHS}|siglos?|d[eé]cadas?)\b", re.IGNORECASE)
# Passages scoring below this share of the best one are not worth quoting...
MIN_RELATIVE_SCORE = 0.25
# ...and passages holding less than this share of the question are off the point.
MIN_PASSAGE_COVERAGE = 0.3
LACKS_AMOUNT = "the question asks how much or how many and the best passage gives no amount"
LACKS_MONEY = "the question asks how much money and no passage near the best gives a sum"
# The scores of this many first candidates give `spread`.
SPREAD_CANDIDATES = 10
# With sentence embeddings (meaning.py), this many first candidates are put in order by the
# re-rank's features and their closeness in meaning to the question, instead of the re-rank...
MEANING_CANDIDATES = 10
# ...together with this many passages closest in meaning to the question that are not among
# them (BM25 scores them all the same; their score ratio counts from MIN_LOG_RATIO up).
# squad-es, held out by article, ranking alone: hit@1 76.8 % with the re-rank, 77.8 % ordering
# the first 10 by meaning too, 79.1 % with the 5 closest added (10 closest: 79.2 %; the first 5
# or 20 with 5 closest: 78.8 / 78.7 %).
MEANING_EXTRA = 5
MIN_LOG_RATIO = math.log(0.01)
MEANING_ORDER_NAMES = (*RERANK_NAMES, "similarity", "sentence_similarity")
# The decision reads the closest sentence among this many first candidates (meaning's order).
TOP_SENTENCE_CANDIDATES = 3


@dataclass(frozen=True)
class Features:
    """What the decision looks at, for the best-ranked passage; each is a share in 0-1."""

    coverage: float  # idf-weighted share of the question's content words the passage holds
    synonym_coverage: float  # share it holds only through a thesaurus synonym (not in coverage)
    sentence_coverage: float  # share the best single sentence of the passage holds
    relative_score: float  # its BM25 over the most this question could score (every word, tf 1)
    document_coverage: float  # share of the question the passage's whole document holds
    document_share: float  # share of the top candidates' score in its document (1: one document)
    together: float  # share of neighbouring question words that share one of its sentences
    short: float  # 1 / number of content words: short questions match by chance more easily
    unknown_words: float  # share of the question in words no passage has, names excepted
    corrected: float  # share it holds only through a typo repair ("Beroida" read as "bar")
    no_number: float  # 1: the question asks for a number or a date and the passage has none
    spread: float  # spread (std) of the first candidates' scores over the best one's
    close: float  # share of neighbouring question words close together in the passage
    # With sentence embeddings (0 without): cosine of the question and the passage...
    similarity: float = 0.0
    # ...of the question and the closest passage of the folder (wherever BM25 ranked it)...
    best_similarity: float = 0.0
    # ...and the passage's cosine over the closest other candidate's.
    similarity_margin: float = 0.0
    # Share of the question in names no passage has ("Google" asked of an article without it):
    # meaning finds a passage close to the rest of such a question ("What did Google announce
    # about AI?" near Trump's announcement); the words-alone model sees it in `coverage`.
    unknown_names: float = 0.0
    # Cosine of the question and the passage's closest sentence, and the closest sentence of
    # the first TOP_SENTENCE_CANDIDATES: a question asked about another article can be near a
    # passage's topic, seldom near one of its sentences.
    sentence_similarity: float = 0.0
    top_sentence_similarity: float = 0.0

    def vector(self, names: Sequence[str] | None = None) -> list[float]:
        """Return the features in model order (the words model's unless `names` say)."""
        return [getattr(self, name) for name in names or FEATURE_NAMES]


MEANING_NAMES = tuple(f.name for f in fields(Features))
FEATURE_NAMES = MEANING_NAMES[: MEANING_NAMES.index("similarity")]  # what words alone tell


@dataclass(frozen=True)
class Closeness:
    """How close in meaning a question is to its best passage (cosines of sentence vectors)."""

    first: float  # the first candidate's (after the meaning order)
    anywhere: float  # the closest passage's of the whole folder
    margin: float  # the first candidate's over the closest other candidate's (0: none other)
    sentence: float = 0.0  # the first candidate's closest sentence's
    top_sentence: float = 0.0  # the closest sentence's of the first TOP_SENTENCE_CANDIDATES


@dataclass(frozen=True)
class DecisionModel:
    """A logistic model over the features, with its chosen answer threshold."""

    coefficients: tuple[float, ...]
    intercept: float
    threshold: float
    # Weights of RERANK_NAMES: the order of the first RERANK_CANDIDATES (none: rank's order).
    rerank: tuple[float, ...] = ()
    names: tuple[str, ...] = FEATURE_NAMES  # the features the coefficients weigh
    # Weights of MEANING_ORDER_NAMES: the order of the meaning pool (the meaning model's).
    order: tuple[float, ...] = ()
    # The model to use when sentence vectors are there (None: this one, words alone).
    meaning: DecisionModel | None = None

    def confidence(self, features: Features) -> float:
        """Return the probability that the passage answers the question."""
        z = self.intercept + sum(
            c * x for c, x in zip(self.coefficients, features.vector(self.names), strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class Decision:
    """Whether to answer, how sure the engine is (0-1), and why."""

    answer: bool
    confidence: float
    reason: str
    features: Features | None = None
    # The candidate to quote first (the one that gives the amount asked); None: it asks how
    # much or how many, the rest would answer, and no passage worth quoting near the best says.
    quote_first: int | None = 0

    @property
    def no_amount(self) -> bool:
        """Tell whether it was declined because the knowledge gives no amount for it."""
        return self.quote_first is None


def load_model(path: Path = MODEL_PATH) -> DecisionModel:
    """Read the decision models (words alone; with meaning, when the file has one); raise
    CoreError when the file is unusable. The words model is returned; its `meaning` is the
    other (None when the file has none)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        model = _model(raw, FEATURE_NAMES)
        if "meaning" in raw:
            meaning = _model(raw["meaning"], MEANING_NAMES)
            order = raw["meaning"]["order"]
            meaning = replace(meaning, order=tuple(float(order[n]) for n in MEANING_ORDER_NAMES))
            model = replace(model, meaning=meaning)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CoreError(f"{path}: cannot read the decision model: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CoreError(f"{path}: malformed decision model: missing or bad {exc}") from exc
    return model


def _model(raw: dict[str, Any], names: tuple[str, ...]) -> DecisionModel:
    """Return one model of the file (its coefficients for `names`)."""
    coefficients = raw["coefficients"]
    return DecisionModel(
        coefficients=tuple(float(coefficients[name]) for name in names),
        intercept=float(raw["intercept"]),
        threshold=float(raw["threshold"]),
        rerank=tuple(float(raw["rerank"][name]) for name in RERANK_NAMES)
        if "rerank" in raw
        else (),
        names=names,
    )


class Decider:
    """Decides answer-or-decline for one index; features cost O(candidates), not O(passages)."""

    def __init__(
        self,
        index: BM25Index,
        passage_sentences: Callable[[int], Sequence[Sequence[str]]],
        document_span: Callable[[int], tuple[int, int]],
        passage_text: Callable[[int], str],
        passage_terms: Callable[[int], Sequence[str]],
        model: DecisionModel,
        threshold: float | None = None,
    ) -> None:
        """Decide over an index, given each passage's sentences (as terms), document, text and
        terms in order."""
        self.index = index
        self.passage_text = passage_text
        self.passage_terms = passage_terms
        self.passage_sentences = passage_sentences
        self.document_span = document_span
        self.model = model
        self.threshold = model.threshold if threshold is None else threshold
        meaning = model.meaning
        self.meaning_threshold = (
            meaning.threshold if meaning is not None and threshold is None else self.threshold
        )
        # The re-ranking reads the first candidate's sentences, the decision reads them again.
        self._where = functools.lru_cache(maxsize=4096)(self._where_uncached)
        self._positions = functools.lru_cache(maxsize=4096)(self._positions_uncached)
        # Whether a passage holds a number, a date, an amount...: a pattern over its text
        # (~10-25 us when it does not), asked of the same first candidates again and again.
        self._holds = functools.lru_cache(maxsize=8192)(self._holds_uncached)

    def _holds_uncached(self, passage: int, pattern: re.Pattern[str]) -> bool:
        return pattern.search(self.passage_text(passage)) is not None

    def decide(
        self,
        groups: list[QueryGroup],
        ranked: list[Ranked],
        question: str = "",
        closeness: Closeness | None = None,
    ) -> Decision:
        """Answer when the model's confidence in the best passage reaches the threshold.

        With `closeness` (sentence vectors, see by_meaning) the meaning model decides.
        """
        if not ranked:
            return Decision(False, 0.0, "no passage holds any word of the question")
        feats = self.features(groups, ranked, question, closeness)
        model, threshold = self.model, self.threshold
        if closeness is not None and self.model.meaning is not None:
            model, threshold = self.model.meaning, self.meaning_threshold
        confidence = model.confidence(feats)
        at = self.amount_at(question, ranked)
        if at is None:  # declined at any threshold (confidence 0): the figure is nowhere near
            if confidence >= threshold:  # the rest would answer: "no da esa cifra"
                reason = LACKS_MONEY if asks_money(question) else LACKS_AMOUNT
                return Decision(False, 0.0, reason, feats, quote_first=None)
            confidence = 0.0  # nor is the rest: "no trata eso", as any other decline
        elif confidence >= threshold:
            return Decision(True, round(confidence, 4), "confident", feats, quote_first=at)
        return Decision(False, round(confidence, 4), self._why(feats), feats)

    def amount_at(self, question: str, ranked: list[Ranked]) -> int | None:
        """Return the rank of the candidate to quote first: 0 (the best) unless the question
        asks how much or how many and the best gives no amount; then the first candidate that
        gives one (a sum of money when it asks how much money), among the first few and the
        passages of the best one's document, if an answer would quote it beside the best (a
        headline matches the words, its body gives the figure; a passage sharing a word or two
        does not answer with its number); None when none does (an amount, not a year, a date
        or a duration: the knowledge does not give it, however well the words match)."""
        money = asks_money(question)
        if not ranked or not (money or ASKS_QUANTITY.search(question)):
            return 0
        home = self.document_span(ranked[0].passage)
        best = ranked[0].score
        for i, r in enumerate(ranked):
            near = i == 0 or (
                worth_quoting(r, best)
                and (i < RERANK_CANDIDATES or self.document_span(r.passage) == home)
            )
            if not near:
                continue
            if self._holds(r.passage, HOLDS_QUANTITY) and (
                not money or self._holds(r.passage, HOLDS_MONEY)
            ):
                return i
        return None

    @property
    def reads_meaning(self) -> bool:
        """Tell whether the model file has a meaning model (sentence vectors are worth it)."""
        return self.model.meaning is not None

    def by_meaning(
        self,
        groups: list[QueryGroup],
        ranked: list[Ranked],
        question: str,
        similarity: Similarity,
    ) -> tuple[list[Ranked], Closeness]:
        """Put rank's first candidates and the passages closest in meaning (`pool`) in the
        meaning model's order (instead of `rerank`); say how close in meaning they are."""
        pool = self.pool(groups, ranked, similarity)
        sims = [float(similarity.passages[r.passage]) for r in pool]
        meaning = self.model.meaning
        weights = meaning.order if meaning is not None else ()
        order = list(range(len(pool)))
        if weights and len(pool) > 1:
            z = [
                sum(w * x for w, x in zip(weights, v, strict=True))
                for v in self.order_features(groups, ranked, pool, question, similarity)
            ]
            order.sort(key=lambda i: (-z[i], i))
        first = sims[order[0]]
        others = [sims[i] for i in order[1:]]
        near = [float(similarity.sentences[pool[i].passage]) for i in order]
        closeness = Closeness(
            first=first,
            anywhere=float(similarity.passages.max()),
            margin=first - max(others) if others else 0.0,
            sentence=near[0],
            top_sentence=max(near[:TOP_SENTENCE_CANDIDATES]),
        )
        taken = {r.passage for r in pool}
        rest = [r for r in ranked[MEANING_CANDIDATES:] if r.passage not in taken]
        return [pool[i] for i in order] + rest, closeness

    def pool(
        self, groups: list[QueryGroup], ranked: list[Ranked], similarity: Similarity
    ) -> list[Ranked]:
        """Return rank's first MEANING_CANDIDATES, then the MEANING_EXTRA passages closest in
        meaning that are not among them (scored as rank scores them, whatever their rank)."""
        cosines = similarity.passages
        top = ranked[:MEANING_CANDIDATES]
        if not top or MEANING_EXTRA == 0:
            return top
        n = MEANING_EXTRA + len(top)  # enough to find MEANING_EXTRA outside the top
        if n < len(cosines):
            closest = np.argpartition(-cosines, n - 1)[:n]
        else:
            closest = np.arange(len(cosines))
        closest = closest[np.lexsort((closest, -cosines[closest]))]
        have = {r.passage for r in top}
        new = [int(p) for p in closest if int(p) not in have][:MEANING_EXTRA]
        later = {r.passage: r for r in ranked[MEANING_CANDIDATES:]}
        unscored = [p for p in new if p not in later]
        scored = dict(zip(unscored, score_passages(self.index, groups, unscored), strict=True))
        return top + [later[p] if p in later else scored[p] for p in new]

    def order_features(
        self,
        groups: list[QueryGroup],
        ranked: list[Ranked],
        pool: list[Ranked],
        question: str,
        similarity: Similarity,
    ) -> list[list[float]]:
        """Return MEANING_ORDER_NAMES of each candidate of a pool (from `ranked`)."""
        words = self.rerank_features(groups, ranked, question, candidates=pool)
        return [
            [
                max(v[0], MIN_LOG_RATIO),
                *v[1:],
                float(similarity.passages[r.passage]),
                float(similarity.sentences[r.passage]),
            ]
            for v, r in zip(words, pool, strict=True)
        ]

    def rerank(
        self, groups: list[QueryGroup], ranked: list[Ranked], question: str = ""
    ) -> list[Ranked]:
        """Put the first RERANK_CANDIDATES in the model's order (ties: rank's order).

        A candidate's sentences are read only when it could still beat the best so far with
        every word in one sentence (the first's are read anyway: the decision needs them).
        """
        weights = self.model.rerank
        if len(ranked) < 2 or not weights:
            return ranked
        top = ranked[:RERANK_CANDIDATES]
        cheap = self.rerank_features(groups, ranked, question, reads=False)
        reads = [RERANK_NAMES.index(name) for name in RERANK_READS]
        lift = sum(max(0.0, weights[at]) for at in reads)  # the most reading can add
        scores = [sum(w * x for w, x in zip(weights, v, strict=True)) for v in cheap]
        best = -math.inf
        for i, r in enumerate(top):
            if i == 0 or scores[i] + lift > best:
                read = self._reads(groups, r.passage)
                scores[i] += sum(weights[at] * x for at, x in zip(reads, read, strict=True))
            best = max(best, scores[i])
        order = sorted(range(len(top)), key=lambda i: (-scores[i], i))
        if order == list(range(len(top))):
            return ranked
        return [top[i] for i in order] + ranked[len(top) :]

    def rerank_features(
        self,
        groups: list[QueryGroup],
        ranked: list[Ranked],
        question: str = "",
        *,
        reads: bool = True,
        candidates: list[Ranked] | None = None,
    ) -> list[list[float]]:
        """Return RERANK_NAMES of each of the first RERANK_CANDIDATES, or of `candidates`
        (RERANK_READS 0 unless `reads`: they read the passage's words)."""
        best = ranked[0].score
        date = ASKS_DATE.search(question) is not None
        amount = ASKS_QUANTITY.search(question) is not None
        unread = (0.0,) * len(RERANK_READS)
        share = self._document_shares(ranked)
        out = []
        for r in ranked[:RERANK_CANDIDATES] if candidates is None else candidates:
            values = {
                "score_ratio": math.log(max(r.score, 1e-12) / best) if best > 0 else 0.0,
                "coverage": r.coverage,
                "document_share": share(r.passage),
                "wrong_type": self._wrong_type(r.passage, date, amount),
                **dict(
                    zip(
                        RERANK_READS,
                        self._reads(groups, r.passage) if reads else unread,
                        strict=True,
                    )
                ),
            }
            out.append([values[name] for name in RERANK_NAMES])
        return out

    def _reads(self, groups: list[QueryGroup], passage: int) -> tuple[float, float]:
        """Return RERANK_READS of a passage."""
        return (
            self._passage_sentence_coverage(groups, passage),
            self._close_pairs(groups, passage),
        )

    def _close_pairs(self, groups: list[QueryGroup], passage: int) -> float:
        """Return the share of neighbouring question words found close together in a passage
        (at most CLOSE_WORDS content words apart, either order)."""
        if len(groups) < 2:
            return 0.0
        at = self._positions(passage)
        spots = []
        for g in groups:
            found: set[int] = set()
            words, phrases = g.solid  # "año" has hundreds (a year each), a passage ~100
            for places in _shared(words, at):
                found.update(places)
            for unit in phrases:
                if all(t in at for t in unit):
                    found.update(at[unit[0]])
            spots.append(sorted(found))
        return _neighbour_share(
            spots, lambda a, b: any(abs(x - y) <= CLOSE_WORDS for x in a for y in b)
        )

    def _positions_uncached(self, passage: int) -> dict[str, list[int]]:
        """Return where each term of a passage stands (content words counted); cached per
        passage (self._positions): callers only read it."""
        at: dict[str, list[int]] = {}
        for n, term in enumerate(self.passage_terms(passage)):
            at.setdefault(term, []).append(n)
        return at

    def _wrong_type(self, passage: int, date: bool, amount: bool) -> float:
        """Return 1 when the question asks for a date or an amount and the passage has none."""
        if not date and not amount:
            return 0.0
        missing = (date and not self._holds(passage, HOLDS_DATE)) or (
            amount and not self._holds(passage, HOLDS_QUANTITY)
        )
        return float(missing)

    def _passage_sentence_coverage(self, groups: list[QueryGroup], passage: int) -> float:
        """Return the share of the question one sentence of a passage holds."""
        total = sum(g.weight for g in groups) or 1.0
        return self._sentence_coverage(groups, *self._where(passage)) / total

    def _where_uncached(self, passage: int) -> tuple[dict[str, int], int]:
        """Return each term of a passage with its sentences (bits of an int), and the years'.

        Cached per passage (self._where): callers only read the mapping.
        """
        where: dict[str, int] = {}
        for n, sentence in enumerate(self.passage_sentences(passage)):
            bit = 1 << n
            for term in sentence:
                where[term] = where.get(term, 0) | bit
        year_mask = 0
        for term, mask in where.items():  # each distinct term once
            if term[:1].isdigit() and YEAR.match(term):
                year_mask |= mask
        return where, year_mask

    def features(
        self,
        groups: list[QueryGroup],
        ranked: list[Ranked],
        question: str = "",
        closeness: Closeness | None = None,
    ) -> Features:
        """Measure the best passage against the question (its content groups and its words,
        and with sentence vectors its meaning)."""
        best = ranked[0]
        total = sum(g.weight for g in groups) or 1.0
        where, year_mask = self._where(best.passage)
        has_year = year_mask != 0
        strength = [
            1.0 if has_year and g.surface in YEAR_WORDS else self._strength(g, best.passage)
            for g in groups
        ]
        held = [h > SYNONYM_WEIGHT for h in strength]
        coverage = sum(g.weight for g, h in zip(groups, held, strict=True) if h) / total
        start, end = self.document_span(best.passage)
        # A group the passage holds is in its document (a year standing for "año" aside).
        in_doc = [
            (h and g.surface not in YEAR_WORDS) or self._in_documents(g, start, end)
            for g, h in zip(groups, held, strict=True)
        ]
        raw = best.score / (COVERAGE_FLOOR + best.coverage)
        ceiling = (self.index.k1 + 1) * total
        return Features(
            coverage=coverage,
            synonym_coverage=sum(
                g.weight for g, h in zip(groups, strength, strict=True) if 0 < h <= SYNONYM_WEIGHT
            )
            / total,
            sentence_coverage=self._sentence_coverage(groups, where, year_mask) / total,
            relative_score=min(1.0, raw / ceiling),
            document_coverage=sum(g.weight for g, h in zip(groups, in_doc, strict=True) if h)
            / total,
            document_share=self._document_shares(ranked)(best.passage),
            together=self._together(groups, where, coverage),
            short=1.0 / max(1, len(groups)),
            unknown_words=sum(g.weight for g in groups if not g.known and not g.name) / total,
            corrected=sum(g.weight for g, h in zip(groups, held, strict=True) if h and g.corrected)
            / total,
            no_number=float(
                bool(ASKS_NUMBER.search(question))
                and not has_year
                and not self._holds(best.passage, HOLDS_NUMBER)
            ),
            spread=score_spread(ranked),
            close=self._close_pairs(groups, best.passage),
            similarity=closeness.first if closeness else 0.0,
            best_similarity=closeness.anywhere if closeness else 0.0,
            similarity_margin=closeness.margin if closeness else 0.0,
            unknown_names=sum(g.weight for g in groups if not g.known and g.name) / total,
            sentence_similarity=closeness.sentence if closeness else 0.0,
            top_sentence_similarity=closeness.top_sentence if closeness else 0.0,
        )

    def _sentence_coverage(
        self, groups: list[QueryGroup], where: dict[str, int], year_mask: int
    ) -> float:
        """Return the most question weight one sentence holds (a unit whole, synonyms aside)."""
        per_sentence: dict[int, float] = {}
        for g in groups:
            # The sentences (bits) holding every term of one of its units; a year stands for
            # "año" on its own.
            mask = year_mask if g.surface in YEAR_WORDS else 0
            words, phrases = g.solid_besides_years
            for sentences in _shared(words, where):
                mask |= sentences
            for unit in phrases:
                mask |= functools.reduce(operator.and_, (where.get(t, 0) for t in unit))
            n = 0
            while mask:
                if mask & 1:
                    per_sentence[n] = per_sentence.get(n, 0.0) + g.weight
                mask >>= 1
                n += 1
        return max(per_sentence.values(), default=0.0)

    def _document_shares(self, ranked: list[Ranked]) -> Callable[[int], float]:
        """Return, for any passage, the share of the top candidates' score its document holds
        (each document's scores added up once)."""
        top = ranked[:SHARE_CANDIDATES]
        total = sum(r.score for r in top)
        if total <= 0:
            return lambda _passage: 1.0
        by_document: dict[tuple[int, int], float] = {}
        for r in top:  # each document's scores added in the candidates' order
            span = self.document_span(r.passage)
            by_document[span] = by_document.get(span, 0) + r.score
        span_of = self.document_span
        return lambda passage: by_document.get(span_of(passage), 0) / total

    def _strength(self, group: QueryGroup, passage: int) -> float:
        """Return the weight of the group's best unit the passage holds (0: none)."""
        at = self._positions(passage)  # the passage's terms: those its postings hold
        for w, unit in group.by_weight:  # the heaviest first: the first held is the best
            if unit[0] in at and (len(unit) == 1 or all(t in at for t in unit[1:])):
                return w
        return 0.0

    def _in_documents(self, group: QueryGroup, start: int, end: int) -> bool:
        """Tell whether any passage in [start, end) holds the group (postings are sorted)."""
        for unit in group.units:
            if all(_in_range(self.index.postings(t), start, end) for t in unit):
                return True
        return False

    def _together(self, groups: list[QueryGroup], where: dict[str, int], coverage: float) -> float:
        """Return the share of neighbouring question words that share a sentence of the passage."""
        if len(groups) < 2:
            return coverage
        spots = [functools.reduce(operator.or_, _shared(g.term_set, where), 0) for g in groups]
        return _neighbour_share(spots, lambda a, b: bool(a & b))

    def _why(self, f: Features) -> str:
        """Name the weakest evidence, in words an admin can act on."""
        if f.coverage <= 0.5:
            return f"the best passage holds only {f.coverage:.0%} of the question"
        if f.together < 0.5 or f.sentence_coverage < 0.5:
            return "the question's words are scattered, not together in one passage"
        if f.no_number:
            return "the question asks for a number or a date and the best passage has none"
        if f.document_share < 0.5:
            return "the question's words are spread over several documents"
        return "the match is weak (common words only)"


def score_spread(ranked: list[Ranked]) -> float:
    """Return the standard deviation of the first candidates' scores over the best one's.

    A question about the folder sets its best passages apart from the rest; one about something
    else scores many passages alike, low (query performance prediction's NQC, normalised).
    """
    scores = [r.score for r in ranked[:SPREAD_CANDIDATES]]
    if len(scores) < 2 or scores[0] <= 0:
        return 0.0
    mean = sum(scores) / len(scores)
    return math.sqrt(sum((x - mean) ** 2 for x in scores) / len(scores)) / scores[0]


def _shared(terms: frozenset[str], found: dict[str, Any]) -> list[Any]:
    """Return what `found` says of each of the terms it holds, walking the smaller side."""
    if len(terms) <= len(found):
        return [found[t] for t in terms if t in found]
    return [v for t, v in found.items() if t in terms]


def _neighbour_share(spots: Sequence[Any], near: Callable[[Any, Any], bool]) -> float:
    """Return the share of neighbouring question words (their places in a passage: `spots`)
    that are `near` each other; a word found nowhere is near nothing."""
    close = sum(1 for a, b in itertools.pairwise(spots) if a and b and near(a, b))
    return close / (len(spots) - 1)


def _in_range(postings: Sequence[int], start: int, end: int) -> bool:
    """Tell whether a sorted postings array has a document in [start, end)."""
    i = int(np.searchsorted(postings, start))
    return i < len(postings) and int(postings[i]) < end


def worth_quoting(candidate: Ranked, best: float) -> bool:
    """Tell whether an answer quotes a candidate beside the best passage (scoring `best`)."""
    return candidate.score >= MIN_RELATIVE_SCORE * best and (
        candidate.coverage >= MIN_PASSAGE_COVERAGE
    )


def covers(coverage: float) -> bool:
    """Tell whether a passage holds enough of the question to count as strong (more than half)."""
    return coverage > MIN_COVERAGE + 1e-9  # 1e-9: "exactly half" computed in floating point
