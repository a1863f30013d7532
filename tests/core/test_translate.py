"""English questions through a translator process: fallback, restart, one log line, threads."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import assert_prepared_answers_alike

from bot.core import translate
from bot.core.analyze import TRANSLATION_WEIGHT, UNTRANSLATED_WEIGHT
from bot.core.answer import Engine
from bot.core.evaluate import load_cases
from bot.core.translate import ProcessTranslator, open_translation, spanish_words
from bot.settings import Settings

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"

# A stand-in for Apertium's null-flush pipeline: reads texts ending in "\0", answers each with
# its line of table.txt ("english=spanish") and "\n\0", and notes each in seen.txt. A file
# next to it changes its mood for every text but the warm-up "hello": "hang" (never answers),
# "die" (exits), "garbage" (answers in Apertium's internal stream format).
FAKE_TRANSLATOR = r"""
import os, sys, time
from pathlib import Path

here = Path(__file__).parent
table = {}
for line in (here / "table.txt").read_text(encoding="utf-8").splitlines():
    english, spanish = line.split("=", 1)
    table[english] = spanish
buf = b""
while True:
    chunk = os.read(0, 4096)
    if not chunk:
        break
    buf += chunk
    while b"\0" in buf:
        raw, buf = buf.split(b"\0", 1)
        text = raw.decode("utf-8").strip()
        with open(here / "seen.txt", "a", encoding="utf-8") as seen:
            seen.write(text + "\n")
        mood = "" if text == "hello" else next(
            (m for m in ("hang", "die", "garbage") if (here / m).exists()), ""
        )
        if mood == "hang":
            time.sleep(3600)
        if mood == "die":
            sys.exit(3)
        out = "^x<n>$" if mood == "garbage" else table.get(text, "*" + text)
        sys.stdout.buffer.write(out.encode("utf-8") + b"\n\0")
        sys.stdout.buffer.flush()
"""

QUESTION = "Until when will the deal be in force?"
TRANSLATED = "¿Hasta cuándo estará vigente el acuerdo?"
BODY = (
    "El acuerdo estará vigente hasta 2030, según las dos compañías.\n\n"
    "OpenAI podrá crear capacidad adicional para la investigación."
)


@pytest.fixture
def fake_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "fake"
    folder.mkdir()
    (folder / "translator.py").write_text(FAKE_TRANSLATOR, encoding="utf-8")
    (folder / "table.txt").write_text(f"hello=hola\n{QUESTION}={TRANSLATED}\n", encoding="utf-8")
    return folder


@pytest.fixture
def settings(fake_dir: Path) -> Settings:
    """Settings pointing TRANSLATOR_COMMAND at the fake, with a short per-question timeout."""
    command = f"{sys.executable} {fake_dir / 'translator.py'}"
    return Settings(_env_file=None, translator_command=command, translator_timeout=0.5)


@pytest.fixture
def translator(settings: Settings) -> Iterator[ProcessTranslator]:
    translation = settings.open_translation(warm=True)
    assert translation.translator is not None, translation.line()
    yield translation.translator
    translation.translator.close()


@pytest.fixture
def folder(tmp_path: Path, make_knowledge, make_doc) -> Path:
    """An article without a glossary: only translation makes the English question answerable."""
    return make_knowledge(tmp_path, {"a.md": make_doc(title="Acuerdo", body=BODY)})


@contextmanager
def fake_apertium(fake_dir: Path, translations: dict[str, str]) -> Iterator[ProcessTranslator]:
    """A fake translator process that answers `translations` (and the startup check's hello)."""
    table = "".join(f"{en}={es}\n" for en, es in {"hello": "hola", **translations}.items())
    (fake_dir / "table.txt").write_text(table, encoding="utf-8")
    translator = ProcessTranslator([sys.executable, str(fake_dir / "translator.py")], 2.0)
    try:
        yield translator
    finally:
        translator.close()


def test_without_translation_the_english_question_is_not_covered(folder: Path) -> None:
    answer = Engine.load(folder).ask(QUESTION, lang="en")
    assert not answer.answered


def test_translated_english_question_quotes_the_passage(
    folder: Path, translator: ProcessTranslator
) -> None:
    answer = Engine.load(folder, translator=translator).ask(QUESTION, lang="en")
    assert answer.answered
    assert "vigente hasta 2030" in answer.passages[0].text


@pytest.mark.parametrize("mood", ["hang", "die", "garbage"])
def test_a_failing_translator_falls_back_restarts_and_logs_once(
    mood: str,
    folder: Path,
    fake_dir: Path,
    translator: ProcessTranslator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine.load(folder, translator=translator)
    glossary_only = Engine.load(folder)
    first_pid = translator.pid
    (fake_dir / mood).touch()
    with caplog.at_level(logging.INFO, logger="bot.core.translate"):
        broken = [engine.ask(QUESTION, lang="en") for _ in range(2)]
        (fake_dir / mood).unlink()
        healed = engine.ask(QUESTION, lang="en")
    # While it fails, the user gets exactly the glossary-only answer, not an error.
    assert [a.to_dict() for a in broken] == [glossary_only.ask(QUESTION, lang="en").to_dict()] * 2
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "English translation failed" in warnings[0].getMessage()
    # Restarted: a new process answers and the translated question is answered again.
    assert translator.pid not in (None, first_pid)
    assert healed.answered and "vigente hasta 2030" in healed.passages[0].text
    assert any("recovered" in r.getMessage() for r in caplog.records)


def test_a_text_is_translated_once_and_a_failure_is_not_kept(
    fake_dir: Path, translator: ProcessTranslator
) -> None:
    # A question is translated for its words and again for its sentence vector: one request.
    (fake_dir / "die").touch()
    assert translator.translate([QUESTION]) is None
    (fake_dir / "die").unlink()
    assert translator.translate([QUESTION]) == [TRANSLATED]
    assert translator.translate([QUESTION, QUESTION]) == [TRANSLATED, TRANSLATED]
    seen = (fake_dir / "seen.txt").read_text(encoding="utf-8").splitlines()
    assert seen.count(QUESTION) == 2  # the failed request and the first that worked


def test_questions_from_many_threads_share_one_process(
    folder: Path, translator: ProcessTranslator
) -> None:
    engine = Engine.load(folder, translator=translator)
    pid = translator.pid
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: engine.ask(QUESTION, lang="en"), range(40)))
    assert all(a.answered and "vigente hasta 2030" in a.passages[0].text for a in answers)
    assert translator.pid == pid and translator.faults == 0


def test_translator_off_is_the_glossary_path(folder: Path, settings: Settings) -> None:
    translation = Settings(_env_file=None, translator="off").open_translation(warm=True)
    assert not translation.on
    assert translation.line() == "English translation: off, glossary only (TRANSLATOR=off)"
    answer = Engine.load(folder, translator=translation.translator).ask(QUESTION, lang="en")
    assert not answer.answered


def test_missing_apertium_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, knowledge_dir: Path, engine: Engine
) -> None:
    monkeypatch.setattr(translate, "MODES_DIRS", (tmp_path / "no-modes",))
    translation = open_translation("auto", warm=True)
    assert not translation.on
    assert "apt-get install apertium-en-es" in translation.line()
    # English works as before: every English eval question gets the glossary-only answer.
    without = Engine.load(knowledge_dir, translator=translation.translator)
    questions = [c.q for c in load_cases(EVAL_DIR / "english_questions.jsonl")]
    assert [without.ask(q, lang="en").to_dict() for q in questions] == [
        engine.ask(q, lang="en").to_dict() for q in questions
    ]
    answer = without.ask("Until when is the agreement valid?", lang="en")
    assert answer.answered and "vigente hasta 2030" in answer.passages[0].text


def test_a_translator_that_cannot_start_is_off_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-translator"
    translation = open_translation("auto", str(missing), warm=True)
    assert not translation.on
    assert str(missing) in translation.line()
    assert "apt-get install apertium-en-es" in translation.line()


def test_spanish_words_keep_unknown_words_as_typed() -> None:
    assert spanish_words("Qué hizo *Anthropic con @deal y #poseer?") == [
        "que",
        "hizo",
        "anthropic",
        "con",
        "deal",
        "y",
        "poseer",
    ]


class _LatestAsTardio:
    """Apertium's real translation of "latest" is "tardío", which no article uses."""

    def translate(self, texts: list[str]) -> list[str]:
        return ["Qué es el más tardío en el *Stargate proyecto?" for _ in texts]

    def close(self) -> None:
        pass


def test_a_recency_word_is_not_replaced_by_its_translation(tmp_path: Path) -> None:
    from dated_corpus import write_corpus  # tests/ is on the import path

    folder = write_corpus(tmp_path / "knowledge")
    question = "What is the latest on the Stargate project?"
    plain = Engine.load(folder).ask(question, lang="en")
    translated = Engine.load(folder, translator=_LatestAsTardio()).ask(question, lang="en")
    assert plain.answered and translated.answered
    assert translated.passages[0].text == plain.passages[0].text
    assert "Stargate" in translated.passages[0].text


def test_an_escaped_unknown_word_mark_is_a_translation_not_garbage(fake_dir: Path) -> None:
    # Apertium answers "subject" with "\@Subject": a mark, not its stream format.
    with fake_apertium(fake_dir, {"subject": "\\@Subject"}) as translator:
        assert translator.translate(["subject"]) == ["@Subject"]
        assert translator.faults == 0


def test_spanish_words_read_a_doubled_abbreviation_as_one_word() -> None:
    assert spanish_words("el presidente de EE.UU. anuncia") == [
        "el",
        "presidente",
        "de",
        "eeuu",
        "anuncia",
    ]


def test_english_words_a_spanish_text_quotes_give_way_to_the_translation(
    tmp_path: Path, fake_dir: Path, make_knowledge, make_doc
) -> None:
    # "first" and "man" are in the text only inside an English title; the question means the
    # Spanish passage, which only the translation finds.
    body = (
        "El libro 'The First Man' se publicó en Londres.\n\n"
        "La primera reacción nuclear fue hecha por el equipo de Fermi en Chicago."
    )
    folder = make_knowledge(tmp_path, {"a.md": make_doc(title="Física", body=body)})
    question = "Who made the first nuclear reaction?"
    spanish = "Quién hizo la primera reacción nuclear?"
    with fake_apertium(fake_dir, {question: spanish}) as translator:
        answer = Engine.load(folder, translator=translator).ask(question, lang="en")
    assert answer.answered
    assert "reacción nuclear" in answer.passages[0].text


def test_apertium_tells_the_language_of_bare_keywords(knowledge_dir: Path, fake_dir: Path) -> None:
    # No function word says "agreement end date" is English; Apertium knows all its words
    # (its real output below), and none of "acuerdo vigente" (it marks each with '*').
    table = {
        "agreement end date": "Cita de fin del acuerdo",
        "acuerdo vigente": "*acuerdo *vigente",
    }
    with fake_apertium(fake_dir, table) as translator:
        engine = Engine.load(knowledge_dir, translator=translator)
        english = engine.ask("agreement end date", lang="en")
        spanish = engine.ask("acuerdo vigente")
    assert english.answered and "vigente hasta 2030" in english.passages[0].text
    assert spanish.to_dict() == Engine.load(knowledge_dir).ask("acuerdo vigente").to_dict()


def test_a_word_nobody_knows_keeps_the_question_out_of_scope(
    tmp_path: Path, fake_dir: Path, make_knowledge, make_doc
) -> None:
    # "rare" is a Spanish stem too ("raro"): neither it nor its translation may stand in twice
    # for the question, whose subject ("citoquina") no passage mentions.
    body = (
        "Un fenómeno raro se observó en el laboratorio de Chicago.\n\n"
        "La primera reacción nuclear fue hecha por el equipo de Fermi."
    )
    folder = make_knowledge(tmp_path, {"a.md": make_doc(title="Física", body=body)})
    question = "What is a citoquina rare?"
    with fake_apertium(fake_dir, {question: "Qué es un *citoquina raro?"}) as translator:
        answer = Engine.load(folder, translator=translator).ask(question, lang="en")
    assert not answer.answered


def test_a_thesaurus_synonym_of_one_translated_word_does_not_keep_out_another(
    tmp_path: Path, fake_dir: Path, make_knowledge, make_doc
) -> None:
    # The thesaurus lists "generar" among the synonyms of both "producir" and "efecto": the
    # translation's "efecto magnético" still counts, so the passage that holds it is quoted.
    body = (
        "El giro puede producir moléculas de oxígeno en la fábrica.\n\n"
        "El efecto magnético del giro ordena las moléculas de oxígeno.\n\n"
        "La central genera electricidad para la ciudad."
    )
    folder = make_knowledge(tmp_path, {"a.md": make_doc(title="Física", body=body)})
    question = "The spin of what can produce a magnetic effect to the molecules of oxygen?"
    spanish = "El giro de qué puede producir un efecto magnético a las moléculas de oxígeno?"
    with fake_apertium(fake_dir, {question: spanish}) as translator:
        answer = Engine.load(folder, translator=translator).ask(question, lang="en")
    assert answer.answered
    assert "efecto magnético" in answer.passages[0].text


def test_a_hanging_translator_costs_a_keyword_query_one_timeout(
    folder: Path, fake_dir: Path, translator: ProcessTranslator
) -> None:
    # A bare keyword query asks the translator its language first: when that times out, the
    # question is answered from the glossary without waiting for a second timeout.
    engine = Engine.load(folder, translator=translator)
    expected = Engine.load(folder).ask("deal validity", lang="en").to_dict()
    (fake_dir / "hang").touch()
    answer = engine.ask("deal validity", lang="en")
    assert answer.to_dict() == expected
    assert translator.faults == 1


def test_keywords_that_are_all_words_of_the_knowledge_do_not_ask_the_translator(
    folder: Path, fake_dir: Path, translator: ProcessTranslator
) -> None:
    # "acuerdo vigente" is written as the article writes it: Spanish, whatever Apertium says.
    engine = Engine.load(folder, translator=translator)
    expected = Engine.load(folder).ask("acuerdo vigente").to_dict()
    (fake_dir / "hang").touch()  # a question sent to it would time out and count a fault
    assert engine.ask("acuerdo vigente").to_dict() == expected
    assert translator.faults == 0
    engine.ask("deal validity", lang="en")  # words the knowledge lacks: it is asked
    assert translator.faults == 1


def test_a_translated_word_is_not_corrected_to_an_english_glossary_entry(
    knowledge_dir: Path, fake_dir: Path
) -> None:
    # Apertium's "fundó" is Spanish spelled right, not a typo of the glossary's English "fund"
    # (-> "fondo" -> "inversión" -> "inversor"): who founded OpenAI is not in the article.
    question = "who founded openai"
    with fake_apertium(fake_dir, {question: "Quién fundó *openai"}) as translator:
        engine = Engine.load(knowledge_dir, translator=translator)
        answer = engine.ask(question, lang="en")
        terms = {t for g in engine.analyzer.analyze(question) for t in g.terms}
    assert not answer.answered
    assert "inversor" not in terms


LIGHT_BODY = (
    "Las plantas producen oxígeno en presencia de luz solar, mediante la fotosíntesis.\n\n"
    "El helio es un gas ligero que se usa para llenar globos de fiesta."
)
LIGHT_QUESTION = "What process produces oxygen in the presence of light?"
# Apertium's pick for "light" is the adjective ("ligero"); the article means "luz".
LIGHT_TRANSLATION = "Qué proceso produce oxígeno en presencia de ligero?"


class _Dictionary:
    """A translator with a fixed translation and a fixed dictionary of senses (None: the
    dictionary fails); it records the words it was asked."""

    def __init__(self, translation: str, senses: dict[str, tuple[str, ...]] | None) -> None:
        self.translation = translation
        self.known = senses
        self.asked: list[list[str]] = []

    def translate(self, texts: list[str]) -> list[str]:
        return [self.translation for _ in texts]

    def senses(self, words: list[str]) -> dict[str, tuple[str, ...]] | None:
        self.asked.append(list(words))
        if self.known is None:
            return None
        # As Apertium: a capitalized word is also the word ("Light"), a name needs its capital.
        known = self.known
        return {w: known.get(w, known.get(w.lower(), ())) for w in words}


@pytest.fixture
def light_folder(tmp_path: Path, make_knowledge, make_doc) -> Path:
    return make_knowledge(tmp_path, {"a.md": make_doc(title="Plantas", body=LIGHT_BODY)})


def test_the_other_senses_of_a_translated_word_find_the_passage(light_folder: Path) -> None:
    senses = {"light": ("luz", "ligero", "claro"), "process": ("proceso",)}
    dictionary = _Dictionary(LIGHT_TRANSLATION, senses)
    answer = Engine.load(light_folder, translator=dictionary).ask(LIGHT_QUESTION, lang="en")
    # "ligero" alone points at the helium passage; "light" also means "luz".
    assert answer.answered and "luz solar" in answer.passages[0].text
    # The dictionary is asked for the question's content words, not its function words.
    assert dictionary.asked and {"light", "process"} <= set(dictionary.asked[0])
    assert not {"what", "the", "in", "of"} & set(dictionary.asked[0])
    groups = Engine.load(light_folder, translator=dictionary).analyze(LIGHT_QUESTION)
    ligero = next(g for g in groups if g.surface == "ligero")
    assert ("luz",) in ligero.units and ("clar",) not in ligero.units  # the article has no "claro"
    assert ligero.unit_weights[ligero.units.index(("luz",))] < max(ligero.unit_weights)


def test_a_failing_dictionary_leaves_the_translation_as_it_is(light_folder: Path) -> None:
    class TranslationOnly:
        def translate(self, texts: list[str]) -> list[str]:
            return [LIGHT_TRANSLATION for _ in texts]

    failing = Engine.load(light_folder, translator=_Dictionary(LIGHT_TRANSLATION, None))
    plain = Engine.load(light_folder, translator=TranslationOnly())
    assert all(("luz",) not in g.units for g in failing.analyze(LIGHT_QUESTION))
    # No error, no lost answer: exactly what the translation alone answers.
    assert (
        failing.ask(LIGHT_QUESTION, lang="en").to_dict()
        == plain.ask(LIGHT_QUESTION, lang="en").to_dict()
    )


def test_a_dictionary_that_cannot_start_gives_no_senses(fake_dir: Path, tmp_path: Path) -> None:
    missing = [str(tmp_path / "no-such-lt-proc")]
    translator = translate.ApertiumTranslator(
        [sys.executable, str(fake_dir / "translator.py")], 2.0, missing, missing
    )
    try:
        assert translator.senses(["light"]) is None
        # The translation itself still works.
        assert translator.translate([QUESTION]) == [TRANSLATED]
    finally:
        translator.close()


@pytest.mark.parametrize("mood", ["hang", "die"])
def test_a_failing_dictionary_costs_the_question_nothing_but_its_senses(
    mood: str, folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A dictionary process that hangs or dies: the translated answer stands, within its
    time budget, and the log says once what failed and what the engine does meanwhile."""
    pipeline = tmp_path / "pipeline"
    dictionary = tmp_path / "dictionary"
    # The dictionary stand-in answers in Apertium's stream format ("until" is a preposition).
    lookups = "until=^until/until<pr>$\n^until<pr>$=^until<pr>/hasta<pr>$"
    for place, table in ((pipeline, f"{QUESTION}={TRANSLATED}"), (dictionary, lookups)):
        place.mkdir()
        (place / "translator.py").write_text(FAKE_TRANSLATOR, encoding="utf-8")
        (place / "table.txt").write_text(f"hello=hola\n{table}\n", encoding="utf-8")
    (dictionary / mood).touch()
    lookup = [sys.executable, str(dictionary / "translator.py")]
    translator = translate.ApertiumTranslator(
        [sys.executable, str(pipeline / "translator.py")], 0.8, lookup, lookup
    )
    try:
        translator.warm_up()
        engine = Engine.load(folder, translator=translator)
        with caplog.at_level(logging.INFO, logger="bot.core.translate"):
            started = time.monotonic()
            answer = engine.ask(QUESTION, lang="en")
            waited = time.monotonic() - started
        assert answer.answered and "vigente hasta 2030" in answer.passages[0].text
        assert waited < 0.8 * 1.5 + 1.0  # the lookups' budget, and slack for a slow machine
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "dictionary lookup failed" in warnings[0], warnings
        assert "translations keep the one sense" in warnings[0] and "dictionary" in warnings[0]
        (dictionary / mood).unlink()
        with caplog.at_level(logging.INFO, logger="bot.core.translate"):
            engine.ask("Until when will the agreement be in force?", lang="en")  # not cached
        assert any("dictionary lookup recovered" in r.getMessage() for r in caplog.records)
    finally:
        translator.close()


@pytest.fixture
def dictionary_engine(tmp_path: Path, make_knowledge, make_doc):
    """Build an engine over one article (`body`) whose translator always answers
    `translation` and knows the given senses."""

    def build(body: str, translation: str, senses: dict[str, tuple[str, ...]]) -> Engine:
        folder = make_knowledge(tmp_path, {"a.md": make_doc(title="Artículo", body=body)})
        return Engine.load(folder, translator=_Dictionary(translation, senses))

    return build


def test_a_sense_stands_in_fully_for_a_translation_the_article_lacks(dictionary_engine) -> None:
    engine = dictionary_engine(
        "El precio del petróleo se cuadruplicó durante el embargo de 1973.\n\n"
        "El precio de los cuadros al óleo subió en las subastas de París.",
        "Qué pasó con el precio del crudo?",  # "crudo": a sense the article never uses
        {"oil": ("crudo", "aceite", "petróleo"), "price": ("precio",)},
    )
    question = "What happened to the price of oil?"
    crudo = next(g for g in engine.analyze(question) if g.surface == "crudo")
    # The article has "petróleo", not "crudo": the dictionary's sense weighs as the word.
    assert crudo.unit_weights[crudo.units.index(("petrole",))] == TRANSLATION_WEIGHT
    answer = engine.ask(question, lang="en")
    assert answer.answered and "petróleo" in answer.passages[0].text


def test_the_translations_of_the_replaced_words_are_kept_first(dictionary_engine) -> None:
    engine = dictionary_engine(
        "Priestley utilizó óxido de mercurio en sus experimentos sobre el oxígeno.\n\n"
        "Una sustancia química puede reaccionar con el agua.",
        # Two words for "chemical": one for one, they would leave "oxígeno" out.
        "Qué sustancia química utilizó Priestley en sus experimentos encima oxígeno?",
        {
            "chemical": ("químico", "sustancia química"),
            "used": ("utilizar",),
            "experiments": ("experimento",),
            "oxygen": ("oxígeno",),
        },
    )
    question = "What chemical used Priestley in his experiments on oxygen?"
    surfaces = [g.surface for g in engine.analyze(question)]
    assert "oxigeno" in surfaces and "experimentos" in surfaces
    assert len(surfaces) == 5  # priestley + one word for each of the four English words
    answer = engine.ask(question, lang="en")
    assert answer.answered and "óxido de mercurio" in answer.passages[0].text


def test_a_name_and_its_translation_count_as_one_word(dictionary_engine) -> None:
    engine = dictionary_engine(
        "París es la capital de Francia desde hace siglos.\n\n"
        "La aerolínea Air France vuela a Madrid cada día.",  # "France" as written, by accident
        "Qué es la capital de Francia?",
        {"France": ("Francia",), "capital": ("capital",)},
    )
    question = "What is the capital of France?"
    groups = engine.analyze(question)
    france = next(g for g in groups if g.surface == "france")
    # One word with two forms, not two words the passage must both hold.
    assert any("franci" in u for u in france.units) and "francia" not in [g.surface for g in groups]
    answer = engine.ask(question, lang="en")
    assert answer.answered and "capital de Francia" in answer.passages[0].text


def test_a_names_translation_does_not_take_the_place_of_another_word(dictionary_engine) -> None:
    engine = dictionary_engine(
        "La guerra de los Siete Años llegó a su fin en 1763.\n\n"
        "El War Memorial de la ciudad recuerda a los caídos.",  # "War" as written, by accident
        "Cuando hizo el fin de Guerra coreano?",
        {"War": ("guerra",), "Korean": ("coreano",), "end": ("fin", "terminar")},
    )
    question = "When did the Korean War end?"
    surfaces = [g.surface for g in engine.analyze(question)]
    # "guerra" is the name's other form; "Korean" stays as typed, a name the article lacks in
    # every translation ("coreano" included): the question is about a war it does not cover.
    assert "korean" in surfaces and "guerra" not in surfaces and "coreano" not in surfaces
    answer = engine.ask(question, lang="en")
    assert not answer.answered


def test_a_name_translated_into_words_the_article_lacks_stays_the_name(dictionary_engine) -> None:
    engine = dictionary_engine(
        "Microsoft y OpenAI han firmado un nuevo acuerdo de colaboración.\n\n"
        "El acuerdo entre las dos compañías estará vigente hasta 2030.",
        "Hace la manzana tiene un acuerdo con OpenAI?",
        {"Apple": ("manzana",), "deal": ("acuerdo", "trato")},
    )
    question = "Does Apple have a deal with OpenAI?"
    groups = engine.analyze(question)
    # Not "manzana", an unknown word standing for nothing the question asks: the name it is
    # about, which the article never mentions.
    apple = next(g for g in groups if g.surface == "apple")
    assert apple.name and not apple.known
    assert "manzana" not in [g.surface for g in groups]
    assert not engine.ask(question, lang="en").answered


def test_a_kept_names_unknown_translation_is_not_asked_again(dictionary_engine) -> None:
    engine = dictionary_engine(
        "La peste llegó a París en 1348 y mató a miles de personas.\n\n"
        "En Londres la plaga se extendió por los barrios del río.",
        "Cuántos parisienses murieron de la plaga?",
        {"Parisians": ("parisiense",), "plague": ("plaga", "peste"), "died": ("morir",)},
    )
    question = "How many Parisians died of the plague?"
    surfaces = [g.surface for g in engine.analyze(question)]
    # The name stays as typed (its translation is unknown too); "parisienses" is that name
    # again, not a second word the article lacks, which would weigh the name twice.
    assert "parisians" in surfaces and "parisienses" not in surfaces
    assert "plaga" in surfaces and "murieron" in surfaces


def test_a_name_apertium_translates_as_a_name_is_read_through_it(dictionary_engine) -> None:
    engine = dictionary_engine(
        "El presidente de EE.UU. anunció un proyecto llamado Stargate.\n\n"
        "Las dos compañías han actualizado el acuerdo de colaboración.",
        "Qué el presidente de EE.UU. anuncia?",
        {"US": ("EE.UU.", "nosotros"), "president": ("presidente",), "announce": ("anunciar",)},
    )
    question = "What did the US president announce?"
    # The translation reads "US" as the country ("EE.UU.", which the article holds), not as
    # the pronoun: the name is read through it, not kept as an unknown word.
    assert all(g.surface != "us" for g in engine.analyze(question))
    answer = engine.ask(question, lang="en")
    assert answer.answered and "EE.UU." in answer.passages[0].text


def test_an_english_word_stays_only_where_the_article_has_it_as_written(dictionary_engine) -> None:
    engine = dictionary_engine(
        "En 1971 Estados Unidos abandonó el sistema de Bretton Woods.\n\n"
        "El Domain Name System traduce nombres; el crédito barato impulsó la economía.",
        "Cuando dejó EE.UU. el sistema de Bretton Woods, y quién está abonado con él?",
        {"system": ("sistema",), "left": ("dejar", "izquierda"), "credited": ("abonar",)},
    )
    question = "When the US left the Bretton Woods system, and who is credited with it?"
    surfaces = [g.surface for g in engine.analyze(question)]
    # "system" is in the article as written, but its translation "sistema" is asked already;
    # "credited" only shares a stem with "crédito": neither is asked as an English word.
    assert "sistema" in surfaces and "system" not in surfaces
    assert "credited" not in surfaces


def test_an_english_word_nobody_knows_weighs_less_than_a_spanish_one(
    dictionary_engine,
) -> None:
    engine = dictionary_engine(
        "Voltaire llamó a Canadá unas pocas hectáreas de nieve.\n\n"
        "El tratado de París cedió Canadá a Gran Bretaña en 1763.",
        "Qué Voltaire *famously llama Canadá?",  # Apertium does not know "famously"
        {"call": ("llamar",), "Canada": ("Canadá",)},
    )
    groups = {g.surface: g for g in engine.analyze("What did Voltaire famously call Canada?")}
    # It weighs half a Spanish word the article lacks: the article may say it in Spanish.
    unknown = next(g for g in engine.analyze("¿Qué zorblat llamó Voltaire?") if not g.known)
    assert groups["famously"].weight == pytest.approx(unknown.weight * UNTRANSLATED_WEIGHT)
    answer = engine.ask("What did Voltaire famously call Canada?", lang="en")
    assert answer.answered and "hectáreas de nieve" in answer.passages[0].text


def test_a_prepared_batch_asks_each_process_once_and_answers_the_same(
    knowledge_dir: Path, tmp_path: Path, round_trips: list[tuple[str, int]]
) -> None:
    """A batch prepared before it is asked (`ask -`, `eval`): the pipeline and both dictionary
    processes are asked once for everything the batch needs, the questions then ask nothing,
    and every answer is the one the question gets alone. English sentences, English and
    Spanish keywords, Spanish questions with and without typos."""
    cases = load_cases(EVAL_DIR / "english_questions.jsonl") + load_cases(
        EVAL_DIR / "questions.jsonl"
    )
    keywords = ["agreement end date", "acuerdo vigente", "acuerdo vigennte", "stargate cost"]
    cases += [replace(cases[0], q=q) for q in keywords]
    pipeline = f"{QUESTION}={TRANSLATED}\nagreement end date=Cita de fin del acuerdo"
    lookups = "until=^until/until<pr>$\n^until<pr>$=^until<pr>/hasta<pr>$"
    translators = []
    for name in ("plain", "prepared"):
        places = []
        for part, table in (("pipeline", pipeline), ("dictionary", lookups)):
            place = tmp_path / name / part
            place.mkdir(parents=True)
            (place / "translator.py").write_text(FAKE_TRANSLATOR, encoding="utf-8")
            (place / "table.txt").write_text(f"hello=hola\n{table}\n", encoding="utf-8")
            places.append([sys.executable, str(place / "translator.py")])
        translators.append(translate.ApertiumTranslator(places[0], 5.0, places[1], places[1]))
    try:
        for translator in translators:
            translator.warm_up()
        plain, prepared = (Engine.load(knowledge_dir, translator=t) for t in translators)
        assert_prepared_answers_alike(plain, prepared, cases, round_trips)
    finally:
        for translator in translators:
            translator.close()


def test_start_launches_every_process_without_waiting(fake_dir: Path, tmp_path: Path) -> None:
    """A stream starts the translator before it loads the knowledge: the processes run (and
    load) while nothing was asked; the first question then uses them, not new ones."""
    command = [sys.executable, str(fake_dir / "translator.py")]
    translator = translate.ApertiumTranslator(command, 5.0, command, command)
    try:
        assert translator.pid is None
        translator.start()
        pids = [p.pid for p in (translator, translator._analyser, translator._bilingual)]
        assert None not in pids and len(set(pids)) == 3
        assert translator.translate([QUESTION]) == [TRANSLATED]
        assert translator._analyser.warm_up() and translator._bilingual.warm_up()
        assert [p.pid for p in (translator, translator._analyser, translator._bilingual)] == pids
        seen = (fake_dir / "seen.txt").read_text(encoding="utf-8").splitlines()
        assert seen.count(QUESTION) == 1
    finally:
        translator.close()


def translate_in_child(translator: ProcessTranslator) -> tuple[list[str] | str | None, int]:
    """Fork; in the child, translate QUESTION; return what it got and its translator's pid."""
    import json
    import os

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which reports through the pipe
        try:
            found = [translator.translate([QUESTION]), translator.pid]
        except BaseException as exc:  # anything: reported to the test
            found = [repr(exc), None]
        os.write(write_end, json.dumps(found).encode())
        os._exit(0)
    os.close(write_end)
    with open(read_end, "rb") as pipe:
        translated, pid = json.loads(pipe.read())
    os.waitpid(child, 0)
    return translated, pid


def test_a_forked_child_runs_a_translator_of_its_own(translator: ProcessTranslator) -> None:
    """A worker forked from the stream (`ask -`) must not talk to its parent's process: two
    readers of one pipe would take each other's answers."""
    parent_pid = translator.pid
    translated, child_pid = translate_in_child(translator)
    assert translated == [TRANSLATED]
    assert child_pid is not None and child_pid != parent_pid
    # The parent's process is still its own, and still answers.
    assert translator.translate([QUESTION]) == [TRANSLATED]
    assert translator.pid == parent_pid


def test_processes_started_for_workers_are_handed_to_the_next_forks(fake_dir: Path) -> None:
    """`ask -` starts a translator for each worker while the knowledge loads: the workers
    forked next take them instead of each starting (and loading) one of their own."""
    with fake_apertium(fake_dir, {QUESTION: TRANSLATED}) as translator:
        translator.start(processes=2)
        first = translator.pid
        results = [translate_in_child(translator) for _ in range(3)]
        assert [translated for translated, _ in results] == [[TRANSLATED]] * 3
        pids = [pid for _, pid in results]
        assert pids[0] == first  # the first worker took the parent's own
        assert None not in pids and len(set(pids)) == 3
        seen = (fake_dir / "seen.txt").read_text(encoding="utf-8").splitlines()
        assert seen.count("hello") == 3  # two started for the workers, the third's own
        # The parent gave its process away; it starts another when it needs one.
        assert translator.translate([QUESTION]) == [TRANSLATED]
        assert translator.pid not in (None, *pids)
