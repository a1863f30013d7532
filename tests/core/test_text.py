"""Spanish text analysis: folding keeps ñ, stopwords go, stems meet, sentences split right."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import Analyzer, fold, sentences, words


@pytest.fixture(scope="module")
def es() -> Analyzer:
    return Analyzer("spanish")


def split(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Año", "año"),
        ("Ángel", "angel"),
        ("ESPAÑA", "españa"),
        ("compañía", "compañia"),
        ("Pingüino", "pinguino"),
        ("Inversión ÉXITO", "inversion exito"),
    ],
)
def test_fold_strips_accents_but_keeps_enye(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_keeps_enye_distinct_from_n() -> None:
    assert fold("año") != fold("ano")
    assert fold("Año") == fold("AÑO") == fold("año")


def test_fold_keeps_a_decomposed_enye() -> None:
    assert fold("an\u0303o") == "año"


@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_stopwords_are_removed(es: Analyzer) -> None:
    assert es.terms("el de la que en y a los las por para con un una") == []
    assert es.terms("el acuerdo de la empresa") == [es.stem("acuerdo"), es.stem("empresa")]


def test_stemming_joins_a_noun_and_its_verb(es: Analyzer) -> None:
    assert es.terms("colaboración") == es.terms("colaboran")
    assert es.terms("Colaboración") == es.terms("colaboracion")  # accents do not matter


def test_stemming_does_not_merge_unrelated_words(es: Analyzer) -> None:
    assert es.terms("acuerdo") != es.terms("acceso")
    assert es.terms("año") != es.terms("ano")


@pytest.mark.parametrize("token", ["ROFR", "LLM", "API", "2030", "GPT"])
def test_numbers_and_acronyms_survive_as_terms(es: Analyzer, token: str) -> None:
    assert es.terms(f"el {token} de la empresa") == [fold(token), es.stem("empresa")]


def test_numbers_are_not_stemmed(es: Analyzer) -> None:
    assert es.terms("2019 2030 300") == ["2019", "2030", "300"]


def test_words_split_on_punctuation() -> None:
    assert words("¿Hasta cuándo? (ROFR), 'Stargate'") == ["hasta", "cuando", "rofr", "stargate"]


def test_sentences_split_at_full_stops() -> None:
    text = "Primera frase. ¿Segunda frase? ¡Tercera! «Cuarta» dijo él. Quinta."
    assert split(text) == [
        "Primera frase.",
        "¿Segunda frase?",
        "¡Tercera!",
        "«Cuarta» dijo él.",
        "Quinta.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "El Sr. García firmó el acuerdo ayer.",
        "La Sra. López y el Dr. Pérez llegaron tarde.",
        "La empresa de EE.UU. Microsoft mantiene los derechos.",
        "MADRID, 22 Ene. (Portaltic/EP) - Microsoft y OpenAI han adaptado el acuerdo.",
        "La cifra subió a 3.5 millones en 2024.",
    ],
)
def test_sentences_do_not_split_on_abbreviations(text: str) -> None:
    assert split(text) == [text]


def test_sentences_after_an_abbreviation_still_split() -> None:
    text = "El Sr. García habló con EE.UU. ayer. Luego se fue a casa."
    assert split(text) == ["El Sr. García habló con EE.UU. ayer.", "Luego se fue a casa."]


def test_sentence_spans_drop_the_spaces_between_sentences() -> None:
    text = "Una frase.   Otra frase.  "
    assert split(text) == ["Una frase.", "Otra frase."]
