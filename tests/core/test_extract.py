"""The question in a long message: question-like sentences first, within the limit."""

from __future__ import annotations

from bot.core.extract import question_in

LIMIT = 300
FILLER = "El acuerdo entre las dos compañías se firmó tras meses de negociación. " * 6


def test_a_short_text_is_kept_as_is() -> None:
    assert question_in("  ¿Hasta cuándo   dura el acuerdo? ", LIMIT) == (
        "¿Hasta cuándo dura el acuerdo?"
    )


def test_the_question_sentences_of_a_long_message_are_picked() -> None:
    text = f"{FILLER}¿Hasta cuándo estará vigente el acuerdo? {FILLER}And who invests? Gracias."
    picked = question_in(text, LIMIT)
    assert picked == "¿Hasta cuándo estará vigente el acuerdo? And who invests?"


def test_without_questions_the_first_sentences_that_fit() -> None:
    picked = question_in(FILLER * 3, LIMIT)
    assert len(picked) <= LIMIT and picked.endswith("negociación.")
    assert FILLER.startswith(picked[:60])


def test_one_huge_sentence_is_cut_visibly_within_the_limit() -> None:
    picked = question_in("¿" + "palabra " * 100 + "?", LIMIT)
    assert len(picked) <= LIMIT and picked.endswith("…") and picked.startswith("¿palabra")


def test_greetings_around_a_short_question_are_left_out() -> None:
    text = "Hola a todos. ¿Hasta cuándo dura el acuerdo? Gracias."
    assert question_in(text, LIMIT) == "¿Hasta cuándo dura el acuerdo?"
    assert question_in("Explícame el acuerdo de exclusividad", LIMIT) == (
        "Explícame el acuerdo de exclusividad"
    )
