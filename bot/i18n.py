"""Interface strings in Spanish and English; quotes themselves always stay Spanish."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.errors import QuestionError

STRINGS: dict[str, dict[str, str]] = {
    "question": {"es": "Pregunta", "en": "Question"},
    "summary": {"es": "Resumen", "en": "Summary"},
    "carried": {
        "es": "(+ {words}, de la pregunta anterior)",
        "en": "(+ {words}, from the previous question)",
    },
    "suggestions": {"es": "Prueba a preguntar", "en": "Try asking"},
    "footer": {
        "es": "Las respuestas solo citan el artículo; no se inventa nada.",
        "en": "Answers only quote the article (in Spanish); nothing is made up.",
    },
    "paragraph": {"es": "§{n}", "en": "§{n}"},
    "headline": {"es": "titular", "en": "headline"},
    "publish": {"es": "Publicar", "en": "Publish"},
    "err_not_yours_delete": {
        "es": "Solo quien preguntó o quien modera el canal puede borrar esta respuesta.",
        "en": "Only the person who asked or a channel moderator can delete this answer.",
    },
    "page_of": {"es": "página {a}/{b}", "en": "page {a}/{b}"},
    "page": {"es": "Pasajes {a}–{b}", "en": "Passages {a}–{b}"},
    "no_more": {"es": "No hay más pasajes.", "en": "No more passages."},
    "mention_hint": {
        "es": "Pregúntame algo en el mismo mensaje: «@bot ¿hasta cuándo dura el acuerdo?». "
        "También puedes responder a una de mis respuestas para seguir preguntando.",
        "en": "Ask me something in the same message: “@bot how long does the deal last?”. "
        "You can also reply to one of my answers to ask a follow-up.",
    },
    "err_empty": {"es": "La pregunta está vacía.", "en": "The question is empty."},
    "err_too_long": {
        "es": "La pregunta es demasiado larga ({n} caracteres; el límite es {limit}).",
        "en": "The question is too long ({n} characters; the limit is {limit}).",
    },
    "err_control": {
        "es": "La pregunta contiene caracteres de control; escríbela como texto normal.",
        "en": "The question contains control characters; type it as plain text.",
    },
    "err_encoding": {
        "es": "La pregunta no es texto UTF-8 válido.",
        "en": "The question is not valid UTF-8 text.",
    },
    "err_bidi": {
        "es": "La pregunta contiene caracteres que cambian la dirección del texto; "
        "escríbela como texto normal.",
        "en": "The question contains text-direction control characters; type it as plain text.",
    },
    "err_generic": {
        "es": "Algo ha fallado al responder. Inténtalo de nuevo en un momento.",
        "en": "Something went wrong while answering. Please try again in a moment.",
    },
    "more_hint": {
        "es": "(+{n} pasajes más: pulsa ▶)",
        "en": "(+{n} more passages: press ▶)",
    },
    "err_cooldown_at": {
        "es": "Vas muy rápido: podrás volver a preguntar {when}.",
        "en": "You are going fast: you can ask again {when}.",
    },
    "err_channel": {
        "es": "Aquí no respondo. Pregúntame en: {channels}.",
        "en": "I don't answer here. Ask me in: {channels}.",
    },
    "err_forbidden": {
        "es": "Este comando es solo para administradores (Gestionar servidor).",
        "en": "This command is for admins only (Manage Server).",
    },
    "err_operator": {
        "es": "Solo quien opera el bot puede recargar el conocimiento (propietario de la "
        "aplicación, su equipo u OPERATOR_IDS).",
        "en": "Only the bot's operator can reload the knowledge (the application owner, its "
        "team or OPERATOR_IDS).",
    },
    "err_no_text": {
        "es": "Ese mensaje no tiene texto que pueda usar como pregunta.",
        "en": "That message has no text I can use as a question.",
    },
    "err_stopping": {
        "es": "El bot se está reiniciando; vuelve a preguntar en un momento.",
        "en": "The bot is restarting; please ask again in a moment.",
    },
    "err_store": {
        "es": "No he podido guardarlo: la base de datos del bot no admite cambios ahora mismo. "
        "Avisa a quien administra el bot.",
        "en": "I couldn't save that: the bot's database does not accept changes right now. "
        "Please tell whoever runs the bot.",
    },
    "err_busy": {
        "es": "Estoy muy ocupado ahora mismo; vuelve a intentarlo en unos segundos.",
        "en": "I'm very busy right now; try again in a few seconds.",
    },
    "err_gone": {
        "es": "Esa pregunta ya no está disponible; vuelve a preguntar con /preguntar.",
        "en": "That question is no longer available; ask again with /ask.",
    },
    "vote_thanks_up": {
        "es": "Gracias por tu voto 👍 (puedes cambiarlo cuando quieras).",
        "en": "Thanks for your vote 👍 (you can change it any time).",
    },
    "vote_thanks_down": {
        "es": "Gracias por tu voto 👎: nos ayuda a mejorar la base de conocimiento.",
        "en": "Thanks for your vote 👎: it helps us improve the knowledge base.",
    },
    "err_no_document": {
        "es": "No hay ningún documento titulado «{name}»: elige uno de la lista.",
        "en": "There is no document titled «{name}»: pick one from the list.",
    },
    "sources_title": {"es": "Fuentes", "en": "Sources"},
    "sources_count": {"es": "{n} documentos", "en": "{n} documents"},
    "previous": {"es": "Anterior", "en": "Previous"},
    "next": {"es": "Siguiente", "en": "Next"},
    "sources_line": {
        "es": "{source} · {date} · {n} pasajes",
        "en": "{source} · {date} · {n} passages",
    },
    "help_title": {"es": "Cómo preguntar", "en": "How to ask"},
    "help_body": {
        "es": "Usa {preguntar} con tu pregunta, en español o en inglés. Respondo solo con "
        "citas textuales del artículo, con su párrafo y fuente; si el artículo no trata tu "
        "pregunta, te lo digo. {resumen} resume el artículo, {fuentes} lista los "
        "documentos y el menú contextual «Preguntar al bot» (clic derecho en un mensaje → "
        "Apps) responde al texto de ese mensaje. Con `privado: True` solo tú ves la respuesta.",
        "en": "Use {preguntar} with your question, in Spanish or English. I only answer with "
        "verbatim quotes from the article (in Spanish), with paragraph and source; if the "
        "article does not cover your question, I say so. {resumen} summarizes the "
        "article, {fuentes} lists the documents, and the “Ask the bot” message menu "
        "(right-click a message → Apps) answers that message's text. With `private: True` "
        "only you see the answer.",
    },
    "help_mentions_title": {"es": "Sin comandos", "en": "Without commands"},
    "help_mentions": {
        "es": "Menciónome con tu pregunta («@bot ¿hasta cuándo dura el acuerdo?») y respondo "
        "en el canal; responde a una de mis respuestas para seguir preguntando («¿y eso hasta "
        "cuándo?»); o escríbeme por mensaje directo. Solo leo los mensajes que me mencionan, "
        "me responden o me escriben a mí.",
        "en": "Mention me with your question (“@bot how long does the deal last?”) and I answer "
        "in the channel; reply to one of my answers to ask a follow-up (“and until when?”); or "
        "send me a direct message. I only read messages that mention me, reply to me or are "
        "sent to me.",
    },
    "help_admin_title": {"es": "Administración", "en": "Administration"},
    "help_admin": {
        "es": "{configurar} canales, idioma, menciones, hilos y privacidad de este servidor · "
        "{estadisticas} preguntas, respuestas, votos y comentarios · {recargar} recarga la "
        "base de conocimiento",
        "en": "{configurar} this server's channels, language, mentions, threads and privacy · "
        "{estadisticas} questions, answers, votes and comments · {recargar} reloads the "
        "knowledge base",
    },
    "examples": {"es": "Ejemplos", "en": "Examples"},
    "status_title": {"es": "Estado", "en": "Status"},
    "version": {"es": "Versión", "en": "Version"},
    "documents": {"es": "Documentos", "en": "Documents"},
    "passages": {"es": "Pasajes", "en": "Passages"},
    "build_time": {"es": "Construcción del índice", "en": "Index build time"},
    "uptime": {"es": "Tiempo activo", "en": "Uptime"},
    "translation": {"es": "Preguntas en inglés", "en": "English questions"},
    "translation_on": {"es": "traducidas con Apertium", "en": "translated with Apertium"},
    "translation_off": {
        "es": "solo glosario (TRANSLATOR=off)",
        "en": "glossary only (TRANSLATOR=off)",
    },
    "translation_missing": {
        "es": "solo glosario; para traducirlas: `{cmd}`",
        "en": "glossary only; to translate them: `{cmd}`",
    },
    "meaning": {"es": "Orden por significado", "en": "Meaning re-ranking"},
    "meaning_on": {"es": "activado ({name})", "en": "on ({name})"},
    "meaning_off": {"es": "desactivado (MEANING=off)", "en": "off (MEANING=off)"},
    "meaning_too_big": {
        "es": "desactivado: más de {limit} pasajes (MEANING_MAX_PASSAGES)",
        "en": "off: more than {limit} passages (MEANING_MAX_PASSAGES)",
    },
    "meaning_missing": {
        "es": "solo palabras; para activarlo: `{cmd}`",
        "en": "words alone; to turn it on: `{cmd}`",
    },
    "latency": {"es": "Latencia del gateway", "en": "Gateway latency"},
    "reload_ok": {
        "es": "Conocimiento recargado: {docs} documentos, {passages} pasajes ({secs:.2f} s).",
        "en": "Knowledge reloaded: {docs} documents, {passages} passages ({secs:.2f} s).",
    },
    "reload_failed": {
        "es": "No he recargado nada: sigo con el índice anterior. Problemas ({n}):",
        "en": "Nothing was reloaded: the previous index stays. Problems ({n}):",
    },
    "stats_title": {"es": "Estadísticas ({days} días)", "en": "Statistics ({days} days)"},
    "link": {"es": "Leer el artículo", "en": "Read the article"},
    "overview_title": {"es": "Resumen: «{title}»", "en": "Summary: «{title}»"},
    "console_hello": {
        "es": "Pregunta sobre el acuerdo Microsoft-OpenAI. /en o /es cambia el idioma; "
        "/salir (o Ctrl-D) termina.",
        "en": "Ask about the Microsoft-OpenAI agreement. /en or /es switches language; "
        "/quit (or Ctrl-D) exits.",
    },
    "stats_report_title": {
        "es": "Estadísticas de los últimos {days} días",
        "en": "Statistics for the last {days} days",
    },
    "stats_summary": {
        "es": "Preguntas: {total} · respondidas: {share:.0%}",
        "en": "Questions: {total} · answered: {share:.0%}",
    },
    "stats_private": {
        "es": "{n} privadas o por MD (solo contadas)",
        "en": "{n} private or in DMs (counted only)",
    },
    "stats_per_day": {
        "es": "Por día (preguntas / respondidas)",
        "en": "Per day (asked / answered)",
    },
    "stats_most_asked": {"es": "Más preguntadas", "en": "Most asked"},
    "stats_unanswered": {
        "es": "Sin respuesta (añadir a la carpeta knowledge)",
        "en": "Unanswered (add to the knowledge folder)",
    },
    "stats_passage_votes": {
        "es": "Votos por pasaje (👍 / 👎)",
        "en": "Votes per passage (👍 / 👎)",
    },
    "missing_title": {"es": "¿Qué faltó?", "en": "What was missing?"},
    "missing_label": {
        "es": "Qué esperabas encontrar (opcional)",
        "en": "What you expected to find (optional)",
    },
    "missing_placeholder": {
        "es": "p. ej.: no dice cuánto dinero invirtió Microsoft",
        "en": "e.g. it does not say how much Microsoft invested",
    },
    "stats_missing": {
        "es": "Qué faltó (comentarios de 👎)",
        "en": "What was missing (👎 comments)",
    },
    "stats_none": {"es": "(ninguna)", "en": "(none)"},
    "yes": {"es": "sí", "en": "yes"},
    "no": {"es": "no", "en": "no"},
    "every_channel": {"es": "todos", "en": "all"},
    "cfg_title": {"es": "Configuración de este servidor", "en": "This server's settings"},
    "cfg_channels": {"es": "Canales", "en": "Channels"},
    "cfg_lang": {
        "es": "Idioma (otras configuraciones regionales)",
        "en": "Language (other locales)",
    },
    "cfg_mentions": {"es": "Menciones y respuestas", "en": "Mentions and replies"},
    "cfg_threads": {"es": "Hilo por mención", "en": "Thread per mention"},
    "cfg_private": {"es": "Respuestas privadas", "en": "Private answers"},
    "err_channel_unknown": {
        "es": "No encuentro el canal «{channel}» en este servidor. Escribe #canal, o «todos».",
        "en": "I can't find the channel “{channel}” in this server. Type #channel, or “all”.",
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


def discord_cooldown_message(retry_after: float, lang: str, now: float | None = None) -> str:
    """Return the cooldown message with a Discord timestamp that counts down (`<t:…:R>`)."""
    now = time.time() if now is None else now
    return t("err_cooldown_at", lang, when=f"<t:{math.ceil(now + retry_after)}:R>")


def question_error(error: QuestionError, lang: str) -> str:
    """Return the user-facing message for a QuestionError."""
    key = f"err_{error.code}"
    if key not in STRINGS:
        key = "err_generic"
    return t(key, lang, n=error.length, limit=error.limit)
