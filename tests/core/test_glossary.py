"""The glossary: broken files are reported with their path; English entries reach Spanish text."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import doc_text, write_knowledge

from bot.core.answer import Engine
from bot.core.errors import KnowledgeError
from bot.core.glossary import load_glossary
from bot.core.text import Analyzer

WINERY_BODY = (
    "La bodega Rioja Alta ganó el concurso regional de vinos tintos este año.\n\n"
    "El jurado destacó la calidad de la cosecha y el trabajo de los viticultores."
)


@pytest.fixture(scope="module")
def analyzers() -> tuple[Analyzer, Analyzer]:
    return Analyzer("spanish"), Analyzer("english")


def test_bundled_glossary_loads(knowledge_dir: Path, analyzers) -> None:
    glossary = load_glossary(knowledge_dir / "glossary.yaml", *analyzers)
    assert glossary.size > 50
    _es, en = analyzers
    # "agreement" is looked up by its English stem and gives Spanish phrases.
    assert any("acuerdo" in phrase for phrase in glossary.english[(en.stem("agreement"),)])


def test_missing_glossary_is_empty(tmp_path: Path, analyzers) -> None:
    assert load_glossary(tmp_path / "glossary.yaml", *analyzers).size == 0


def test_a_folder_without_glossary_knows_how_people_ask(tmp_path: Path) -> None:
    # The question words are the language's, not the bundled article's: "dime" frames the
    # question and "estados" (a stopword of the list) is content, in any folder.
    text = "Los Estados Unidos tienen cincuenta estados federados.\n\n" + WINERY_BODY
    folder = write_knowledge(tmp_path, {"paises.md": doc_text("Países", text)})
    engine = Engine.load(folder)
    assert engine.glossary.size == 0
    surfaces = [g.surface for g in engine.analyze("Dime cuántos estados tienen los Estados Unidos")]
    assert "dime" not in surfaces and surfaces.count("estados") == 2
    answer = engine.ask("Dime cuántos estados tienen los Estados Unidos")
    assert answer.answered and "cincuenta estados" in answer.passages[0].text


def test_a_folder_glossary_adds_its_own_question_words(tmp_path: Path, analyzers) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text("framing:\n  es: [cotilleo]\n", encoding="utf-8")
    es, _en = analyzers
    glossary = load_glossary(path, *analyzers)
    assert {es.stem("cotilleo"), es.stem("significa")} <= glossary.framing_es


@pytest.mark.parametrize(
    "content",
    [
        "en:\n  winery: [bodega\n",  # unclosed flow list
        "en:\n  winery: bodega\n   bad: indent\n",  # bad indentation
        "- just\n- a list\n",  # not a mapping
        "en:\n  winery: [42, '']\n",  # not non-empty strings
        "en: [bodega]\n",  # a section that is not a mapping
    ],
)
def test_broken_glossary_is_reported_with_its_path(tmp_path: Path, analyzers, content: str) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_glossary(path, *analyzers)
    assert info.value.problems
    for problem in info.value.problems:
        assert re.match(rf"^{re.escape(str(path))}:\d+: ", problem), problem


def test_engine_load_reports_a_broken_glossary(
    tmp_path: Path, make_knowledge, make_doc: Callable[..., str]
) -> None:
    folder = make_knowledge(
        tmp_path, {"a.md": make_doc(body=WINERY_BODY), "glossary.yaml": "en: {winery: [bodega\n"}
    )
    with pytest.raises(KnowledgeError) as info:
        Engine.load(folder)
    assert any(p.startswith(f"{folder / 'glossary.yaml'}:") for p in info.value.problems)


def test_english_entry_makes_english_question_match_spanish_text(
    tmp_path: Path, make_knowledge, make_doc: Callable[..., str]
) -> None:
    doc = make_doc(title="Premios del vino", body=WINERY_BODY)
    plain = Engine.load(make_knowledge(tmp_path, {"a.md": doc}, name="plain"))
    with_glossary = Engine.load(
        make_knowledge(
            tmp_path, {"a.md": doc, "glossary.yaml": "en:\n  winery: [bodega]\n"}, name="glossed"
        )
    )
    question = "Which winery won?"
    assert not plain.ask(question, lang="en").answered, "without the entry nothing matches"
    answer = with_glossary.ask(question, lang="en")
    assert answer.answered
    assert answer.passages[0].text.startswith("La bodega Rioja Alta ganó")
    # The quote stays Spanish and the Spanish word is highlighted.
    first = answer.passages[0]
    assert "bodega" in [first.text[s:e] for s, e in first.highlights]


def test_a_key_defined_twice_is_reported_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text("en:\n  deal: [acuerdo]\n  deal: [pacto]\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_glossary(path, Analyzer("spanish"), Analyzer("english"))
    assert err.value.problems == (f"{path}:3: duplicate key 'deal' (first on line 2)",)


def test_a_typo_in_an_english_word_still_finds_its_translation(engine: Engine) -> None:
    answer = engine.ask("When does the agremeent end?", lang="en")
    assert answer.answered and "vigente hasta 2030" in answer.passages[0].text


def test_an_unknown_name_outweighs_shared_words(engine: Engine) -> None:
    assert not engine.ask("What did Google announce about AI?").answered
    assert engine.ask("What did Trump announce?").answered


def test_content_words_the_stopword_list_drops_are_kept(engine: Engine) -> None:
    assert not engine.ask("¿Qué tiempo hace en Madrid?").answered


def test_a_question_about_the_document_is_answered_from_its_front_matter(
    engine: Engine,
) -> None:
    answer = engine.ask("¿Quién publicó la noticia?")
    assert answer.answered
    assert answer.summary.endswith("lo publicó Portaltic/EP el 22/01/2025.")
    assert answer.passages[0].paragraph == 0
    assert answer.citations[0].source == "Portaltic/EP"


@pytest.mark.parametrize(
    ("question", "quote"),
    [
        # "split" in deal news is a share-out, not only a break-up.
        ("how is the revenue split", "reparto de ingresos"),
        # "work together" is one phrase (colaborar): "working" alone is not "ejecutar".
        ("when did they start working together", "colaboración en 2019"),
    ],
)
def test_an_english_phrase_finds_the_deal_sense_of_its_words(
    engine: Engine, question: str, quote: str
) -> None:
    answer = engine.ask(question, lang="en")
    assert answer.answered and quote in answer.passages[0].text


def test_a_sense_another_question_word_asks_for_is_not_counted_twice(engine: Engine) -> None:
    # "compute" may mean "capacidad", but "capacity" asks for it already: the passage with
    # "capacidades de computación" wins over the one that repeats "capacidad".
    answer = engine.ask("why did they set up new computing capacity in Azure?", lang="en")
    assert answer.answered
    assert "capacidades de computación en Azure" in answer.passages[0].text


def test_glossary_typos_follow_the_article_words_typo_rule(engine: Engine) -> None:
    # "expire" has six letters: two edits, as TypoMatcher allows for the article's own words.
    answer = engine.ask("When does the deal epxrie?", lang="en")
    assert answer.answered and "vigente hasta 2030" in answer.passages[0].text


def test_a_spanish_word_is_neither_read_as_english_nor_taken_for_a_glossary_typo(
    engine: Engine,
) -> None:
    # "fundó" is Spanish (the thesaurus knows "fundar"), not a typo of the English "fund"
    # (-> "fondo" -> "inversión" -> "inversor"): who founded OpenAI is not in the article.
    terms = {t for g in engine.analyzer.analyze("¿Quién fundó OpenAI?") for t in g.terms}
    assert "fondo" not in terms and "inversor" not in terms
    assert not engine.ask("¿Quién fundó OpenAI?").answered
    # An English word in a Spanish question still reads through the glossary.
    assert engine.ask("¿Cuándo termina el agreement?").answered


@pytest.mark.parametrize("verb", ["usa", "usan"])
def test_a_spanish_verb_snowball_leaves_whole_is_not_read_as_english(
    engine: Engine, verb: str
) -> None:
    # "usa" is "usar" in a Spanish question, not the USA (-> "Estados Unidos", which the
    # Stargate paragraph holds): which data centres OpenAI uses in Europe is not in the article.
    question = f"que centros de datos de azure {verb} openai en europa"
    terms = {t for g in engine.analyzer.analyze(question) for t in g.terms}
    assert "unid" not in terms and "estad" not in terms
    assert not engine.ask(question).answered
    # In an English question the glossary still reads it.
    english = {t for g in engine.analyzer.analyze("is stargate built in the usa?") for t in g.terms}
    assert "unid" in english


@pytest.mark.parametrize(
    "question", ["¿Quién es el consejero delegado de OpenAI?", "Who is the chief executive?"]
)
def test_a_glossary_phrase_is_not_stood_in_for_by_one_of_its_words(
    engine: Engine, question: str
) -> None:
    # "consejero delegado" -> "director ejecutivo", which the article does not hold; its word
    # "ejecutivo" alone stems as "se ejecuta en Azure" does. A phrase counts whole: the
    # question asks about someone the article never names, and is declined.
    groups = engine.analyzer.analyze(question)
    assert all(("ejecut",) not in g.units for g in groups), groups
    assert not engine.ask(question).answered


@pytest.mark.parametrize(
    ("question", "quote"),
    [("what does LLM stand for", "LLM, por sus siglas"), ("What does ROFR stand for?", "(ROFR)")],
)
def test_stand_for_frames_a_question_as_mean_does(
    engine: Engine, question: str, quote: str
) -> None:
    # "stand for" asks what an acronym means: no content of its own (with Apertium it became
    # "estand para", a typo of "estado", and the question was declined).
    assert all(g.surface != "stand" for g in engine.analyzer.analyze(question))
    answer = engine.ask(question, lang="en")
    assert answer.answered and quote in answer.passages[0].text


@pytest.mark.parametrize("written", ["EE.UU.", "EE. UU.", "EEUU", "Estados Unidos"])
def test_the_united_states_abbreviated_as_spanish_writes_it(engine: Engine, written: str) -> None:
    # "EE.UU." is two words to the analyser ("ee", "uu"): unknown names, the question
    # declined, until the glossary knew the pair.
    answer = engine.ask(f"¿Qué anunció el presidente de {written}?")
    assert answer.answered and "Doland Trump" in answer.passages[0].text
