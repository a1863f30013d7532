"""Buttons that keep working after a restart (DynamicItem: state lives in the custom_id)."""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import discord

from bot.cogs.ui import button_label, suggestion_key
from bot.core.answer import Answer
from bot.i18n import lang_of_locale, t

if TYPE_CHECKING:
    from bot.cogs.ask import AskCog

log = logging.getLogger(__name__)


def _cog(interaction: discord.Interaction) -> AskCog:
    cog = interaction.client.get_cog("AskCog")  # type: ignore[attr-defined]
    if cog is None:  # pragma: no cover - the cog is loaded in setup_hook
        raise RuntimeError("AskCog is not loaded")
    return cog  # type: ignore[return-value]


async def _read_config(interaction: discord.Interaction) -> None:
    """Read the server's settings (in time, once per server) before a button answers, as the
    command tree's check does for commands: `locale_lang` needs its language."""
    config = getattr(interaction.client, "interaction_config", None)
    if config is not None:
        await config(interaction)


async def answer_failure(
    interaction: discord.Interaction, error: Exception, item: object = None
) -> None:
    """Log a failed button or select; answer privately if it had not answered yet."""
    from bot.cogs.ask import send_error

    original = getattr(error, "original", error)
    if isinstance(original, discord.NotFound) and original.code == 10062:
        log.warning("interaction %s expired (10062 Unknown interaction)", interaction.id)
        return
    name = getattr(item, "custom_id", None) or type(item).__name__
    key = failure_key(original, f"button {name} of interaction {interaction.id}")
    if not interaction.response.is_done():  # after a response, one more would be a second
        await send_error(interaction, t(key, locale_lang(interaction)))


def failure_key(error: BaseException, where: str, *, traceback: bool = True) -> str:
    """Log what failed in an interaction, once, and return the key of what to tell the user.

    A database failure is the disk's, not the code's: one line naming the cause, and its own
    message (busy: try again; read-only or full: tell whoever runs the bot). Anything else is
    logged with its traceback (unless `traceback` is off) and gets the generic message.
    """
    if not isinstance(error, sqlite3.Error):
        log.error("%s failed: %s", where, error, exc_info=error if traceback else None)
        return "err_generic"
    text = str(error)
    if isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        log.warning("%s: the database is busy (%s); the user was asked to retry", where, text)
        return "err_busy"
    log.error(
        "%s: the database refused the change (%s); check DATA_DIR's permissions and free space",
        where,
        text,
    )
    return "err_store"


class AnswersOnce:
    """Mixin for every button: whatever fails behind `press`, the user gets one answer.

    discord.py only logs (and swallows) what a DynamicItem's callback raises, so neither the
    tree's error handler nor View.on_error ever sees it.
    """

    async def press(self, interaction: discord.Interaction) -> None:
        """Do what the button does (subclasses)."""
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        """Run `press`; turn any failure into a private error (if nothing was sent yet)."""
        try:
            await _read_config(interaction)
            await self.press(interaction)
        except Exception as exc:
            await answer_failure(interaction, exc, self)


class SafeView(discord.ui.View):
    """A persistent view whose items' failures are answered like the buttons' ones."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Answer privately (once) and log."""
        await answer_failure(interaction, error, item)


class FeedbackButton(
    AnswersOnce,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"fb:(?P<vote>up|down):(?P<qid>\d+)",
):
    """👍 / 👎 on an answer: one vote per user per answer, changeable."""

    def __init__(self, vote: str, question_id: int) -> None:
        self.vote, self.question_id = vote, question_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="👍" if vote == "up" else "👎",
                custom_id=f"fb:{vote}:{question_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> FeedbackButton:
        """Rebuild the button from its custom_id."""
        return cls(match["vote"], int(match["qid"]))

    async def press(self, interaction: discord.Interaction) -> None:
        """Record the vote and thank the voter privately."""
        await _cog(interaction).vote(interaction, self.question_id, 1 if self.vote == "up" else -1)


class SuggestionButton(
    AnswersOnce, discord.ui.DynamicItem[discord.ui.Button], template=r"sg:(?P<key>[0-9a-f]{16})"
):
    """A suggested question; pressing it asks it."""

    def __init__(self, key: str, label: str = "?") -> None:
        self.key = key
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary, label=button_label(label), custom_id=f"sg:{key}"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> SuggestionButton:
        """Rebuild the button from its custom_id."""
        return cls(match["key"], item.label or "?")

    async def press(self, interaction: discord.Interaction) -> None:
        """Ask the suggested question."""
        await _cog(interaction).ask_suggestion(interaction, self.key)


class MoreButton(
    AnswersOnce,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"more:(?P<qid>\d+):(?P<offset>\d+):(?P<user>\d+)",
):
    """◀ / ▶: the page of passages starting at `offset`, in place for the person who asked.

    Anybody else gets a private copy of that page, which they can page in turn. (Answers
    from before in-place paging carry the same button as "Más pasajes".)
    """

    def __init__(self, question_id: int, offset: int, user_id: int, label: str = "▶") -> None:
        self.question_id, self.offset, self.user_id = question_id, offset, user_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=label,
                custom_id=f"more:{question_id}:{offset}:{user_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> MoreButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["qid"]), int(match["offset"]), int(match["user"]), item.label or "")

    async def press(self, interaction: discord.Interaction) -> None:
        """Show the page: in place for the asker, as a private copy for anybody else."""
        await _cog(interaction).more(interaction, self.question_id, self.offset, self.user_id)


class SourcesPageButton(
    AnswersOnce,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"src:(?P<page>\d+):(?P<dir>prev|next)",
):
    """Previous / next page of /fuentes: edits the message it sits on (same visibility)."""

    def __init__(self, page: int, direction: str, label: str = "", disabled: bool = False) -> None:
        self.page, self.direction = page, direction
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=label or None,
                emoji="◀️" if direction == "prev" else "▶️",
                custom_id=f"src:{page}:{direction}",
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> SourcesPageButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["page"]), match["dir"], item.label or "")

    async def press(self, interaction: discord.Interaction) -> None:
        """Show the page this button points to, in place."""
        await _cog(interaction).sources_page(interaction, self.page)


def sources_view(page: int, pages: int, lang: str) -> discord.ui.View | None:
    """Return the ◀ / ▶ buttons of a /fuentes page, or None when everything fits on one."""
    if pages <= 1:
        return None
    view = SafeView()
    view.add_item(SourcesPageButton(max(page - 1, 0), "prev", t("previous", lang), page == 0))
    last = pages - 1
    view.add_item(SourcesPageButton(min(page + 1, last), "next", t("next", lang), page == last))
    return view


class DeleteButton(
    AnswersOnce,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"del:(?P<qid>\d+):(?P<user>\d+)",
):
    """🗑️ on a public answer: the asker, or members who can manage messages, delete it."""

    def __init__(self, question_id: int, user_id: int) -> None:
        self.question_id, self.user_id = question_id, user_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="🗑️",
                custom_id=f"del:{question_id}:{user_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> DeleteButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["qid"]), int(match["user"]))

    async def press(self, interaction: discord.Interaction) -> None:
        """Delete the answer, when the presser may."""
        await _cog(interaction).delete_answer(interaction, self.user_id)


class PublishButton(
    AnswersOnce,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"pub:(?P<qid>\d+):(?P<offset>\d+)",
):
    """ "Publicar" on a private answer: posts that page publicly in the channel."""

    def __init__(self, question_id: int, offset: int, label: str = "Publicar") -> None:
        self.question_id, self.offset = question_id, offset
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                label=label,
                emoji="📢",
                custom_id=f"pub:{question_id}:{offset}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> PublishButton:
        """Rebuild the button from its custom_id."""
        return cls(int(match["qid"]), int(match["offset"]), item.label or "Publicar")

    async def press(self, interaction: discord.Interaction) -> None:
        """Post the answer publicly, as the presser's."""
        await _cog(interaction).publish(interaction, self.question_id, self.offset)


MISSING_MAX = 300


class MissingModal(discord.ui.Modal):
    """After a 👎: "¿Qué faltó?", optional, at most 300 characters, kept with the vote."""

    def __init__(self, question_id: int, lang: str) -> None:
        super().__init__(title=t("missing_title", lang), custom_id=f"missing:{question_id}")
        self.question_id = question_id
        self.text: discord.ui.TextInput[MissingModal] = discord.ui.TextInput(
            label=t("missing_label", lang),
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=MISSING_MAX,
            placeholder=t("missing_placeholder", lang),
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the comment with the vote."""
        await _read_config(interaction)
        await _cog(interaction).comment(interaction, self.question_id, self.text.value or "")

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Answer privately (once) and log, like the buttons."""
        await answer_failure(interaction, error, self)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    FeedbackButton,
    SuggestionButton,
    MoreButton,
    SourcesPageButton,
    DeleteButton,
    PublishButton,
)


def add_suggestions(view: discord.ui.View, questions: Iterable[str]) -> discord.ui.View:
    """Add one button per suggested question; pressing it asks the question."""
    for q in questions:
        view.add_item(SuggestionButton(suggestion_key(q), q))
    return view


def add_pages(
    view: discord.ui.View,
    answer: Answer,
    lang: str,
    question_id: int,
    user_id: int,
    page_size: int,
) -> None:
    """Add ◀ "página 2/4" ▶ when the answer has more than one page."""
    if not answer.more and not answer.offset:
        return
    size = max(page_size, 1)
    page = answer.offset // size + 1 + bool(answer.offset % size)
    pages = max(page + answer.more, math.ceil(max(answer.total, 1) / size))
    previous = max(answer.offset - size, 0)
    view.add_item(MoreButton(question_id, previous, user_id, "◀"))
    if not answer.offset:
        view.children[-1].item.disabled = True  # type: ignore[attr-defined]
    view.add_item(
        discord.ui.Button(
            label=t("page_of", lang, a=page, b=pages),
            custom_id=f"pages:{question_id}:{answer.offset}",
            disabled=True,
        )
    )
    following = answer.offset + len(answer.passages)
    view.add_item(MoreButton(question_id, following, user_id, "▶"))
    if not answer.more:
        view.children[-1].item.disabled = True  # type: ignore[attr-defined]


def answer_view(
    answer: Answer,
    lang: str,
    question_id: int | None,
    user_id: int,
    url: str | None,
    page_size: int = 3,
    public: bool = True,
) -> discord.ui.View:
    """Return the buttons under an answer: pages, feedback, delete or publish, suggestions, link.

    A public answer can be deleted (by the asker or a moderator); a private one published.
    """
    view = SafeView()
    if answer.answered:
        if question_id is not None:
            add_pages(view, answer, lang, question_id, user_id, page_size)
        if question_id is not None:
            view.add_item(FeedbackButton("up", question_id))
            view.add_item(FeedbackButton("down", question_id))
    else:
        add_suggestions(view, answer.suggestions[:3])
    if question_id is not None and public:
        view.add_item(DeleteButton(question_id, user_id))
    elif question_id is not None and answer.answered:
        view.add_item(PublishButton(question_id, answer.offset, t("publish", lang)))
    if url:
        view.add_item(
            discord.ui.Button(style=discord.ButtonStyle.link, label=t("link", lang), url=url)
        )
    return view


def locale_lang(interaction: discord.Interaction) -> str:
    """Return the language of everything an interaction shows: the member's locale when it is
    Spanish or English, else the server's /configurar language (DEFAULT_LANG without one).

    Every interaction reads its server's settings first (the tree's check, `AnswersOnce`), so
    this stays synchronous and gives the same language all along the interaction.
    """
    known = getattr(interaction.client, "known_config", None)
    settings = getattr(interaction.client, "settings", None)
    default = known(interaction).lang if known else getattr(settings, "default_lang", "es")
    locale = getattr(interaction, "locale", None)
    return lang_of_locale(str(locale.value if hasattr(locale, "value") else locale or ""), default)
