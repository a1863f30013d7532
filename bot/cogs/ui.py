"""Render core values as Discord payloads that respect every Discord limit."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import discord

from bot.cli import citation_label
from bot.core.answer import Answer, Citation, QuotedPassage
from bot.core.dated import timeline
from bot.core.unicode_guard import visible
from bot.i18n import t

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
EMBEDS_MAX = 10
CUSTOM_ID_MAX = 100
LABEL_MAX = 80
ELLIPSIS = "…"
SUMMARY_FIELDS = 2  # the summary repeats quotes: capped so that it never crowds them out

COLOR_ANSWER = discord.Colour.from_rgb(0, 120, 212)
COLOR_NOT_COVERED = discord.Colour.from_rgb(232, 145, 45)
COLOR_INFO = discord.Colour.from_rgb(88, 101, 242)
COLOR_ERROR = discord.Colour.from_rgb(218, 55, 60)


def escape(text: str) -> str:
    """Escape markdown and neutralize mentions in user or document text."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def echo(text: str, limit: int = 100) -> str:
    """Return user text to quote back in a message: visible characters only, escaped, short."""
    return escape(shorten(" ".join(visible(text).split()), limit))


def split_words(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` chars at whitespace, marking cuts with '…'."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        room = limit - 1  # keep a character for the continuation mark
        cut = rest.rfind(" ", 0, room + 1)
        if cut <= room // 2:  # no space near the end (a very long word): cut the word, marked
            cut = room
        chunks.append(rest[:cut].rstrip() + ELLIPSIS)
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def shorten(text: str, limit: int) -> str:
    """Return text within `limit` chars, cut at a word boundary with a visible '…'."""
    return split_words(text, limit)[0]


def bold_quote(passage: QuotedPassage) -> str:
    """Return the passage escaped for Discord, matched words in bold, as a block quote."""
    out, last = [], 0
    text = passage.text
    for s, e in passage.highlights:
        out += [escape(text[last:s]), "**", escape(text[s:e]), "**"]
        last = e
    out.append(escape(text[last:]))
    return "> " + "".join(out).replace("\n", "\n> ")


def citation_line(c: Citation, lang: str) -> str:
    """Return the citation under a quote; the link is clickable when the document has one."""
    label = escape(citation_label(c, lang, link=False))  # the link is added unescaped
    return f"— {label} · <{c.url}>" if c.url else f"— {label}"


@dataclass
class _Packer:
    """Packs text blocks into embeds within the description, per-embed and total limits."""

    colour: discord.Colour
    embeds: list[discord.Embed]
    used: int = 0

    def room(self) -> int:
        return EMBED_TOTAL_MAX - self.used

    def add(self, block: str) -> bool:
        """Add a block (splitting it if it is longer than a description); False when full."""
        pieces = split_words(block, DESCRIPTION_MAX - 2)
        if sum(len(p) + 2 for p in pieces) > self.room():
            return False
        for piece in pieces:
            current = self.embeds[-1]
            desc = current.description or ""
            if len(desc) + len(piece) + 2 <= DESCRIPTION_MAX:
                current.description = f"{desc}\n\n{piece}" if desc else piece
            else:
                if len(self.embeds) >= EMBEDS_MAX:
                    return False
                self.embeds.append(discord.Embed(colour=self.colour, description=piece))
            self.used += len(piece) + 2
        return True


def answer_embeds(answer: Answer, lang: str, heading: str | None = None) -> list[discord.Embed]:
    """Render an answer: question, quotes with bold terms and citations, summary, footer."""
    return answer_page(answer, lang, heading)[0]


def answer_page(
    answer: Answer, lang: str, heading: str | None = None
) -> tuple[list[discord.Embed], int]:
    """Render an answer; also return how many of its passages fit (the rest go to a next page)."""
    footer = t("footer", lang)
    if not answer.answered:
        return [_not_covered_embed(answer, lang, footer)], 0
    title = shorten(heading or question_title(answer, lang), TITLE_MAX)
    first = discord.Embed(title=escape_title(title), colour=COLOR_ANSWER)
    # The page suffix is added to the title at the end: count its longest form now.
    last_page = t("page", lang, a=answer.offset + 1, b=answer.offset + len(answer.passages))
    title_cost = min(TITLE_MAX, len(first.title or "") + (len(last_page) + 3) * bool(answer.offset))
    packer = _Packer(COLOR_ANSWER, [first], used=title_cost + len(footer))
    summary = escape(answer.summary)
    summary_chunks = split_words(summary, FIELD_VALUE_MAX)[:SUMMARY_FIELDS] if summary else []
    names = [
        t("summary", lang) if i == 0 else f"{t('summary', lang)} ({i + 1})"
        for i in range(len(summary_chunks))
    ]
    reserve = sum(len(c) for c in summary_chunks) + sum(len(n) for n in names)
    packer.used += reserve
    hint_max = len(t("more_hint", lang, n=len(answer.passages))) + 2
    shown = 0
    for p in answer.passages:
        if not packer.add(f"{bold_quote(p)}\n{citation_line(p.citation, lang)}"):
            break
        shown += 1
    if not shown and answer.passages:
        # The best passage alone is too long: quote its beginning, cut visibly at a word.
        p = answer.passages[0]
        cite = citation_line(p.citation, lang)
        room = packer.room() - len(cite) - hint_max - 8
        if room >= 100 and packer.add(f"{shorten(bold_quote(p), room)}\n{cite}"):
            shown = 1
    if not answer.passages:
        packer.add(t("no_more", lang))
    elif shown < len(answer.passages):
        packer.add(t("more_hint", lang, n=len(answer.passages) - shown))
    packer.used -= reserve
    last = packer.embeds[-1]
    for name, chunk in zip(names, summary_chunks, strict=True):
        last.add_field(name=name, value=chunk, inline=False)
    if answer.offset:  # the page stays readable however long the question
        page = f" · {t('page', lang, a=answer.offset + 1, b=answer.offset + shown)}"
        first.title = shorten(first.title or "", TITLE_MAX - len(page)) + page
    last.set_footer(text=footer)
    return packer.embeds, shown


def question_title(answer: Answer, lang: str) -> str:
    """Return "Question: ..." as understood (with the words a follow-up carried over)."""
    title = f"{t('question', lang)}: {answer.question}"
    if answer.carried:
        title += " " + t("carried", lang, words=", ".join(answer.carried))
    return title


def escape_title(text: str) -> str:
    """Escape a title (titles render markdown but never ping)."""
    return shorten(escape(text), TITLE_MAX)


def _not_covered_embed(answer: Answer, lang: str, footer: str) -> discord.Embed:
    embed = discord.Embed(
        title=escape_title(question_title(answer, lang)),
        description=shorten(escape(answer.summary), DESCRIPTION_MAX),
        colour=COLOR_NOT_COVERED,
    )
    if answer.suggestions:
        lines = "\n".join(f"• {escape(q)}" for q in answer.suggestions)
        embed.add_field(name=t("suggestions", lang), value=shorten(lines, FIELD_VALUE_MAX))
    embed.set_footer(text=footer)
    return embed


def suggestion_key(question: str) -> str:
    """Return the short stable key that names a suggested question in a custom_id."""
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:16]


def button_label(text: str) -> str:
    """Return a button label within Discord's limit, cut visibly at a word boundary."""
    return shorten(" ".join(text.split()), LABEL_MAX)


def payload_problems(
    content: str | None, embeds: list[discord.Embed], view: Any = None
) -> list[str]:
    """List every Discord limit a message payload breaks (empty when it is valid)."""
    problems = []
    if content and len(content) > CONTENT_MAX:
        problems.append(f"content {len(content)} > {CONTENT_MAX}")
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"{len(embeds)} embeds > {EMBEDS_MAX}")
    total = sum(len(e) for e in embeds)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds total {total} > {EMBED_TOTAL_MAX}")
    for e in embeds:
        if e.title and len(e.title) > TITLE_MAX:
            problems.append("title too long")
        if e.description and len(e.description) > DESCRIPTION_MAX:
            problems.append(f"description {len(e.description)} > {DESCRIPTION_MAX}")
        if len(e.fields) > FIELDS_MAX:
            problems.append("too many fields")
        for f in e.fields:
            if len(f.name or "") > FIELD_NAME_MAX or len(f.value or "") > FIELD_VALUE_MAX:
                problems.append("field too long")
            if not (f.value or "").strip() or not (f.name or "").strip():
                problems.append("empty field")
        if e.footer and e.footer.text and len(e.footer.text) > FOOTER_MAX:
            problems.append("footer too long")
    if view is not None:
        for child in view.children:
            item = getattr(child, "item", child)  # a DynamicItem wraps the real button
            custom_id = getattr(item, "custom_id", None)
            label = getattr(item, "label", None)
            if custom_id and len(custom_id) > CUSTOM_ID_MAX:
                problems.append(f"custom_id {len(custom_id)} > {CUSTOM_ID_MAX}")
            if label and len(label) > LABEL_MAX:
                problems.append(f"label {len(label)} > {LABEL_MAX}")
    return problems


SOURCES_PER_PAGE = 10  # a page of /fuentes is read at a glance; buttons page through the rest
_SOURCES_RESERVE = 200  # title with "page a/b" and the footer


def _source_field(doc: Any, lang: str) -> tuple[str, str]:
    line = t(
        "sources_line",
        lang,
        source=escape(doc.source),
        date=doc.published_label,
        n=len(doc.passages),
    )
    if doc.url:
        line += f"\n<{doc.url}>"
    return shorten(escape(doc.title), FIELD_NAME_MAX), shorten(line, FIELD_VALUE_MAX)


def sources_pages(engine: Any, lang: str) -> list[list[tuple[str, str]]]:
    """Split the documents' fields into pages within the field count and 6,000 total."""
    pages: list[list[tuple[str, str]]] = [[]]
    used = 0
    # A timeline: the oldest report first, so that the pages read as the story unfolded.
    for name, value in (_source_field(doc, lang) for doc in timeline(engine.documents)):
        size = len(name) + len(value)
        full = (
            len(pages[-1]) >= SOURCES_PER_PAGE or used + size > EMBED_TOTAL_MAX - _SOURCES_RESERVE
        )
        if pages[-1] and full:
            pages.append([])
            used = 0
        pages[-1].append((name, value))
        used += size
    return pages


def sources_embed(engine: Any, lang: str, page: int = 0) -> tuple[discord.Embed, int, int]:
    """Render one page of the documents (title, outlet, date, link, passages).

    Return the embed, the page shown (clamped) and the number of pages.
    """
    pages = sources_pages(engine, lang)
    page = min(max(page, 0), len(pages) - 1)
    title = t("sources_title", lang)
    if len(pages) > 1:
        title += f" · {t('page_of', lang, a=page + 1, b=len(pages))}"
    embed = discord.Embed(title=title, colour=COLOR_INFO)
    for name, value in pages[page]:
        embed.add_field(name=name, value=value, inline=False)
    if not engine.documents:
        embed.description = "—"
    embed.set_footer(text=t("sources_count", lang, n=len(engine.documents)))
    return embed, page, len(pages)


def help_embed(
    lang: str,
    examples: list[str],
    mentions: Mapping[str, str] | None = None,
    admin: bool = False,
) -> discord.Embed:
    """Explain how to ask (commands as clickable mentions), with example questions.

    `mentions` maps a command name to its mention (`</preguntar:ID>`); admin commands are
    listed only for admins.
    """
    names = ("preguntar", "resumen", "fuentes", "configurar", "estadisticas", "recargar")
    shown = {n: (mentions or {}).get(n) or f"**/{_command_name(n, lang)}**" for n in names}
    embed = discord.Embed(
        title=t("help_title", lang), description=t("help_body", lang, **shown), colour=COLOR_INFO
    )
    embed.add_field(name=t("help_mentions_title", lang), value=t("help_mentions", lang))
    if admin:
        embed.add_field(name=t("help_admin_title", lang), value=t("help_admin", lang, **shown))
    if examples:
        lines = "\n".join(f"• {escape(q)}" for q in examples)
        embed.add_field(
            name=t("examples", lang), value=shorten(lines, FIELD_VALUE_MAX), inline=False
        )
    embed.set_footer(text=t("footer", lang))
    return embed


def _command_name(name: str, lang: str) -> str:
    from bot.cogs.translator import ENGLISH

    return ENGLISH.get(name, name) if lang == "en" else name


def problems_embed(heading: str, problems: tuple[str, ...] | list[str]) -> discord.Embed:
    """Show knowledge problems (`file:line: message`) in a code block within the limits."""
    lines: list[str] = []
    budget = DESCRIPTION_MAX - len(heading) - 40
    for i, problem in enumerate(problems):
        line = shorten(problem.replace("`", "'"), 300)
        if sum(len(x) + 1 for x in lines) + len(line) > budget:
            lines.append(f"+{len(problems) - i}")
            break
        lines.append(line)
    body = "\n".join(lines)
    return discord.Embed(description=f"{heading}\n```\n{body}\n```", colour=COLOR_ERROR)


def stats_embed(title: str, headline: str, sections: tuple[tuple[str, str], ...]) -> discord.Embed:
    """Render the admin statistics: totals as the description, then one field per section."""
    embed = discord.Embed(title=shorten(title, TITLE_MAX), description=headline, colour=COLOR_INFO)
    for name, value in sections[:FIELDS_MAX]:
        embed.add_field(
            name=shorten(name, FIELD_NAME_MAX),
            value=shorten(escape(value) or "—", FIELD_VALUE_MAX),
            inline=False,
        )
    return embed
