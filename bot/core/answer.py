"""Questions in, grounded answers out: retrieval, abstention, quotes, citations, summary."""

from __future__ import annotations

import gc
import logging
import string
import time
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bot.core import dated
from bot.core.analyze import QueryGroup, QuestionAnalyzer
from bot.core.decide import (
    Closeness,
    Decider,
    Decision,
    DecisionModel,
    covers,
    load_model,
    worth_quoting,
)
from bot.core.errors import KnowledgeError, QuestionError
from bot.core.followup import carry_over
from bot.core.glossary import Glossary, load_glossary
from bot.core.index import BM25Index
from bot.core.knowledge import (
    MAX_DOCUMENT_BYTES,
    Document,
    Passage,
    Progress,
    load_folder,
    read_regular,
)
from bot.core.meaning import Meaning, Similarity, folder_vectors
from bot.core.paraphrase import Paraphraser
from bot.core.rank import BM25_B, BM25_K1, Ranked, rank
from bot.core.text import Analyzer, fold, sentences, words
from bot.core.translate import Translator
from bot.core.unicode_guard import guard_question

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_QUESTION_CHARS = 300
FULL_COLLECTION_EVERY = 1000  # middle-generation collections per full one, once an engine serves
# Questions prepared together (Engine.prepare): one translator round trip for all of them, a
# batch the translator's memory of recent translations (512) holds whole.
PREPARE_MAX = 64
LANGS = ("es", "en")
TEMPLATE_NAMES = (
    "summary",
    "not_covered",
    "no_amount",
    "overview",
    "metadata",
    "differ",
    # With several documents the reply speaks of the knowledge base, not of one article.
    "not_covered_many",
    "no_amount_many",
    "metadata_many",
    "overview_many",
    "knowledge_base",
)
TEMPLATE_SLOTS = frozenset({"quotes", "source", "date", "title", "count", "documents"})
BUNDLED_TEMPLATES = Path(__file__).resolve().parents[2] / "knowledge" / "templates"

# Autocomplete shows a suggested question when the typed text nearly appears in it (0-100).
COMPLETE_MIN_SIMILARITY = 80
# With several documents, "when was it published?" and /resumen speak of the newest few.
NEWEST_DOCUMENTS = 4


@dataclass(frozen=True)
class Citation:
    """Where a quote comes from."""

    document_id: str
    title: str
    paragraph: int
    source: str
    published: str
    url: str | None


@dataclass(frozen=True)
class QuotedPassage:
    """A passage quoted verbatim, with the spans of the words that matched the question."""

    id: str
    text: str
    score: float
    document: str
    document_id: str
    paragraph: int
    citation: Citation
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Answer:
    """Everything a renderer needs; every fact in it is a verbatim quote."""

    question: str
    lang: str
    answered: bool
    passages: tuple[QuotedPassage, ...]
    summary: str
    citations: tuple[Citation, ...]
    suggestions: tuple[str, ...]
    confidence: float
    offset: int = 0
    more: bool = False
    carried: tuple[str, ...] = ()  # words of the previous question a follow-up leaned on
    total: int = 0  # relevant passages over all pages
    sources_differ: bool = False  # dated documents give different figures; all are quoted
    # A declined answer keeps its best passages here for evaluations (ranking miss or
    # decline?); renderers never show them: `passages` stays empty.
    candidates: tuple[QuotedPassage, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as JSON-ready data (`ask --json` writes the same with orjson,
        straight from the dataclasses: cli.answer_json)."""
        return asdict(self)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a folder loads.

    Loading allocates millions of objects that all live on (passages, their texts, the
    vocabulary) and no cycles worth collecting: each collection would only walk them again,
    ever longer as they grow (a tenth of loading a million passages).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_what_lives(*, replaced: bool = False) -> None:
    """Take what is alive now out of the cyclic collector's walks (gc.freeze).

    An engine's objects live as long as it serves, and each full collection would walk them
    all again: a pause of a tenth of a second at 100k passages (a second at a million) in the
    middle of whichever question is being answered. Call it once an engine serves. After a
    reload (`replaced`), what was frozen is first put back and collected: a replaced engine
    holds cycles (its caches refer back to it) that only the collector frees.

    Full collections then come every FULL_COLLECTION_EVERY collections of the middle
    generation instead of Python's 10: with nothing left to compare against (what lives is
    frozen), every tenth one would walk the answer caches again (at 100k passages, 60 of a
    stream's 1,000 questions' 110 ms of collection; the young generations' 50 ms remain).
    """
    if replaced:
        gc.unfreeze()
        gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


@dataclass
class Engine:
    """The grounded-answer engine over one knowledge folder (immutable once built)."""

    documents: tuple[Document, ...]
    glossary: Glossary
    templates: dict[tuple[str, str], string.Template]
    build_seconds: float = 0.0  # set by load(): reading, validating and indexing the folder
    answer_threshold: float | None = None  # None: the decision model's chosen point
    translator: Translator | None = None  # English -> Spanish; None: the glossary alone
    meaning: Meaning | None = None  # sentence vectors (meaning.py); None: words alone

    def __post_init__(self) -> None:
        self.es = Analyzer("spanish", keep=self.glossary.keep_es)
        self.en = Analyzer("english")
        self.passages: tuple[Passage, ...] = tuple(p for d in self.documents for p in d.passages)
        self._docs = {d.id: d for d in self.documents}
        # A question suggested by several documents belongs to the first that suggests it.
        self._suggested_by: dict[str, str] = {}
        for d in self.documents:
            for q in d.suggested_questions:
                self._suggested_by.setdefault(q, d.id)
        self.suggested_questions: tuple[str, ...] = tuple(self._suggested_by)
        self._newest = tuple(dated.timeline(self.documents)[::-1])
        self._newest_ids = dict.fromkeys(d.id for d in self._newest)
        # With one publication date, time orders nothing and no report can disagree by date.
        self._dated = len({d.published for d in self.documents}) > 1
        # Each outlet's words, with its documents' places in _newest (folders have few outlets).
        self._outlets: dict[frozenset[str], list[int]] = {}
        for at, d in enumerate(self._newest):
            self._outlets.setdefault(frozenset(words(d.source)), []).append(at)
        self._overview: tuple[int, ...] | None = None
        # The passages are analysed in bulk (each distinct word once): their terms feed the
        # index, their content words the typo matcher (folded word -> index term).
        # Per passage text, computed once for the quotes, summaries and decisions that reread it.
        self._spans = lru_cache(maxsize=4096)(self.es.term_spans)
        self._sentence_sets = lru_cache(maxsize=4096)(self._sentences_with_terms)
        self._citation_of = lru_cache(maxsize=4096)(self._cite)  # frozen: shared safely
        analyzed = self.es.analyze_all(p.text for p in self.passages)
        self.index = BM25Index.from_term_ids(
            analyzed.term_ids, analyzed.lengths, analyzed.terms, k1=BM25_K1, b=BM25_B
        )
        paraphraser = Paraphraser(self.es.stem, self.index.vocab)
        self.analyzer = QuestionAnalyzer(
            self.index,
            self.glossary,
            self.es,
            self.en,
            analyzed.surface,
            paraphraser,
            self.translator,
            framing=dated.is_cue,
        )
        spans: list[tuple[int, int]] = []
        self._passage_range: dict[str, tuple[int, int]] = {}
        for d in self.documents:
            start = len(spans)
            self._passage_range[d.id] = (start, start + len(d.passages))
            spans += [self._passage_range[d.id]] * len(d.passages)
        self._document_spans = tuple(spans)
        self.decider = Decider(
            self.index,
            self._sentence_terms,
            self._document_spans.__getitem__,
            lambda passage: self.passages[passage].text,
            self._passage_terms,
            _decision_model(),
            self.answer_threshold,
        )
        # The sentence vectors of each passage and of its sentences, when the encoder is there
        # and the decision has a model that reads them; None: words alone.
        self.vectors = (
            folder_vectors(self.meaning, [p.text for p in self.passages])
            if self.meaning is not None and self.decider.reads_meaning
            else None
        )
        self._meaning_failed = False
        # A question asked again (a suggestion, a button, a follow-up) is embedded once.
        self._question_vector = lru_cache(maxsize=1024)(self._embed_question)

    @classmethod
    @_collector_paused()
    def load(
        cls,
        knowledge_dir: Path,
        progress: Progress | None = None,
        *,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        answer_threshold: float | None = None,
        translator: Translator | None = None,
        meaning: Meaning | None = None,
    ) -> Engine:
        """Load documents, glossary and templates of a folder; raise KnowledgeError on problems."""
        started = time.perf_counter()
        problems: list[str] = []
        documents: tuple[Document, ...] = ()
        try:
            documents = load_folder(knowledge_dir, progress, max_bytes)
        except KnowledgeError as exc:
            problems.extend(exc.problems)
        glossary = Glossary()
        try:
            glossary = load_glossary(
                knowledge_dir / "glossary.yaml", Analyzer("spanish"), Analyzer("english")
            )
        except KnowledgeError as exc:
            problems.extend(exc.problems)
        templates: dict[tuple[str, str], string.Template] = {}
        try:
            templates = load_templates(knowledge_dir / "templates")
        except KnowledgeError as exc:
            problems.extend(exc.problems)
        if problems:
            raise KnowledgeError(problems)
        engine = cls(
            documents,
            glossary,
            templates,
            answer_threshold=answer_threshold,
            translator=translator,
            meaning=meaning,
        )
        engine.build_seconds = time.perf_counter() - started
        log.info(
            "index built: %d documents, %d passages, %d terms in %.3f s",
            len(documents),
            len(engine.passages),
            len(engine.index.vocab),
            engine.build_seconds,
        )
        return engine

    # -- questions -------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        lang: str = "es",
        k: int = 3,
        offset: int = 0,
        context: str | None = None,
    ) -> Answer:
        """Answer a question with verbatim quotes, or say the article does not cover it.

        `context` is the previous question of a follow-up: when the question is short or
        refers back, its content words are carried over with less weight.
        """
        question = clean_question(question)
        lang = lang if lang in LANGS else "es"
        k = max(1, min(k, 10))
        analyzed = self.analyze(question)
        carried: tuple[str, ...] = ()
        if context:
            context = " ".join(context.split())[:MAX_QUESTION_CHARS]
            analyzed, carried = carry_over(analyzed, self.analyze(context), question, context)
        groups = [g for g in analyzed if not g.meta]
        if not groups and len(analyzed) > 0:
            return self._about_document(question, lang)
        if self.many and len(groups) < len(analyzed):
            outlet = self._by_outlet(groups)  # "¿Qué publicó Diario Ficticio?"
            if outlet:
                return self._about_document(question, lang, outlet)
        # Recency words ("ahora", "latest") ask for the newest report, which the quote stage
        # orders by date; they are not content a passage must hold.
        groups = dated.content_groups(groups)
        ranked, closeness = self.order(groups, rank(self.index, groups), question, context)
        decision = self.decide(groups, ranked, question, closeness)
        matched = {t for g in groups for t in g.terms}
        if not decision.answer:
            if carried:  # the previous question's words did not help: answer the question alone
                return self.ask(question, lang=lang, k=k, offset=offset)
            candidates = tuple(self._quote(r, matched) for r in ranked[:k])
            return self._not_covered(question, lang, groups, decision, candidates, ranked)
        best = ranked[0].score
        # The best passage is quoted whatever its coverage: the decision vouched for it.
        relevant = ranked[:1] + [r for r in ranked[1:] if worth_quoting(r, best)]
        if decision.quote_first:  # "¿Cuánto…?": the passage that gives the amount goes first
            amount = ranked[decision.quote_first]
            relevant = [amount, *(r for r in relevant if r is not amount)]
        else:
            relevant = self._body_before_headline(relevant)
        # Time enters at the quote stage only: newer reports first, disagreements kept in view.
        if self._dated:
            latest = dated.is_latest_question(question)
            relevant = dated.order(
                relevant,
                self._published,
                latest=latest,
                coverage=self._latest_coverage(groups) if latest else None,
            )
            relevant = self._keep_disagreement_in_view(relevant, groups, k)
        page = relevant[offset : offset + k]
        quoted = tuple(self._quote(r, matched) for r in page)
        strong = tuple(q for q, r in zip(quoted, page, strict=True) if covers(r.coverage))
        summary, differ = (
            self._summary(lang, strong or quoted[:1], groups) if quoted else ("", False)
        )
        if self.many and len(groups) < len(analyzed):
            # "¿Cuándo se publicó lo de X?": the document the rest of the question points to.
            top = self._docs[self.passages[(relevant or ranked)[0].passage].document_id]
            summary = " ".join(s for s in (self._fill("metadata", lang, top, []), summary) if s)
        return Answer(
            question=question,
            lang=lang,
            answered=True,
            passages=quoted,
            summary=summary,
            citations=tuple(dict.fromkeys(q.citation for q in quoted)),
            suggestions=(),
            confidence=decision.confidence,
            offset=offset,
            more=len(relevant) > offset + k,
            carried=carried,
            total=len(relevant),
            sources_differ=differ,
        )

    def _body_before_headline(self, relevant: list[Ranked]) -> list[Ranked]:
        """Put first, before a headline ranked first, the first passage of its document worth
        quoting that holds as much of the question: the paragraph reports what the headline
        sums up ("openai deja de depender de microsoft": "…empezando por que OpenAI deja de
        depender en exclusiva del superordenador de Microsoft"). The headline is quoted after."""
        top = self.passages[relevant[0].passage]
        if top.paragraph != 0:
            return relevant
        for i, r in enumerate(relevant[1:], 1):
            if (
                self.passages[r.passage].document_id == top.document_id
                and r.coverage >= relevant[0].coverage
            ):
                return [r, *relevant[:i], *relevant[i + 1 :]]
        return relevant

    def prepare(self, questions: Sequence[str]) -> None:
        """Get ready to answer these questions next (up to PREPARE_MAX): what they will ask of
        the translator is asked in one round trip. Answers are the same with or without it;
        questions `ask` would refuse are left for `ask` to refuse."""
        ready = []
        for question in questions:
            try:
                ready.append(clean_question(question))
            except QuestionError:
                continue
        self.analyzer.prefetch(ready)

    def prepared(self, items: Sequence[T], question: Callable[[T], str | None]) -> Iterator[T]:
        """Yield the items, each run of PREPARE_MAX prepared together (`prepare`) before the
        first of it is yielded; `question` gives an item's question (None: it has none)."""
        for first in range(0, len(items), PREPARE_MAX):
            batch = items[first : first + PREPARE_MAX]
            self.prepare([q for q in map(question, batch) if q is not None])
            yield from batch

    def warm(self) -> None:
        """Build now the tables the first questions would build (many questions are coming:
        before `ask -` forks its workers, once for all of them instead of once in each)."""
        if self.analyzer.paraphraser is not None:
            self.analyzer.paraphraser.warm()

    def analyze(self, question: str) -> list[QueryGroup]:
        """Turn a question into content groups (glossary, stopwords, typo tolerance applied)."""
        return self.analyzer.analyze(question)

    def _passage_terms(self, passage: int) -> list[str]:
        return [t for _s, _e, t in self._spans(self.passages[passage].text)]

    def _sentence_terms(self, passage: int) -> tuple[frozenset[str], ...]:
        return tuple(terms for _s, terms in self._sentence_sets(self.passages[passage].text))

    def _sentences_with_terms(self, text: str) -> tuple[tuple[str, frozenset[str]], ...]:
        # From the text's term spans (cached for the highlights): the text is analysed once.
        spans = self._spans(text)
        starts, ends, terms = zip(*spans, strict=True) if spans else ((), (), ())
        out = []
        first = 0
        for start, end in sentences(text):  # a sentence's terms: the spans within it
            first = bisect_left(starts, start, first)
            last = bisect_right(ends, end, first)
            out.append((text[start:end], frozenset(terms[first:last])))
            first = last
        return tuple(out)

    def decide(
        self,
        groups: list[QueryGroup],
        ranked: list[Ranked],
        question: str = "",
        closeness: Closeness | None = None,
    ) -> Decision:
        """Answer or decline (see bot/core/decide.py for why)."""
        return self.decider.decide(groups, ranked, question, closeness)

    @property
    def threshold(self) -> float:
        """Return the confidence this engine answers from (the meaning model's with vectors)."""
        if self.vectors is not None:
            return self.decider.meaning_threshold
        return self.decider.threshold

    def similarity(self, text: str) -> Similarity | None:
        """Return a question's cosine with every passage and its closest sentence, or None (no
        vectors, or the encoder failed: logged once, the question is answered by words alone)."""
        if self.vectors is None:
            return None
        try:
            query = self._question_vector(text)
            if self.translator is not None and self.analyzer.reads_english(text):
                # The model reads English, and reads Spanish passages closer from Spanish: an
                # English question is embedded as typed and as translated, the two averaged.
                spanish = self.translator.translate([text])
                if spanish:
                    query = query + self._question_vector(spanish[0])
                    query = query / max(float(np.linalg.norm(query)), 1e-12)
        except Exception as exc:  # the C engine's fault must not reach the user
            if not self._meaning_failed:
                log.warning("meaning: cannot embed a question, words alone: %r", exc)
                self._meaning_failed = True
            return None
        return self.vectors.similarity(query)

    def _embed_question(self, text: str) -> np.ndarray:
        """Return a question's sentence vector (cached per text by __post_init__)."""
        assert self.meaning is not None and self.meaning.encoder is not None
        return self.meaning.encoder.queries([text])[0]

    def order(
        self,
        groups: list[QueryGroup],
        ranked: list[Ranked],
        question: str,
        context: str | None = None,
    ) -> tuple[list[Ranked], Closeness | None]:
        """Put rank's first candidates in order: by words and meaning with sentence vectors,
        by words alone without (decide.py); with how close in meaning they are (or None)."""
        similarity = None
        if ranked and self.vectors is not None:
            similarity = self.similarity(" ".join(filter(None, (context, question))))
        if similarity is None:
            return self.decider.rerank(groups, ranked, question), None
        return self.decider.by_meaning(groups, ranked, question, similarity)

    def _quote(self, ranked: Ranked, matched: set[str]) -> QuotedPassage:
        passage = self.passages[ranked.passage]
        doc = self._docs[passage.document_id]
        return QuotedPassage(
            id=passage.id,
            text=passage.text,
            score=round(ranked.score, 4),
            document=doc.title,
            document_id=doc.id,
            paragraph=passage.paragraph,
            citation=self._citation_of(ranked.passage),
            highlights=self.highlights(passage.text, matched),
        )

    def _cite(self, passage: int) -> Citation:
        return _citation(self._docs[self.passages[passage].document_id], self.passages[passage])

    def highlights(self, text: str, terms: set[str]) -> tuple[tuple[int, int], ...]:
        """Return the spans of the words of a text whose index term is in `terms`."""
        return tuple((s, e) for s, e, term in self._spans(text) if term in terms)

    def _best_sentence(self, text: str, groups: list[QueryGroup]) -> str:
        best, best_score = "", -1.0
        for sentence, terms in self._sentence_sets(text):
            score = sum(g.weight for g in groups if not terms.isdisjoint(g.terms))
            if score > best_score:
                best, best_score = sentence, score
        return best

    def _latest_coverage(self, groups: list[QueryGroup]) -> dict[int, float] | None:
        """Return passage -> share of the question without its recency words and figures."""
        core = [g for g in groups if not dated.is_cue(g.surface) and not g.surface.isdigit()]
        if not core or len(core) == len(groups):
            return None
        return {r.passage: r.coverage for r in rank(self.index, core)}

    def _published(self, ranked: Ranked) -> date:
        return self._docs[self.passages[ranked.passage].document_id].published

    def _keep_disagreement_in_view(
        self, relevant: list[Ranked], groups: list[QueryGroup], k: int
    ) -> list[Ranked]:
        """Move a dated report that disagrees with the first one onto the first page."""
        strong = [r for r in relevant if covers(r.coverage)]
        docs = [self.passages[r.passage].document_id for r in strong]
        firsts = [strong[n] for n in dated.one_per_document(docs)]
        # Only a report of another date can disagree with the first: the others' sentences
        # are not needed (the first pair found is the same among these).
        firsts = firsts[:1] + [
            r for r in firsts[1:] if self._published(r) != self._published(firsts[0])
        ]
        if len(firsts) < 2:
            return relevant
        quotes = [
            (
                self.passages[r.passage].document_id,
                self._published(r),
                self._best_sentence(self.passages[r.passage].text, groups),
            )
            for r in firsts
        ]
        pair = dated.disagreement(quotes, with_first=True)
        if pair is None or firsts[pair[1]] in relevant[:k]:
            return relevant
        other = firsts[pair[1]]
        rest = [r for r in relevant if r != other]
        return [*rest[: max(k - 1, 1)], other, *rest[max(k - 1, 1) :]]

    def _summary(
        self, lang: str, quoted: tuple[QuotedPassage, ...], groups: list[QueryGroup]
    ) -> tuple[str, bool]:
        """Return the summary (one "Según outlet (date)" per document) and whether they differ."""
        if len({q.document_id for q in quoted}) > 1:
            return self._summary_across(lang, quoted, groups)
        picked = [self._best_sentence(quoted[0].text, groups)]
        if len(quoted) > 1:
            second = self._best_sentence(quoted[1].text, groups)
            if second and second not in picked:
                picked.append(second)
        doc = self._docs[quoted[0].document_id]
        return self._fill("summary", lang, doc, picked), False

    def _summary_across(
        self, lang: str, quoted: tuple[QuotedPassage, ...], groups: list[QueryGroup]
    ) -> tuple[str, bool]:
        chosen = [quoted[n] for n in dated.one_per_document([q.document_id for q in quoted])]
        quotes = [
            (
                q.document_id,
                self._docs[q.document_id].published,
                self._best_sentence(q.text, groups),
            )
            for q in chosen
        ]
        parts = [
            self._fill("summary", lang, self._docs[doc_id], [sentence])
            for doc_id, _date, sentence in quotes
        ]
        if dated.disagreement(quotes) is not None:
            header = self.templates[("differ", lang)].substitute().strip()
            return header + "\n" + "\n".join(parts), True
        return " ".join(parts), False

    def _fill(
        self, name: str, lang: str, doc: Document | None, quotes: list[str], documents: str = ""
    ) -> str:
        template = self.templates[(name, lang)]
        return template.substitute(
            quotes=" ".join(f"«{q}»" for q in quotes),
            source=doc.source if doc else "",
            date=doc.published_label if doc else "",
            title=doc.title if doc else "",
            count=len(self.documents),
            documents=documents,
        ).strip()

    @property
    def many(self) -> bool:
        """Tell whether the knowledge base holds several documents."""
        return len(self.documents) > 1

    def _headline(self, doc: Document) -> int:
        return self._passage_range[doc.id][0]

    def _by_outlet(self, groups: list[QueryGroup]) -> list[Document]:
        """Return the documents (newest first) of the outlet every group's words name."""
        if not groups:
            return []
        asked = [set(words(g.surface)) for g in groups]
        found = [
            at
            for outlet, places in self._outlets.items()
            if all(w <= outlet for w in asked)
            for at in places
        ]
        return [self._newest[at] for at in sorted(found)]

    def _about_document(
        self, question: str, lang: str, outlet: list[Document] | None = None
    ) -> Answer:
        """Answer a question about the document itself from its front matter and headline.

        With several documents and nothing else in the question, list the newest few; when
        the rest of the question names an outlet, the newest few of that outlet.
        """
        if outlet:
            docs = tuple(outlet[:NEWEST_DOCUMENTS])
        else:
            docs = self._newest[:NEWEST_DOCUMENTS] if self.many else self.documents[:1]
        quoted = tuple(self._quote(Ranked(self._headline(d), 0.0, 1.0), set()) for d in docs)
        if self.many and not outlet:
            listed = "; ".join(f"«{d.title}» ({d.source}, {d.published_label})" for d in docs)
            summary = self._fill("metadata_many", lang, None, [], listed)
        else:
            summary = " ".join(self._fill("metadata", lang, d, []) for d in docs)
        return Answer(
            question=question,
            lang=lang,
            answered=True,
            passages=quoted,
            summary=summary,
            citations=tuple(q.citation for q in quoted),
            suggestions=(),
            confidence=1.0,
        )

    def _not_covered(
        self,
        question: str,
        lang: str,
        groups: list[QueryGroup],
        decision: Decision,
        candidates: tuple[QuotedPassage, ...],
        ranked: list[Ranked],
    ) -> Answer:
        # "¿Cuánto…?" with no amount near the best passage: the reply says that figure is missing.
        name = "no_amount" if decision.no_amount else "not_covered"
        if self.many:
            summary = self._fill(f"{name}_many", lang, None, [])
        else:
            summary = self._fill(name, lang, self.documents[0], [])
        return Answer(
            question=question,
            lang=lang,
            answered=False,
            passages=(),
            summary=summary,
            citations=(),
            suggestions=self.suggest(groups, ranked=ranked),
            confidence=decision.confidence,
            candidates=candidates,
        )

    def _closeness(self, ranked: list[Ranked]) -> dict[str, int]:
        """Return document id -> place: documents the ranking reached first, then newest first."""
        order = dict.fromkeys(self.passages[r.passage].document_id for r in ranked)
        order.update(self._newest_ids)
        return {doc: n for n, doc in enumerate(order)}

    def suggest(
        self, groups: list[QueryGroup], limit: int = 3, ranked: list[Ranked] | None = None
    ) -> tuple[str, ...]:
        """Return up to `limit` suggested questions, the closest to the question first.

        With several documents, questions of the documents closest to the question come first
        among equally close questions.
        """
        pool = self.suggested_questions
        if not pool:
            return ()
        wanted = {t for g in groups for t in g.terms}
        place: dict[str, int] = {}
        if self.many:
            place = self._closeness(rank(self.index, groups) if ranked is None else ranked)

        def key(iq: tuple[int, str]) -> tuple[int, int, int]:
            shared = len(wanted.intersection(self.es.terms(iq[1])))
            return (-shared, place.get(self._suggested_by[iq[1]], 0), iq[0])

        return tuple(q for _, q in sorted(enumerate(pool), key=key)[:limit])

    def complete(self, typed: str, limit: int = 25) -> list[str]:
        """Return autocomplete choices: what was typed, then matching suggested questions.

        With several documents, questions of the documents closest to the typed text (newest
        first when nothing is typed) come first among equally good matches.
        """
        typed = " ".join(typed.split())[:MAX_QUESTION_CHARS]
        pool = list(self.suggested_questions)
        place: dict[str, int] = {}
        if self.many:
            place = self._closeness(rank(self.index, self.analyze(typed)) if typed else [])
            pool.sort(key=lambda q: place[self._suggested_by[q]])  # stable: folder order
        if typed:
            from rapidfuzz import fuzz, process  # on first use: a cold `ask` never needs it

            key = fold(typed)
            scored = process.extract(
                key, [fold(q) for q in pool], scorer=fuzz.partial_ratio, limit=len(pool)
            )
            matched = sorted((-score, i) for _, score, i in scored)
            pool = [pool[i] for score, i in matched if -score >= COMPLETE_MIN_SIMILARITY]
        choices = [typed] if typed else []
        choices += [q for q in pool if q != typed]
        return choices[:limit]

    # -- whole-article summary ----------------------------------------------------------------

    def key_passages(self, max_quotes: int = 4) -> tuple[int, ...]:
        """Return the lead passage and the best answers to the suggested questions (cached)."""
        if self._overview is None:
            lead = next((i for i, p in enumerate(self.passages) if p.paragraph == 1), 0)
            chosen = [lead]
            for q in self.suggested_questions:
                if len(chosen) >= max_quotes:
                    break
                ranked = rank(self.index, self.analyze(q))
                if ranked and ranked[0].passage not in chosen and covers(ranked[0].coverage):
                    chosen.append(ranked[0].passage)
            self._overview = tuple(chosen)
        return self._overview

    def find_document(self, wanted: str) -> Document | None:
        """Return the document with this id or title (case-insensitive), or None."""
        wanted = " ".join(wanted.split())
        key = wanted.casefold()
        return self._docs.get(wanted) or next(
            (d for d in self.documents if d.title.casefold() == key), None
        )

    def document_choices(self, typed: str, limit: int = 25) -> list[Document]:
        """Return documents whose title nearly contains the typed text, newest first."""
        docs = list(self._newest)
        typed = " ".join(typed.split())
        if not typed:
            return docs[:limit]
        from rapidfuzz import fuzz, process  # on first use: a cold `ask` never needs it

        scored = process.extract(
            fold(typed), [fold(d.title) for d in docs], scorer=fuzz.partial_ratio, limit=None
        )
        hits = sorted(((-score, i) for _, score, i in scored if score >= COMPLETE_MIN_SIMILARITY))
        return [docs[i] for _, i in hits][:limit]

    def document_overview_passages(self, doc: Document, max_quotes: int = 4) -> tuple[int, ...]:
        """Return the first paragraphs of one document (news puts the essentials first)."""
        first = {}
        for i in range(*self._passage_range[doc.id]):
            if self.passages[i].paragraph > 0:
                first.setdefault(self.passages[i].paragraph, i)
        return tuple(first[n] for n in sorted(first)[:max_quotes])

    def overview(self, *, lang: str = "es", document: Document | None = None) -> Answer:
        """Summarize the knowledge base (or one document) through the overview template."""
        lang = lang if lang in LANGS else "es"
        if document is None and self.many:
            return self._overview_many(lang)
        doc = document or self.documents[0]
        keys = self.document_overview_passages(doc) if document else self.key_passages()
        quoted = []
        quotes = []
        for i in keys:
            passage = self.passages[i]
            quoted.append(self._quote(Ranked(i, 0.0, 1.0), set()))
            spans = sentences(passage.text)
            s, e = spans[0] if spans else (0, len(passage.text))
            quotes.append(passage.text[s:e])
        quoted_t = tuple(quoted)
        return Answer(
            question=doc.title,
            lang=lang,
            answered=True,
            passages=quoted_t,
            summary=self._fill("overview", lang, doc, quotes),
            citations=tuple(dict.fromkeys(q.citation for q in quoted_t)),
            suggestions=self.suggested_questions[:3],
            confidence=1.0,
        )

    def _overview_many(self, lang: str) -> Answer:
        """Quote the lead of each of the newest documents, each with its outlet and date."""
        docs = self._newest[:NEWEST_DOCUMENTS]
        quoted = []
        parts = []
        for doc in docs:
            i = next(iter(self.document_overview_passages(doc, 1)), None)
            i = self._headline(doc) if i is None else i
            text = self.passages[i].text
            spans = sentences(text)
            s, e = spans[0] if spans else (0, len(text))
            quoted.append(self._quote(Ranked(i, 0.0, 1.0), set()))
            parts.append(self._fill("summary", lang, doc, [text[s:e]]))
        quoted_t = tuple(quoted)
        return Answer(
            question=self._fill("knowledge_base", lang, None, []),
            lang=lang,
            answered=True,
            passages=quoted_t,
            summary=self._fill("overview_many", lang, None, [], " ".join(parts)),
            citations=tuple(dict.fromkeys(q.citation for q in quoted_t)),
            suggestions=self.complete("")[:3],
            confidence=1.0,
        )


@lru_cache(maxsize=1)
def _decision_model() -> DecisionModel:
    return load_model()


def clean_question(question: str) -> str:
    """Validate and normalize a question; raise QuestionError with a code when it is unusable."""
    question = guard_question(question)
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in set(question)):
        raise QuestionError("control", "the question contains control characters")
    cleaned = " ".join(question.split())
    if not cleaned.isascii():
        cleaned = unicodedata.normalize("NFC", cleaned)  # "invirtio" + U+0301 is "invirtió"
    if not cleaned:
        raise QuestionError("empty", "the question is empty")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            "too_long",
            f"the question has {len(cleaned)} characters; the limit is {MAX_QUESTION_CHARS}",
            length=len(cleaned),
            limit=MAX_QUESTION_CHARS,
        )
    return cleaned


def load_templates(folder: Path) -> dict[tuple[str, str], string.Template]:
    """Load the answer templates of a folder, falling back to the bundled ones per file."""
    problems: list[str] = []
    templates: dict[tuple[str, str], string.Template] = {}
    for name in TEMPLATE_NAMES:
        for lang in LANGS:
            path = folder / f"{name}.{lang}.txt"
            if not path.exists():
                path = BUNDLED_TEMPLATES / f"{name}.{lang}.txt"
            try:
                text = read_regular(path).decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(f"{path}:1: cannot read the template: {exc}")
                continue
            except KnowledgeError as exc:
                problems.extend(exc.problems)
                continue
            template = string.Template(text)
            if not template.is_valid():
                problems.append(f"{path}:1: invalid template (a '$' that is not a slot?)")
                continue
            unknown = set(template.get_identifiers()) - TEMPLATE_SLOTS
            if unknown:
                slots = ", ".join(sorted(unknown))
                known = ", ".join(sorted(TEMPLATE_SLOTS))
                problems.append(f"{path}:1: unknown slot(s) {slots}; known: {known}")
                continue
            templates[(name, lang)] = template
    if problems:
        raise KnowledgeError(problems)
    return templates


def _citation(doc: Document, passage: Passage) -> Citation:
    return Citation(
        document_id=doc.id,
        title=doc.title,
        paragraph=passage.paragraph,
        source=doc.source,
        published=doc.published_label,
        url=doc.url,
    )
