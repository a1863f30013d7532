"""Questions in, grounded answers out: retrieval, abstention, quotes, citations, summary."""

from __future__ import annotations

import logging
import string
import time
import unicodedata
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.core.errors import KnowledgeError, QuestionError
from bot.core.followup import carry_over
from bot.core.glossary import MAX_PHRASE_WORDS, Glossary, load_glossary
from bot.core.index import BM25Index
from bot.core.knowledge import Document, Passage, Progress, load_folder
from bot.core.text import Analyzer, fold, sentences, stopwords, word_spans, words

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 300
LANGS = ("es", "en")
TEMPLATE_NAMES = ("summary", "not_covered", "overview", "metadata")
TEMPLATE_SLOTS = frozenset({"quotes", "source", "date", "title"})
BUNDLED_TEMPLATES = Path(__file__).resolve().parents[2] / "knowledge" / "templates"

# Share of the question's content (idf-weighted) the best passage must exceed to answer.
MIN_COVERAGE = 0.5
# Passages scoring below this share of the best one are not worth quoting.
MIN_RELATIVE_SCORE = 0.25
# ...and passages holding less than this share of the question are off the point.
MIN_PASSAGE_COVERAGE = 0.3
# Glossary synonyms and typo corrections count a little less than the word itself.
ALTERNATIVE_WEIGHT = 0.8
MAX_CANDIDATES = 50
# No content word weighs less than this share of an unseen word (BM25's idf can be 0).
MIN_WEIGHT_SHARE = 0.1
# Ranking multiplies BM25 by (COVERAGE_FLOOR + coverage): coverage decides close calls.
COVERAGE_FLOOR = 0.5
# An unknown capitalized name weighs this many times an unknown word.
NAME_WEIGHT = 1.5
# Autocomplete shows a suggested question when the typed text nearly appears in it (0-100).
COMPLETE_MIN_SIMILARITY = 80


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

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as JSON-ready data."""
        data = asdict(self)
        for p in data["passages"]:
            p["highlights"] = [list(span) for span in p["highlights"]]
        return data


@dataclass(frozen=True)
class QueryGroup:
    """One content word of the question with the index terms that stand for it."""

    surface: str
    units: tuple[tuple[str, ...], ...]
    unit_weights: tuple[float, ...]
    weight: float
    known: bool
    meta: bool = False  # asks about the document itself (date, outlet), not its content

    @property
    def terms(self) -> tuple[str, ...]:
        """Return every index term of the group."""
        return tuple(dict.fromkeys(t for u in self.units for t in u))


@dataclass(frozen=True)
class _Ranked:
    passage: int
    score: float
    coverage: float


@dataclass
class Engine:
    """The grounded-answer engine over one knowledge folder (immutable once built)."""

    documents: tuple[Document, ...]
    glossary: Glossary
    templates: dict[tuple[str, str], string.Template]
    build_seconds: float = 0.0  # set by load(): reading, validating and indexing the folder

    def __post_init__(self) -> None:
        self.es = Analyzer("spanish", keep=self.glossary.keep_es)
        self.en = Analyzer("english")
        self.passages: tuple[Passage, ...] = tuple(p for d in self.documents for p in d.passages)
        self._docs = {d.id: d for d in self.documents}
        self.suggested_questions: tuple[str, ...] = tuple(
            dict.fromkeys(q for d in self.documents for q in d.suggested_questions)
        )
        self._overview: tuple[int, ...] | None = None
        # Each passage is tokenized once: its content words feed both the index and the
        # typo matcher (folded word -> index term).
        content = [[w for w in words(p.text) if not self.es.is_stopword(w)] for p in self.passages]
        self.index = BM25Index([self.es.stem(w) for w in ws] for ws in content)
        self._surface = {w: self.es.stem(w) for ws in content for w in ws}
        self._surface_list = list(self._surface)
        self._vocab_list = list(self.index.vocab)
        g = self.glossary
        self._glossary_words = [
            (list(g.words_en), g.words_en, g.english),
            (list(g.words_es), g.words_es, g.spanish),
        ]
        self._en_stop = stopwords("en")
        self._es_stop = stopwords("es")

    @classmethod
    def load(cls, knowledge_dir: Path, progress: Progress | None = None) -> Engine:
        """Load documents, glossary and templates of a folder; raise KnowledgeError on problems."""
        started = time.perf_counter()
        problems: list[str] = []
        documents: tuple[Document, ...] = ()
        try:
            documents = load_folder(knowledge_dir, progress)
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
        engine = cls(documents, glossary, templates)
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
        ranked = self._rank(groups)
        coverage = ranked[0].coverage if ranked else 0.0
        if not ranked or not _covers(coverage):
            if carried:  # the previous question's words did not help: answer the question alone
                return self.ask(question, lang=lang, k=k, offset=offset)
            return self._not_covered(question, lang, groups, coverage)
        best = ranked[0].score
        relevant = [
            r
            for r in ranked
            if r.score >= MIN_RELATIVE_SCORE * best and r.coverage >= MIN_PASSAGE_COVERAGE
        ]
        page = relevant[offset : offset + k]
        matched = {t for g in groups for t in g.terms}
        quoted = tuple(self._quote(r, matched) for r in page)
        strong = tuple(q for q, r in zip(quoted, page, strict=True) if _covers(r.coverage))
        summary = self._summary(lang, strong or quoted[:1], groups) if quoted else ""
        return Answer(
            question=question,
            lang=lang,
            answered=True,
            passages=quoted,
            summary=summary,
            citations=tuple(dict.fromkeys(q.citation for q in quoted)),
            suggestions=(),
            confidence=round(coverage, 3),
            offset=offset,
            more=len(relevant) > offset + k,
            carried=carried,
        )

    def analyze(self, question: str) -> list[QueryGroup]:
        """Turn a question into content groups (glossary, stopwords, typo tolerance applied)."""
        tokens = words(question)
        english = _looks_english(tokens, self._en_stop, self._es_stop)
        names = _proper_nouns(question)
        groups: list[QueryGroup] = []
        i = 0
        while i < len(tokens):
            span, alternatives = self._glossary_match(tokens, i, english, min_words=2)
            if span == 0 and self._is_metadata(tokens[i], english):
                groups.append(QueryGroup(tokens[i], (), (), 0.0, known=True, meta=True))
                i += 1
                continue
            if span == 0:
                if self._is_noise(tokens[i], english):
                    i += 1
                    continue
                span, alternatives = self._glossary_match(tokens, i, english, min_words=1)
                span = max(span, 1)
            chunk = tokens[i : i + span]
            i += span
            own = [self.es.stem(w) for w in chunk if not self.es.is_stopword(w)]
            if english and alternatives:
                own = [t for t in own if t in self.index.vocab]  # keep "API", drop "deal"
            units = [tuple(self.es.terms(phrase)) for phrase in alternatives]
            units = [u for u in units if u]
            if not any(t in self.index.vocab for u in units for t in u):
                # Direct translations are absent: try their Spanish synonyms (one hop).
                units += [(t,) for p in alternatives for t in self._synonyms(words(p))]
            if not own and not units and alternatives:
                continue  # the glossary maps it to function words only ("still" -> "aún")
            group = self._group(" ".join(chunk), own, units)
            if not group.known and group.surface in names:
                # A name the article never mentions ("Google") is what the question is about.
                group = replace(group, weight=group.weight * NAME_WEIGHT)
            groups.append(group)
        return groups

    def _synonyms(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        for w in tokens:
            for phrase in self.glossary.spanish.get((self.es.stem(w),), ()):
                out.extend(self.es.terms(phrase))
        return out

    def _is_metadata(self, word: str, english: bool) -> bool:
        """Tell whether a word asks about the document itself (published, outlet, date)."""
        if self.es.stem(word) in self.glossary.metadata_es:
            return True
        return english and self.en.stem(word) in self.glossary.metadata_en

    def _is_noise(self, word: str, english: bool) -> bool:
        """Tell whether a word carries no content (stopword or question framing)."""
        stem_es = self.es.stem(word)
        if self.es.is_stopword(word):
            return True
        if stem_es in self.index.vocab:
            return False  # the article uses it as a content word
        if word in self._en_stop:
            return True
        return stem_es in self.glossary.framing_es or (
            english and self.en.stem(word) in self.glossary.framing_en
        )

    def _glossary_match(
        self, tokens: list[str], i: int, english: bool, min_words: int = 1
    ) -> tuple[int, tuple[str, ...]]:
        """Return the longest glossary phrase starting at token i and its Spanish phrases."""
        for n in range(min(MAX_PHRASE_WORDS, len(tokens) - i), min_words - 1, -1):
            chunk = tokens[i : i + n]
            known_es = n == 1 and self.es.stem(chunk[0]) in self.index.vocab
            if english or not known_es:
                hit = self.glossary.english.get(tuple(self.en.stem(w) for w in chunk))
                if hit:
                    return n, hit
            hit = self.glossary.spanish.get(tuple(self.es.stem(w) for w in chunk))
            if hit:
                return n, hit
        word = tokens[i]
        if (
            min_words == 1
            and len(word) >= 5
            and self.es.stem(word) not in self.index.vocab
            and not self._fuzzy([word], self._surface_list, self._surface)  # article words first
        ):
            # A typo in a word the glossary knows ("agremeent"): the closest entry stands in.
            limit = 1 if len(word) < 8 else 2
            for choices, keys, table in self._glossary_words:
                close = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=limit)
                if close is not None and close[0][0] == word[0] and keys[close[0]] in table:
                    return 1, table[keys[close[0]]]
        return 0, ()

    def _group(
        self, surface: str, own: list[str], alternatives: list[tuple[str, ...]]
    ) -> QueryGroup:
        """Weigh a content word: its own terms count fully, glossary/typo matches a bit less.

        A unit is a tuple of terms that must all be in a passage (a phrase such as
        "consejero delegado"); a passage scores the best of the group's units.
        """
        vocab = self.index.vocab
        units: dict[tuple[str, ...], float] = {}
        if own and all(t in vocab for t in own):
            units[tuple(own)] = 1.0
        else:
            units.update({(t,): 1.0 for t in own if t in vocab})
        for unit in alternatives:
            if unit and all(t in vocab for t in unit):
                units.setdefault(unit, ALTERNATIVE_WEIGHT)
        if not units:
            stems = [*own, *(t for u in alternatives for t in u)]
            for t in self._fuzzy(surface.split(), self._surface_list, self._surface):
                units.setdefault((t,), ALTERNATIVE_WEIGHT)
            for t in self._fuzzy(stems, self._vocab_list, None):
                units.setdefault((t,), ALTERNATIVE_WEIGHT)
        if not units:
            return QueryGroup(surface, (), (), self.index.unseen_idf(), known=False)
        # A word's importance is its own rarity; else that of its first (usual) translation.
        primary = [u for u, w in units.items() if w == 1.0] or list(units)[:1]
        weight = max(self.index.term_idf(t) or 0.0 for u in primary for t in u)
        # BM25's idf is 0 for words in half the passages of a tiny corpus; keep them counted.
        weight = max(weight, MIN_WEIGHT_SHARE * self.index.unseen_idf())
        return QueryGroup(surface, tuple(units), tuple(units.values()), weight, known=True)

    def _fuzzy(
        self, tokens: list[str], choices: list[str], to_term: dict[str, str] | None
    ) -> list[str]:
        """Match unknown words (or stems) to close ones of the article: "Donald" -> "Doland"."""
        found: list[str] = []
        for word in dict.fromkeys(tokens):
            if len(word) < 3 or word.isdigit() or self.es.is_stopword(word):
                continue
            limit = 1 if len(word) < 6 else 2  # Elasticsearch's AUTO fuzziness
            for match, _dist, _ in process.extract(
                word, choices, scorer=OSA.distance, score_cutoff=limit, limit=3
            ):
                if match[0] == word[0]:  # typos rarely hit the first letter
                    found.append(to_term[match] if to_term is not None else match)
        return found

    def _rank(self, groups: list[QueryGroup]) -> list[_Ranked]:
        """Score passages: per group the best of its units (BM25 contributions), summed."""
        total_weight = sum(g.weight for g in groups)
        if not total_weight or not any(g.terms for g in groups):
            return []
        n = self.index.n_docs
        score = np.zeros(n)
        covered = np.zeros(n)
        for g in groups:
            best = np.zeros(n)
            present = np.zeros(n, dtype=bool)
            for unit, w in zip(g.units, g.unit_weights, strict=True):
                whole = np.logical_and.reduce([self._has(t) for t in unit])  # phrases count whole
                unit_score = np.where(whole, self.index.scores(dict.fromkeys(unit, w)), 0.0)
                np.maximum(best, unit_score, out=best)
                present |= whole
            score += best
            covered += np.where(present, g.weight, 0.0)
        candidates = np.flatnonzero(covered > 0)
        coverage = covered / total_weight
        # A passage that holds more of the question beats one that repeats a single word; in a
        # tiny corpus where BM25's idf is 0 for every word, coverage alone still ranks.
        final = score * (COVERAGE_FLOOR + coverage) + 1e-6 * coverage
        order = candidates[np.lexsort((candidates, -final[candidates]))][:MAX_CANDIDATES]
        return [_Ranked(int(d), float(final[d]), float(coverage[d])) for d in order]

    def _has(self, term: str) -> np.ndarray:
        """Return a boolean mask of the passages that contain a term."""
        mask = np.zeros(self.index.n_docs, dtype=bool)
        mask[self.index.postings(term)] = True
        return mask

    def _quote(self, ranked: _Ranked, matched: set[str]) -> QuotedPassage:
        passage = self.passages[ranked.passage]
        doc = self._docs[passage.document_id]
        return QuotedPassage(
            id=passage.id,
            text=passage.text,
            score=round(ranked.score, 4),
            document=doc.title,
            document_id=doc.id,
            paragraph=passage.paragraph,
            citation=_citation(doc, passage),
            highlights=self.highlights(passage.text, matched),
        )

    def highlights(self, text: str, terms: set[str]) -> tuple[tuple[int, int], ...]:
        """Return the spans of the words of a text whose index term is in `terms`."""
        return tuple(
            (s, e)
            for s, e, w in word_spans(text)
            if not self.es.is_stopword(w) and self.es.stem(w) in terms
        )

    def _best_sentence(self, text: str, groups: list[QueryGroup]) -> str:
        best, best_score = "", -1.0
        for s, e in sentences(text):
            sentence = text[s:e]
            terms = set(self.es.terms(sentence))
            score = sum(g.weight for g in groups if terms.intersection(g.terms))
            if score > best_score:
                best, best_score = sentence, score
        return best

    def _summary(
        self, lang: str, quoted: tuple[QuotedPassage, ...], groups: list[QueryGroup]
    ) -> str:
        picked = [self._best_sentence(quoted[0].text, groups)]
        if len(quoted) > 1:
            second = self._best_sentence(quoted[1].text, groups)
            if second and second not in picked:
                picked.append(second)
        doc = self._docs[quoted[0].document_id]
        return self._fill("summary", lang, doc, picked)

    def _fill(self, name: str, lang: str, doc: Document, quotes: list[str]) -> str:
        template = self.templates[(name, lang)]
        return template.substitute(
            quotes=" ".join(f"«{q}»" for q in quotes),
            source=doc.source,
            date=doc.published_label,
            title=doc.title,
        ).strip()

    def _about_document(self, question: str, lang: str) -> Answer:
        """Answer a question about the document itself from its front matter and headline."""
        doc = self.documents[0]
        headline = next(i for i, p in enumerate(self.passages) if p.document_id == doc.id)
        quoted = (self._quote(_Ranked(headline, 0.0, 1.0), set()),)
        return Answer(
            question=question,
            lang=lang,
            answered=True,
            passages=quoted,
            summary=self._fill("metadata", lang, doc, []),
            citations=(quoted[0].citation,),
            suggestions=(),
            confidence=1.0,
        )

    def _not_covered(
        self, question: str, lang: str, groups: list[QueryGroup], coverage: float
    ) -> Answer:
        doc = self.documents[0]
        return Answer(
            question=question,
            lang=lang,
            answered=False,
            passages=(),
            summary=self._fill("not_covered", lang, doc, []),
            citations=(),
            suggestions=self.suggest(groups),
            confidence=round(coverage, 3),
        )

    def suggest(self, groups: list[QueryGroup], limit: int = 3) -> tuple[str, ...]:
        """Return up to `limit` suggested questions, the closest to the question first."""
        wanted = {t for g in groups for t in g.terms}
        pool = self.suggested_questions
        ranked = sorted(
            enumerate(pool), key=lambda iq: (-len(wanted.intersection(self.es.terms(iq[1]))), iq[0])
        )
        return tuple(q for _, q in ranked[:limit])

    def complete(self, typed: str, limit: int = 25) -> list[str]:
        """Return autocomplete choices: what was typed, then matching suggested questions."""
        typed = " ".join(typed.split())[:MAX_QUESTION_CHARS]
        pool = list(self.suggested_questions)
        if typed:
            key = fold(typed)
            scored = process.extract(
                key, [fold(q) for q in pool], scorer=fuzz.partial_ratio, limit=len(pool)
            )
            pool = [pool[i] for _, score, i in scored if score >= COMPLETE_MIN_SIMILARITY]
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
                ranked = self._rank(self.analyze(q))
                if ranked and ranked[0].passage not in chosen and _covers(ranked[0].coverage):
                    chosen.append(ranked[0].passage)
            self._overview = tuple(chosen)
        return self._overview

    def overview(self, *, lang: str = "es") -> Answer:
        """Summarize the knowledge base through the overview template, with its key quotes."""
        lang = lang if lang in LANGS else "es"
        doc = self.documents[0]
        quoted = []
        quotes = []
        for i in self.key_passages():
            passage = self.passages[i]
            quoted.append(self._quote(_Ranked(i, 0.0, 1.0), set()))
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


def _covers(coverage: float) -> bool:
    """Tell whether a passage holds enough of the question to answer it (more than half)."""
    return coverage > MIN_COVERAGE + 1e-9  # 1e-9: "exactly half" computed in floating point


def clean_question(question: str) -> str:
    """Validate and normalize a question; raise QuestionError with a code when it is unusable."""
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in question):
        raise QuestionError("control", "the question contains control characters")
    cleaned = " ".join(question.split())
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
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}:1: cannot read the template: {exc}")
                continue
            template = string.Template(text)
            if not template.is_valid():
                problems.append(f"{path}:1: invalid template (a '$' that is not a slot?)")
                continue
            unknown = set(template.get_identifiers()) - TEMPLATE_SLOTS
            if unknown:
                slots = ", ".join(sorted(unknown))
                problems.append(
                    f"{path}:1: unknown slot(s) {slots}; known: quotes, source, date, title"
                )
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


def _looks_english(tokens: list[str], en_stop: frozenset[str], es_stop: frozenset[str]) -> bool:
    en = sum(1 for t in tokens if t in en_stop and t not in es_stop)
    es = sum(1 for t in tokens if t in es_stop and t not in en_stop)
    return en > es


def _proper_nouns(question: str) -> set[str]:
    """Return the folded words written capitalized after the first word ("Google", "IBM")."""
    found = set()
    for n, (_s, _e, word) in enumerate(word_spans(question)):
        original = question[_s:_e]
        if n > 0 and original[:1].isupper():
            found.add(word)
    return found
