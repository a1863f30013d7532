"""Find the question in a longer text (a message chosen with the "Preguntar al bot" menu)."""

from __future__ import annotations

from bot.core.text import sentences

ELLIPSIS = "…"


def question_in(text: str, limit: int) -> str:
    """Return the question in a text, within `limit` chars: its question-like sentences.

    A sentence is question-like when it opens with "¿" or ends with "?" ("Hola. ¿Hasta
    cuándo dura?" asks "¿Hasta cuándo dura?"); without any, the text itself, or its first
    sentences when it is too long. A single sentence longer than the limit is cut at a word,
    visibly.
    """
    text = " ".join(text.split())
    parts = [text[s:e] for s, e in sentences(text)]
    asked = [p for p in parts if p.startswith("¿") or p.endswith("?")]
    if len(text) <= limit and (not asked or len(asked) == len(parts)):
        return text
    chosen: list[str] = []
    for part in asked or parts:
        if len(" ".join([*chosen, part])) > limit:
            break
        chosen.append(part)
    if chosen:
        return " ".join(chosen)
    first = (asked or parts or [text])[0]
    cut = first.rfind(" ", 0, limit)
    return first[: cut if cut > limit // 2 else limit - 1].rstrip() + ELLIPSIS
