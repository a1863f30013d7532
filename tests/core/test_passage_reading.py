"""A passage read for the decision and the quotes: its sentences, their terms, the years."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.analyze import YEAR
from bot.core.answer import Engine
from bot.core.text import sentences
from tests.conftest import doc_text, write_knowledge

SAMPLE = Path(__file__).parents[1] / "data" / "squad_es_sample" / "knowledge"
BODY = (
    "La empresa abrió su sede en 1998. Después creció sin pausa. En 2019 y en 2030 habrá "
    "cambios, dijo el Sr. Pérez.\n\n"
    "¡¿...?!\n\n"
    "Tres frases aquí. La segunda, sin año. La tercera habla de 2024, y de 15 millones."
)


def _reference(engine: Engine, text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Each sentence with the terms of its own words (the text analysed a sentence at a time)."""
    return tuple((text[s:e], frozenset(engine.es.terms(text[s:e]))) for s, e in sentences(text))


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> list[Engine]:
    made = write_knowledge(tmp_path_factory.mktemp("reading"), {"a.md": doc_text(body=BODY)})
    return [Engine.load(made), Engine.load(SAMPLE)]


def test_each_sentence_holds_the_terms_of_its_own_words(engines: list[Engine]) -> None:
    read = 0
    for engine in engines:
        for passage in engine.passages:
            assert engine._sentences_with_terms(passage.text) == _reference(engine, passage.text)
            read += 1
    assert read > 100


def test_a_passage_without_words_has_sentences_without_terms(engines: list[Engine]) -> None:
    engine = engines[0]
    assert engine._sentences_with_terms("¡¿...?!") == (("¡¿...?!", frozenset()),)
    assert engine._sentences_with_terms("") == ()


def test_each_term_knows_its_sentences_and_the_years_theirs(engines: list[Engine]) -> None:
    engine = engines[0]
    first = next(i for i, p in enumerate(engine.passages) if "1998" in p.text)
    where, years = engine.decider._where_uncached(first)
    # Sentences 0, 1, 2: "1998" in the first, "2019" and "2030" in the third.
    assert where["1998"] == 0b001 and where["2019"] == 0b100 == where["2030"]
    assert years == 0b101
    third = next(i for i, p in enumerate(engine.passages) if "2024" in p.text)
    where, years = engine.decider._where_uncached(third)
    assert years == 0b100 and "15" in where and where["15"] == 0b100  # "15": not a year
    for engine in engines:
        for passage in range(len(engine.passages)):
            where, years = engine.decider._where_uncached(passage)
            sets = engine._sentence_terms(passage)
            want = 0
            for n, terms in enumerate(sets):
                want |= (1 << n) if any(YEAR.match(t) for t in terms) else 0
                for t in terms:
                    assert where[t] >> n & 1
            assert years == want and set(where) == set().union(*sets)
