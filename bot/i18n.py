"""Interface strings in Spanish and English; quotes themselves always stay Spanish."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "question": {"es": "Pregunta", "en": "Question"},
    "summary": {"es": "Resumen", "en": "Summary"},
    "sources": {"es": "Fuentes", "en": "Sources"},
    "quote": {"es": "Cita", "en": "Quote"},
    "suggestions": {"es": "Prueba a preguntar", "en": "Try asking"},
    "footer": {
        "es": "Las respuestas solo citan el artículo; no se inventa nada.",
        "en": "Answers only quote the article (in Spanish); nothing is made up.",
    },
    "paragraph": {"es": "§{n}", "en": "§{n}"},
    "headline": {"es": "titular", "en": "headline"},
    "more": {"es": "Más pasajes", "en": "More passages"},
    "page": {"es": "Pasajes {a}–{b}", "en": "Passages {a}–{b}"},
    "no_more": {"es": "No hay más pasajes.", "en": "No more passages."},
    "err_empty": {"es": "La pregunta está vacía.", "en": "The question is empty."},
    "err_too_long": {
        "es": "La pregunta es demasiado larga ({n} caracteres; el límite es {limit}).",
        "en": "The question is too long ({n} characters; the limit is {limit}).",
    },
    "err_control": {
        "es": "La pregunta contiene caracteres de control; escríbela como texto normal.",
        "en": "The question contains control characters; type it as plain text.",
    },
    "err_generic": {
        "es": "Algo ha fallado al responder. Inténtalo de nuevo en un momento.",
        "en": "Something went wrong while answering. Please try again in a moment.",
    },
}


def t(key: str, lang: str, **values: object) -> str:
    """Return an interface string in a language (Spanish when the language is unknown)."""
    entry = STRINGS[key]
    text = entry.get(lang) or entry["es"]
    return text.format(**values) if values else text


def lang_of_locale(locale: str | None, default: str = "es") -> str:
    """Map a Discord/POSIX locale ("en-US", "es-419", "en_GB.UTF-8") to "es" or "en"."""
    if not locale:
        return default
    head = locale.replace("_", "-").split("-")[0].lower()
    return head if head in ("es", "en") else default


def question_error(code: str, lang: str, length: int = 0, limit: int = 300) -> str:
    """Return the user-facing message for a QuestionError code."""
    key = f"err_{code}"
    if key not in STRINGS:
        key = "err_generic"
    return t(key, lang, n=length, limit=limit) if code == "too_long" else t(key, lang)
