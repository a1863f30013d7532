"""Answers across dated documents: order, latest-state questions, differing figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from dated_corpus import REPORTS, write_corpus

from bot.cli import answer_json
from bot.core import dated
from bot.core.answer import Engine
from bot.core.evaluate import evaluate, load_cases

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fifty(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The engine over the 50-article folder (10 reports on the deal)."""
    return Engine.load(write_corpus(tmp_path_factory.mktemp("dated") / "knowledge"))


def test_the_test_folder_has_50_articles_10_on_the_deal(fifty: Engine) -> None:
    assert len(fifty.documents) == 50
    deal = [d for d in fifty.documents if d.id.startswith("deal-") or d.id.startswith("micro")]
    assert len(deal) == 10 == len(REPORTS) + 1
    assert len({d.published for d in deal}) == 10


def test_date_questions_pick_the_newest_answering_document(fifty: Engine) -> None:
    cases = load_cases(REPO / "eval" / "dated_questions.jsonl")
    assert len(cases) >= 30
    report = evaluate(fifty, cases, k=3)
    assert report.hit1 / report.in_scope >= 0.9, "\n".join(report.lines())


def test_latest_question_quotes_the_newest_report_first(fifty: Engine) -> None:
    answer = fifty.ask("¿Sigue vigente el acuerdo hasta 2030?")
    assert answer.passages[0].document_id == "deal-10-balance"
    assert "hasta 2032" in answer.passages[0].text
    assert answer.passages[0].citation.published == "21/04/2026"


def test_differing_figures_are_shown_both_dated(fifty: Engine) -> None:
    answer = fifty.ask("¿Qué porcentaje de los ingresos recibe Microsoft?")
    assert answer.sources_differ
    lines = answer.summary.splitlines()
    assert lines[0] == "Las fuentes difieren:"
    assert any(
        line.startswith("Según Noticias Inventadas (03/12/2025), «") and "15 por ciento" in line
        for line in lines
    )
    assert any(
        line.startswith("Según Noticias Inventadas (27/03/2025), «") and "20 por ciento" in line
        for line in lines
    )
    texts = [p.text for p in answer.passages]
    assert any("15 por ciento" in t for t in texts) and any("20 por ciento" in t for t in texts)
    english = fifty.ask("¿Qué porcentaje de los ingresos recibe Microsoft?", lang="en")
    assert english.summary.startswith("Sources differ:\nAccording to Noticias Inventadas")


def test_a_different_figure_for_another_thing_is_no_disagreement() -> None:
    revenue = "Desde 2026, Microsoft recibe el 15 por ciento de los ingresos de OpenAI."
    stake = "Microsoft tendría una participación de alrededor del 30 por ciento en la sociedad."
    assert dated.differ(revenue, revenue.replace("15", "20"))
    assert not dated.differ(revenue, stake)
    assert not dated.differ("colaboran desde 2019", "desde 2019 y hasta 2032 colaboran")


def test_years_before_1900_are_figures_too() -> None:
    # The same years as the analysis knows (1000-2099), not only 1900-2099.
    assert dated.differ("La empresa fue fundada en 1888.", "La empresa fue fundada en 1889.")


def test_disagreement_finds_the_first_pair_and_reads_each_sentence_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = date(2025, 1, 22)
    quotes = [
        ("a", day, "El acuerdo estará vigente hasta 2030."),
        ("b", day.replace(month=2), "El acuerdo se firmó en marzo."),
        ("c", day.replace(month=3), "El acuerdo estará vigente hasta 2031."),
        ("d", day.replace(month=4), "El acuerdo estará vigente hasta 2032."),
    ]
    assert dated.disagreement(quotes) == (0, 2)
    assert dated.disagreement(quotes[1:]) == (1, 2)
    assert dated.disagreement(quotes[1:], with_first=True) is None
    read: list[str] = []
    real = dated.figures
    monkeypatch.setattr(dated, "figures", lambda s: read.append(s) or real(s))
    assert dated.disagreement([quotes[0], quotes[1], quotes[1], quotes[1]]) is None
    assert sorted(read) == sorted(q[2] for q in [quotes[0], *[quotes[1]] * 3])


MakeKnowledge = Callable[..., Path]


def test_near_ties_put_the_newer_report_first_and_summary_names_each(
    tmp_path: Path, make_knowledge: MakeKnowledge, make_doc: Callable[..., str]
) -> None:
    body = "La planta de {} abrirá sus puertas a los visitantes el próximo verano."
    folder = make_knowledge(
        tmp_path,
        {
            "a.md": make_doc(
                "Planta antigua", body.format("Soria"), source="Diario A", published="2024-03-01"
            ),
            "b.md": make_doc(
                "Planta nueva", body.format("Teruel"), source="Diario B", published="2025-06-15"
            ),
        },
        templates=True,
    )
    answer = Engine.load(folder).ask("¿La planta abrirá sus puertas a los visitantes?")
    assert [p.document_id for p in answer.passages[:2]] == ["b", "a"]
    assert answer.summary == (
        f"Según Diario B (15/06/2025), «{body.format('Teruel')}» "
        f"Según Diario A (01/03/2024), «{body.format('Soria')}»"
    )
    assert not answer.sources_differ


def test_one_document_keeps_its_single_summary(engine: Engine) -> None:
    answer = engine.ask("¿Hasta cuándo estará vigente el acuerdo?")
    assert answer.summary.count("Según Portaltic/EP (22/01/2025)") == 1
    assert not answer.sources_differ


@pytest.mark.parametrize(
    ("question", "latest"),
    [
        ("¿Sigue vigente el acuerdo?", True),
        ("¿Qué ha cambiado en el acuerdo?", True),
        ("¿Qué es lo más reciente sobre Stargate?", True),
        ("What is the latest on the deal?", True),
        ("Who runs Stargate now?", True),
        ("¿Hasta cuándo estará vigente el acuerdo?", False),
        ("¿Qué es el derecho de preferencia?", False),
    ],
)
def test_latest_state_questions_are_recognized(question: str, latest: bool) -> None:
    assert dated.is_latest_question(question) is latest


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("¿Sigue vigente el acuerdo hasta 2030?", {}),
        ("¿Qué porcentaje de los ingresos recibe Microsoft?", {}),
        ("¿Qué publicó Diario Ficticio?", {}),
        ("How much revenue does Microsoft get?", {"lang": "en"}),
        ("¿Y hasta cuándo?", {"context": "¿Qué porcentaje de los ingresos recibe Microsoft?"}),
        ("¿Qué dice del acuerdo?", {"offset": 1, "k": 1}),
        ("zxcvb poiuy qwerty", {}),
    ],
)
def test_json_lines_carry_what_to_dict_gives(fifty: Engine, question: str, options: dict) -> None:
    # `ask --json` writes answers with orjson straight from the dataclasses: the same data as
    # Answer.to_dict (through json), whatever the kind of answer.
    answer = fifty.ask(question, **options)
    line = answer_json(answer)
    assert "\n" not in line
    assert json.loads(line) == json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
