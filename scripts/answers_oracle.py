"""Dump Engine.ask(q).to_dict() for fixed question sets, one JSON line each (an identity oracle).

Run before and after a change that must not change any answer, then `cmp` the two files:
    python scripts/answers_oracle.py OUT [--bench N]
Sets: squad-es (../shared/eval/squad-es), the bundled knowledge with the dev and eval/*.jsonl
questions, and N questions of the bench's 100k synthetic folder (seed 7).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"


def questions(path: Path) -> list[tuple[str, str]]:
    """Return the (question, lang) pairs of a JSONL question file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append((row.get("question") or row["q"], row.get("lang", "es")))
    return out


def dump(engine: Any, asked: list[tuple[str, str]], out: IO[str]) -> None:
    """Write each question's answer as one sorted-key JSON line."""
    for q, lang in asked:
        try:
            data = engine.ask(q, lang=lang).to_dict()
        except Exception as exc:  # an error is an outcome too
            data = {"question": q, "error": repr(exc)}
        out.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")


def main() -> int:
    """Dump the chosen sets' answers to OUT."""
    sys.path.insert(0, str(ROOT))
    from bot.core.answer import Engine

    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--bench", type=int, default=1000)
    parser.add_argument("--sets", default="squad,bundled,bench")
    args = parser.parse_args()
    sets = args.sets.split(",")
    with args.out.open("w", encoding="utf-8") as out:
        if "squad" in sets:
            engine = Engine.load(SHARED / "squad-es" / "knowledge")
            dump(engine, questions(SHARED / "squad-es" / "questions.jsonl"), out)
        if "bundled" in sets:
            engine = Engine.load(ROOT / "knowledge")
            files = [SHARED / "dev_questions.jsonl", *sorted((ROOT / "eval").glob("*.jsonl"))]
            for f in files:
                dump(engine, questions(f), out)
        if "bench" in sets:
            import numpy as np

            from bot.bench import make_questions, synthetic_folder

            engine = Engine.load(synthetic_folder(100_000, 7))
            texts = [p.text for p in engine.passages]
            asked = make_questions(texts, args.bench, np.random.default_rng([7, 100_000, 1]))
            dump(engine, [(q.text, "es") for q in asked], out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
