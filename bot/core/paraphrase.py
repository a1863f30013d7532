"""Spanish paraphrase: index terms that stand for a question word it does not share verbatim.

The resource is the Spanish thesaurus of LibreOffice (Debian `mythes-es`; Marcelo Garrone,
LGPL-2.1), derived into `data/thesaurus_es.tsv` by `scripts/build_thesaurus.py`: each Snowball
stem with the stems of its words' first synonyms (comenzar ≈ empezar, diseñar ≈ proyectar).
Keyed by stem, it serves every inflection ("proyectó", "proyectaron") without a lemmatizer.
Measured on squad-es (1,354 in-scope questions, ranking alone): hit@1 70.4% -> 71.2%.

Word families: Snowball stems split derivations (analizar / análisis, significar / significado)
that share a long prefix. The index terms that share a stem's first letters (all but its last,
at least FAMILY_PREFIX) stand for it with FAMILY_WEIGHT, also for a word the index lacks, in the
best candidate passages that lack the word itself (bot/core/rank.py). The family is the index's
own vocabulary: no list, any article. Chosen on half of squad-es's articles (ranking alone,
hit@1 on that half 70.8% -> 72.4%; weight 0.25 72.1%, 0.7 72.4%; prefix 6 71.6%, 4 72.5%) and
measured on the other half: 73.9% -> 75.2% (hit@3 86.7% -> 87.1%).
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable, Collection, Mapping
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

THESAURUS_PATH = Path(__file__).resolve().parent / "data" / "thesaurus_es.tsv"
# A synonym counts far less than the word itself (1.0): a tie-breaker between passages.
# Measured on squad-es hit@1: 0.5 -> 70.1%, 0.3 -> 71.3%, 0.1 -> 71.6% (with lemmas).
SYNONYM_WEIGHT = 0.1
# Synonyms taken per thesaurus entry, its first meanings first (applied by the build script).
MAX_SYNONYMS = 12
# A family member (same first letters) counts half the word: a derivation keeps the meaning.
FAMILY_WEIGHT = 0.5
# Letters a family shares at least; shorter stems (cas, part) have no family.
FAMILY_PREFIX = 5
# Family members taken per word (hit@1 on the choosing half: 2 -> 72.1%, 4 -> 72.4%, all 72.4%).
MAX_FAMILY = 4
FAMILY_CACHE = 50_000  # stems whose family is remembered (questions repeat words)
# Thesaurus lookups searched in place before the lines are parsed into a table (~15 ms once; a
# search costs ~30 us): a one-shot question never parses, the bot and a stream soon do.
PARSE_AFTER = 256


class Thesaurus:
    """The `stem<TAB>stem stem ...` lines, searched in place (a one-shot question reads 3 of 15k).

    The build script writes the lines sorted by stem, so a lookup is a binary search over the
    text; nothing is parsed until asked for. A process that asks often (the bot, a stream of
    questions) parses the lines into a table once, after `parse_after` lookups: a search costs
    ~14 steps in Python, the table one lookup.
    """

    def __init__(self, text: str, parse_after: int = PARSE_AFTER) -> None:
        self._text = text
        start = 0
        while text.startswith("#", start):  # the header comment
            start = text.find("\n", start) + 1 or len(text)
        self._start = start
        self._searches_left = parse_after
        self._table: dict[str, str] | None = None  # stem -> its synonyms' line part

    def get(self, stem: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Return the synonym stems of a stem, or `default` when it has no entry."""
        table = self._table
        if table is None:
            if self._searches_left > 0:
                self._searches_left -= 1
                return self._search(stem, default)
            table = self.parse()
        found = table.get(stem)
        return default if found is None else tuple(found.split())

    def parse(self) -> dict[str, str]:
        """Return every entry in a table (stem -> its synonyms' line part), read once: `get`
        reads it after PARSE_AFTER searches in place."""
        if self._table is None:
            lines = self._text[self._start :].split("\n")
            self._table = dict(line.partition("\t")[::2] for line in lines)
        return self._table

    def _search(self, stem: str, default: tuple[str, ...]) -> tuple[str, ...]:
        text, lo, hi = self._text, self._start, len(self._text)
        while lo < hi:  # lo: a line start; lines before lo sort before `stem`, from hi after
            start = max(lo, text.rfind("\n", lo, (lo + hi) // 2) + 1)
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            key, _, synonyms = text[start:end].partition("\t")
            if key == stem:
                return tuple(synonyms.split())
            if key < stem:
                lo = end + 1
            else:
                hi = start
        return default


@lru_cache(maxsize=4)
def load_thesaurus(path: Path = THESAURUS_PATH) -> Thesaurus:
    """Read the thesaurus file; an absent file is an empty thesaurus (logged)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        log.warning("no Spanish thesaurus at %s: synonym expansion is off", path)
        text = ""
    return Thesaurus(text)


class Paraphraser:
    """Expands a folded Spanish word into the synonym terms the index holds."""

    def __init__(
        self,
        stem: Callable[[str], str],
        vocab: Collection[str],
        thesaurus: Thesaurus | Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Build over the analyzer's stemmer and the index's vocabulary (tables load lazily)."""
        self.stem = stem
        self.vocab = vocab
        self._thesaurus = thesaurus
        self._sorted: list[str] | None = None  # the vocabulary in order, for prefix lookups
        self._families: dict[str, tuple[str, ...]] = {}
        self._expanded: dict[str, tuple[tuple[str, float], ...]] = {}

    def expand(self, word: str) -> list[tuple[str, float]]:
        """Return (index term, weight) pairs standing for a word, its own stem excluded."""
        found = self._expanded.get(word)
        if found is None:
            own = self.stem(word)
            found = tuple(
                (t, SYNONYM_WEIGHT)
                for t in self._synonyms().get(own, ())
                if t != own and t in self.vocab
            )
            if len(self._expanded) < FAMILY_CACHE:  # questions repeat words too
                self._expanded[word] = found
        return list(found)

    def warm(self) -> None:
        """Build now what the first questions would: the thesaurus's table and the vocabulary
        in order (10.7 and 8 ms at 100k passages). Before workers are forked, it is built once
        for all of them instead of once in each."""
        synonyms = self._synonyms()
        if isinstance(synonyms, Thesaurus):
            synonyms.parse()
        self._in_order()

    def knows(self, word: str) -> bool:
        """Tell whether the thesaurus has an entry for a word or, for a present-tense verb
        Snowball leaves whole ("usa", "usan"), for its infinitive: a Spanish word, not a typo
        nor English ("¿qué centros de datos usa OpenAI?" is not about the USA)."""
        synonyms = self._synonyms()
        if synonyms.get(self.stem(word), ()):
            return True
        return any(synonyms.get(self.stem(verb), ()) for verb in _infinitives(word))

    def family(self, stem: str) -> tuple[str, ...]:
        """Return the index terms (not numbers) sharing a stem's letters but its last one."""
        if len(stem) < FAMILY_PREFIX or stem.isdigit():
            return ()
        found = self._families.get(stem)
        if found is None:
            found = self._family(stem)
            if len(self._families) < FAMILY_CACHE:
                self._families[stem] = found
        return found

    def _synonyms(self) -> Thesaurus | Mapping[str, tuple[str, ...]]:
        """Return the thesaurus, read on first use."""
        if self._thesaurus is None:
            self._thesaurus = load_thesaurus()
        return self._thesaurus

    def _in_order(self) -> list[str]:
        """Return the vocabulary in order (for prefix lookups), sorted on first use."""
        if self._sorted is None:
            self._sorted = sorted(self.vocab)
        return self._sorted

    def _family(self, stem: str) -> tuple[str, ...]:
        ordered = self._in_order()
        prefix = stem[: max(FAMILY_PREFIX, len(stem) - 1)]
        out = []
        i = bisect_left(ordered, prefix)
        while i < len(ordered) and ordered[i].startswith(prefix):
            term = ordered[i]
            if term != stem and not term.isdigit():
                out.append(term)
            i += 1
        # The closest in length first: a long family ("inter...") keeps its nearest members.
        return tuple(sorted(out, key=lambda t: (abs(len(t) - len(stem)), t))[:MAX_FAMILY])


# Present-tense endings (third person, singular and plural) and the infinitives they come from.
PRESENT_ENDINGS = (("an", ("ar",)), ("en", ("er", "ir")), ("a", ("ar",)), ("e", ("er", "ir")))


def _infinitives(word: str) -> list[str]:
    """Return the infinitives a regular present-tense form may come from ("usan" -> "usar");
    none where fewer than two letters come before the ending."""
    for ending, verbs in PRESENT_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return [word[: -len(ending)] + v for v in verbs]
    return []
