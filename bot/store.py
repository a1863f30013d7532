"""Persistence of asked questions and answer feedback (standard library sqlite3 only)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from bot.faults import CONFIG, FAULT, Fault
from bot.i18n import lang_of_locale, t

if TYPE_CHECKING:
    from bot.settings import ServerConfig, Settings

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 60 * 60
DB_NAME = "deal-bot.sqlite3"
_MAX_RENDERED_QUESTION = 80
_EDGE_PUNCTUATION = "?¿!¡"


@dataclass(frozen=True)
class QuestionRecord:
    """One question asked to the bot, as handed to the store (user_id is raw; never persisted)."""

    asked_at: datetime
    guild_id: int | None
    channel_id: int | None
    user_id: int
    locale: str
    question: str
    answered: bool
    passage_ids: tuple[str, ...] = ()
    latency_ms: float = 0.0
    private: bool = False  # asked with `privado`: counted, never shown verbatim

    def __post_init__(self) -> None:
        """Coerce passage ids to a tuple so the record stays hashable and immutable."""
        object.__setattr__(self, "passage_ids", tuple(str(p) for p in self.passage_ids))


@dataclass(frozen=True)
class Stats:
    """Aggregated usage over a window of days, as shown to admins."""

    per_day: tuple[tuple[str, int, int], ...]
    total: int
    answered_share: float
    most_asked: tuple[tuple[str, int], ...]
    unanswered: tuple[tuple[str, int], ...]
    passage_votes: tuple[tuple[str, int, int], ...]
    days: int = 30
    private: int = 0  # questions asked privately or in DMs: counted only
    comments: tuple[tuple[str, str], ...] = ()  # (question, "¿Qué faltó?" comment), newest first


@dataclass(frozen=True)
class ServerOverrides:
    """What a server changed with /configurar; None keeps the environment's default."""

    allowed_channels: tuple[int, ...] | None = None
    lang: str | None = None
    mentions: bool | None = None
    threads: bool | None = None
    private: bool | None = None

    def apply(self, defaults: ServerConfig) -> ServerConfig:
        """Return the defaults with this server's choices applied."""
        return _overlay(defaults, self)

    def merged(self, newer: ServerOverrides) -> ServerOverrides:
        """Return these choices updated with the ones `newer` sets."""
        return _overlay(self, newer)


_T = TypeVar("_T")  # ServerConfig or ServerOverrides: frozen dataclasses with the same fields


def _overlay(base: _T, changes: ServerOverrides) -> _T:
    """Return `base` with every field `changes` sets (not None) replaced."""
    changed = {f.name: getattr(changes, f.name) for f in fields(changes)}
    return replace(base, **{k: v for k, v in changed.items() if v is not None})


class Store(Protocol):
    """Where questions and votes are recorded."""

    def record_question(self, rec: QuestionRecord) -> int:
        """Persist a question and return its id."""
        ...

    def record_vote(
        self, question_id: int, user_id: int, vote: int, comment: str | None = None
    ) -> None:
        """Record (or replace) one user's +1/-1 vote on a question; a 👎 may say what was missing
        (a comment given later keeps the vote; a 👍 drops the comment)."""
        ...

    def votes(self, question_id: int) -> tuple[int, int]:
        """Return (up, down) vote counts of a question."""
        ...

    def question_text(self, question_id: int) -> str | None:
        """Return the text of a recorded question, or None when it is unknown or purged."""
        ...

    def stats(self, days: int = 30, top: int = 10, guild_id: int | None = None) -> Stats:
        """Aggregate the last `days` days of one server (None: every server and DM)."""
        ...

    def purge(self, older_than_days: int) -> int:
        """Delete questions (and their votes) older than N days; return how many."""
        ...

    def server_overrides(self, guild_id: int) -> ServerOverrides:
        """Return what a server changed with /configurar (nothing when it never did)."""
        ...

    def save_server_overrides(self, guild_id: int, overrides: ServerOverrides) -> None:
        """Replace a server's choices (an empty ServerOverrides goes back to the defaults)."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


# --------------------------------------------------------------------------- helpers


def salt_of(configured: str | None, data_dir: Path) -> str:
    """Return the configured salt, or a random one kept in the data folder (made on first use)."""
    if configured:
        return configured
    path = data_dir / "hash-salt"
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    salt = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(salt + "\n", encoding="utf-8")
    with contextlib.suppress(OSError):
        path.chmod(0o600)
    return salt


class StoreError(Fault):
    """The data folder or its database cannot be used; the message says what to do."""


# SQLite primary result codes (https://www.sqlite.org/rescode.html).
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 11, 13, 26


def store_fault(data_dir: Path, exc: OSError | sqlite3.Error) -> StoreError:
    """Turn an error met while opening the data folder into one line and an exit code."""
    path = data_dir / DB_NAME
    if isinstance(exc, OSError):
        where = exc.filename or data_dir
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreError(f"DATA_DIR {data_dir} is full ({where}: {reason})", FAULT)
        return StoreError(
            f"DATA_DIR {data_dir} is not usable ({where}: {reason}): make it a folder the bot "
            "can write to",
            CONFIG,
        )
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _SQLITE_FULL:
        return StoreError(f"DATA_DIR {data_dir} is full ({path}: {exc})", FAULT)
    if code in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
        return StoreError(
            f"{path} is not a usable SQLite database ({exc}): move it aside (the bot starts a "
            "new one) or restore it from a backup",
            CONFIG,
        )
    return StoreError(
        f"cannot open {path} ({exc}): make DATA_DIR a folder the bot can write to", CONFIG
    )


def open_store(settings: Settings) -> tuple[SqliteStore, str]:
    """Open the data folder's database with HASH_SALT (or the kept random salt); return both.

    Raises StoreError (one line) when the folder is read-only, full or the file is no database.
    """
    configured = settings.hash_salt.get_secret_value() if settings.hash_salt else None
    try:
        salt = salt_of(configured, settings.data_dir)
        return SqliteStore(settings.data_dir / DB_NAME, salt), salt
    except (OSError, sqlite3.Error) as exc:
        raise store_fault(settings.data_dir, exc) from exc
    except SchemaTooNew as exc:
        raise StoreError(str(exc), CONFIG) from exc


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _to_utc(ts: datetime) -> datetime:
    """Return ts as aware UTC (naive datetimes are taken to be UTC already)."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def _ts_text(ts: datetime) -> str:
    """Format a datetime as fixed-width UTC ISO text so text comparison orders by time."""
    return _to_utc(ts).isoformat(timespec="microseconds")


def hash_user(salt: str, user_id: int) -> str:
    """Return the keyed hash HMAC-SHA256(salt, str(user_id)) as hex."""
    return hmac.new(salt.encode(), str(int(user_id)).encode(), hashlib.sha256).hexdigest()


def normalise_question(text: str) -> str:
    """Return the grouping key of a question: casefolded, single-spaced, no edge ?¿!¡."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    collapsed = " ".join(folded.split())
    return collapsed.strip(_EDGE_PUNCTUATION + " ").strip()


def _check_vote(vote: int) -> None:
    """Reject anything but +1 or -1."""
    if vote not in (1, -1) or isinstance(vote, bool):
        raise ValueError(f"vote must be +1 or -1, got {vote!r}")


def _check_days(days: int) -> None:
    """Reject negative day counts."""
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")


@dataclass(frozen=True)
class _Row:
    """The fields of a stored question that statistics need."""

    id: int
    asked_at: datetime
    question: str
    answered: bool
    passage_ids: tuple[str, ...]
    guild_id: int | None = None
    private: bool = False

    @property
    def shown(self) -> bool:
        """Whether the text may appear in a report: asked in public in a server."""
        return self.guild_id is not None and not self.private


def _grouped(questions: Iterable[str], top: int) -> tuple[tuple[str, int], ...]:
    """Group questions by normalised form; label each group with its most common spelling."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for q in questions:
        key = normalise_question(q)
        if not key:
            continue
        counts[key] += 1
        spellings[key][" ".join(q.split())] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max(top, 0)]
    return tuple((spellings[key].most_common(1)[0][0], n) for key, n in ranked)


def _compute_stats(
    rows: Sequence[_Row],
    votes: Iterable[tuple[int, int]],
    days: int,
    top: int,
    comments: Iterable[tuple[int, str]] = (),
) -> Stats:
    """Build Stats from questions in the window, (question_id, vote) pairs and the 👎
    comments (question_id, comment), newest first."""
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        day = per_day[r.asked_at.date().isoformat()]
        day[0] += 1
        day[1] += int(r.answered)
    total = len(rows)
    answered = sum(1 for r in rows if r.answered)

    shown = {r.id: r.question for r in rows if r.shown}  # private questions stay unshown
    top_passage = {r.id: r.passage_ids[0] for r in rows if r.passage_ids}
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for question_id, vote in votes:
        passage = top_passage.get(question_id)
        if passage is None:
            continue
        tally[passage][0 if vote > 0 else 1] += 1
    passage_votes = sorted(tally.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))

    return Stats(
        per_day=tuple((d, a, b) for d, (a, b) in sorted(per_day.items())),
        total=total,
        answered_share=(answered / total) if total else 0.0,
        most_asked=_grouped((r.question for r in rows if r.shown), top),
        unanswered=_grouped((r.question for r in rows if r.shown and not r.answered), top),
        passage_votes=tuple((p, up, down) for p, (up, down) in passage_votes[: max(top, 0)]),
        days=days,
        private=sum(1 for r in rows if not r.shown),
        comments=tuple(
            (shown[qid], text) for qid, text in comments if qid in shown and text.strip()
        )[: max(top, 0)],
    )


# --------------------------------------------------------------------------- memory store


@dataclass
class _MemQuestion:
    """A question held by MemoryStore."""

    row: _Row
    user_hash: str
    votes: dict[str, int] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)


class MemoryStore:
    """In-memory Store with the same behaviour as SqliteStore (tests, offline runs)."""

    def __init__(self, salt: str | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        """Create an empty store; user ids are hashed with `salt` (random if omitted)."""
        self._salt = salt or secrets.token_hex(16)
        self._clock = clock
        self._lock = threading.Lock()
        self._questions: dict[int, _MemQuestion] = {}
        self._servers: dict[int, ServerOverrides] = {}
        self._next_id = 1

    def record_question(self, rec: QuestionRecord) -> int:
        """Persist a question and return its id."""
        with self._lock:
            qid = self._next_id
            self._next_id += 1
            row = _Row(
                qid,
                _to_utc(rec.asked_at),
                rec.question,
                rec.answered,
                rec.passage_ids,
                rec.guild_id,
                rec.private,
            )
            self._questions[qid] = _MemQuestion(row, hash_user(self._salt, rec.user_id))
            return qid

    def record_vote(
        self, question_id: int, user_id: int, vote: int, comment: str | None = None
    ) -> None:
        """Record (or replace) one user's +1/-1 vote on a question, with a 👎's comment."""
        _check_vote(vote)
        with self._lock:
            q = self._questions.get(question_id)
            if q is None:
                raise KeyError(f"unknown question id {question_id}")
            voter = hash_user(self._salt, user_id)
            q.votes[voter] = vote
            if vote > 0:
                q.comments.pop(voter, None)
            elif comment:
                q.comments.pop(voter, None)  # re-inserted: newest last
                q.comments[voter] = comment

    def question_text(self, question_id: int) -> str | None:
        """Return the text of a recorded question, or None when it is unknown or purged."""
        with self._lock:
            q = self._questions.get(question_id)
            return q.row.question if q else None

    def votes(self, question_id: int) -> tuple[int, int]:
        """Return (up, down) vote counts of a question."""
        with self._lock:
            q = self._questions.get(question_id)
            values = list(q.votes.values()) if q else []
        return values.count(1), values.count(-1)

    def stats(self, days: int = 30, top: int = 10, guild_id: int | None = None) -> Stats:
        """Aggregate the last `days` days of one server (None: every server and DM)."""
        _check_days(days)
        since = _to_utc(self._clock()) - timedelta(days=days)
        with self._lock:
            qs = [
                q
                for q in self._questions.values()
                if q.row.asked_at >= since and guild_id in (None, q.row.guild_id)
            ]
            rows = [q.row for q in qs]
            votes = [(q.row.id, v) for q in qs for v in q.votes.values()]
            comments = [(q.row.id, c) for q in reversed(qs) for c in reversed(q.comments.values())]
        return _compute_stats(rows, votes, days, top, comments)

    def purge(self, older_than_days: int) -> int:
        """Delete questions (and their votes) older than N days; return how many."""
        _check_days(older_than_days)
        cutoff = _to_utc(self._clock()) - timedelta(days=older_than_days)
        with self._lock:
            old = [qid for qid, q in self._questions.items() if q.row.asked_at < cutoff]
            for qid in old:
                del self._questions[qid]
        return len(old)

    def server_overrides(self, guild_id: int) -> ServerOverrides:
        """Return what a server changed with /configurar (nothing when it never did)."""
        with self._lock:
            return self._servers.get(guild_id, ServerOverrides())

    def save_server_overrides(self, guild_id: int, overrides: ServerOverrides) -> None:
        """Replace a server's choices (an empty ServerOverrides goes back to the defaults)."""
        with self._lock:
            self._servers[guild_id] = overrides

    def close(self) -> None:
        """Release resources (nothing to do)."""


# --------------------------------------------------------------------------- sqlite store


def _migrate_v1(conn: sqlite3.Connection) -> None:
    """Create the questions table."""
    conn.execute(
        """
        CREATE TABLE questions (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            asked_at    TEXT    NOT NULL,
            guild_id    INTEGER,
            channel_id  INTEGER,
            user_hash   TEXT    NOT NULL,
            locale      TEXT    NOT NULL,
            question    TEXT    NOT NULL,
            answered    INTEGER NOT NULL,
            passage_ids TEXT    NOT NULL DEFAULT '[]',
            latency_ms  REAL    NOT NULL DEFAULT 0
        )
        """
    )


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """Add the votes table and the indexes statistics and purging use."""
    conn.execute(
        """
        CREATE TABLE votes (
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            user_hash   TEXT    NOT NULL,
            vote        INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            voted_at    TEXT    NOT NULL,
            PRIMARY KEY (question_id, user_hash)
        )
        """
    )
    conn.execute("CREATE INDEX idx_questions_asked_at ON questions(asked_at)")
    conn.execute("CREATE INDEX idx_questions_answered ON questions(answered, asked_at)")


def _migrate_v3(conn: sqlite3.Connection) -> None:
    """Add the private flag and a per-server index (statistics are scoped to one server).

    Whether an earlier question was asked with `privado` was never stored: every existing row
    is marked private, so it is counted but never shown verbatim.
    """
    conn.execute("ALTER TABLE questions ADD COLUMN private INTEGER NOT NULL DEFAULT 0")
    conn.execute("UPDATE questions SET private = 1")
    conn.execute("CREATE INDEX idx_questions_guild ON questions(guild_id, asked_at)")


def _migrate_v4(conn: sqlite3.Connection) -> None:
    """Add the per-server settings of /configurar (NULL: the environment's default)."""
    conn.execute(
        """
        CREATE TABLE server_settings (
            guild_id         INTEGER PRIMARY KEY,
            allowed_channels TEXT,
            lang             TEXT,
            mentions         INTEGER,
            threads          INTEGER,
            private          INTEGER,
            updated_at       TEXT NOT NULL
        )
        """
    )


def _migrate_v5(conn: sqlite3.Connection) -> None:
    """Add the optional "¿Qué faltó?" comment of a 👎 vote."""
    conn.execute("ALTER TABLE votes ADD COLUMN comment TEXT")


# MIGRATIONS[i] upgrades a database from user_version i to i + 1. Append only, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_v1,
    _migrate_v2,
    _migrate_v3,
    _migrate_v4,
    _migrate_v5,
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of the bot."""


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply pending migrations up to `target`, one transaction each; return the final version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"database schema v{current} is newer than this bot (v{SCHEMA_VERSION}); upgrade it"
        )
    for version in range(current, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != version:
                conn.execute("ROLLBACK")  # another process migrated meanwhile
                continue
            log.info("migrating database schema v%d -> v%d", version, version + 1)
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return max(current, target)


def connect(path: Path) -> sqlite3.Connection:
    """Open a WAL, autocommit connection usable from any thread (callers must serialise)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        log.warning("sqlite refused WAL mode for %s (got %s)", path, mode)
    # With WAL, NORMAL writes every commit to the WAL file before COMMIT returns, so a killed
    # process (kill -9, OOM, crash) loses no committed record; only an OS crash or power loss
    # can roll back the last few commits. That is acceptable for usage statistics and saves an
    # fsync per question. Use FULL if the host is prone to power cuts.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class SqliteStore:
    """Store backed by one SQLite file; each write is its own committed transaction."""

    def __init__(self, path: Path, salt: str, clock: Callable[[], datetime] = utcnow) -> None:
        """Open (creating and migrating if needed) the database at `path`."""
        if not salt:
            raise ValueError("a non-empty salt is required to hash user ids")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._salt = salt
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = connect(self.path)
        try:
            migrate(self._conn)
        except BaseException:
            self._conn.close()
            raise

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one immediate transaction under the lock, committing at the end."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        """Return the open connection or fail if the store was closed."""
        if self._conn is None:
            raise RuntimeError("store is closed")
        return self._conn

    def record_question(self, rec: QuestionRecord) -> int:
        """Persist a question and return its id."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, locale,"
                " question, answered, passage_ids, latency_ms, private)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _ts_text(rec.asked_at),
                    rec.guild_id,
                    rec.channel_id,
                    hash_user(self._salt, rec.user_id),
                    rec.locale,
                    rec.question,
                    int(rec.answered),
                    json.dumps(list(rec.passage_ids)),
                    float(rec.latency_ms),
                    int(rec.private),
                ),
            )
            qid = cur.lastrowid
        assert qid is not None
        return qid

    def record_vote(
        self, question_id: int, user_id: int, vote: int, comment: str | None = None
    ) -> None:
        """Record (or replace) one user's +1/-1 vote on a question, with a 👎's comment."""
        _check_vote(vote)
        voter, now = hash_user(self._salt, user_id), _ts_text(self._clock())
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone():
                conn.execute(
                    "INSERT INTO votes (question_id, user_hash, vote, voted_at, comment)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (question_id, user_hash)"
                    " DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at,"
                    " comment = CASE WHEN excluded.vote = 1 THEN NULL"
                    " ELSE COALESCE(excluded.comment, votes.comment) END",
                    (question_id, voter, vote, now, comment or None),
                )
                return
        raise KeyError(f"unknown question id {question_id}")

    def question_text(self, question_id: int) -> str | None:
        """Return the text of a recorded question, or None when it is unknown or purged."""
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT question FROM questions WHERE id = ?", (question_id,))
                .fetchone()
            )
        return row[0] if row else None

    def votes(self, question_id: int) -> tuple[int, int]:
        """Return (up, down) vote counts of a question."""
        with self._lock:
            up, down = (
                self._connection()
                .execute(
                    "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0)"
                    " FROM votes WHERE question_id = ?",
                    (question_id,),
                )
                .fetchone()
            )
        return int(up), int(down)

    def stats(self, days: int = 30, top: int = 10, guild_id: int | None = None) -> Stats:
        """Aggregate the last `days` days of one server (None: every server and DM)."""
        _check_days(days)
        since = _ts_text(self._clock() - timedelta(days=days))
        scope, args = " AND q.guild_id = ?" if guild_id is not None else "", (since,)
        if guild_id is not None:
            args = (since, guild_id)
        with self._lock:
            conn = self._connection()
            raw = conn.execute(
                "SELECT q.id, q.asked_at, q.question, q.answered, q.passage_ids, q.guild_id,"
                f" q.private FROM questions q WHERE q.asked_at >= ?{scope} ORDER BY q.id",
                args,
            ).fetchall()
            votes = conn.execute(
                "SELECT v.question_id, v.vote FROM votes v"
                f" JOIN questions q ON q.id = v.question_id WHERE q.asked_at >= ?{scope}",
                args,
            ).fetchall()
            comments = conn.execute(
                "SELECT v.question_id, v.comment FROM votes v"
                f" JOIN questions q ON q.id = v.question_id WHERE q.asked_at >= ?{scope}"
                " AND v.comment IS NOT NULL ORDER BY v.voted_at DESC",
                args,
            ).fetchall()
        rows = [
            _Row(
                i, datetime.fromisoformat(at), q, bool(a), tuple(json.loads(p or "[]")), g, bool(pr)
            )
            for i, at, q, a, p, g, pr in raw
        ]
        return _compute_stats(rows, votes, days, top, comments)

    def purge(self, older_than_days: int) -> int:
        """Delete questions (and their votes) older than N days; return how many."""
        _check_days(older_than_days)
        cutoff = _ts_text(self._clock() - timedelta(days=older_than_days))
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM votes WHERE question_id IN"
                " (SELECT id FROM questions WHERE asked_at < ?)",
                (cutoff,),
            )
            deleted = conn.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
        return deleted

    def server_overrides(self, guild_id: int) -> ServerOverrides:
        """Return what a server changed with /configurar (nothing when it never did)."""
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT allowed_channels, lang, mentions, threads, private"
                    " FROM server_settings WHERE guild_id = ?",
                    (guild_id,),
                )
                .fetchone()
            )
        if row is None:
            return ServerOverrides()
        channels, lang, mentions, threads, private = row
        return ServerOverrides(
            allowed_channels=None if channels is None else tuple(json.loads(channels)),
            lang=lang,
            mentions=None if mentions is None else bool(mentions),
            threads=None if threads is None else bool(threads),
            private=None if private is None else bool(private),
        )

    def save_server_overrides(self, guild_id: int, overrides: ServerOverrides) -> None:
        """Replace a server's choices (an empty ServerOverrides goes back to the defaults)."""
        channels = overrides.allowed_channels
        flags = (overrides.mentions, overrides.threads, overrides.private)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO server_settings"
                " (guild_id, allowed_channels, lang, mentions, threads, private, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET"
                " allowed_channels = excluded.allowed_channels, lang = excluded.lang,"
                " mentions = excluded.mentions, threads = excluded.threads,"
                " private = excluded.private, updated_at = excluded.updated_at",
                (
                    guild_id,
                    None if channels is None else json.dumps(list(channels)),
                    overrides.lang,
                    *(None if f is None else int(f) for f in flags),
                    _ts_text(self._clock()),
                ),
            )

    def close(self) -> None:
        """Checkpoint and close the database (idempotent)."""
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                log.debug("PRAGMA optimize failed", exc_info=True)
            self._conn.close()
            self._conn = None


# --------------------------------------------------------------------------- maintenance


async def purge_daily(
    store: Store, days: int, stop: asyncio.Event, interval: float = DAY_SECONDS
) -> None:
    """Purge questions older than `days` now and then every `interval` seconds until stop."""
    while not stop.is_set():
        try:
            deleted = await asyncio.to_thread(store.purge, days)
        except Exception:
            log.exception("purging questions older than %d days failed", days)
        else:
            log.info("purged %d questions older than %d days", deleted, days)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue


# --------------------------------------------------------------------------- rendering


def _clip(text: str, limit: int = _MAX_RENDERED_QUESTION) -> str:
    """Shorten text to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def stats_sections(stats: Stats, lang: str = "es") -> tuple[tuple[str, str], ...]:
    """Return (title, body) pairs of the report, e.g. for Discord embed fields."""
    lang = lang_of_locale(lang, default="en")
    none = t("stats_none", lang)
    per_day = "\n".join(f"{d}  {a} / {b}" for d, a, b in stats.per_day) or none
    most = "\n".join(f"{i}. {_clip(q)} ({n})" for i, (q, n) in enumerate(stats.most_asked, 1))
    unans = "\n".join(f"{i}. {_clip(q)} ({n})" for i, (q, n) in enumerate(stats.unanswered, 1))
    votes = "\n".join(f"{p}  +{up} / -{down}" for p, up, down in stats.passage_votes)
    missing = "\n".join(f"• {_clip(q)} — {_clip(c, 160)}" for q, c in stats.comments)
    sections = (
        (t("stats_per_day", lang), per_day),
        (t("stats_most_asked", lang), most or none),
        (t("stats_unanswered", lang), unans or none),
        (t("stats_passage_votes", lang), votes or none),
    )
    if missing:  # what members said was missing, after a 👎
        sections += ((t("stats_missing", lang), missing),)
    return sections


def stats_headline(stats: Stats, lang: str = "es") -> str:
    """Return the one-line total: questions asked and the share answered."""
    lang = lang_of_locale(lang, default="en")
    line = t("stats_summary", lang, total=stats.total, share=stats.answered_share)
    if stats.private:
        line += " · " + t("stats_private", lang, n=stats.private)
    return line


def render_stats(stats: Stats, lang: str = "es") -> str:
    """Render stats as a plain-text report in Spanish (es*) or English."""
    lines = [
        t("stats_report_title", lang_of_locale(lang, default="en"), days=stats.days),
        stats_headline(stats, lang),
    ]
    for title, body in stats_sections(stats, lang):
        lines += ["", f"{title}:", *("  " + line for line in body.splitlines())]
    return "\n".join(lines) + "\n"
