"""End to end: the real bot (``python -m bot`` or its client in-process) against the fake Discord.

Every REST body the bot sends is validated against the vendored Discord OpenAPI spec by the
fake (the ``fake_discord`` fixture fails the test at teardown on any violation).
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import bot.cogs.ask as ask_module
from bot.cogs.client import ShardedDealBot
from bot.core.answer import Engine
from bot.i18n import t
from bot.settings import Settings
from bot.store import SqliteStore

from .bot_harness import (
    DEADLINE,
    MANAGE_GUILD,
    OTHER_TOKEN,
    QUESTION,
    QUOTE,
    REPO,
    TOKEN,
    InProcessBot,
    assert_no_mention_parsing,
    clean_env,
    custom_ids,
    is_ephemeral,
    is_loading,
    make_settings,
    message_text,
    start_in_process,
    start_process,
)
from .fake_discord import DEFAULT_MEMBER_PERMISSIONS, FakeDiscord, RecordedRequest

JSON = Any
CALLBACK_RX = r"^/interactions/\d+/[^/]+/callback$"
FOLLOWUP_RX = r"^/webhooks/\d+/[^/]+$"
ADMIN = str(int(DEFAULT_MEMBER_PERMISSIONS) | MANAGE_GUILD)
COMMANDS = {
    "preguntar": "ask",
    "resumen": "summary",
    "fuentes": "sources",
    "ayuda": "help",
    "estado": "status",
    "recargar": "reload",
    "estadisticas": "stats",
    "configurar": "configure",
    "Preguntar al bot": "Ask the bot",
}
LANG_OF = {"es-ES": "es", "en-US": "en"}


@pytest.fixture
async def running(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> AsyncIterator[InProcessBot]:
    """The real DealBot (SQLite store in tmp_path) logged in, synced and connected.

    COOLDOWN_QUESTIONS is raised to 1000: these tests ask many questions as one user.
    """
    settings = make_settings(tmp_path, cooldown_questions=1000)
    store = SqliteStore(tmp_path / "e2e.sqlite3", "salt-for-tests")
    bot = await start_in_process(fake_discord, settings, engine, store, skip_identify_wait=True)
    try:
        yield bot
    finally:
        await bot.stop()
        store.close()


def plain(text: str) -> str:
    """Text without the bold markers the bot puts around matched words."""
    return text.replace("**", "")


def load_questions() -> list[tuple[str, str]]:
    """(question, locale) pairs of the evaluation files."""
    out = []
    for name in ("questions.jsonl", "extra_questions.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                out.append((case["q"], "en-US" if case["lang"] == "en" else "es-ES"))
    return out


async def interact(fake: FakeDiscord, payload: JSON, *, message: bool = True) -> JSON:
    """Dispatch; wait for the accepted initial response (in time) and, if asked, the message."""
    sent = await fake.dispatch_interaction(payload)
    callback = await fake.wait_for_callback(payload["id"], timeout=DEADLINE + 1)
    assert callback.time - sent <= DEADLINE, f"answered after {callback.time - sent:.2f} s"
    if not message:
        return callback.body
    return await fake.wait_for_message(payload["id"], timeout=5)


async def when(fake: FakeDiscord, condition: Callable[[], object], what: str) -> float:
    """``time.monotonic()`` at which ``condition()`` became true (checked every <= 20 ms)."""
    await fake.wait_until(condition, 10, what)
    return time.monotonic()


def callbacks_by_interaction(fake: FakeDiscord) -> dict[str, list[RecordedRequest]]:
    """Every callback request, grouped by interaction id (one pass over the log)."""
    out: dict[str, list[RecordedRequest]] = {}
    for r in fake.requests:
        if r.path.startswith("/interactions/") and r.path.endswith("/callback"):
            out.setdefault(r.path.split("/")[2], []).append(r)
    return out


def assert_answered_once_in_time(fake: FakeDiscord, *, retries_allowed: bool = False) -> int:
    """Each dispatched interaction: one accepted initial response within 3 s, no other."""
    by_id = callbacks_by_interaction(fake)
    dispatched = [s for s in fake.interactions.values() if s.dispatched_at is not None]
    for state in dispatched:
        calls = by_id.get(state.id, [])
        accepted = [c for c in calls if c.ok]
        assert len(accepted) == 1, (state.payload.get("data"), calls)
        if not retries_allowed:
            assert len(calls) == 1, calls
        assert accepted[0].time - state.dispatched_at <= DEADLINE
        assert_no_mention_parsing(fake, state.id)
    fake.assert_no_spec_violations()
    return len(dispatched)


# ---------------------------------------------------------------------- 1. the real process


async def test_process_logs_in_syncs_connects_and_stops_on_sigterm(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    env = clean_env(fake_discord_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data"))
    proc = await start_process(tmp_path, env)
    try:
        await fake.wait_until(
            lambda: proc.proc.returncode is not None or fake.ready_connection(),
            20,
            "python -m bot to connect",
        )
        assert proc.proc.returncode is None, proc.stderr
        assert [r.path for r in fake.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]

        # Synced once, globally (no DISCORD_GUILD_ID), before the gateway connection.
        (sync,) = [r for r in fake.requests if r.method == "PUT"]
        assert sync.template == "/applications/{application_id}/commands"
        assert sync.ok and sync.spec_errors is None
        commands = {c["name"]: c for c in fake.commands[None]}
        assert set(commands) == set(COMMANDS)
        assert {n: c["name_localizations"]["en-US"] for n, c in commands.items()} == COMMANDS
        assert {n: c["name_localizations"]["es-ES"] for n, c in commands.items()} == {
            n: n for n in COMMANDS
        }
        # Manage Server (1 << 5) for the admin commands; discord.py sends the integer 32,
        # which the spec types as integer (Discord answers with the string "32").
        perms = {n: c["default_member_permissions"] for n, c in commands.items()}
        admin = {"recargar", "estadisticas", "configurar"}
        assert {n for n, p in perms.items() if p is not None} == admin
        assert {str(perms[n]) for n in admin} == {"32"}
        assert commands["Preguntar al bot"]["type"] == 3
        assert (tmp_path / "data" / "command-tree.sha256").is_file()

        (identify,) = fake.identify_payloads
        assert identify["token"] == TOKEN and "shard" not in identify
        assert fake.connects == 1 and fake.resumes == 0

        # A question whose answer is still on the wire when SIGTERM arrives: the fake holds
        # the callback for 1 s; shutdown must let it finish before closing the gateway.
        fake.delay_next("POST", CALLBACK_RX, 1.0)
        interaction = fake.slash_interaction("preguntar", {"pregunta": QUESTION})
        await fake.dispatch_interaction(interaction)
        callback = await fake.wait_for(lambda r: r.path.split("/")[2:3] == [interaction["id"]])
        conn = fake.ready_connection()
        assert conn is not None and callback.status == 0  # arrived, not answered yet
        answered = asyncio.ensure_future(when(fake, lambda: callback.status, "the answer"))
        closed = asyncio.ensure_future(when(fake, lambda: not conn.open, "the gateway close"))
        sigterm_at = proc.terminate()
        assert await proc.wait(10) == 0
        exited_at = time.monotonic()
        answered_at, closed_at = await answered, await closed
    finally:
        await proc.kill()
    assert exited_at - sigterm_at <= 10
    # Without waiting for in-flight answers the process is gone ~0.2 s after SIGTERM, long
    # before the fake releases the held callback (1 s).
    assert answered_at <= closed_at, "shutdown did not wait for the in-flight answer"
    assert callback.status == 200
    message = fake.messages_for(interaction["id"])[0]
    assert QUOTE in plain(message_text(message))
    assert_answered_once_in_time(fake)
    out, err = proc.stdout, proc.stderr
    assert "shutting down: finishing in-flight answers" in err and "stopped" in err
    assert "Traceback" not in err
    # One startup line says whether English questions are machine-translated.
    (translation,) = [line for line in err.splitlines() if "English translation: " in line]
    assert "English translation: on (" in translation or "apt-get install" in translation
    for secret in (TOKEN, TOKEN.rsplit(".", 1)[1]):
        assert secret not in out and secret not in err


# ---------------------------------------------------------------------- 2. every interaction


def more_question(engine: Engine) -> str:
    """An evaluation question whose answer has a next page (a "more" button)."""
    for question, _ in load_questions():
        if engine.ask(question, lang="es", k=3).more:
            return question
    raise AssertionError("no evaluation question has more than one page of passages")


@pytest.mark.parametrize("locale", ["es-ES", "en-US"])
async def test_every_command_button_and_menu_answers_once(
    fake_discord: FakeDiscord, running: InProcessBot, engine: Engine, locale: str
) -> None:
    fake = fake_discord
    lang = LANG_OF[locale]
    user = fake.user["id"]

    def slash(name: str, options: JSON = None, **kw: Any) -> JSON:
        return fake.slash_interaction(name, options, locale=locale, **kw)

    def click(custom_id: str, message: JSON, **kw: Any) -> JSON:
        return fake.component_interaction(custom_id, message, locale=locale, **kw)

    # /preguntar: the verbatim quote, the frame in the user's language, feedback buttons.
    answer = await interact(fake, slash("preguntar", {"pregunta": QUESTION}))
    # Verbatim in the summary; in the quote block the matched words are bold ("**vigente**").
    assert QUOTE in message_text(answer) and QUOTE in plain(answer["embeds"][0]["description"])
    assert not is_ephemeral(answer)
    assert answer["embeds"][0]["title"] == f"{t('question', lang)}: {QUESTION}"
    assert answer["embeds"][-1]["footer"]["text"] == t("footer", lang)
    ids = custom_ids(answer)
    assert [i.split(":")[:2] for i in ids] == [["fb", "up"], ["fb", "down"], ["del", "1"]]

    private = await interact(fake, slash("preguntar", {"pregunta": QUESTION, "privado": True}))
    assert is_ephemeral(private) and QUOTE in plain(message_text(private))
    # "Publicar" posts the private answer in the channel (then it can be deleted instead).
    (publish_id,) = [i for i in custom_ids(private) if i.startswith("pub:")]
    published = await interact(fake, click(publish_id, private))
    assert not is_ephemeral(published) and QUOTE in plain(message_text(published))
    assert "del" in {i.split(":")[0] for i in custom_ids(published)}
    assert "pub" not in {i.split(":")[0] for i in custom_ids(published)}

    # Autocomplete of the question option.
    body = await interact(
        fake,
        fake.autocomplete_interaction("preguntar", "pregunta", "vigente", locale=locale),
        message=False,
    )
    assert body["type"] == 8 and QUESTION in [c["value"] for c in body["data"]["choices"]]

    # 👍: private thanks, in the voter's language. 👎: a modal asks what was missing
    # (optional, at most 300 characters); the comment is kept with the vote.
    thanks = await interact(fake, click(ids[0], answer))
    assert thanks["content"] == t("vote_thanks_up", lang) and is_ephemeral(thanks)
    modal = await interact(fake, click(ids[1], answer), message=False)
    assert modal["type"] == 9 and modal["data"]["title"] == t("missing_title", lang)
    (text_input,) = modal["data"]["components"][0]["components"]
    assert text_input["max_length"] == 300 and text_input["required"] is False
    comment = "No dice qué pasa después"
    submitted = fake.modal_submit_interaction(
        modal["data"]["custom_id"], {text_input["custom_id"]: comment}, locale=locale
    )
    thanks = await interact(fake, submitted)
    assert thanks["content"] == t("vote_thanks_down", lang) and is_ephemeral(thanks)

    # ◀ / ▶: the asker's answer is edited in place ("página 2/N"); anybody else pressing
    # gets a private copy of that page, which they can page in turn.
    paged = await interact(fake, slash("preguntar", {"pregunta": more_question(engine)}))
    more_id = [i for i in custom_ids(paged) if i.startswith("more:")][-1]  # ▶
    assert more_id.endswith(f":{user}")
    click_next = click(more_id, paged)
    page = await interact(fake, click_next)
    (callback,) = fake.callbacks_for(click_next["id"])
    assert callback.body["type"] == 7 and callback.spec_errors is None  # UPDATE_MESSAGE
    assert page["id"] == paged["id"] and not is_ephemeral(page)
    assert t("page", lang, a=4, b=4).split()[0] in page["embeds"][0]["title"]
    labels = [c.get("label") for row in page["components"] for c in row["components"]]
    assert t("page_of", lang, a=2, b=0)[:-1] in " ".join(filter(None, labels))
    other = fake.snowflake()
    copy = await interact(fake, click(more_id, paged, user_id=other))
    assert is_ephemeral(copy) and [i for i in custom_ids(copy) if i.startswith("more:")][
        -1
    ].endswith(f":{other}")

    # Context menu on somebody's message.
    target = fake.make_message(fake.channel_id, {"content": QUESTION}, author=fake.owner_user)
    menu = await interact(
        fake, fake.message_context_interaction(target, "Preguntar al bot", locale=locale)
    )
    assert QUOTE in plain(message_text(menu))
    assert menu["embeds"][0]["title"].startswith(t("question", lang))

    # /ayuda with suggestion buttons; pressing one asks that question.
    help_msg = await interact(fake, slash("ayuda"))
    assert help_msg["embeds"][0]["title"] == t("help_title", lang) and is_ephemeral(help_msg)
    suggestions = [i for i in custom_ids(help_msg) if i.startswith("sg:")]
    assert len(suggestions) == 3
    suggested = await interact(fake, click(suggestions[0], help_msg))
    assert suggested["embeds"][0]["title"].startswith(f"{t('question', lang)}: ")
    assert QUOTE in plain(message_text(suggested))  # the first example is QUESTION

    # The other commands.
    summary = await interact(fake, slash("resumen"))
    assert summary["embeds"][-1]["footer"]["text"] == t("footer", lang)
    sources = await interact(fake, slash("fuentes"))
    assert sources["embeds"][0]["title"] == t("sources_title", lang)
    status = await interact(fake, slash("estado"))
    assert status["embeds"][0]["title"] == t("status_title", lang) and is_ephemeral(status)

    # Reload is the operator's (the application owner here), not any server admin's.
    forbidden = await interact(fake, slash("recargar", permissions=ADMIN))
    assert forbidden["content"] == t("err_operator", lang) and is_ephemeral(forbidden)
    reloaded = await interact(fake, slash("recargar", user_id=fake.owner_user["id"]))
    head = t("reload_ok", lang, docs=1, passages=0, secs=0).split(":")[0]
    assert reloaded["embeds"][0]["description"].startswith(head) and is_ephemeral(reloaded)
    stats = await interact(fake, slash("estadisticas", permissions=ADMIN))
    assert stats["embeds"][0]["title"] == t("stats_title", lang, days=30)
    assert comment in message_text(stats)  # what was missing, for this server
    stats7 = await interact(fake, slash("estadisticas", {"dias": 7}, permissions=ADMIN))
    assert stats7["embeds"][0]["title"] == t("stats_title", lang, days=7)

    # 🗑️: somebody else is refused; the asker deletes the public answer (through the webhook).
    refused = await interact(fake, click(ids[2], answer, user_id=fake.snowflake()))
    assert refused["content"] == t("err_not_yours_delete", lang) and is_ephemeral(refused)
    delete = click(ids[2], answer)
    await interact(fake, delete, message=False)
    await fake.wait_until(lambda: fake.interaction(delete["id"]).deleted, 5, "the deletion")
    assert fake.interaction(delete["id"]).deleted == [answer["id"]]

    await asyncio.sleep(0.2)  # a late duplicate response would show up here
    assert assert_answered_once_in_time(fake) == 22
    assert fake.unknown_routes == []
    for state in fake.interactions.values():
        assert all(not is_loading(m) for m in state.messages)


# ---------------------------------------------------------------------- 3. load


async def test_500_questions_in_bursts_of_50(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Default per-user cooldown; every question comes from a different user."""
    fake = fake_discord
    settings = make_settings(tmp_path)
    assert settings.cooldown_questions == Settings.model_fields["cooldown_questions"].default
    store = SqliteStore(tmp_path / "load.sqlite3", "salt-for-tests")
    running = await start_in_process(fake, settings, engine, store)
    try:
        await _load(fake, capsys)
    finally:
        await running.stop()
        store.close()


async def _load(fake: FakeDiscord, capsys: pytest.CaptureFixture[str]) -> None:
    questions = load_questions()
    total, burst = 500, 50
    ids: list[str] = []
    for start in range(0, total, burst):
        payloads = []
        for n in range(start, start + burst):
            question, locale = questions[n % len(questions)]
            options = {"pregunta": question}
            payloads.append(
                fake.slash_interaction("preguntar", options, locale=locale, user_id=str(10_000 + n))
            )
        await asyncio.gather(*(fake.dispatch_interaction(p) for p in payloads))
        batch = [p["id"] for p in payloads]
        ids += batch

        def burst_done(batch: list[str] = batch) -> bool:
            by_id = callbacks_by_interaction(fake)
            return all(any(c.status for c in by_id.get(i, [])) for i in batch)

        await fake.wait_until(burst_done, DEADLINE + 2, "a burst of answers")

    # Deferred answers (if any) must end as real messages, not "thinking...".
    await fake.wait_until(
        lambda: all(
            fake.interaction(i).original is not None
            and not is_loading(fake.interaction(i).original)
            for i in ids
        ),
        10,
        "every answer message",
    )
    by_id = callbacks_by_interaction(fake)
    latencies = []
    for i in ids:
        calls = by_id[i]
        assert len(calls) == 1 and calls[0].status == 200, calls
        latency = calls[0].time - fake.interaction(i).dispatched_at
        assert latency <= DEADLINE
        latencies.append(latency)
        answer = fake.interaction(i).original
        assert answer["embeds"] and not answer["content"], answer  # an answer, not an error
    assert len(latencies) == total
    cuts = statistics.quantiles(latencies, n=100)
    with capsys.disabled():
        print(
            f"\n[load] {total} /preguntar in bursts of {burst}: dispatch->callback "
            f"p50={cuts[49] * 1000:.1f} ms p99={cuts[98] * 1000:.1f} ms "
            f"max={max(latencies) * 1000:.1f} ms"
        )


# ---------------------------------------------------------------------- 4. faults


async def ask_and_check(fake: FakeDiscord, locale: str = "es-ES") -> JSON:
    interaction = fake.slash_interaction("preguntar", {"pregunta": QUESTION}, locale=locale)
    message = await interact(fake, interaction)
    assert QUOTE in plain(message_text(message))
    return interaction


async def test_gateway_closed_1001_then_4000_then_answers(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    for n, code in enumerate((1001, 4000), start=1):
        assert await fake.close_gateway(code) == 1
        await fake.wait_until(
            lambda n=n: fake.resumes + fake.identifies - 1 >= n and fake.ready_connection(),
            10,
            f"RESUME/IDENTIFY after close {code}",
        )
        await ask_and_check(fake)
    assert fake.connects == 3
    assert [c.closed_with for c in fake.connections[:2]] == [1001, 4000]
    assert_answered_once_in_time(fake)


async def test_rate_limited_callback_is_retried_and_delivered(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    fake.rate_limit_next("POST", CALLBACK_RX, retry_after=0.3)
    interaction = await ask_and_check(fake)
    calls = fake.callbacks_for(interaction["id"])
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].time - calls[0].time >= 0.3
    assert len(fake.messages_for(interaction["id"])) == 1
    assert_answered_once_in_time(fake, retries_allowed=True)


async def test_unknown_interaction_is_logged_and_the_next_one_answered(
    fake_discord: FakeDiscord, running: InProcessBot, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_discord
    caplog.set_level(logging.WARNING)
    fake.fail_next("POST", CALLBACK_RX, 404, {"message": "Unknown interaction", "code": 10062})
    lost = fake.slash_interaction("preguntar", {"pregunta": QUESTION})
    await fake.dispatch_interaction(lost)
    await fake.wait_until(
        lambda: any(lost["id"] in r.getMessage() for r in caplog.records), 5, "the warning"
    )
    (record,) = [r for r in caplog.records if lost["id"] in r.getMessage()]
    assert record.levelno == logging.WARNING and "10062" in record.getMessage()
    await ask_and_check(fake)
    await asyncio.sleep(0.1)
    assert [c.status for c in fake.callbacks_for(lost["id"])] == [404]
    assert fake.requests_for(lost["id"])[1:] == []  # no error message tried on a dead token
    assert fake.messages_for(lost["id"]) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def always_defer(monkeypatch: pytest.MonkeyPatch) -> None:
    """deliver() gets no time budget: it defers ("thinking...") and then follows up."""
    monkeypatch.setattr(ask_module, "ACK_MARGIN", ask_module.ACK_DEADLINE)


class _FastRetryAsyncio:
    """``asyncio`` as discord.webhook.async_ sees it: its 1-9 s 5xx retry sleeps take 10 ms."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(min(delay, 0.01), result)


async def test_followup_500_once_is_retried_by_discord_py(
    fake_discord: FakeDiscord, running: InProcessBot, always_defer: None
) -> None:
    fake = fake_discord
    fake.fail_next("POST", FOLLOWUP_RX, 500)
    interaction = await ask_and_check(fake)
    assert fake.callbacks_for(interaction["id"])[0].body["type"] == 5  # deferred, thinking
    followups = [r for r in fake.requests_for(interaction["id"]) if r.path.startswith("/webhooks")]
    assert [(r.method, r.status) for r in followups] == [("POST", 500), ("POST", 200)]
    assert followups[1].time - followups[0].time >= 1.0  # discord.py waits 1 s, then retries
    assert_answered_once_in_time(fake)


@pytest.mark.parametrize("via", ["slash", "button"])
@pytest.mark.parametrize("locale", ["es-ES", "en-US"])
async def test_followup_failing_for_good_turns_thinking_into_an_error(
    fake_discord: FakeDiscord,
    running: InProcessBot,
    engine: Engine,
    always_defer: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    via: str,
    locale: str,
) -> None:
    """Outcome: the error is logged with the interaction id and "thinking..." becomes a short
    localized error (the followup is not retried forever, the user is not left waiting)."""
    import discord.webhook.async_

    fake = fake_discord
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(discord.webhook.async_, "asyncio", _FastRetryAsyncio())
    if via == "slash":
        interaction = fake.slash_interaction("preguntar", {"pregunta": QUESTION}, locale=locale)
    else:  # a "more passages" button: errors in views never reach the command tree handler
        paged = await interact(
            fake, fake.slash_interaction("preguntar", {"pregunta": more_question(engine)})
        )
        more_id = [i for i in custom_ids(paged) if i.startswith("more:")][-1]  # ▶
        # Somebody else's press: a private copy of the page (the asker's edits in place).
        interaction = fake.component_interaction(
            more_id, paged, locale=locale, user_id=fake.snowflake()
        )
    fake.fail_next("POST", FOLLOWUP_RX, 500, times=5)  # every try discord.py makes
    await fake.dispatch_interaction(interaction)
    iid = interaction["id"]
    message = await fake.wait_for_message(iid, timeout=5)
    assert message["content"] == t("err_generic", LANG_OF[locale])
    assert message["embeds"] == [] and message["components"] == []
    assert is_ephemeral(message)  # errors are private, whatever the answer would have been
    assert fake.messages_for(iid) == [message]
    requests = fake.requests_for(iid)
    shown = [("PATCH", 200)]  # a private placeholder is edited into the error
    if via == "slash":  # a public one is deleted, the error follows privately
        shown = [("DELETE", 204), ("POST", 200)]
    assert [(r.method, r.status) for r in requests] == [
        ("POST", 200),  # defer (thinking)
        *[("POST", 500)] * 5,  # the answer, tried 5 times by discord.py
        *shown,
    ]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and iid in errors[0].getMessage()
    await ask_and_check(fake)  # and the bot keeps answering
    assert_answered_once_in_time(fake)


# ---------------------------------------------------------------------- 5. bad tokens


def _single_error_line(stderr: str) -> str:
    """The one ``error:`` line of stderr; every other line must be an ordinary log record."""
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, stderr
    others = [line for line in lines if not line.startswith("error:")]
    assert all(line.startswith("[") and "] [" in line for line in others), stderr
    assert not [line for line in others if "[ERROR" in line or "[CRITICAL" in line], stderr
    assert "Traceback" not in stderr
    return errors[0]


async def test_rejected_token_exits_2_with_one_line(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    fake.reject_token = True
    env = clean_env(fake_discord_env, DISCORD_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data"))
    proc = await start_process(tmp_path, env)
    try:
        assert await proc.wait(20) == 2
    finally:
        await proc.kill()
    line = _single_error_line(proc.stderr)
    assert "401" in line and "DISCORD_TOKEN" in line
    assert proc.stdout == ""
    for text in (proc.stdout, proc.stderr):
        assert TOKEN not in text and TOKEN.rsplit(".", 1)[1] not in text
    assert [(r.path, r.status) for r in fake.requests] == [("/users/@me", 401)]
    assert fake.connects == 0


async def test_malformed_token_exits_2_without_network(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    env = clean_env(fake_discord_env, DISCORD_TOKEN="abc", DATA_DIR=str(tmp_path / "data"))
    proc = await start_process(tmp_path, env)
    try:
        assert await proc.wait(20) == 2
    finally:
        await proc.kill()
    assert proc.stderr.splitlines() == [_single_error_line(proc.stderr)]  # nothing else at all
    assert "DISCORD_TOKEN" in proc.stderr and "abc" not in proc.stderr
    assert proc.stdout == ""
    assert fake.requests == [] and fake.connects == 0
    assert not (tmp_path / "data").exists()


# ---------------------------------------------------------------------- 6. sharding


def guild_per_shard(fake: FakeDiscord, shards: int) -> dict[int, str]:
    """Add fake guilds until every shard has one; return {shard_id: guild_id}."""
    out: dict[int, str] = {}
    while True:
        for guild in fake.guilds:
            out.setdefault((int(guild["id"]) >> 22) % shards, guild["id"])
        if len(out) == shards:
            return out
        time.sleep(0.002)  # the shard of a guild comes from its id's millisecond timestamp
        fake.guilds.append(fake._guild(len(fake.guilds)))


@pytest.mark.fake_discord(shard_count=2)
async def test_sharded_bot_identifies_each_shard(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    fake = fake_discord
    guilds = guild_per_shard(fake, 2)
    settings = make_settings(tmp_path, shard_count=2, shard_ids=[0, 1])
    bot = await start_in_process(fake, settings, engine, skip_identify_wait=True, shards=2)
    try:
        assert isinstance(bot.bot, ShardedDealBot)
        assert sorted(p["shard"] for p in fake.identify_payloads) == [[0, 2], [1, 2]]
        assert sorted(c.shard for c in fake.connections) == [[0, 2], [1, 2]]
        for shard_id, guild_id in sorted(guilds.items()):
            interaction = fake.slash_interaction(
                "preguntar", {"pregunta": QUESTION}, guild_id=guild_id
            )
            message = await interact(fake, interaction)
            assert QUOTE in plain(message_text(message)), shard_id
        # With SHARD_COUNT set, discord.py connects to its default gateway URL and never
        # asks GET /gateway/bot (it only does when it must discover the shard count).
        assert [r.path for r in fake.requests if r.path.startswith("/gateway")] == []
        assert_answered_once_in_time(fake)
    finally:
        await bot.stop()


@pytest.mark.fake_discord(shard_count=2)
async def test_two_processes_each_identify_only_their_shard(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    guilds = guild_per_shard(fake, 2)
    tokens = {0: TOKEN, 1: OTHER_TOKEN}
    procs = []
    try:
        for shard_id, token in tokens.items():
            workdir = tmp_path / f"shard{shard_id}"
            workdir.mkdir()
            env = clean_env(
                fake_discord_env,
                DISCORD_TOKEN=token,
                DATA_DIR=str(workdir / "data"),
                SHARD_COUNT="2",
                SHARD_IDS=str(shard_id),
            )
            procs.append(await start_process(workdir, env, name=f"shard{shard_id}"))
        await fake.wait_until(
            lambda: (
                any(p.proc.returncode is not None for p in procs)
                or sum(c.open and c.ready for c in fake.connections) == 2
            ),
            20,
            "both processes to connect",
        )
        assert all(p.proc.returncode is None for p in procs), [p.stderr for p in procs]
        identifies = {tokens_key(p["token"], tokens): p["shard"] for p in fake.identify_payloads}
        assert identifies == {0: [0, 2], 1: [1, 2]}
        assert len(fake.identify_payloads) == 2
        for guild_id in guilds.values():
            interaction = fake.slash_interaction(
                "preguntar", {"pregunta": QUESTION}, guild_id=guild_id
            )
            assert QUOTE in plain(message_text(await interact(fake, interaction)))
        stopped_at = [p.terminate() for p in procs]
        codes = await asyncio.gather(*(p.wait(10) for p in procs))
    finally:
        for p in procs:
            await p.kill()
    assert codes == [0, 0]
    assert time.monotonic() - min(stopped_at) <= 10
    assert_answered_once_in_time(fake)
    for p in procs:
        assert "Traceback" not in p.stderr and TOKEN not in p.stderr + p.stdout
        assert OTHER_TOKEN not in p.stderr + p.stdout


def tokens_key(token: str, tokens: dict[int, str]) -> int:
    """Which process (by its shard id) sent an IDENTIFY with ``token``."""
    (key,) = [k for k, v in tokens.items() if v == token]
    return key
