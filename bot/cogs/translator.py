"""Command names and descriptions: Spanish by default, English for en-US and en-GB."""

from __future__ import annotations

import discord
from discord import app_commands

ENGLISH_LOCALES = frozenset({discord.Locale.american_english, discord.Locale.british_english})
SPANISH_LOCALES = frozenset({discord.Locale.spain_spanish, discord.Locale.latin_american_spanish})

# Spanish source string -> English. Names follow Discord's rules (lowercase, no spaces) except
# the context menu, whose name is shown as is.
ENGLISH: dict[str, str] = {
    "preguntar": "ask",
    "pregunta": "question",
    "privado": "private",
    "resumen": "summary",
    "fuentes": "sources",
    "ayuda": "help",
    "estado": "status",
    "recargar": "reload",
    "estadisticas": "stats",
    "dias": "days",
    "documento": "document",
    "Título del documento a resumir (por defecto, el artículo)": (
        "Title of the document to summarize (by default, the article)"
    ),
    "Preguntar al bot": "Ask the bot",
    "Responde con citas textuales del artículo": "Answers with verbatim quotes from the article",
    "Lo que quieres saber del acuerdo (2 a 300 caracteres)": (
        "What you want to know about the deal (2 to 300 characters)"
    ),
    "Solo tú verás la respuesta": "Only you will see the answer",
    "Resumen del artículo con sus citas clave": "Summary of the article with its key quotes",
    "Documentos de la base de conocimiento": "Documents in the knowledge base",
    "Cómo preguntar, con ejemplos": "How to ask, with examples",
    "Versión, documentos, pasajes, tiempo activo y latencia": (
        "Version, documents, passages, uptime and latency"
    ),
    "Recarga la carpeta knowledge/ (operador del bot)": (
        "Reload the knowledge/ folder (bot operator)"
    ),
    "Preguntas, respuestas y votos de este servidor": "This server's questions, answers and votes",
    "Días a incluir (1 a 365)": "Days to include (1 to 365)",
    "configurar": "configure",
    "canales": "channels",
    "idioma": "language",
    "menciones": "mentions",
    "hilos": "threads",
    "restablecer": "reset",
    "Canales, idioma, menciones, hilos y privacidad del bot": (
        "The bot's channels, language, mentions, threads and privacy"
    ),
    "Canales donde respondo (#uno #otro), o «todos»": "Channels I answer in (#one #two), or “all”",
    "Idioma si el de un miembro no es español ni inglés": (
        "Language when a member's is neither Spanish nor English"
    ),
    "Responder a «@bot pregunta» y a las respuestas a mis mensajes": (
        "Answer “@bot question” and replies to my messages"
    ),
    "Abrir un hilo con el nombre de la pregunta al responder a una mención": (
        "Open a thread named after the question when answering a mention"
    ),
    "Respuestas de /preguntar visibles solo para quien pregunta": (
        "/ask answers visible only to the asker"
    ),
    "Volver a los valores por defecto del bot": "Go back to the bot's defaults",
}


class Translator(app_commands.Translator):
    """Give English names and descriptions to English locales; Spanish to Spanish ones."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """Return the string for a locale, or None to keep the Spanish default."""
        if locale in ENGLISH_LOCALES:
            return ENGLISH.get(string.message)
        if locale in SPANISH_LOCALES:
            return string.message
        return None
