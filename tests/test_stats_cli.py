"""`python -m bot stats`: the operator's view of every server, or of one with --guild."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.store import DB_NAME, QuestionRecord, SqliteStore


def record(question: str, guild_id: int | None, *, private: bool = False) -> QuestionRecord:
    return QuestionRecord(
        asked_at=datetime.now(UTC),
        guild_id=guild_id,
        channel_id=1,
        user_id=5,
        locale="es-ES",
        question=question,
        answered=False,
        private=private,
    )


def test_stats_show_every_server_or_one_and_never_private_questions(
    tmp_path: Path, run_bot: Callable[..., Any], cli_env: Callable[..., dict[str, str]]
) -> None:
    data = tmp_path / "data"
    store = SqliteStore(data / DB_NAME, "salt-for-tests")
    for rec in (
        record("¿Pregunta del servidor uno?", 1),
        record("¿Pregunta del servidor dos?", 2),
        record("¿Pregunta secreta?", 1, private=True),
        record("¿Pregunta por mensaje directo?", None),
    ):
        store.record_question(rec)
    store.close()
    env = cli_env(DATA_DIR=str(data), HASH_SALT="salt-for-tests")

    everything = run_bot("stats", env=env)
    assert everything.returncode == 0, everything.stderr
    assert "servidor uno" in everything.stdout and "servidor dos" in everything.stdout
    assert "secreta" not in everything.stdout and "mensaje directo" not in everything.stdout
    assert "2 privadas o por MD (solo contadas)" in everything.stdout

    one = run_bot("stats", "--guild", "2", env=env)
    assert one.returncode == 0, one.stderr
    assert "servidor dos" in one.stdout and "servidor uno" not in one.stdout
    assert "Preguntas: 1" in one.stdout
