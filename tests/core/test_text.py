"""Spanish text analysis: folding keeps ñ, stopwords go, stems meet, sentences split right."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import Analyzer, fold, fold_slow, sentences, word_spans, words


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


# Characters that stress folding: ñ in every form, accents precomposed and decomposed, marks on
# their own or after other letters, Latin-1 punctuation, other scripts, whitespace of all kinds.
_FOLD_CHARS = st.sampled_from(
    [
        *"anNñÑoOáÁéüÜçßİıﬁ ¿?¡!«»—–“”’.,;:-_0123456789²½\t\n\u00a0\u2003\u3000",
        *("\u0303", "\u0301", "\u0308", "\u0327", "\u0307", "\u1100", "\u1161", "\u01d6", "ǅ"),
    ]
)
_FOLD_TEXT = st.lists(st.one_of(_FOLD_CHARS, st.characters()), max_size=40).map("".join)


def old_fold(text: str) -> str:
    """The per-character fold before the translate table (the oracle)."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    kept = []
    for i, ch in enumerate(decomposed):
        if unicodedata.category(ch) == "Mn":
            if ch == "\u0303" and i > 0 and decomposed[i - 1] == "n":
                kept.append(ch)
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


@given(_FOLD_TEXT)
def test_fold_equals_the_character_by_character_fold(text: str) -> None:
    assert fold(text) == old_fold(text) == fold_slow(text)


def test_fold_table_covers_every_latin_character() -> None:
    for c in [*range(0x250), *range(0x2000, 0x2070)]:
        assert fold(chr(c)) == old_fold(chr(c)), hex(c)


@given(_FOLD_TEXT)
def test_words_of_a_text_are_the_words_of_its_whitespace_chunks(text: str) -> None:
    # The bulk analysis relies on it: it folds each distinct whitespace chunk once.
    assert words(text) == [w for chunk in text.split() for w in words(chunk)]


@given(st.lists(st.one_of(_FOLD_TEXT, st.sampled_from(["El acuerdo, 2.000", "EE.UU. de la"]))))
def test_bulk_analysis_equals_analysing_each_text(texts: list[str]) -> None:
    es = Analyzer("spanish")
    bulk = es.analyze_all(texts)
    each = [es.terms(t) for t in texts]
    assert bulk.lengths.tolist() == [len(terms) for terms in each]
    assert [bulk.terms[i] for i in bulk.term_ids.tolist()] == [t for ts in each for t in ts]
    assert list(bulk.terms) == list(dict.fromkeys(t for ts in each for t in ts))
    content = [w for t in texts for w in words(t) if not es.is_stopword(w)]
    assert list(bulk.surface.items()) == [(w, es.stem(w)) for w in dict.fromkeys(content)]


@given(_FOLD_TEXT)
def test_terms_and_term_spans_equal_folding_every_word(text: str) -> None:
    es = Analyzer("spanish")
    content = [w for w in words(text) if not es.is_stopword(w)]
    assert es.terms(text) == [es.stem(w) for w in content]
    spans = [(s, e, es.stem(w)) for s, e, w in word_spans(text) if not es.is_stopword(w)]
    assert list(es.term_spans(text)) == spans
    assert es.terms(text) == es.terms(text)  # from the token cache the second time


@given(st.lists(st.one_of(_FOLD_TEXT, st.sampled_from(["El acuerdo, 2.000", "EE.UU. de la"]))))
def test_bulk_analysis_leaves_the_same_spans_and_terms(texts: list[str]) -> None:
    # analyze_all seeds the caches term_spans and stem read: nothing they return changes.
    es, fresh = Analyzer("spanish"), Analyzer("spanish")
    es.analyze_all(texts)
    for text in texts:
        assert es.term_spans(text) == fresh.term_spans(text)
        assert es.terms(text) == fresh.terms(text)
        assert [es.stem(w) for w in words(text)] == [fresh.stem(w) for w in words(text)]


def test_words_loaded_are_not_analysed_again_when_a_passage_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A passage read for the first time after loading (a quote, a decision) finds its
    # lowercase words known, and the stopwords: none is folded or stemmed again.
    es = Analyzer("spanish")
    texts = ["el acuerdo de exclusividad con openai", "la nube de microsoft y los modelos"]
    es.analyze_all(texts)
    monkeypatch.setattr("bot.core.text.fold", lambda word: pytest.fail(f"{word} folded again"))
    monkeypatch.setattr(es, "_stemmer", None)  # stemming again would raise
    assert [t for _s, _e, t in es.term_spans(texts[0])] == ["acuerd", "exclus", "openai"]
    assert es.stem("nube") == "nub"
