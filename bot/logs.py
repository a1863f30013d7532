"""Logging setup: discord.py-style text or JSON lines, with secrets and user ids redacted."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

log = logging.getLogger(__name__)  # module convention; this module logs nothing itself

TOKEN_RE = re.compile(r"[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}")
TOKEN_MASK = "[REDACTED_TOKEN]"
SECRET_MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 6
USER_ID_FIELDS = frozenset({"user_id", "author_id", "member_id"})
# Interaction tokens: in REST paths (callbacks, followups, webhook edits), as a payload's
# "token" value (discord.py logs gateway events whole at DEBUG), and by their own prefix
# (base64 of "interaction:").
INTERACTION_TOKEN_RES = (
    (re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s'\"?]+"), r"\1" + "[REDACTED]"),
    (re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""), r"\1" + "[REDACTED]"),
    (re.compile(r"aW50ZXJhY3Rpb246[\w.-]+"), "[REDACTED]"),
)
# Snowflakes in discord.py's own records (gateway payloads carry user ids everywhere).
SNOWFLAKE_RE = re.compile(r"(?<!\d)\d{15,21}(?!\d)")

TEXT_FORMAT = "[{asctime}] [{levelname:<8}] {name}: {message}"
TEXT_DATEFMT = "%Y-%m-%d %H:%M:%S"

_HANDLER_MARK = "_deal_bot_handler"
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

_secrets_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None
_hash_key: str = secrets.token_hex(32)  # per process unless setup_logging gets one


def register_secret(secret: str | None) -> None:
    """Mask every future occurrence of `secret` in log output (ignores short/empty strings)."""
    global _secret_re
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        _secrets.add(secret)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """Return text with Discord-token-shaped strings and registered secrets masked."""
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(SECRET_MASK, text)
    for token_re, mask in INTERACTION_TOKEN_RES:
        text = token_re.sub(mask, text)
    return TOKEN_RE.sub(TOKEN_MASK, text)


def hash_snowflakes(text: str) -> str:
    """Replace every snowflake id with a short keyed hash (the same id, the same hash)."""
    from bot.store import hash_user  # here: a one-shot `ask` never loads the store

    return SNOWFLAKE_RE.sub(lambda m: f"id_{hash_user(_hash_key, int(m[0]))[:12]}", text)


def hash_user_id(user_id: int | str) -> str:
    """Return a short keyed hash standing in for a raw Discord user id in logs."""
    from bot.store import hash_user

    return f"u_{hash_user(_hash_key, int(user_id))[:12]}"


def _is_raw_id(value: object) -> bool:
    """Tell whether value looks like a raw numeric user id (not an already hashed one)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().isdigit()


class RedactingFilter(logging.Filter):
    """Mask tokens/secrets in message, args, exception and extras; hash raw user ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place so no handler after this one sees the secrets."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break the caller
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        # discord.py logs raw payloads (DEBUG) whose ids we cannot tell apart: hash them all.
        library = record.name == "discord" or record.name.startswith("discord.")
        if library:
            record.msg = hash_snowflakes(record.msg)

        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            if library:
                record.exc_text = hash_snowflakes(record.exc_text)
            record.exc_info = None  # keep only the redacted text; formatters print exc_text
        if record.stack_info:
            record.stack_info = redact(record.stack_info)

        for key, value in list(record.__dict__.items()):
            if key in _STANDARD_ATTRS:
                continue
            if key in USER_ID_FIELDS and _is_raw_id(value):
                record.__dict__[key] = hash_user_id(str(value).strip())
            elif isinstance(value, str):
                record.__dict__[key] = redact(value)
            elif not isinstance(value, int | float | bool | type(None)):
                try:
                    text = str(value)
                except Exception:
                    text = object.__repr__(value)
                masked = redact(text)
                if masked != text:
                    record.__dict__[key] = masked
        return True


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return ts, level, logger, msg, exc_info/stack_info and any extra fields as JSON."""
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS:
                payload[key if key not in payload else f"extra_{key}"] = value
        return json.dumps(payload, ensure_ascii=False, default=str)


def _parse_level(level: str | int) -> int:
    """Return the numeric level for a name like "info" or a number."""
    if isinstance(level, int):
        return level
    levels = logging.getLevelNamesMapping()
    name = level.strip().upper()
    if name not in levels:
        raise ValueError(f"unknown log level {level!r}; use one of {sorted(levels)}")
    return levels[name]


def setup_logging(
    level: str = "INFO",
    fmt: str = "text",
    *,
    stream: TextIO | None = None,
    hash_key: str | None = None,
) -> None:
    """Install one redacting stderr handler on the root logger (idempotent)."""
    global _hash_key
    numeric = _parse_level(level)
    if fmt == "text":
        formatter: logging.Formatter = logging.Formatter(TEXT_FORMAT, TEXT_DATEFMT, style="{")
    elif fmt == "json":
        formatter = JsonFormatter()
    else:
        raise ValueError(f"unknown log format {fmt!r}; use 'text' or 'json'")
    if hash_key:
        _hash_key = hash_key

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()

    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    # Run first so the filter has redacted the record before any other root handler sees it.
    root.handlers.remove(handler)
    root.handlers.insert(0, handler)
    root.setLevel(numeric)
    logging.captureWarnings(True)
