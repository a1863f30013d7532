"""The answer-or-decline decision: hand-made cases, the model file, the threshold, regressions."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from conftest import EVAL_DIR, TEST_DATA, assert_floors, doc_text, write_knowledge

from bot.core.analyze import QueryGroup
from bot.core.answer import Engine
from bot.core.decide import (
    ASKS_MONEY,
    FEATURE_NAMES,
    HOLDS_MONEY,
    MODEL_PATH,
    RERANK_NAMES,
    asks_money,
    load_model,
    score_spread,
)
from bot.core.errors import CoreError
from bot.core.evaluate import evaluate, load_cases
from bot.core.rank import Ranked, rank

SQUAD_SAMPLE = TEST_DATA / "squad-es-sample"

PORT = [
    "El puerto de la ciudad recibe cada año miles de barcos mercantes de todo el mundo.",
    "La ingeniera Zarquon Baltasar diseñó en 1987 el nuevo muelle de contenedores del puerto.",
    "Las grúas del muelle descargan grano, acero y automóviles durante todo el día.",
    "El ayuntamiento cobra una tasa portuaria a cada barco que atraca en la ciudad.",
]
RIVER = [
    "El río atraviesa la llanura y desemboca en el mar tras recorrer trescientos kilómetros.",
    "Los pescadores del río capturan truchas y carpas en primavera.",
    "Una presa construida en el siglo pasado regula el caudal del río en verano.",
    "Las inundaciones del río obligaron a evacuar varios pueblos en invierno.",
]
MARKET = [
    "El mercado central abre los sábados y vende frutas, verduras y pescado fresco.",
    "Los comerciantes del mercado pagan un alquiler mensual al ayuntamiento.",
    "El edificio del mercado fue restaurado por un arquitecto local.",
    "En el mercado también se celebran conciertos durante las fiestas de la ciudad.",
]


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """Three unrelated short articles (port, river, market) sharing a few everyday words."""
    folder = write_knowledge(
        tmp_path_factory.mktemp("town"),
        {
            "puerto.md": doc_text("El puerto", "\n\n".join(PORT)),
            "rio.md": doc_text("El río", "\n\n".join(RIVER)),
            "mercado.md": doc_text("El mercado", "\n\n".join(MARKET)),
        },
    )
    return Engine.load(folder)


@pytest.mark.parametrize(
    "question",
    [
        "¿Qué arquitecto restauró la presa de las truchas en primavera?",
        "¿Cuántos pescadores pagan alquiler por las grúas en invierno?",
        "¿Qué concierto celebran los pescadores en la presa?",
    ],
)
def test_words_scattered_across_unrelated_passages_are_declined(
    town: Engine, question: str
) -> None:
    # Every content word is in the knowledge, but no passage holds the question together.
    answer = town.ask(question)
    assert not answer.answered, answer.passages
    assert answer.passages == ()
    assert answer.confidence < town.decider.threshold


def test_a_paraphrase_sharing_one_rare_name_is_answered(town: Engine) -> None:
    # "proyectó" is not in the text ("diseñó" is: the thesaurus links them); "Zarquon" is.
    answer = town.ask("¿Qué proyectó Zarquon en el puerto?")
    assert answer.answered
    assert answer.passages[0].text == PORT[1]


def test_a_question_in_the_text_is_answered_confidently(town: Engine) -> None:
    answer = town.ask("¿Quién diseñó el nuevo muelle de contenedores del puerto?")
    assert answer.answered and answer.passages[0].text == PORT[1]
    assert answer.confidence > 0.9


def test_words_together_in_one_sentence_answer_more_surely_than_spread_over_sentences(
    tmp_path: Path,
) -> None:
    # The same passage words, once in one sentence and once one per sentence.
    together = "El faro de Kessaria guía a los pescadores de atún durante la niebla del invierno."
    spread = (
        "El faro de Kessaria se encendió hace siglos. Los pescadores salen cada mañana. "
        "El atún abunda en la costa. La niebla del invierno es espesa."
    )
    question = "¿Qué guía a los pescadores de atún de Kessaria en la niebla del invierno?"
    confidence = {}
    for name, text in (("together", together), ("spread", spread)):
        folder = write_knowledge(
            tmp_path / name, {"faro.md": doc_text("El faro", "\n\n".join([text, *MARKET]))}
        )
        engine = Engine.load(folder)
        groups = engine.analyze(question)
        decision = engine.decide(groups, rank(engine.index, groups))
        assert decision.features is not None
        confidence[name] = (decision.confidence, decision.features.sentence_coverage)
    assert confidence["together"][1] > 0.9 > 0.5 > confidence["spread"][1]
    assert confidence["together"][0] > confidence["spread"][0]


def test_a_name_is_not_repaired_into_short_common_words(tmp_path: Path) -> None:
    # "Beroida" stems to "ber": one edit from "bar", "bel" and "beb" of the text. A typo repair
    # of a three-letter stem is noise; the name is unknown and the question is declined.
    text = "El bar de la plaza sirve café. La bel époque llenó el bar. Beb, el dueño, cocina."
    folder = write_knowledge(tmp_path, {"plaza.md": doc_text("La plaza", text)})
    engine = Engine.load(folder)
    (group,) = [g for g in engine.analyze("¿Se sabe a Beroida por qué otro nombre?") if g.name]
    assert not group.known and group.units == ()
    assert not engine.ask("¿Se sabe a Beroida por qué otro nombre?").answered


def test_a_word_known_only_through_a_typo_repair_counts_less(town: Engine) -> None:
    # "Zarqon" is repaired to "Zarquon" (one edit): the passage is found, less surely than
    # with the name as written.
    sure, repaired = (
        town.decider.features(g, rank(town.index, g))
        for g in (
            town.analyze("¿Qué diseñó Zarquon en el puerto?"),
            town.analyze("¿Qué diseñó Zarqon en el puerto?"),
        )
    )
    assert sure.corrected == 0.0 < repaired.corrected
    assert town.ask("¿Qué diseñó Zarqon en el puerto?").passages[0].text == PORT[1]
    confident = [town.ask(q).confidence for q in ("¿Qué diseñó Zarquon?", "¿Qué diseñó Zarqon?")]
    assert confident[0] > confident[1]


def test_a_passage_holds_a_group_by_its_heaviest_unit_it_holds(town: Engine) -> None:
    # "grúas del muelle": a phrase counts only with all its words; 0 weights never count.
    passage = next(i for i, p in enumerate(town.passages) if "grúas" in p.text)
    terms = town.es.terms
    grua, muelle, rio = terms("grúas")[0], terms("muelle")[0], terms("río")[0]
    group = QueryGroup(
        "x",
        ((rio,), (grua,), (grua, rio), (grua, muelle), (muelle,)),
        (1.0, 0.1, 0.9, 0.6, 0.0),
        1.0,
        known=True,
    )
    assert town.decider._strength(group, passage) == 0.6  # río absent; grúas+muelle beats grúas
    alone = QueryGroup("y", ((muelle,), (rio,)), (0.0, 0.8), 1.0, known=True)
    assert town.decider._strength(alone, passage) == 0.0


def test_a_question_asking_how_many_needs_a_number_in_the_passage(tmp_path: Path) -> None:
    # The same question of a passage with a number ("miles") and of one without.
    question = "¿Cuántos barcos mercantes recibe el puerto de la ciudad?"
    sure = {}
    for name, text in (
        ("number", PORT[0]),
        ("none", "El puerto de la ciudad recibe barcos mercantes de todo el mundo."),
    ):
        folder = write_knowledge(
            tmp_path / name, {"puerto.md": doc_text("El puerto", "\n\n".join([text, *MARKET]))}
        )
        engine = Engine.load(folder)
        groups = engine.analyze(question)
        assert "cuantos" not in {g.surface for g in groups}  # an interrogative is no content
        decision = engine.decide(groups, rank(engine.index, groups), question)
        assert decision.features is not None
        sure[name] = (decision.features.no_number, decision.confidence)
        # Asked without "how many", the passage without a number is as good as the other.
        plain = engine.decide(groups, rank(engine.index, groups), "¿Qué barcos recibe?")
        assert plain.features is not None and plain.features.no_number == 0.0
    assert sure["number"][0] == 0.0 < sure["none"][0]
    assert sure["number"][1] > sure["none"][1]


def test_a_passage_is_read_for_a_number_once_however_often_it_is_asked(tmp_path: Path) -> None:
    # Whether a passage holds a number is asked of the same first candidates question after
    # question: its text is searched once, and the answer is the same the second time.
    folder = write_knowledge(
        tmp_path / "k", {"puerto.md": doc_text("El puerto", "\n\n".join([PORT[0], *MARKET]))}
    )
    engine = Engine.load(folder)
    decider = engine.decider
    read: list[int] = []
    text_of = decider.passage_text

    def spy(passage: int) -> str:
        read.append(passage)
        return text_of(passage)

    decider.passage_text = spy
    question = "¿Cuántos barcos mercantes recibe el puerto de la ciudad?"
    groups = engine.analyze(question)
    first = engine.decide(groups, rank(engine.index, groups), question)
    assert read, "the number check reads the best passage"
    asked = len(read)
    again = engine.decide(groups, rank(engine.index, groups), question)
    assert len(read) == asked and again == first


def port_engines(tmp_path: Path, **texts: str) -> dict[str, Engine]:
    """Return an engine per named text: a port document opening with it, then the market."""
    return {
        name: Engine.load(
            write_knowledge(
                tmp_path / name,
                {"puerto.md": doc_text("El puerto", "\n\n".join([text, *MARKET]))},
            )
        )
        for name, text in texts.items()
    }


def test_a_question_asking_how_much_is_declined_when_the_passage_gives_no_amount(
    tmp_path: Path,
) -> None:
    # The passage matches every word but gives only a year: it does not say how much.
    question = "¿Cuánto dinero invirtió el ayuntamiento en el puerto de Kessaria?"
    engines = port_engines(
        tmp_path,
        year="El ayuntamiento invirtió dinero en el puerto de Kessaria en 2019.",
        amount="El ayuntamiento invirtió 40 millones en el puerto de Kessaria en 2019.",
    )
    answered = engines["amount"].ask(question)
    assert answered.answered and "40 millones" in answered.passages[0].text
    declined = engines["year"].ask(question)
    assert not declined.answered and declined.confidence == 0.0
    assert declined.candidates[0].text.startswith("El ayuntamiento invirtió dinero")
    # The reply says the figure is missing, not that the topic is.
    assert declined.summary.startswith("El artículo no da esa cifra: «El puerto»")
    english = engines["year"].ask(question, lang="en").summary
    assert english.startswith("The article does not give that figure")
    assert "no da esa cifra" not in engines["year"].ask("¿Qué dice del tiempo en Madrid?").summary
    year = engines["year"]
    ranked = rank(year.index, year.analyze(question))
    decision = year.decide(year.analyze(question), ranked, question)
    assert "how much" in decision.reason
    assert (
        year.decider.amount_at("How much money did the council invest in the port?", ranked) is None
    )
    # Asked what, not how much, the passage with the year answers.
    assert year.ask("¿En qué invirtió dinero el ayuntamiento de Kessaria?").answered
    # A duration is answered by a date: "en 2019" says how long ago.
    for asked in ("¿Cuántos años hace que invirtió?", "How many years ago did it invest?"):
        assert year.decider.amount_at(asked, ranked) is not None


def test_a_question_asking_how_much_money_needs_a_sum_not_a_count(tmp_path: Path) -> None:
    # "Las dos compañías" is a number but no sum: it does not say how much was invested.
    engines = port_engines(
        tmp_path,
        count="Las dos compañías de Kessaria invirtieron en el puerto durante la década.",
        sum="Las dos compañías de Kessaria invirtieron 40 millones de euros en el puerto.",
    )
    count = engines["count"]
    for question, lang in (
        ("¿Cuánto dinero invirtieron las compañías de Kessaria en el puerto?", "es"),
        ("¿Cuánto han invertido las compañías de Kessaria en el puerto?", "es"),
        ("How much did the Kessaria companies invest in the port?", "en"),
    ):
        declined = count.ask(question, lang=lang)
        assert not declined.answered, question
        assert declined.candidates[0].text.startswith("Las dos compañías de Kessaria")
        groups = count.analyze(question)
        decision = count.decide(groups, rank(count.index, groups), question)
        assert "how much money" in decision.reason
        answered = engines["sum"].ask(question, lang=lang)
        assert answered.answered and "40 millones de euros" in answered.passages[0].text
    # A count asked for is still answered by the count.
    asked = count.ask("¿Cuántas compañías de Kessaria invirtieron en el puerto?")
    assert asked.answered and asked.passages[0].text.startswith("Las dos compañías")


def test_the_amount_is_taken_only_from_a_passage_worth_quoting(tmp_path: Path) -> None:
    # "Las dos compañías" shares one word with the question: its "dos" is not the answer.
    engines = port_engines(
        tmp_path,
        port="El consorcio Kessaria Puertos, formado por Navalia, Portus y Marítima, gestiona "
        "los muelles del puerto desde la ampliación.\n\nLas dos compañías firmaron ayer.",
    )
    engine = engines["port"]
    question = "¿Cuántas empresas forman el consorcio Kessaria Puertos?"
    answer = engine.ask(question)
    assert not answer.answered
    assert answer.candidates[0].text.startswith("El consorcio Kessaria Puertos")
    assert answer.summary.startswith("El artículo no da esa cifra")
    # A "how many" question about what the article does not touch is simply not covered.
    elsewhere = engine.ask("¿Cuántos habitantes tiene la ciudad de Lisboa?")
    assert not elsewhere.answered and elsewhere.confidence == 0.0
    assert elsewhere.summary.startswith("El artículo no trata eso")


@pytest.mark.parametrize(
    ("question", "money"),
    [
        ("¿Cuánto pagó Microsoft por su parte?", True),
        ("¿Cuál es el precio de ChatGPT Plus?", True),
        ("How much did the deal cost?", True),
        # A coast is no cost, copper no charge, and time no money.
        ("¿Cuánto tiempo lleva la costa del Rin en el mismo lugar?", False),
        ("¿Cuánto cobre produce Chile?", False),
        ("¿Cuánto tiempo duró la inversión?", False),
        ("¿Cuántos partidos ganó el equipo?", False),
    ],
)
def test_which_questions_ask_for_a_sum_of_money(question: str, money: bool) -> None:
    assert (ASKS_MONEY.search(question) is not None) is money


@pytest.mark.parametrize(
    ("question", "money"),
    [
        ("azure openai service price per token", True),  # a keyword query naming a price
        ("sueldo director ejecutivo openai", True),
        ("¿Cuál es el precio de ChatGPT Plus?", True),  # ASKS_MONEY's own
        # A question word or mark: the price is named, not asked.
        ("¿Cuándo elevaron el precio del petróleo?", False),
        ("why did oil prices fall", False),
        ("¿subió el precio?", False),
        ("stargate inversion", False),  # investing is no price
    ],
)
def test_a_keyword_query_naming_a_price_asks_for_it(question: str, money: bool) -> None:
    assert asks_money(question) is money


def test_a_keyword_query_for_a_price_the_article_does_not_give_is_declined(
    engine: Engine,
) -> None:
    # The API paragraph names Azure, OpenAI and the service; no sum anywhere in the article.
    answer = engine.ask("azure openai service price per token")
    assert not answer.answered and answer.confidence == 0.0


@pytest.mark.parametrize(
    ("text", "money"),
    [
        ("invirtió 40 millones en el puerto", True),
        ("250.000 millones de dólares", True),
        ("la entrada cuesta 20 €", True),
        ("tiene 2 millones de habitantes", False),
        ("se formó hace millones de años", False),
    ],
)
def test_which_passages_give_a_sum_of_money(text: str, money: bool) -> None:
    assert (HOLDS_MONEY.search(text) is not None) is money


def test_a_folder_of_several_documents_says_its_documents_give_no_such_figure(
    tmp_path: Path,
) -> None:
    folder = write_knowledge(
        tmp_path,
        {
            "puerto.md": doc_text(
                "El puerto", "El ayuntamiento invirtió dinero en el puerto de Kessaria en 2019."
            ),
            "mercado.md": doc_text("El mercado", "\n\n".join(MARKET)),
        },
    )
    answer = Engine.load(folder).ask("¿Cuánto dinero invirtió el ayuntamiento en Kessaria?")
    assert not answer.answered
    assert answer.summary.startswith("La base de conocimiento no da esa cifra: ninguno de sus 2")


def test_spread_sets_apart_a_clear_best_candidate() -> None:
    clear = [Ranked(0, 10.0, 1.0)] + [Ranked(i, 1.0, 0.2) for i in range(1, 10)]
    alike = [Ranked(i, 5.0 - 0.01 * i, 0.5) for i in range(10)]
    assert score_spread(clear) > 0.2 > 0.01 > score_spread(alike) >= 0.0
    assert score_spread(clear[:1]) == 0.0  # one candidate: nothing to compare


def test_rerank_puts_first_a_close_candidate_holding_the_question_in_one_sentence(
    tmp_path: Path,
) -> None:
    scattered = (
        "El faro de Kessaria se encendió hace siglos. Los pescadores salen cada mañana. "
        "El atún abunda en la costa. La niebla del invierno es espesa."
    )
    together = "El faro de Kessaria guía a los pescadores de atún durante la niebla del invierno."
    folder = write_knowledge(
        tmp_path, {"faro.md": doc_text("El faro", "\n\n".join([scattered, together, *MARKET]))}
    )
    engine = Engine.load(folder)
    groups = engine.analyze("¿Qué guía a los pescadores de atún de Kessaria en la niebla?")
    ids = [
        next(i for i, p in enumerate(engine.passages) if p.text == t) for t in (scattered, together)
    ]
    # Close scores: the sentence that holds the question wins; far apart, BM25's order stays.
    close = [Ranked(ids[0], 1.0, 0.9), Ranked(ids[1], 0.95, 0.9)]
    assert [r.passage for r in engine.decider.rerank(groups, close)] == [ids[1], ids[0]]
    far = [Ranked(ids[0], 1.0, 0.9), Ranked(ids[1], 0.1, 0.9)]
    assert [r.passage for r in engine.decider.rerank(groups, far)] == [ids[0], ids[1]]
    # The engine answers with the passage that holds the question together.
    assert (
        engine.ask("¿Qué guía a los pescadores de atún de Kessaria?").passages[0].text == together
    )


def close_candidates(
    tmp_path: Path, first: str, second: str, question: str
) -> tuple[Engine, list, list[int], list[Ranked]]:
    """Two passages (and the market's) in one article, ranked first and a close second."""
    folder = write_knowledge(
        tmp_path, {"doc.md": doc_text("El puerto", "\n\n".join([first, second, *MARKET]))}
    )
    engine = Engine.load(folder)
    ids = [next(i for i, p in enumerate(engine.passages) if p.text == t) for t in (first, second)]
    close = [Ranked(ids[0], 1.0, 1.0), Ranked(ids[1], 0.97, 1.0)]
    return engine, engine.analyze(question), ids, close


def test_rerank_prefers_a_close_candidate_with_the_date_or_amount_asked(tmp_path: Path) -> None:
    dateless = "El ayuntamiento amplió el muelle del puerto de Kessaria hace unos años."
    dated = "El muelle del puerto de Kessaria se amplió en 1987."
    question = "¿En qué año se amplió el muelle del puerto de Kessaria?"
    engine, groups, ids, close = close_candidates(tmp_path, dateless, dated, question)
    features = engine.decider.rerank_features(groups, close, question)
    assert [f[RERANK_NAMES.index("wrong_type")] for f in features] == [1.0, 0.0]
    assert [r.passage for r in engine.decider.rerank(groups, close, question)] == ids[::-1]
    # Asked what, not when, neither is missing anything.
    plain = engine.decider.rerank_features(groups, close, "¿Qué se amplió en Kessaria?")
    assert [f[RERANK_NAMES.index("wrong_type")] for f in plain] == [0.0, 0.0]
    assert engine.ask(question).passages[0].text == dated


def test_rerank_prefers_a_close_candidate_holding_the_question_words_side_by_side(
    tmp_path: Path,
) -> None:
    # Both hold every word in one sentence; in one the words stand together, as asked.
    apart = (
        "La torre del faro vigila la bahía, y cada verano los pescadores pintan de rojo "
        "las barcas que guardan junto al viejo muelle de piedra."
    )
    together = "La torre del faro y el muelle de piedra fueron restaurados por los pescadores."
    question = "¿Qué pasó con la torre del faro y el muelle de piedra?"
    engine, groups, ids, close = close_candidates(tmp_path, apart, together, question)
    at = RERANK_NAMES.index("close_pairs")
    pairs = [f[at] for f in engine.decider.rerank_features(groups, close, question)]
    assert pairs[1] == 1.0 > pairs[0]
    assert [r.passage for r in engine.decider.rerank(groups, close, question)] == ids[::-1]
    # Far apart in score, BM25's order stays.
    far = [Ranked(ids[0], 1.0, 1.0), Ranked(ids[1], 0.2, 1.0)]
    assert [r.passage for r in engine.decider.rerank(groups, far, question)] == ids


def test_document_share_tells_one_document_from_words_spread_over_many(town: Engine) -> None:
    # The market question's best passages are all in the market article; the scattered one's
    # words are held by passages of the port, the river and the market.
    focused = town.analyze("¿Qué vende el mercado central los sábados?")
    scattered = town.analyze("¿Qué arquitecto restauró la presa de las truchas en primavera?")
    share = [
        town.decider.features(g, rank(town.index, g)).document_share for g in (focused, scattered)
    ]
    assert share[0] > 0.8 and share[1] < 0.6


def test_a_one_document_folder_has_the_whole_share(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path, {"mercado.md": doc_text("El mercado", "\n\n".join(MARKET))})
    engine = Engine.load(folder)
    groups = engine.analyze("¿Qué concierto celebran los pescadores en la presa?")
    assert engine.decider.features(groups, rank(engine.index, groups)).document_share == 1.0


def test_a_decline_says_why(town: Engine) -> None:
    groups = town.analyze("¿Qué concierto celebran los pescadores en la presa?")
    decision = town.decide(groups, rank(town.index, groups))
    assert not decision.answer
    assert "passage" in decision.reason or "scattered" in decision.reason
    assert decision.features is not None
    assert 0 < decision.features.coverage < 1


def test_a_declined_answer_keeps_its_candidates_apart(town: Engine) -> None:
    answer = town.ask("¿Qué concierto celebran los pescadores en la presa?", k=2)
    assert answer.passages == () and not answer.answered
    assert 1 <= len(answer.candidates) <= 2
    assert all(c.text in PORT + RIVER + MARKET for c in answer.candidates)
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["passages"] == [] and data["candidates"][0]["text"] == answer.candidates[0].text
    assert data["confidence"] == answer.confidence


def test_an_answered_question_has_no_candidates(town: Engine) -> None:
    answer = town.ask("¿Quién diseñó el nuevo muelle de contenedores del puerto?")
    assert answer.candidates == ()


def test_the_threshold_moves_the_decision(tmp_path: Path) -> None:
    folder = write_knowledge(
        tmp_path, {"mercado.md": doc_text("El mercado", "\n\n".join(MARKET + RIVER))}
    )
    question = "¿Qué concierto celebran los pescadores en la presa?"
    eager = Engine.load(folder, answer_threshold=0.0)
    strict = Engine.load(folder, answer_threshold=1.0)
    default = Engine.load(folder)
    assert eager.ask(question).answered
    assert not strict.ask("¿Qué vende el mercado central los sábados?").answered
    assert default.decider.threshold == load_model().threshold


def test_the_model_file_names_every_feature_and_its_origin() -> None:
    raw = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert set(raw["coefficients"]) == set(FEATURE_NAMES)
    assert set(raw["rerank"]) == set(RERANK_NAMES)
    assert load_model().rerank == tuple(raw["rerank"][n] for n in RERANK_NAMES)
    assert "scripts/fit_decision.py" in raw["comment"]
    assert 0 < raw["threshold"] < 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read"),
        (json.dumps({"coefficients": {}, "intercept": 0, "threshold": 0.5}), "malformed"),
        (json.dumps({"intercept": 0, "threshold": 0.5}), "malformed"),
    ],
)
def test_a_broken_model_file_is_a_core_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "decision.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CoreError) as info:
        load_model(path)
    assert str(path) in str(info.value) and message in str(info.value)


@pytest.fixture(scope="module")
def squad_engine() -> Engine:
    """The default engine over the committed copy of the squad-es knowledge (18 articles)."""
    return Engine.load(SQUAD_SAMPLE / "knowledge")


@pytest.fixture(scope="module")
def squad_report(squad_engine: Engine):
    """The squad-es sample's 200 questions asked of it."""
    return evaluate(squad_engine, load_cases(SQUAD_SAMPLE / "questions.jsonl"))


def test_squad_sample_keeps_its_figures(squad_report) -> None:
    # Measured at the chosen point: 36/58 answered and right (62.1%), 136/142 out-of-scope
    # declined (95.8%), 14/58 false abstentions (24.1%; 35/58, 136/142, 14/58 before the amount
    # rule, `spread` and the re-rank's date-or-amount and close-pairs signals); with the typo
    # and number features but
    # before the re-rank and shared question words: 36/58, 134/142, 14/58; before them:
    # 36/58, 135/142, 15/58; before the BM25 parameters and word families: 36/58, 138/142,
    # 15/58; before the sentence and document features: 32/58, 138/142, 21/58. Floors a little
    # under (one question is 0.7% of 142: the whole set's held-out figure is fit_decision.py's).
    text = "\n".join(squad_report.lines()[:30])
    assert (squad_report.in_scope, squad_report.out_of_scope) == (58, 142), text
    chosen = squad_report.point(squad_report.threshold)
    assert chosen.answered_right >= 0.58, text
    assert chosen.oos_declined >= 0.93, text
    assert chosen.false_abstentions <= 0.30, text


def test_real_spanish_paraphrases_on_articles_nobody_here_wrote(squad_engine: Engine) -> None:
    """eval/squad_es_spanish.jsonl: Spanish as users type it, written by a tester session from
    the squad-es articles alone to paraphrase them: 108/180 answered and right, 43/60
    out-of-scope declined (105/180 before "del 73" stood for 1973, 106 before the ordinals)."""
    report = evaluate(squad_engine, load_cases(EVAL_DIR / "squad_es_spanish.jsonl"))
    assert_floors(report, in_scope=180, out_of_scope=60, right=101, declined=40)


def test_squad_sample_ranking_finds_the_passage(squad_report) -> None:
    # Ranking alone (decision off: threshold 0): the best passage holds the evidence in 45/58
    # (77.6%; the candidates of declined answers count).
    text = "\n".join(squad_report.lines()[:30])
    assert squad_report.point(0.0).answered_right >= 0.74, text


def test_the_curve_trades_answers_for_declines(squad_report) -> None:
    curve = squad_report.curve()
    assert [p.threshold for p in curve] == sorted(p.threshold for p in curve)
    assert any(p.threshold == squad_report.threshold for p in curve)
    for lower, higher in itertools.pairwise(curve):
        assert higher.oos_declined >= lower.oos_declined
        assert higher.false_abstentions >= lower.false_abstentions
    assert curve[0].oos_declined < curve[-1].oos_declined
