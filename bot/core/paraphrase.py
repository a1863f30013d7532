"""Spanish paraphrase: index terms that stand for a question word it does not share verbatim.

Two maintained resources, both optional at run time:
- the Spanish thesaurus of LibreOffice/Debian `mythes-es` (LGPL-2.1), derived into
  `data/thesaurus_es.tsv` by `scripts/build_thesaurus.py` (synonyms: comenzar ≈ empezar);
- `simplemma` (PyPI), a lemmatizer: irregular forms Snowball splits from their lemma
  (hizo -> hacer, puso -> poner), and the key under which the thesaurus lists a word.
The thesaurus is keyed by stem too, so "proyectó" finds "proyectar" without a lemmatizer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

THESAURUS_PATH = Path(__file__).resolve().parent / "data" / "thesaurus_es.tsv"
# An expansion counts less than the word itself (the word weighs 1.0).
LEMMA_WEIGHT = 0.8
SYNONYM_WEIGHT = 0.1  # a tie-breaker: squad-es hit@1 70.4% -> 71.6% (0.3: 71.3%, 0.5: 70.1%)
# Synonyms taken per word, in the thesaurus' order (its first meanings first).
MAX_SYNONYMS = 12


@lru_cache(maxsize=1)
def load_thesaurus(path: Path = THESAURUS_PATH) -> dict[str, tuple[str, ...]]:
    """Read `word<TAB>synonym synonym ...` lines; an absent file is an empty thesaurus."""
    table: dict[str, tuple[str, ...]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        log.warning("no Spanish thesaurus at %s: paraphrase expansion is off", path)
        return table
    for line in text.splitlines():
        if line and not line.startswith("#"):
            word, _, syns = line.partition("\t")
            table[word] = tuple(syns.split())
    return table


def _lemmatizer() -> Callable[[str], str] | None:
    try:
        import simplemma
    except ImportError:  # optional: the thesaurus still works by stems
        return None
    return lambda word: simplemma.lemmatize(word, lang="es")


class Paraphraser:
    """Expands a folded Spanish word into (index term, weight) pairs found in the index."""

    def __init__(
        self,
        stem: Callable[[str], str],
        vocab: Container[str],
        thesaurus: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Build over a stemmer and the index's vocabulary."""
        self.stem = stem
        self.vocab = vocab
        self.thesaurus = load_thesaurus() if thesaurus is None else thesaurus
        self.lemma = _lemmatizer()
        by_stem: dict[str, list[str]] = {}
        for word in self.thesaurus:
            by_stem.setdefault(stem(word), []).append(word)
        self._by_stem = by_stem

    def expand(self, word: str) -> list[tuple[str, float]]:
        """Return the index terms standing for a word (not its own stem), best weight first."""
        own = self.stem(word)
        found: dict[str, float] = {}
        keys = [word]
        if self.lemma is not None:
            lemma = self.lemma(word)
            keys.append(lemma)
            if self.stem(lemma) != own and self.stem(lemma) in self.vocab:
                found[self.stem(lemma)] = LEMMA_WEIGHT
        keys += self._by_stem.get(own, ())
        for key in dict.fromkeys(keys):
            for syn in self.thesaurus.get(key, ())[:MAX_SYNONYMS]:
                term = self.stem(syn)
                if term != own and term in self.vocab:
                    found.setdefault(term, SYNONYM_WEIGHT)
        return sorted(found.items(), key=lambda tw: -tw[1])
