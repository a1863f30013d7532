"""Build an English ROUND-TRIP PROXY of squad-es: a fixed sample of its Spanish questions,
machine-translated to English with Apertium spa-eng.

    apt-get install apertium-en-es
    python scripts/build_english_proxy.py OUT_DIR [../shared/eval/squad-es/questions.jsonl]
    KNOWLEDGE_DIR=../shared/eval/squad-es/knowledge python -m bot eval OUT_DIR/en.jsonl
    KNOWLEDGE_DIR=../shared/eval/squad-es/knowledge python -m bot eval OUT_DIR/es.jsonl

squad-es's questions are themselves machine-translated from SQuAD's English (Carrino et al.,
LREC 2020), so the English here went English -> Spanish (their NMT) -> English (Apertium, rule
based): machine-translated both ways. It is NOT real users' English. It tells whether the
English path holds on articles nobody on this project wrote; it is not a target. Apertium's
unknown-word marks (*, @, #) are removed: a user types none.

Writes OUT_DIR/en.jsonl (the English proxy; `q_es` keeps the Spanish original) and
OUT_DIR/es.jsonl (the same questions as they are, to compare with), each with a header comment
line. The sample is fixed: every IN_STEP-th in-scope and every OOS_STEP-th out-of-scope question
in file order.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.translate import ProcessTranslator, apertium_pipeline  # noqa: E402

SOURCE = ROOT.parent / "shared" / "eval" / "squad-es" / "questions.jsonl"
IN_STEP = 3
OOS_STEP = 8
BATCH = 50
MARKS = re.compile(r"[*@#](?=\w)")


def sample(lines: list[str]) -> list[dict[str, object]]:
    """Return the fixed sample: every IN_STEP-th in-scope, every OOS_STEP-th out-of-scope case."""
    cases = [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]
    ins = [c for c in cases if c["kind"] == "in"][::IN_STEP]
    oos = [c for c in cases if c["kind"] != "in"][::OOS_STEP]
    return ins + oos


def main(argv: list[str]) -> int:
    """Write OUT_DIR/en.jsonl and OUT_DIR/es.jsonl."""
    if not argv:
        print(__doc__)
        return 2
    out_dir = Path(argv[0])
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    pipeline = apertium_pipeline("spa-eng")
    if pipeline is None:
        print("Apertium spa-eng not found: apt-get install apertium-en-es", file=sys.stderr)
        return 1
    translator = ProcessTranslator(["bash", "-c", pipeline, "apertium", "-g", ""], timeout=30)
    translator.warm_up()
    cases = sample(source.read_text(encoding="utf-8").splitlines())
    english: list[str] = []
    for start in range(0, len(cases), BATCH):
        texts = [str(c["q"]) for c in cases[start : start + BATCH]]
        out = translator.translate(texts)
        if out is None:
            print("Apertium failed", file=sys.stderr)
            return 1
        english += [" ".join(MARKS.sub("", t).split()) for t in out]
    translator.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    how = (
        f"1 in {IN_STEP} in-scope and 1 in {OOS_STEP} out-of-scope questions of {source.name}"
        " (squad-es)"
    )
    with (out_dir / "en.jsonl").open("w", encoding="utf-8") as en_file:
        en_file.write(
            f"# ROUND-TRIP PROXY, machine-translated both ways: {how}, translated to English by"
            " Apertium spa-eng (scripts/build_english_proxy.py). Not real users' English.\n"
        )
        for case, text in zip(cases, english, strict=True):
            row = {**case, "id": f"{case['id']}-en", "lang": "en", "q": text, "q_es": case["q"]}
            en_file.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (out_dir / "es.jsonl").open("w", encoding="utf-8") as es_file:
        es_file.write(f"# {how}, as they are (scripts/build_english_proxy.py).\n")
        for case in cases:
            es_file.write(json.dumps(case, ensure_ascii=False) + "\n")
    ins = sum(c["kind"] == "in" for c in cases)
    print(f"{len(cases)} questions ({ins} in scope, {len(cases) - ins} out of scope) in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
