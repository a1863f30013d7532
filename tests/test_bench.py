"""Benchmark smoke test: the table, the ratios and the correctness line (no timing asserts)."""

from __future__ import annotations

import pytest

from bot.bench import run_bench


def test_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_bench([2000], queries=20, ref_max=2000, seed=1) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.lstrip().startswith("2,000 ")]
    assert [row[1] for row in rows] == ["ours", "rank-bm25", "ratio"]
    assert rows[2][2].endswith("x")  # build ratio
    assert "(rank-bm25 / ours)" in out
    assert "correctness 2,000: top-10 ids and scores equal to rank-bm25 on 20/20 queries" in out
    assert "machine: nproc" in out
    assert "cold start" in out
