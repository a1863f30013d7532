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

Writes OUT_DIR/en.jsonl (the English proxy; `q_es` keeps the Spanish original),
OUT_DIR/es.jsonl (the same questions as they are, to compare with) and OUT_DIR/en_es.jsonl (the
proxy translated back by Apertium eng-spa and asked as Spanish: what the translation alone
carries), each with a header comment line. The sample is fixed: every IN_STEP-th in-scope
and every OOS_STEP-th out-of-scope question in file order.
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


def _translate(pipeline: str | None, texts: list[str]) -> list[str] | None:
    """Translate texts in batches through an Apertium null-flush pipeline, marks removed."""
    if pipeline is None:
        return None
    translator = ProcessTranslator(["bash", "-c", pipeline, "apertium", "-g", ""], timeout=30)
    translator.warm_up()
    out: list[str] = []
    try:
        for start in range(0, len(texts), BATCH):
            done = translator.translate(texts[start : start + BATCH])
            if done is None:
                return None
            out += [" ".join(MARKS.sub("", t).split()) for t in done]
    finally:
        translator.close()
    return out


def main(argv: list[str]) -> int:
    """Write OUT_DIR/en.jsonl, es.jsonl and en_es.jsonl."""
    if not argv:
        print(__doc__)
        return 2
    out_dir = Path(argv[0])
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    pipeline = apertium_pipeline("spa-eng")
    if pipeline is None:
        print("Apertium spa-eng not found: apt-get install apertium-en-es", file=sys.stderr)
        return 1
    cases = sample(source.read_text(encoding="utf-8").splitlines())
    english = _translate(pipeline, [str(c["q"]) for c in cases])
    if english is None:
        print("Apertium spa-eng failed", file=sys.stderr)
        return 1
    back = _translate(apertium_pipeline("eng-spa"), english)
    if back is None:
        print("Apertium eng-spa failed", file=sys.stderr)
        return 1
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
    with (out_dir / "en_es.jsonl").open("w", encoding="utf-8") as back_file:
        back_file.write(
            "# The English proxy (en.jsonl) translated back to Spanish by Apertium eng-spa,"
            " asked as Spanish (scripts/build_english_proxy.py).\n"
        )
        for case, text in zip(cases, back, strict=True):
            row = {**case, "id": f"{case['id']}-en-es", "q": text}
            back_file.write(json.dumps(row, ensure_ascii=False) + "\n")
    ins = sum(c["kind"] == "in" for c in cases)
    print(f"{len(cases)} questions ({ins} in scope, {len(cases) - ins} out of scope) in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
