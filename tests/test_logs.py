"""Logging output: format, JSON lines, and that secrets and user ids never leak."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.logs import hash_user_id, redact, register_secret, setup_logging

REPO = Path(__file__).resolve().parents[1]
# Shaped like a Discord bot token (three dot-separated base64url parts); not a real one.
TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
RAW_USER = 812345678901234567

Setup = Callable[..., io.StringIO]


@pytest.fixture
def setup() -> Iterator[Setup]:
    """Configure logging into a StringIO; restore the root logger afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level

    def _setup(level: str = "DEBUG", fmt: str = "text") -> io.StringIO:
        stream = io.StringIO()
        setup_logging(level, fmt, stream=stream)
        return stream

    yield _setup
    for h in list(root.handlers):
        if h not in saved_handlers:
            root.removeHandler(h)
    root.setLevel(saved_level)
    logging.captureWarnings(False)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    """Parse every output line as JSON (fails if any line is not a JSON object)."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_text_format_matches_discord_py_style(setup: Setup) -> None:
    out = setup(fmt="text")
    logging.getLogger("bot.test").info("hola %s", "mundo")
    line = out.getvalue().rstrip("\n")
    assert re.fullmatch(
        r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] \[INFO    \] bot\.test: hola mundo", line
    ), line


def test_level_filters_lower_records(setup: Setup) -> None:
    out = setup(level="warning")
    log = logging.getLogger("bot.test")
    log.info("quiet")
    log.warning("loud")
    assert "quiet" not in out.getvalue()
    assert "loud" in out.getvalue()


def test_setup_twice_does_not_duplicate_lines(setup: Setup) -> None:
    setup()
    out = setup()
    logging.getLogger("bot.test").info("once")
    assert out.getvalue().count("once") == 1


@pytest.mark.parametrize("bad", [{"level": "LOUD"}, {"fmt": "xml"}])
def test_bad_configuration_is_rejected(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        setup_logging(**bad, stream=io.StringIO())


def test_json_lines_parse_with_fields_and_extras(setup: Setup) -> None:
    out = setup(fmt="json")
    log = logging.getLogger("bot.cogs.ask")
    log.info("answered in %d ms\nsecond line", 42, extra={"guild_id": 7, "locale": "es"})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")

    first, second = json_lines(out)
    assert first["level"] == "INFO"
    assert first["logger"] == "bot.cogs.ask"
    assert first["msg"] == "answered in 42 ms\nsecond line"
    assert first["guild_id"] == 7 and first["locale"] == "es"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", str(first["ts"]))
    assert second["level"] == "ERROR"
    assert "ValueError: boom" in str(second["exc_info"])


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_token_never_appears_in_output(setup: Setup, fmt: str) -> None:
    out = setup(fmt=fmt)
    log = logging.getLogger("discord.client")  # a child logger: propagates to root
    log.info(f"token is {TOKEN}")
    log.info("token is %s", TOKEN)
    log.info("config %r", {"token": TOKEN})
    log.info("extra", extra={"header": f"Bot {TOKEN}"})
    try:
        raise RuntimeError(f"login failed for {TOKEN}")
    except RuntimeError:
        log.exception("oops")
    log.warning("stack", stack_info=True)

    text = out.getvalue()
    assert TOKEN not in text
    assert TOKEN.split(".")[2] not in text
    assert "[REDACTED_TOKEN]" in text
    if fmt == "json":
        assert len(json_lines(out)) == 6


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_registered_secret_is_masked(setup: Setup, fmt: str) -> None:
    secret = "s3cr3t-salt-value-for-tests"
    register_secret(secret)
    out = setup(fmt=fmt)
    logging.getLogger("bot").error("salt=%s", secret, extra={"note": secret})
    assert secret not in out.getvalue()
    assert "[REDACTED]" in out.getvalue()


def test_short_secrets_are_ignored_rather_than_mangling_logs() -> None:
    register_secret("")
    register_secret("a")
    assert redact("a banana") == "a banana"


def test_user_id_extra_is_replaced_by_a_stable_hash(setup: Setup) -> None:
    out = setup(fmt="json")
    log = logging.getLogger("bot.cogs.ask")
    log.info("asked", extra={"user_id": RAW_USER})
    log.info("voted", extra={"user_id": str(RAW_USER)})
    log.info("asked", extra={"user_id": RAW_USER + 1})

    assert str(RAW_USER) not in out.getvalue()
    a, b, c = (rec["user_id"] for rec in json_lines(out))
    assert a == b == hash_user_id(RAW_USER)
    assert a != c


def test_broken_format_string_does_not_raise(setup: Setup) -> None:
    out = setup()
    logging.getLogger("bot").info("%d items", "not a number")
    assert "items" in out.getvalue()


def test_logs_module_does_not_import_discord() -> None:
    code = "import sys, bot.logs; sys.exit('discord' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_discord_py_debug_lines_lose_user_ids_and_interaction_tokens(setup: Setup) -> None:
    """The format strings discord.py 2.x uses for gateway events and webhook requests."""
    out = setup(level="DEBUG")
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OmFiY2RlZg.x-Y_z"
    event = {
        "op": 0,
        "t": "INTERACTION_CREATE",
        "d": {
            "id": "1311111111111111111",
            "token": token,
            "member": {"user": {"id": str(RAW_USER)}},
        },
    }
    logging.getLogger("discord.gateway").debug("For Shard ID %s: WebSocket Event: %s", None, event)
    url = f"https://discord.com/api/v10/webhooks/1322222222222222222/{token}/messages/@original"
    logging.getLogger("discord.webhook.async_").debug(
        "Webhook ID %s with %s %s has returned status code %s",
        "1322222222222222222",
        "PATCH",
        url,
        200,
    )
    logging.getLogger("discord.http").debug(
        "%s %s with %s has returned %s",
        "POST",
        "https://discord.com/api/v10/interactions/1311111111111111111/tok-en_1/callback",
        '{"type": 4}',
        204,
    )
    text = out.getvalue()
    assert str(RAW_USER) not in text and token not in text and "tok-en_1" not in text
    assert text.count("[REDACTED]") == 3
    # The same id gets the same stand-in, so lines can still be correlated.
    assert "INTERACTION_CREATE" in text and text.count("id_") >= 4
