"""Follow-ups: a short or referring question leans on the previous one, with less weight."""

from __future__ import annotations

import pytest

from bot.core.answer import Engine
from bot.core.followup import CARRY_WEIGHT, refers_back

PREVIOUS = "¿Qué duración tiene el acuerdo?"
QUOTE = "vigente hasta 2030"


@pytest.mark.parametrize("follow_up", ["¿y eso hasta cuándo?", "and who else?", "y quién más"])
def test_a_referring_follow_up_is_answered_with_the_previous_questions_words(
    engine: Engine, follow_up: str
) -> None:
    alone = engine.ask(follow_up)
    assert not alone.answered  # nothing to go on by itself
    answer = engine.ask(follow_up, context=PREVIOUS)
    assert answer.answered and QUOTE in answer.passages[0].text
    assert answer.question == follow_up  # the follow-up as typed, plus what was carried
    assert answer.carried == ("duración", "acuerdo")  # spelled as the previous question did


def test_a_full_new_question_carries_nothing(engine: Engine) -> None:
    question = "¿Quién está detrás del proyecto Stargate?"
    answer = engine.ask(question, context=PREVIOUS)
    assert answer.carried == ()
    assert answer.passages == engine.ask(question).passages


def test_carried_words_weigh_less_than_the_follow_ups_own(engine: Engine) -> None:
    # "¿y Microsoft?" is short: the deal's duration is carried, but Microsoft leads.
    groups = engine.analyze("¿y Microsoft?")
    answer = engine.ask("¿y Microsoft?", context=PREVIOUS)
    assert answer.answered and answer.carried
    assert "microsoft" in answer.passages[0].text.lower()
    assert 0 < CARRY_WEIGHT < 1 and groups[0].surface == "microsoft"


def test_when_the_carried_words_do_not_help_the_question_is_answered_alone(
    engine: Engine,
) -> None:
    previous = "¿Qué tiempo hará mañana en Madrid?"
    answer = engine.ask("¿y Microsoft?", context=previous)
    assert answer.answered and answer.carried == ()
    assert answer.passages == engine.ask("¿y Microsoft?").passages


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("¿y eso?", True),
        ("and who else?", True),
        ("What about that?", True),
        ("¿Hasta cuándo está vigente el acuerdo?", False),  # "está" is not "esta"
        ("", False),
    ],
)
def test_refers_back(question: str, expected: bool) -> None:
    assert refers_back(question) is expected
