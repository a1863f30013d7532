"""The eval harness: the shipped engine meets its regression bars; bad eval files name the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.answer import Engine
from bot.core.errors import CoreError
from bot.core.evaluate import CURVE, Case, evaluate, load_cases

EVAL = Path(__file__).resolve().parents[2] / "eval"


def report_text(report) -> str:
    return "\n".join(report.lines())


def assert_bar(
    report, *, size: tuple[int, int], hit1: int, hit3: int, abstained: int, false_abstentions: int
) -> None:
    """Fail with the report when a set's figures fall below their bar (in scope, out of scope)."""
    text = report_text(report)
    assert (report.in_scope, report.out_of_scope) == size, text
    assert report.hit1 >= hit1, f"regression: hit@1 below {hit1}/{size[0]}\n{text}"
    assert report.hit3 >= hit3, f"regression: hit@3 below {hit3}/{size[0]}\n{text}"
    assert report.abstained >= abstained, (
        f"regression: declined fewer than {abstained}/{size[1]} out of scope\n{text}"
    )
    assert report.false_abstentions <= false_abstentions, (
        f"regression: more than {false_abstentions} false abstentions\n{text}"
    )


def test_dev_set_meets_the_bar(engine: Engine) -> None:
    cases = load_cases(EVAL / "questions.jsonl")
    report = evaluate(engine, cases)
    assert_bar(report, size=(15, 5), hit1=14, hit3=15, abstained=5, false_abstentions=0)


def test_dev_and_extra_sets_meet_the_bar(engine: Engine) -> None:
    cases = load_cases(EVAL / "questions.jsonl") + load_cases(EVAL / "extra_questions.jsonl")
    report = evaluate(engine, cases)
    # The calibrated decision declines two questions whose best passage was wrong anyway.
    assert_bar(report, size=(50, 18), hit1=45, hit3=47, abstained=18, false_abstentions=3)


def test_questions_written_by_a_tester_meet_the_bar(engine: Engine) -> None:
    # eval/fresh_questions.jsonl: 93 questions a tester session wrote from the article alone,
    # never used to fit anything. Measured: hit@1 62/72 (61 before the re-rank's
    # date-or-amount signal), hit@3 68/72, 20/21 out-of-scope
    # declined (the three "how much" questions the article has no figure for among them), 2
    # false abstentions; the same with and without Apertium.
    report = evaluate(engine, load_cases(EVAL / "fresh_questions.jsonl"))
    assert_bar(report, size=(72, 21), hit1=59, hit3=66, abstained=19, false_abstentions=3)


def test_questions_written_from_the_article_alone_meet_the_bar(engine: Engine) -> None:
    # eval/unseen_questions.jsonl: 60 questions a helper session wrote from the article and
    # the dev set's format alone (no code, no other set), in Discord's style: keywords, no
    # accents, typos, paraphrases, English. Measured through `python -m bot eval` (sentence
    # vectors and Apertium) on first run, before any change they suggested: hit@1 27/32,
    # 22/28 out of scope declined, two of the misses date questions scored on the seed's
    # "Publicado 22/01/2025 03:41", which the answer gives as "22/01/2025" (added to their
    # evidence since). Now 29/32 and 22/28; without Apertium 28/32 and 25/28. This engine
    # (words alone, no translator): 24/32, 24/28 declined, 5 false abstentions. The
    # out-of-scope ones answered ask what a passage is about but does not say (SoftBank's
    # CEO, where Stargate will be built, what follows 2030).
    report = evaluate(engine, load_cases(EVAL / "unseen_questions.jsonl"))
    assert_bar(report, size=(32, 28), hit1=23, hit3=23, abstained=23, false_abstentions=6)


def test_report_lines_show_the_figures_and_the_misses(engine: Engine) -> None:
    cases = [
        Case("ok", "es", "in", "¿Hasta cuándo estará vigente el acuerdo?", ("vigente hasta 2030",)),
        Case("bad", "es", "in", "¿Hasta cuándo estará vigente el acuerdo?", ("no está",)),
        Case("oos", "es", "oos", "zxcvb poiuy", ()),
    ]
    report = evaluate(engine, cases)
    lines = report.lines()
    assert lines[0].split() == ["hit@1", "1/2"]
    assert lines[1].split() == ["hit@3", "1/2"]
    assert lines[2].split() == ["abstained", "(oos)", "1/1"]
    assert lines[3].split() == ["false", "abstentions", "0"]
    assert lines[4].startswith("answered-and-right 50.0% at threshold ")
    assert lines[5].startswith("operating curve")
    curve = [line for line in lines if line.startswith("  ")][1:]
    assert len(curve) == len(CURVE | {report.threshold}), lines
    chosen = [line for line in curve if line.endswith("<- chosen (ANSWER_THRESHOLD)")]
    assert len(chosen) == 1 and float(chosen[0].split()[0]) == pytest.approx(report.threshold)
    # Answering everything: 1 of 2 in scope right, the nonsense question still declined (no
    # passage shares a word), no false abstention.
    assert curve[0].split()[1:4] == ["50.0%", "100.0%", "0.0%"], curve[0]
    assert [line for line in lines if line.startswith("MISS")] == [lines[-1]]
    assert lines[-1].startswith("MISS bad [in]")


def test_answer_threshold_moves_the_chosen_point(knowledge_dir: Path) -> None:
    cases = load_cases(EVAL / "questions.jsonl") + load_cases(EVAL / "extra_questions.jsonl")
    low = evaluate(Engine.load(knowledge_dir, answer_threshold=0.05), cases)
    high = evaluate(Engine.load(knowledge_dir, answer_threshold=0.95), cases)
    assert (low.threshold, high.threshold) == (0.05, 0.95)
    assert low.false_abstentions < high.false_abstentions
    assert low.point(low.threshold) == high.point(0.05)  # same confidences, another cut
    assert "0.95" in [
        line.split()[0] for line in high.lines() if line.endswith("(ANSWER_THRESHOLD)")
    ]


def test_out_of_scope_answer_counts_as_a_miss(engine: Engine) -> None:
    case = Case("x", "es", "oos", "¿Hasta cuándo estará vigente el acuerdo?", ())
    report = evaluate(engine, [case])
    assert (report.out_of_scope, report.abstained) == (1, 0)
    assert report.misses[0].reason == "answered out-of-scope"


def test_evidence_in_metadata_counts_only_when_where_is_any(engine: Engine) -> None:
    q = "¿Hasta cuándo estará vigente el acuerdo?"
    strict = Case("a", "es", "in", q, ("Portaltic/EP",))
    loose = Case("b", "es", "in", q, ("Portaltic/EP",), where="any")
    assert evaluate(engine, [strict]).hit1 == 0
    assert evaluate(engine, [loose]).hit1 == 1


def test_load_cases_reads_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": 1, "kind": "in", "q": "¿Qué?", "evidence": ["x"]},
        {"id": "b", "lang": "en", "kind": "oos-hard", "q": "What?"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert load_cases(path) == [
        Case("1", "es", "in", "¿Qué?", ("x",)),
        Case("b", "en", "oos-hard", "What?", ()),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        json.dumps({"id": "x", "q": "sin kind"}),
        json.dumps({"id": "x", "kind": "in"}),
        json.dumps({"id": "x", "kind": "maybe", "q": "¿Qué?"}),
        json.dumps(["a", "list"]),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "q.jsonl"
    good = json.dumps({"id": "ok", "kind": "in", "q": "¿Qué?", "evidence": ["x"]})
    path.write_text(f"{good}\n\n{bad}\n{good}\n", encoding="utf-8")
    with pytest.raises(CoreError) as info:
        load_cases(path)
    assert str(info.value).startswith(f"{path}:3: "), str(info.value)


def test_unreadable_eval_file_is_a_core_error(tmp_path: Path) -> None:
    with pytest.raises(CoreError) as info:
        load_cases(tmp_path / "missing.jsonl")
    assert str(tmp_path / "missing.jsonl") in str(info.value)
