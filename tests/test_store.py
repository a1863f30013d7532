"""Question and feedback persistence: shared behaviour, hashing, migration, durability."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import ServerConfig
from bot.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    MemoryStore,
    QuestionRecord,
    ServerOverrides,
    SqliteStore,
    Stats,
    Store,
    normalise_question,
    purge_daily,
    render_stats,
    stats_sections,
)

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
RAW_USER = 812345678901234567


class Clock:
    """A settable clock so tests control "now" without sleeping."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def rec(
    question: str = "¿Qué es la AGI?",
    *,
    answered: bool = True,
    user_id: int = RAW_USER,
    asked_at: datetime = NOW,
    passages: tuple[str, ...] = ("p1", "p2"),
    guild_id: int | None = 111,
    private: bool = False,
) -> QuestionRecord:
    """Build a question record with sensible defaults."""
    return QuestionRecord(
        asked_at=asked_at,
        guild_id=guild_id,
        channel_id=222,
        user_id=user_id,
        locale="es-ES",
        question=question,
        answered=answered,
        passage_ids=passages if answered else (),
        latency_ms=12.5,
        private=private,
    )


@pytest.fixture(params=["memory", "sqlite"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[Clock], Store]]:
    """Yield a factory building the parametrized store kind with a given clock."""
    opened: list[Store] = []

    def factory(clock: Clock) -> Store:
        store: Store
        if request.param == "memory":
            store = MemoryStore(salt="pepper", clock=clock)
        else:
            store = SqliteStore(tmp_path / "bot.db", salt="pepper", clock=clock)
        opened.append(store)
        return store

    yield factory
    for s in opened:
        s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(make_store: Callable[[Clock], Store], clock: Clock) -> Store:
    return make_store(clock)


# ------------------------------------------------------------------ shared behaviour


def test_record_question_returns_distinct_increasing_ids(store: Store) -> None:
    ids = [store.record_question(rec(f"q{i}")) for i in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


def test_second_vote_by_same_user_replaces_the_first(store: Store) -> None:
    qid = store.record_question(rec())
    store.record_vote(qid, 1, +1)
    store.record_vote(qid, 2, +1)
    assert store.votes(qid) == (2, 0)
    store.record_vote(qid, 1, -1)
    assert store.votes(qid) == (1, 1)
    store.record_vote(qid, 1, -1)
    assert store.votes(qid) == (1, 1)


def test_votes_are_per_question(store: Store) -> None:
    a = store.record_question(rec("a"))
    b = store.record_question(rec("b"))
    store.record_vote(a, 1, -1)
    assert store.votes(a) == (0, 1)
    assert store.votes(b) == (0, 0)


@pytest.mark.parametrize("bad", [0, 2, -2, True])
def test_vote_must_be_plus_or_minus_one(store: Store, bad: int) -> None:
    qid = store.record_question(rec())
    with pytest.raises(ValueError):
        store.record_vote(qid, 1, bad)
    assert store.votes(qid) == (0, 0)


def test_vote_on_unknown_question_is_rejected(store: Store) -> None:
    with pytest.raises(KeyError):
        store.record_vote(999, 1, 1)


def test_stats_counts_per_day_and_answered_share(store: Store) -> None:
    store.record_question(rec("a", asked_at=NOW - timedelta(days=1)))
    store.record_question(rec("b", answered=False, asked_at=NOW - timedelta(days=1)))
    store.record_question(rec("c"))
    store.record_question(rec("d", answered=False))
    store.record_question(rec("too old", asked_at=NOW - timedelta(days=31)))

    stats = store.stats(days=30)

    assert stats.total == 4
    assert stats.answered_share == pytest.approx(0.5)
    assert stats.per_day == (("2025-11-19", 2, 1), ("2025-11-20", 2, 1))
    assert "too old" not in {q for q, _ in stats.most_asked}


def test_most_asked_groups_case_spacing_and_question_marks(store: Store) -> None:
    for q in ["¿Qué es la AGI?", "qué es   la agi", "QUÉ ES LA AGI??", "¿Cuánto dura?"]:
        store.record_question(rec(q))

    most = store.stats().most_asked

    assert most[0][1] == 3
    assert normalise_question(most[0][0]) == "qué es la agi"
    assert most[1] == ("¿Cuánto dura?", 1)


def test_unanswered_lists_most_frequent_first_and_excludes_answered(store: Store) -> None:
    store.record_question(rec("¿Quién es el CEO?", answered=False))
    for _ in range(3):
        store.record_question(rec("¿Qué pasa con Azure?", answered=False))
    for _ in range(2):
        store.record_question(rec("¿Qué es la AGI?", answered=False))
    for _ in range(5):
        store.record_question(rec("¿Cuánto dura el acuerdo?", answered=True))

    unanswered = store.stats().unanswered

    assert [n for _, n in unanswered] == [3, 2, 1]
    assert unanswered[0][0] == "¿Qué pasa con Azure?"
    assert "¿Cuánto dura el acuerdo?" not in {q for q, _ in unanswered}


def test_stats_top_limits_lists(store: Store) -> None:
    for i in range(5):
        store.record_question(rec(f"pregunta {i}", answered=False))
    stats = store.stats(top=2)
    assert len(stats.most_asked) == 2
    assert len(stats.unanswered) == 2


def test_passage_votes_are_attributed_to_top_passage(store: Store) -> None:
    a = store.record_question(rec("a", passages=("p7", "p1")))
    b = store.record_question(rec("b", passages=("p7",)))
    c = store.record_question(rec("c", passages=("p1", "p7")))
    store.record_vote(a, 1, 1)
    store.record_vote(a, 2, -1)
    store.record_vote(b, 1, 1)
    store.record_vote(c, 1, -1)

    assert store.stats().passage_votes == (("p7", 2, 1), ("p1", 0, 1))


def test_purge_deletes_old_questions_and_their_votes(store: Store, clock: Clock) -> None:
    old = store.record_question(rec("old", asked_at=NOW - timedelta(days=40)))
    new = store.record_question(rec("new", asked_at=NOW - timedelta(days=2)))
    store.record_vote(old, 1, 1)
    store.record_vote(new, 1, 1)

    assert store.purge(30) == 1

    assert store.votes(old) == (0, 0)
    assert store.votes(new) == (1, 0)
    with pytest.raises(KeyError):
        store.record_vote(old, 2, 1)
    clock.now = NOW + timedelta(days=365)
    assert store.stats(days=400).total == 1
    assert store.purge(30) == 1
    assert store.stats(days=400).total == 0


def test_ids_are_not_reused_after_purge(store: Store) -> None:
    first = store.record_question(rec("old", asked_at=NOW - timedelta(days=40)))
    store.purge(30)
    assert store.record_question(rec("new")) > first


def test_store_is_usable_from_threads(store: Store) -> None:
    def ask(n: int) -> None:
        for i in range(20):
            qid = store.record_question(rec(f"t{n}-{i}"))
            store.record_vote(qid, n, 1)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.stats(top=100).total == 80


# ------------------------------------------------------------------ sqlite specifics


def test_raw_user_id_never_reaches_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    s = SqliteStore(db, salt="pepper", clock=Clock())
    qid = s.record_question(rec(user_id=RAW_USER))
    s.record_vote(qid, RAW_USER, 1)
    s.close()

    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert str(RAW_USER).encode() not in data
    assert struct.pack(">q", RAW_USER) not in data
    hashes = sqlite3.connect(db).execute("SELECT user_hash FROM questions").fetchall()
    assert len(hashes[0][0]) == 64


def test_user_hash_is_keyed_by_salt(tmp_path: Path) -> None:
    a = SqliteStore(tmp_path / "a.db", salt="one", clock=Clock())
    b = SqliteStore(tmp_path / "b.db", salt="two", clock=Clock())
    for s in (a, b):
        s.record_question(rec())
        s.close()
    ha = sqlite3.connect(tmp_path / "a.db").execute("SELECT user_hash FROM questions").fetchone()
    hb = sqlite3.connect(tmp_path / "b.db").execute("SELECT user_hash FROM questions").fetchone()
    assert ha != hb


def test_empty_salt_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SqliteStore(tmp_path / "bot.db", salt="")


def test_database_uses_wal_and_latest_schema(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    SqliteStore(db, salt="pepper").close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_data_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    s = SqliteStore(db, salt="pepper", clock=Clock())
    qid = s.record_question(rec())
    s.record_vote(qid, 5, -1)
    s.close()

    s = SqliteStore(db, salt="pepper", clock=Clock())
    assert s.votes(qid) == (0, 1)
    s.record_vote(qid, 5, 1)  # same salt: same user replaces, not adds
    assert s.votes(qid) == (1, 0)
    assert s.stats().total == 1
    s.close()


def test_v1_database_is_migrated_keeping_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.executemany(
        "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, locale, question,"
        " answered, passage_ids, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (NOW.isoformat(timespec="microseconds"), 1, 2, "h1", "es", "¿Hay AGI?", 0, "[]", 3.0),
            (NOW.isoformat(timespec="microseconds"), 1, 2, "h2", "en", "AGI?", 1, '["p3"]', 4.0),
        ],
    )
    conn.commit()
    conn.close()

    s = SqliteStore(db, salt="pepper", clock=Clock())
    stats = s.stats()
    assert stats.total == 2
    assert stats.unanswered == () and stats.private == 2  # unknown privacy: counted only
    s.record_vote(2, 9, 1)
    assert s.stats().passage_votes == (("p3", 1, 0),)
    s.close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_v2_database_gets_the_private_flag_and_old_rows_stay_hidden(tmp_path: Path) -> None:
    db = tmp_path / "v2.db"
    conn = sqlite3.connect(db, isolation_level=None)
    for migration in MIGRATIONS[:2]:
        migration(conn)
    conn.execute("PRAGMA user_version = 2")
    at = NOW.isoformat(timespec="microseconds")
    conn.execute(
        "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, locale, question,"
        " answered, passage_ids, latency_ms) VALUES (?, 1, 2, 'h', 'es', 'secreto', 0, '[]', 1)",
        (at,),
    )
    conn.close()

    s = SqliteStore(db, salt="pepper", clock=Clock())
    s.record_question(rec("pública", answered=False, guild_id=1))
    stats = s.stats(guild_id=1)
    s.close()
    assert (stats.total, stats.private) == (2, 1)
    assert stats.unanswered == (("pública", 1),)  # the old row may have been private
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    columns = {row[1] for row in conn.execute("PRAGMA table_info(questions)")}
    assert "private" in columns


def test_stats_are_scoped_to_one_server_and_hide_private_questions(store: Store) -> None:
    store.record_question(rec("pregunta de A", guild_id=1))
    store.record_question(rec("secreto de A", guild_id=1, private=True, answered=False))
    store.record_question(rec("pregunta de B", guild_id=2, answered=False))
    store.record_question(rec("por mensaje directo", guild_id=None, answered=False))

    a = store.stats(guild_id=1)
    assert (a.total, a.private) == (2, 1)
    assert a.most_asked == (("pregunta de A", 1),) and a.unanswered == ()
    b = store.stats(guild_id=2)
    assert b.most_asked == (("pregunta de B", 1),) and b.private == 0
    everything = store.stats()  # the operator's view: every server, still nothing private
    assert (everything.total, everything.private) == (4, 2)
    shown = render_stats(everything, "es")
    assert "pregunta de A" in shown and "pregunta de B" in shown
    assert "secreto" not in shown and "mensaje directo" not in shown
    assert "2 privadas o por MD (solo contadas)" in shown


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        SqliteStore(db, salt="pepper")


WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from bot.store import QuestionRecord, SqliteStore

store = SqliteStore(Path(sys.argv[1]), salt="pepper")
i = 0
while True:
    i += 1
    qid = store.record_question(QuestionRecord(
        asked_at=datetime.now(UTC), guild_id=1, channel_id=2, user_id=i, locale="es",
        question=f"q{i}", answered=bool(i % 2), passage_ids=("p1",), latency_ms=1.0))
    store.record_vote(qid, i, 1)
    sys.stdout.write(f"{qid}\\n")
    sys.stdout.flush()
"""


def test_kill_9_loses_no_committed_record(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        printed = []
        while len(printed) < 173:  # not a round number: batching bugs show
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read() if proc.stderr else ''}"
            printed.append(int(line))
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()  # includes lines already buffered by readline
        proc.wait()
    finally:
        watchdog.cancel()
    assert proc.returncode == -signal.SIGKILL
    printed += [int(x) for x in rest.split("\n")[:-1] if x]  # last piece may be cut off

    conn = sqlite3.connect(db)
    stored = {r[0] for r in conn.execute("SELECT id FROM questions")}
    voted = {r[0] for r in conn.execute("SELECT question_id FROM votes")}
    missing = [qid for qid in printed if qid not in stored]
    assert not missing, f"{len(missing)} committed questions lost, e.g. {missing[:5]}"
    assert set(printed) <= voted


# ------------------------------------------------------------------ purge loop


class CountingStore(MemoryStore):
    """A store that counts purges and sets `stop` after a given number of them."""

    def __init__(self, stop: asyncio.Event, stop_after: int, fail: bool = False) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.stop = stop
        self.stop_after = stop_after
        self.fail = fail

    def purge(self, older_than_days: int) -> int:
        self.calls.append(older_than_days)
        if len(self.calls) >= self.stop_after:
            self.stop.set()
        if self.fail:
            raise sqlite3.OperationalError("disk I/O error")
        return 0


async def test_purge_daily_purges_at_start_and_stops_when_asked() -> None:
    stop = asyncio.Event()
    store = CountingStore(stop, stop_after=1)
    await asyncio.wait_for(purge_daily(store, 30, stop), timeout=5)
    assert store.calls == [30]


async def test_purge_daily_repeats_each_interval() -> None:
    stop = asyncio.Event()
    store = CountingStore(stop, stop_after=3)
    await asyncio.wait_for(purge_daily(store, 7, stop, interval=0), timeout=5)
    assert store.calls == [7, 7, 7]


async def test_purge_daily_survives_a_failing_purge() -> None:
    stop = asyncio.Event()
    store = CountingStore(stop, stop_after=2, fail=True)
    await asyncio.wait_for(purge_daily(store, 7, stop, interval=0), timeout=5)
    assert len(store.calls) == 2


async def test_purge_daily_does_nothing_once_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    store = CountingStore(stop, stop_after=1)
    await asyncio.wait_for(purge_daily(store, 7, stop), timeout=5)
    assert store.calls == []


# ------------------------------------------------------------------ rendering


SAMPLE = Stats(
    per_day=(("2025-11-19", 4, 3), ("2025-11-20", 2, 1)),
    total=6,
    answered_share=4 / 6,
    most_asked=(("¿Qué es la AGI?", 3),),
    unanswered=(("¿Qué pasa con Azure?", 2),),
    passage_votes=(("p7", 5, 1),),
    days=30,
)


def test_render_stats_spanish_report_shows_every_section() -> None:
    text = render_stats(SAMPLE)
    assert "30 días" in text
    assert "Preguntas: 6" in text
    assert "67%" in text
    assert "2025-11-19  4 / 3" in text
    assert "1. ¿Qué es la AGI? (3)" in text
    assert "Sin respuesta" in text and "¿Qué pasa con Azure? (2)" in text
    assert "p7  +5 / -1" in text


def test_render_stats_english_and_empty() -> None:
    empty = Stats((), 0, 0.0, (), (), (), days=7)
    text = render_stats(empty, lang="en-US")
    assert "last 7 days" in text
    assert "Questions: 0" in text
    assert text.count("(none)") == 4
    assert "Preguntas" not in text


def test_long_questions_are_clipped_for_embed_fields() -> None:
    long = Stats((), 10, 0.0, (), tuple((("x" * 500) + str(i), 1) for i in range(10)), ())
    for _title, body in stats_sections(long, "es"):
        assert len(body) <= 1024


def test_render_stats_from_real_store_round_trip(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "bot.db", salt="pepper", clock=Clock())
    s.record_question(rec("¿Dónde está Azure?", answered=False))
    text = render_stats(s.stats(), "es")
    s.close()
    assert "¿Dónde está Azure? (1)" in text


def test_a_full_disk_may_pass_but_a_read_only_folder_needs_the_operator(tmp_path: Path) -> None:
    import errno

    from bot.faults import CONFIG, FAULT
    from bot.store import store_fault

    full = store_fault(tmp_path, OSError(errno.ENOSPC, "No space left on device", "x"))
    assert full.code == FAULT and str(full).startswith(f"DATA_DIR {tmp_path} is full")
    read_only = store_fault(tmp_path, OSError(errno.EROFS, "Read-only file system", "x"))
    assert read_only.code == CONFIG and "Read-only file system" in str(read_only)
    sqlite_full = sqlite3.OperationalError("database or disk is full")
    sqlite_full.sqlite_errorcode = 13  # type: ignore[attr-defined]  # SQLITE_FULL
    assert store_fault(tmp_path, sqlite_full).code == FAULT


# ------------------------------------------------------------------ per-server settings


def test_a_server_that_never_configured_gets_the_defaults(store: Store) -> None:
    defaults = ServerConfig(allowed_channels=(5,), lang="en", threads=True)
    assert store.server_overrides(111).apply(defaults) == defaults


def test_server_settings_are_kept_per_server(store: Store) -> None:
    defaults = ServerConfig()
    store.save_server_overrides(111, ServerOverrides(allowed_channels=(7, 8), mentions=False))
    store.save_server_overrides(222, ServerOverrides(lang="en", threads=True, private=True))
    first = store.server_overrides(111).apply(defaults)
    second = store.server_overrides(222).apply(defaults)
    assert (first.allowed_channels, first.mentions, first.lang, first.threads) == (
        (7, 8),
        False,
        "es",
        False,
    )
    assert (second.allowed_channels, second.lang, second.threads, second.private) == (
        (),
        "en",
        True,
        True,
    )
    assert store.server_overrides(333).apply(defaults) == defaults  # untouched server


def test_saving_again_replaces_and_an_empty_list_means_every_channel(store: Store) -> None:
    store.save_server_overrides(111, ServerOverrides(allowed_channels=(7,), lang="en"))
    current = store.server_overrides(111)
    store.save_server_overrides(111, current.merged(ServerOverrides(allowed_channels=())))
    assert store.server_overrides(111) == ServerOverrides(allowed_channels=(), lang="en")
    # Back to the defaults: the environment's values show through again.
    store.save_server_overrides(111, ServerOverrides())
    assert store.server_overrides(111).apply(ServerConfig(lang="en")).lang == "en"


def test_v3_database_is_migrated_to_server_settings_keeping_rows(tmp_path: Path) -> None:
    db = tmp_path / "v3.db"
    conn = sqlite3.connect(db)
    for migration in MIGRATIONS[:3]:
        migration(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, locale, question,"
        " answered, passage_ids, latency_ms) VALUES (?, 1, 2, 'h', 'es', '¿AGI?', 1, '[]', 1)",
        (NOW.isoformat(timespec="microseconds"),),
    )
    conn.commit()
    conn.close()

    s = SqliteStore(db, salt="pepper", clock=Clock())
    assert s.stats().total == 1
    assert s.server_overrides(1) == ServerOverrides()
    s.save_server_overrides(1, ServerOverrides(threads=True))
    s.close()
    reopened = SqliteStore(db, salt="pepper", clock=Clock())
    assert reopened.server_overrides(1) == ServerOverrides(threads=True)
    reopened.close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# ------------------------------------------------------------------ 👎 comments


def test_thumbs_down_comments_are_listed_per_server_newest_first(
    store: Store, clock: Clock
) -> None:
    first = store.record_question(rec("¿Y la AGI?"))
    second = store.record_question(rec("¿Cuánto invirtió?"))
    elsewhere = store.record_question(rec("¿Otra cosa?", guild_id=999))
    hidden = store.record_question(rec("secreto", private=True))
    store.record_vote(first, 1, -1, "no explica qué es")
    clock.now += timedelta(seconds=1)
    store.record_vote(second, 2, -1, "falta la cifra")
    store.record_vote(elsewhere, 3, -1, "de otro servidor")
    store.record_vote(hidden, 4, -1, "de una pregunta privada")
    store.record_vote(first, 5, -1)  # a 👎 without a comment

    stats = store.stats(guild_id=111)
    assert stats.comments == (
        ("¿Cuánto invirtió?", "falta la cifra"),
        ("¿Y la AGI?", "no explica qué es"),
    )
    assert "falta la cifra" in dict(stats_sections(stats))["Qué faltó (comentarios de 👎)"]


def test_a_later_thumbs_up_drops_the_comment(store: Store) -> None:
    qid = store.record_question(rec())
    store.record_vote(qid, 1, -1, "falta algo")
    store.record_vote(qid, 1, -1)  # voting 👎 again keeps what was said
    assert store.stats().comments == (("¿Qué es la AGI?", "falta algo"),)
    store.record_vote(qid, 1, 1)
    assert store.stats().comments == () and store.votes(qid) == (1, 0)


def test_v4_database_gets_vote_comments_keeping_votes(tmp_path: Path) -> None:
    db = tmp_path / "v4.db"
    conn = sqlite3.connect(db, isolation_level=None)
    for migration in MIGRATIONS[:4]:
        migration(conn)
    conn.execute("PRAGMA user_version = 4")
    at = NOW.isoformat(timespec="microseconds")
    conn.execute(
        "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, locale, question,"
        " answered, passage_ids, latency_ms) VALUES (?, 1, 2, 'h', 'es', '¿AGI?', 1, '[]', 1)",
        (at,),
    )
    conn.execute("INSERT INTO votes VALUES (1, 'voter', -1, ?)", (at,))
    conn.close()

    s = SqliteStore(db, salt="pepper", clock=Clock())
    assert s.votes(1) == (0, 1)
    s.record_vote(1, 7, -1, "falta contexto")
    assert s.stats(guild_id=1).comments == (("¿AGI?", "falta contexto"),)
    s.close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
