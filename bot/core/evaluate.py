"""Score the engine on a question file (the format of the shared dev set)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.answer import Answer, Engine, QuotedPassage
from bot.core.errors import CoreError

KINDS = ("in", "oos", "oos-hard")
# Confidence thresholds the operating curve shows (the engine's own is added).
CURVE = frozenset(round(0.05 * i, 2) for i in range(1, 20))


@dataclass(frozen=True)
class Case:
    """One question of an eval file."""

    id: str
    lang: str
    kind: str
    q: str
    evidence: tuple[str, ...]
    where: str = "passages"
    document: str | None = None  # the id of the document that must answer (date questions)


@dataclass(frozen=True)
class Miss:
    """A case the engine got wrong, with what it returned."""

    case: Case
    reason: str
    got: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """One case as the decision saw it: its confidence, and whether the best passage was right."""

    in_scope: bool
    confidence: float
    right: bool  # the best passage (answered or only a candidate) holds the evidence


@dataclass(frozen=True)
class Point:
    """The figures had the engine answered at `threshold` (shares of in-scope / oos cases)."""

    threshold: float
    answered_right: float
    oos_declined: float
    false_abstentions: float


@dataclass
class Report:
    """Eval figures: hit@1, hit@3, abstention on out-of-scope, false abstentions, misses."""

    in_scope: int = 0
    hit1: int = 0
    hit3: int = 0
    out_of_scope: int = 0
    abstained: int = 0
    false_abstentions: int = 0
    misses: list[Miss] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    threshold: float = 0.5  # the engine's answer threshold (the chosen point)

    def point(self, threshold: float) -> Point:
        """Return the figures at a confidence threshold (answer when confidence >= it)."""
        ins = [o for o in self.outcomes if o.in_scope]
        oos = [o for o in self.outcomes if not o.in_scope]
        return Point(
            threshold,
            sum(o.right and o.confidence >= threshold for o in ins) / max(1, len(ins)),
            sum(o.confidence < threshold for o in oos) / max(1, len(oos)),
            sum(o.confidence < threshold for o in ins) / max(1, len(ins)),
        )

    def curve(self, thresholds: frozenset[float] = CURVE) -> list[Point]:
        """Return the operating curve, the engine's own threshold included."""
        return [self.point(t) for t in sorted({*thresholds, self.threshold})]

    def lines(self) -> list[str]:
        """Return the report as printable lines."""
        right = self.point(self.threshold).answered_right
        out = [
            f"hit@1              {self.hit1}/{self.in_scope}",
            f"hit@3              {self.hit3}/{self.in_scope}",
            f"abstained (oos)    {self.abstained}/{self.out_of_scope}",
            f"false abstentions  {self.false_abstentions}",
            f"answered-and-right {right:.1%} at threshold {self.threshold:g}",
            "operating curve (answer when confidence >= threshold):",
            "  threshold  answered-and-right  oos declined  false abstentions",
        ]
        for p in self.curve():
            mark = "  <- chosen (ANSWER_THRESHOLD)" if p.threshold == self.threshold else ""
            out.append(
                f"  {p.threshold:9.4g}  {p.answered_right:18.1%}  {p.oos_declined:12.1%}  "
                f"{p.false_abstentions:17.1%}{mark}"
            )
        for m in self.misses:
            got = " | ".join(m.got) if m.got else "(no passage)"
            out.append(f"MISS {m.case.id} [{m.case.kind}] {m.reason}: {m.case.q!r} -> {got}")
        return out


def load_cases(path: Path) -> list[Case]:
    """Read an eval file; raise CoreError naming the line of a malformed case."""
    cases = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CoreError(f"{path}: cannot read the eval file: {exc}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue  # a comment line says how a generated file was made
        try:
            raw = json.loads(line)
            case = Case(
                id=str(raw["id"]),
                lang=str(raw.get("lang", "es")),
                kind=str(raw["kind"]),
                q=str(raw["q"]),
                evidence=tuple(str(e) for e in raw.get("evidence", [])),
                where=str(raw.get("where", "passages")),
                document=str(raw["doc"]) if raw.get("doc") else None,
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise CoreError(f"{path}:{n}: malformed case: {exc}") from exc
        if case.kind not in KINDS:
            raise CoreError(f"{path}:{n}: kind must be one of {', '.join(KINDS)}")
        cases.append(case)
    return cases


def evaluate(engine: Engine, cases: Iterable[Case], k: int = 3) -> Report:
    """Ask every case and score the answers the way the shared eval README describes."""
    report = Report(threshold=engine.threshold)
    for case in engine.prepared(list(cases), lambda case: case.q):
        answer = engine.ask(case.q, lang=case.lang, k=k)
        texts = tuple(_key(case, p) for p in answer.passages)
        best = (answer.passages or answer.candidates)[:1]
        right = case.kind == "in" and bool(best) and _holds(case, answer, _key(case, best[0]))
        report.outcomes.append(Outcome(case.kind == "in", answer.confidence, right))
        if case.kind == "in":
            report.in_scope += 1
            _score_in(report, case, answer, texts)
        else:
            report.out_of_scope += 1
            if not answer.answered and not answer.passages:
                report.abstained += 1
            else:
                report.misses.append(Miss(case, "answered out-of-scope", texts[:1]))
    return report


def _score_in(report: Report, case: Case, answer: Answer, texts: tuple[str, ...]) -> None:
    if not answer.passages:
        report.false_abstentions += 1
        report.misses.append(Miss(case, "false abstention", ()))
        return

    def holds(text: str) -> bool:
        return _holds(case, answer, text)

    if holds(texts[0]):
        report.hit1 += 1
    if any(holds(t) for t in texts[:3]):
        report.hit3 += 1
        if not holds(texts[0]):
            report.misses.append(Miss(case, "not first", texts[:1]))
    else:
        report.misses.append(Miss(case, "evidence not in top 3", texts[:3]))


def _key(case: Case, passage: QuotedPassage) -> str:
    """Return what a case checks of a passage: its document id (date questions) or its text."""
    return passage.document_id if case.document else passage.text


def _holds(case: Case, answer: Answer, text: str) -> bool:
    """Tell whether a passage (or, when the case allows, the answer's metadata) has evidence."""
    if case.document:  # `text` is then the passage's document id
        return text == case.document
    meta = ""
    if case.where == "any":
        meta = " ".join(f"{c.source} {c.published} {c.title}" for c in answer.citations)
    return any(e in text or e in meta for e in case.evidence)
