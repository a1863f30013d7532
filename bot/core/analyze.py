"""Question analysis: words -> content groups of index terms (glossary, stopwords, typos)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from bot.core.glossary import MAX_PHRASE_WORDS, Glossary, GlossaryTypos
from bot.core.index import BM25Index
from bot.core.paraphrase import FAMILY_WEIGHT, SYNONYM_WEIGHT, Paraphraser
from bot.core.text import Analyzer, stopwords, word_spans, words
from bot.core.translate import SenseSource, Translator, spanish_words
from bot.core.typos import TypoMatcher

# Glossary synonyms and typo corrections count a little less than the word itself.
ALTERNATIVE_WEIGHT = 0.8
# "¿En qué año…?" asks for a year: any year the knowledge holds (1000-2099) stands for the word.
YEAR_WORDS = frozenset({"año", "anos", "años", "year", "years"})
YEAR_DIGITS = r"(?:1\d|20)\d\d"  # the one year pattern (dated.py finds years in sentences)
YEAR = re.compile(rf"^{YEAR_DIGITS}$")
SHORT_YEAR = re.compile(r"^\d\d$")  # "del 73": a year the knowledge holds, when it has no 73
WHICH = frozenset({"que", "what", "which", "cual"})  # "qué año" asks for a year, "cuántos años" not
# No content word weighs less than this share of an unseen word (BM25's idf can be 0).
MIN_WEIGHT_SHARE = 0.1
# An unknown capitalized name weighs this many times an unknown word.
NAME_WEIGHT = 1.5
# A stem shorter than this is not typo-repaired: one edit of "ber" ("Beroida") is "bel", "bar".
MIN_FUZZY_STEM = 5
# A machine translation of an English word counts as the word: on the squad-es English proxy
# (scripts/build_english_proxy.py) 0.7 answered 183 of 452 right, 1.0 answered 200.
TRANSLATION_WEIGHT = 1.0
# An English word neither the article nor Apertium knows, and no name ("famously", a typo:
# "acess") weighs this share of an unknown word: the article may well say it in Spanish. Real
# English on squad-es (eval/squad_es_english.jsonl) 116 -> 119 of 180 right, 42 of 60 declined
# both (118 and 43 with the decision refitted); the bundled English set without its glossary
# 31 -> 34 of 50.
UNTRANSLATED_WEIGHT = 0.5
# Groups of Spanish words remembered per analyzer (cleared when full): ~5 KB each with what
# later stages keep with them (measured on 2,702 words of the 100k bench folder).
WORD_GROUPS = 2_000


@dataclass(frozen=True)
class QueryGroup:
    """One content word of the question with the index terms that stand for it."""

    surface: str
    units: tuple[tuple[str, ...], ...]
    unit_weights: tuple[float, ...]
    weight: float
    known: bool
    meta: bool = False  # asks about the document itself (date, outlet), not its content
    name: bool = False  # written capitalized inside the question ("Google"): a name
    # An English word known only by its spelling (no glossary entry): "first" or "man" in a
    # Spanish text that quotes an English title, "helped" as a typo of "huésped".
    loose: bool = False
    family: frozenset[tuple[str, ...]] = frozenset()  # units from the word's family (paraphrase)
    corrected: bool = False  # known only as a typo of other words ("Beroida" -> "bel", "bar")

    @cached_property
    def terms(self) -> tuple[str, ...]:
        """Return every index term of the group (computed once: groups of synonyms are long)."""
        return tuple(dict.fromkeys(t for u in self.units for t in u))

    @cached_property
    def term_set(self) -> frozenset[str]:
        """Return the group's index terms as a set (a passage's few terms are looked up in it)."""
        return frozenset(self.terms)

    @cached_property
    def by_weight(self) -> tuple[tuple[float, tuple[str, ...]], ...]:
        """Return its (weight, unit) pairs above 0, the heaviest first (the first of them a
        passage holds is the best it holds)."""
        pairs = zip(self.unit_weights, self.units, strict=True)
        return tuple(sorted(((w, u) for w, u in pairs if w > 0), key=lambda p: -p[0]))

    @cached_property
    def nonnegative(self) -> bool:
        """Return whether its weight and every unit's weight are at least 0 (the compiled
        ranking's bounds need it; "pasó" has 69 units)."""
        return self.weight >= 0 and min(self.unit_weights, default=0.0) >= 0

    @cached_property
    def memo(self) -> dict[str, object]:
        """Return a scratch dict where later stages keep what they derive from the group (rank.py:
        its terms' ids in an index). Not a field: `replace` gives the new group a new one."""
        return {}

    @cached_property
    def solid(self) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
        """Return the words and the phrases that stand for the group above a synonym's weight
        (where the decision counts the word as there); "año" has one per year of the folder."""
        weights = zip(self.units, self.unit_weights, strict=True)
        strong = [u for u, w in weights if w > SYNONYM_WEIGHT]
        phrases = tuple(u for u in strong if len(u) > 1)
        return frozenset(u[0] for u in strong if len(u) == 1), phrases

    @cached_property
    def solid_besides_years(self) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
        """Return `solid` without the years that stand for a year word (a passage's years are
        counted for it apart)."""
        words, phrases = self.solid
        if self.surface not in YEAR_WORDS:
            return words, phrases
        return (
            frozenset(t for t in words if not YEAR.match(t)),
            tuple(u for u in phrases if not YEAR.match(u[0])),
        )


class QuestionAnalyzer:
    """Turns questions into query groups against one index and glossary."""

    def __init__(
        self,
        index: BM25Index,
        glossary: Glossary,
        es: Analyzer,
        en: Analyzer,
        surface: dict[str, str],
        paraphraser: Paraphraser | None = None,
        translator: Translator | None = None,
        framing: Callable[[str], bool] = lambda surface: False,
    ) -> None:
        """Build over an index and the map of the article's folded words to index terms.

        `framing` tells the words that only frame a question ("latest", "ahora"): the answer
        stage handles them, so a translation never stands in for them.
        """
        self.index = index
        self.paraphraser = paraphraser
        self.translator = translator
        self.framing = framing
        self._years = tuple(t for t in index.vocab if YEAR.match(t))
        self.glossary = glossary
        self.es = es
        self.en = en
        self._surface = surface
        self._article_words = TypoMatcher(list(surface), surface)
        self._index_terms = TypoMatcher(list(index.vocab))
        self._glossary_typos = GlossaryTypos(glossary)
        self._word_groups: dict[str, QueryGroup] = {}  # see _word_group
        self._en_stop = stopwords("en")
        self._es_stop = stopwords("es")
        # The first stems of the glossary's phrases: most question words start none.
        self._heads = (
            {k[0] for k in glossary.english if k},
            {k[0] for k in glossary.spanish if k},
        )

    def analyze(
        self,
        question: str,
        *,
        english: bool | None = None,
        translate: bool = True,
        machine: bool = False,
    ) -> list[QueryGroup]:
        """Turn a question into content groups (glossary, stopwords, typo tolerance applied).

        `machine` marks a machine translation: Spanish spelled right, so its words are neither
        read as English nor corrected to a glossary entry ("fundó" is not a typo of "fund").
        """
        tokens = words(question)
        translation: list[str] | None = None
        asked = False  # the translator was asked already (a failure is not asked twice)
        if english is None:
            english = looks_english(tokens, self._en_stop, self._es_stop)
            if (
                not english
                and translate
                and self.translator is not None
                and self._keywords(tokens)
                and not all(t in self._surface or t.isdigit() for t in tokens)
            ):
                # No function word tells the language of "agreement end date": Apertium does,
                # it knows most words of an English query and few of a Spanish one. Keywords
                # that are all words of the knowledge as written are read as they are.
                translation, asked = self.translator.translate([question]), True
                english = translation is not None and apertium_knows(translation[0], tokens)
        names = proper_nouns(question)
        groups: list[QueryGroup] = []
        glossed: set[int] = set()  # the groups whose senses came from the glossary
        i = 0
        while i < len(tokens):
            span, alternatives = self._glossary_match(tokens, i, english, 2, machine)
            if span == 0 and self._is_metadata(tokens[i], english):
                groups.append(QueryGroup(tokens[i], (), (), 0.0, known=True, meta=True))
                i += 1
                continue
            if span == 0:
                if self._is_noise(tokens[i], english) or (
                    # "the", "first" of an English title quoted in a Spanish text are not content
                    english and tokens[i] in self._en_stop and tokens[i] not in names
                ):
                    i += 1
                    continue
                span, alternatives = self._glossary_match(tokens, i, english, 1, machine)
                span = max(span, 1)
            chunk = tokens[i : i + span]
            before = tokens[i - 1] if i else ""
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
            if self.paraphraser is not None and not english and not alternatives and span == 1:
                group = self._word_group(chunk[0], own)
            else:
                group = self._group(" ".join(chunk), own, units)
            if english and not alternatives:
                group = replace(group, loose=True)
            if group.surface in names:
                group = replace(group, name=True)
                if not group.known:
                    # A name the article never mentions ("Google") is what the question is about.
                    group = replace(group, weight=group.weight * NAME_WEIGHT)
            if group.surface in YEAR_WORDS and before in WHICH and self._years:
                years = [(y,) for y in self._years if (y,) not in group.units]
                group = _with_units(group, years, ALTERNATIVE_WEIGHT)
            if len(chunk) == 1 and SHORT_YEAR.match(chunk[0]) and not group.known:
                # "el embargo del 73", "in '73": the years of the knowledge that end so.
                years = [(y,) for y in self._years if y.endswith(chunk[0])]
                if years:
                    group = _with_units(group, years, ALTERNATIVE_WEIGHT)
            if alternatives:
                glossed.add(len(groups))
            groups.append(group)
        groups = _distinct(groups, glossed)
        if asked and translation is None:
            return groups  # the translator failed on this question: the glossary answers
        unknown = not all(g.known for g in groups)
        if translate and self.translator is not None and self._may_be_english(tokens, unknown):
            groups = self._translated(question, groups, names, translation)
        return groups

    def prefetch(self, questions: Sequence[str]) -> None:
        """Ask the translator at once for what analysing these questions will ask it.

        A stream of questions (`ask -`) then waits on Apertium once per batch instead of once
        per question (a round trip takes 2-6 ms, a text in a batch of 64 about 0.13 ms). The
        answers are the same: the translator keeps what it was asked, and `analyze` finds it
        there. Asked: every question that may be read as English or as keywords that are not
        all words of the knowledge (a superset of what `analyze` translates), then their
        English words' senses. A failure is the translator's, as for one question.
        """
        if self.translator is None:
            return
        asked = [q for q in questions if self._may_translate(words(q))]
        if not asked or self.translator.translate(asked) is None:
            return
        if isinstance(self.translator, SenseSource):
            forms = [f for q in asked for fs in self._sense_forms(q).values() for f in fs]
            if forms:
                self.translator.senses(forms)

    def _may_translate(self, tokens: list[str]) -> bool:
        """Tell whether `analyze` may ask the translator about a question with these words, as
        `_may_be_english` does with words not of the knowledge as written standing for groups
        it does not know (a question this misses asks in its own round trip)."""
        return self._may_be_english(tokens, not all(t in self._surface for t in tokens))

    def reads_english(self, question: str) -> bool:
        """Tell whether a question's function words are English (as `analyze` reads them)."""
        return looks_english(words(question), self._en_stop, self._es_stop)

    def _keywords(self, tokens: list[str]) -> bool:
        """Tell whether a question is bare keywords: no function word of either language."""
        return bool(tokens) and not any(t in self._en_stop or t in self._es_stop for t in tokens)

    def _may_be_english(self, tokens: list[str], unknown: bool) -> bool:
        """Tell whether to translate: English, or keywords with no Spanish word and `unknown`
        (a word the knowledge does not know)."""
        if looks_english(tokens, self._en_stop, self._es_stop):
            return True
        return unknown and not any(t in self._es_stop for t in tokens)

    def _translated(
        self,
        question: str,
        groups: list[QueryGroup],
        names: set[str],
        translation: list[str] | None = None,
    ) -> list[QueryGroup]:
        """Replace the English words no glossary knows by the Spanish analysis of the translation.

        Glossary matches keep priority and names stay as typed. An English word known only by
        its spelling counts as unknown unless Apertium left it as written (a name, "nuclear"):
        a Spanish text holds "first" or "man" only in a quoted English title, and "helped" is
        not "huésped". The translation's words weigh as the words they stand for and never
        outnumber the English words they replace; where only words the article lacks are left
        to join, an English word the article holds as written ("venture", Apertium's
        "aventura") stays.
        """
        assert self.translator is not None
        out = translation or self.translator.translate([question])
        if out is None:
            return groups  # the translator failed: the glossary alone answers
        spanish = spanish_words(out[0])
        said = set(spanish)
        translated = self.analyze(" ".join(spanish), english=False, translate=False, machine=True)
        # Each English word's translations in Apertium's dictionary ("light": luz, ligero...).
        senses = self._senses(question)
        kept, dropped = [], []
        typed_names: list[QueryGroup] = []  # names Apertium translated: theirs may join too
        for g in groups:
            spelled = g.loose and not said.issuperset(g.surface.split())
            if (
                g.surface in names
                and spelled
                and (_own_word(g) or self._read_as_unknown(g, senses, translated))
            ):
                # Names stay as typed: Apertium makes "Trump" "Triunfo", and "Apple" "manzana".
                kept.append(g)
                typed_names.append(g)
            elif not g.known and said.issuperset(g.surface.split()):
                # Apertium does not know it either ("Google", "citoquina", "famously")
                kept.append(g if g.name else replace(g, weight=g.weight * UNTRANSLATED_WEIGHT))
            elif (g.known and not spelled) or g.meta or self.framing(g.surface):
                kept.append(g)
            else:
                dropped.append(g)
        # Words already asked for, by their best forms: a thesaurus synonym of one word
        # ("producir": "efectuar") must not keep out another ("efecto").
        taken = {t for g in kept for t in _main_terms(g)}
        typed = {g.surface for g in kept}
        extra = []
        for g in translated:
            if g.meta or taken.intersection(_main_terms(g)) or g.surface in typed:
                continue
            weights = tuple(w * TRANSLATION_WEIGHT for w in g.unit_weights)
            extra.append(replace(g, unit_weights=weights))
            taken.update(_main_terms(g))
        # Each translated word also stands for the English word's other senses the article has.
        extra = self._with_senses(extra, senses)
        # One for one: translated words the article has first (first those that translate a
        # replaced English word, by the dictionary: "sustancia química" for "chemical" must not
        # crowd out "oxígeno"), then English words the article holds as written, then unknown
        # translated words, then words known only through a synonym (those would answer for a
        # word the article lacks).
        found = _aligned_first([g for g in extra if _own_word(g)], dropped, senses)
        said_found = {t for g in found for t in _main_terms(g)}
        # A kept name's own translation ("War": "guerra") is not the translation of a replaced
        # word: it must not take the slot of one ("Korean": "coreano"), or the question loses
        # the word it is about.
        name_terms = [_sense_terms(name, senses) for name in typed_names]
        naming = [g for g in found if any(t.intersection(_main_terms(g)) for t in name_terms)]
        found = [g for g in found if g not in naming]
        # An English word the article holds as written: its very spelling, not a Spanish stem
        # it happens to share ("credited": "crédito"), and not a word whose dictionary
        # translation is asked already ("system": "sistema").
        written = [
            g
            for g in dropped
            if g.known
            and max(g.unit_weights) >= 1.0
            and all(w in self._surface for w in g.surface.split())
            and not said_found.intersection(_main_terms(g) | _sense_terms(g, senses))
        ]
        rest = [g for g in extra if not g.known] + [
            g for g in extra if g.known and not _own_word(g)
        ]
        # A kept name's translation the article lacks too ("Parisians": "parisienses") is the
        # name again, not a second unknown word to ask for.
        asked = [g for g in rest if g.known or not any(self._is_sense(g, t) for t in name_terms)]
        fill = (found + (written + asked if rest else []))[: len(dropped)]
        # Beyond one for one, a word the article has may join per name kept as typed: a name's
        # translation the dictionary does not give ("Great Britain": "Bretaña") or a word whose
        # English the analysis dropped ("Black Sea": "mar").
        joined = fill + [g for g in found if g not in fill][: len(typed_names)]
        # A name kept as typed and its translation are one word: the translation the
        # dictionary gives for it ("France": "Francia") joins it as another form, weighed as
        # a glossary synonym, instead of asking for a second word (or taking another's slot).
        for name, terms in zip(typed_names, name_terms, strict=True):
            same = next((g for g in naming if terms.intersection(_main_terms(g))), None)
            if same is not None:
                naming.remove(same)
                kept[kept.index(name)] = _with_forms(name, same)
        return kept + joined

    def _read_as_unknown(
        self,
        group: QueryGroup,
        senses: dict[str, list[tuple[str, ...]]],
        translated: list[QueryGroup],
    ) -> bool:
        """Tell whether Apertium turned a name the article lacks into words it lacks too: the
        translation's words that are the name's dictionary senses ("manzana" for "Apple") are
        all unknown. A name whose translation is known ("US": "EE.UU.", which a glossary may
        know) is left to it."""
        if group.known:
            return False
        meant = _sense_terms(group, senses)
        found = [g for g in translated if self._is_sense(g, meant)]
        return bool(found) and not any(g.known for g in found)

    def _is_sense(self, translated: QueryGroup, senses: set[str]) -> bool:
        """Tell whether a word of the translation is one of these dictionary senses (by the
        terms of the word as written: the article may lack it, and then it has no units)."""
        return not senses.isdisjoint(self.es.terms(translated.surface))

    def _with_senses(
        self, groups: list[QueryGroup], senses: dict[str, list[tuple[str, ...]]]
    ) -> list[QueryGroup]:
        """Let each translated word stand for the English word's other translations too.

        Apertium's dictionary knows every sense ("light": luz, ligero, claro, encender); its
        translation picks one ("ligero") and the article may use another ("luz"). The others
        the article has join the word that is one of them, weighed as glossary synonyms, or as
        the word itself where the article lacks the one the translation picked ("oil": "óleo",
        the article says "petróleo"). On the squad-es English proxy: 248 -> 266 of 452
        answered and right, 374 -> 370 of 393 declined (as synonyms everywhere: 261); the
        bundled English set unchanged, without its glossary 28 -> 31 of 50.
        """
        if not senses:
            return groups
        vocab = self.index.vocab
        out = []
        for g in groups:
            best = max(g.unit_weights, default=0.0)
            own = {u for u, w in zip(g.units, g.unit_weights, strict=True) if w >= best}
            said = tuple(self.es.terms(g.surface))
            own.add(said)
            have = set(g.units)
            more = []
            for units in senses.values():
                if own.isdisjoint(units):
                    continue  # another English word's translations
                for u in units:
                    if u not in have and all(t in vocab for t in u):
                        more.append(u)
                        have.add(u)
            if more:
                absent = not said or not all(t in vocab for t in said)
                weight = TRANSLATION_WEIGHT * (1.0 if absent else ALTERNATIVE_WEIGHT)
                g = _with_units(g, more, weight)
            out.append(g)
        return out

    def _senses(self, question: str) -> dict[str, list[tuple[str, ...]]]:
        """Return the index units of every translation Apertium's dictionary knows for each
        English content word of the question ({} without a dictionary or when it fails)."""
        source = self.translator
        if not isinstance(source, SenseSource):
            return {}
        forms = self._sense_forms(question)
        asked = [f for fs in forms.values() for f in fs]
        found = source.senses(asked) if asked else None
        if not found:
            return {}
        return {
            w: list(
                dict.fromkeys(
                    u
                    for f in fs
                    for u in (tuple(self.es.terms(lemma)) for lemma in found.get(f, ()))
                    if u
                )
            )
            for w, fs in forms.items()
        }

    def _sense_forms(self, question: str) -> dict[str, list[str]]:
        """Return the forms to look up for each English content word of a question."""
        # Each word as typed, and capitalized: the dictionary knows names by their capital
        # ("france" finds nothing, "France" finds "Francia").
        forms: dict[str, list[str]] = {}
        for start, end, word in word_spans(question):
            if word not in self._en_stop:
                typed = question[start:end]
                forms.setdefault(word, []).extend(dict.fromkeys([typed, typed.capitalize()]))
        return forms

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
        self, tokens: list[str], i: int, english: bool, min_words: int = 1, machine: bool = False
    ) -> tuple[int, tuple[str, ...]]:
        """Return the longest glossary phrase starting at token i and its Spanish phrases."""
        heads_en, heads_es = self._heads
        head = tokens[i]
        starts = self.en.stem(head) in heads_en or self.es.stem(head) in heads_es
        for n in range(min(MAX_PHRASE_WORDS, len(tokens) - i) if starts else 0, min_words - 1, -1):
            chunk = tokens[i : i + n]
            known_es = n == 1 and (
                self.es.stem(chunk[0]) in self.index.vocab or self._spanish_word(chunk[0])
            )
            if english or not (known_es or machine):
                hit = self.glossary.english.get(tuple(self.en.stem(w) for w in chunk))
                if hit:
                    return n, hit
            hit = self.glossary.spanish.get(tuple(self.es.stem(w) for w in chunk))
            if hit:
                return n, hit
        word = tokens[i]
        if (
            min_words == 1
            and not machine
            and len(word) >= 5
            and self.es.stem(word) not in self.index.vocab
            and not (not english and self._spanish_word(word))  # "fundó" is no typo of "fund"
            and not self._fuzzy([word], self._article_words)  # article words first
        ):
            # A typo in a word the glossary knows ("agremeent"): the closest entry stands in.
            hit = self._glossary_typos.entry(word)
            if hit:
                return 1, hit
        return 0, ()

    def _spanish_word(self, word: str) -> bool:
        """Tell whether the Spanish thesaurus knows a word ("vale", "fundó"): not English."""
        return self.paraphraser is not None and self.paraphraser.knows(word)

    def _group(
        self,
        surface: str,
        own: list[str],
        alternatives: list[tuple[str, ...]],
        paraphrases: list[tuple[tuple[str, ...], float]] = (),  # type: ignore[assignment]
        family: list[str] = (),  # type: ignore[assignment]
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
        synonyms = set()
        kin = set()
        for unit in ((t,) for t in family):  # the word's family: half the word
            if unit not in units:
                units[unit] = FAMILY_WEIGHT
                synonyms.add(unit)
                kin.add(unit)
        for unit, w in paraphrases:  # thesaurus synonyms: less than the word
            if unit not in units:
                units[unit] = w
                synonyms.add(unit)
        corrected = not units
        if corrected:
            # Typos of the question's words, and spellings of the glossary's one-word senses; a
            # phrase counts whole ("director ejecutivo" is not "ejecutivo", which stems as
            # "se ejecuta" does).
            stems = [*own, *(u[0] for u in alternatives if len(u) == 1)]
            for t in self._fuzzy(surface.split(), self._article_words):
                units.setdefault((t,), ALTERNATIVE_WEIGHT)
            long_stems = [t for t in stems if len(t) >= MIN_FUZZY_STEM]
            for t in self._fuzzy(long_stems, self._index_terms):
                units.setdefault((t,), ALTERNATIVE_WEIGHT)
        if not units:
            return QueryGroup(surface, (), (), self.index.unseen_idf(), known=False)
        # A word's importance is its own rarity; else that of its first (usual) translation.
        primary = [u for u, w in units.items() if w == 1.0] or list(units)[:1]
        weight = max(self.index.term_idf(t) or 0.0 for u in primary for t in u)
        if all(u in synonyms for u in units):
            # Only synonyms or its family stand for it: it weighs as the unknown word it is.
            weight = self.index.unseen_idf()
        # BM25's idf is 0 for words in half the passages of a tiny corpus; keep them counted.
        weight = max(weight, MIN_WEIGHT_SHARE * self.index.unseen_idf())
        return QueryGroup(
            surface,
            tuple(units),
            tuple(units.values()),
            weight,
            known=True,
            family=frozenset(kin),
            corrected=corrected,
        )

    def _word_group(self, word: str, own: list[str]) -> QueryGroup:
        """Return the group of a Spanish word asked alone (no glossary entry): its stem, its
        family and its thesaurus synonyms (`own`: its stem, as the caller found it). The same
        word gives the same group: one the index knows is kept (a frequent word such as "pasó"
        has 69 units); a typo's is not."""
        group = self._word_groups.get(word)
        if group is None:
            assert self.paraphraser is not None
            family = list(self.paraphraser.family(self.es.stem(word)))
            paraphrases = [((t,), w) for t, w in self.paraphraser.expand(word)]
            group = self._group(word, own, [], paraphrases, family)
            if group.known and not group.corrected:
                if len(self._word_groups) >= WORD_GROUPS:
                    self._word_groups.clear()
                self._word_groups[word] = group
        return group

    def _fuzzy(self, tokens: list[str], matcher: TypoMatcher) -> list[str]:
        """Match unknown words (or stems) to close ones of the article: "Donald" -> "Doland"."""
        found: list[str] = []
        for word in dict.fromkeys(tokens):
            if len(word) < 3 or word.isdigit() or self.es.is_stopword(word):
                continue
            found.extend(matcher.match(word))
        return found


def _distinct(groups: list[QueryGroup], glossed: set[int]) -> list[QueryGroup]:
    """Drop from each glossary word the senses that are another word's only sense.

    "computing capacity": "compute" may mean "capacidad", but "capacity" asks for it already;
    counted twice, a passage that repeats "capacidad" would outrank "capacidades de computación".
    """
    if not glossed:
        return groups
    sole = [next(iter(m)) if len(m) == 1 else None for m in map(_main_terms, groups)]
    out = []
    for n, g in enumerate(groups):
        if n in glossed:
            others = {t for m, t in enumerate(sole) if t is not None and m != n}
            keep = [
                (u, w)
                for u, w in zip(g.units, g.unit_weights, strict=True)
                if w >= 1.0 or len(u) > 1 or u[0] not in others
            ]
            if keep and len(keep) < len(g.units):
                units = tuple(u for u, _ in keep)
                g = replace(g, units=units, unit_weights=tuple(w for _, w in keep))
        out.append(g)
    return out


def _with_units(group: QueryGroup, units: Sequence[tuple[str, ...]], weight: float) -> QueryGroup:
    """Return a group that the given units also stand for, each at `weight` (it is known)."""
    return replace(
        group,
        units=group.units + tuple(units),
        unit_weights=group.unit_weights + (weight,) * len(units),
        known=True,
    )


def _with_forms(group: QueryGroup, other: QueryGroup) -> QueryGroup:
    """Return a group that also holds another group's forms, weighed as glossary synonyms."""
    more = [
        (u, w) for u, w in zip(other.units, other.unit_weights, strict=True) if u not in group.units
    ]
    return replace(
        group,
        units=group.units + tuple(u for u, _ in more),
        unit_weights=group.unit_weights + tuple(w * ALTERNATIVE_WEIGHT for _, w in more),
    )


def _aligned_first(
    found: list[QueryGroup],
    replaced: list[QueryGroup],
    senses: dict[str, list[tuple[str, ...]]],
) -> list[QueryGroup]:
    """Put first, in the order of the English words they replace, the translated words the
    dictionary gives for one of them (one each), then the others."""
    aligned: list[QueryGroup] = []
    for g in replaced:
        terms = _sense_terms(g, senses)
        match = next(
            (f for f in found if f not in aligned and terms.intersection(_main_terms(f))), None
        )
        if match is not None:
            aligned.append(match)
    return aligned + [f for f in found if f not in aligned]


def _sense_terms(group: QueryGroup, senses: dict[str, list[tuple[str, ...]]]) -> set[str]:
    """Return the index terms of every dictionary translation of a group's English words."""
    return {t for w in group.surface.split() for u in senses.get(w, ()) for t in u}


def _main_terms(group: QueryGroup) -> set[str]:
    """Return the terms of a group's best-weighted forms (not its lighter synonyms)."""
    best = max(group.unit_weights, default=0.0)
    return {t for u, w in zip(group.units, group.unit_weights, strict=True) if w >= best for t in u}


def _own_word(group: QueryGroup) -> bool:
    """Tell whether a translated word is itself in the article (not only a synonym of it)."""
    return group.known and max(group.unit_weights) >= TRANSLATION_WEIGHT - 1e-9


def apertium_knows(translation: str, tokens: list[str]) -> bool:
    """Tell whether Apertium knew at least half the words of what it translated.

    It marks each word it does not know with '*' and passes it through as typed.
    """
    unknown = len(re.findall(r"\*\w", translation))
    return bool(tokens) and 2 * unknown <= len(tokens)


def looks_english(tokens: list[str], en_stop: frozenset[str], es_stop: frozenset[str]) -> bool:
    """Tell whether a question's function words are more English than Spanish."""
    en = sum(1 for t in tokens if t in en_stop and t not in es_stop)
    es = sum(1 for t in tokens if t in es_stop and t not in en_stop)
    return en > es


def proper_nouns(question: str) -> set[str]:
    """Return the folded words written capitalized after the first word ("Google", "IBM")."""
    found = set()
    for n, (start, end, word) in enumerate(word_spans(question)):
        if n > 0 and question[start:end][:1].isupper():
            found.add(word)
    return found
