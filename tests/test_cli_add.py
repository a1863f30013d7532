"""`python -m bot add` as a user runs it: what it wrote, one line per refusal, exit codes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "data" / "ingest"
NEWS = FIXTURES / "noticia.html"

RunBot = Callable[..., subprocess.CompletedProcess[str]]


def test_add_shows_what_it_wrote(run_bot: RunBot, tmp_path: Path) -> None:
    folder = tmp_path / "k"
    result = run_bot("add", str(NEWS), "--dir", str(folder))
    assert result.returncode == 0, result.stderr
    written = folder / "microsoft-y-openai-renuevan-su-alianza-hasta-2032.md"
    assert written.exists()
    out = result.stdout
    assert f"added: {written}" in out
    assert "Microsoft y OpenAI renuevan su alianza hasta 2032" in out
    assert "28/10/2025" in out and "Diario Ficticio" in out and "paragraphs: 6" in out
    assert "first:      MADRID, 28 Oct." in out
    assert "last:       OpenAI, por su parte" in out
    check = run_bot("check", str(folder))
    assert check.returncode == 0 and "1 document(s)" in check.stdout


def test_add_dry_run_from_stdin_writes_nothing(run_bot: RunBot, tmp_path: Path) -> None:
    folder = tmp_path / "k"
    html = NEWS.read_text(encoding="utf-8")
    result = run_bot("add", "-", "--dry-run", "--dir", str(folder), stdin=html)
    assert result.returncode == 0, result.stderr
    assert "would add (dry run, nothing written)" in result.stdout
    assert not folder.exists()


def test_add_refusals_are_one_line_each_and_exit_1(run_bot: RunBot, tmp_path: Path) -> None:
    folder = tmp_path / "k"
    sources = [FIXTURES / n for n in ("english.html", "portada.html", "sin_fecha.html")]
    result = run_bot("add", *map(str, sources), "--dir", str(folder))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"error: {sources[0]}: ") and "English" in lines[0]
    assert "no article text" in lines[1]
    assert "--published" in lines[2]
    assert not folder.exists()


def test_add_published_override_must_be_a_date(run_bot: RunBot, tmp_path: Path) -> None:
    result = run_bot("add", str(NEWS), "--published", "ayer", "--dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --published 'ayer': not a date (YYYY-MM-DD)"


def test_add_keeps_going_after_a_refusal(run_bot: RunBot, tmp_path: Path) -> None:
    folder = tmp_path / "k"
    result = run_bot("add", str(NEWS), str(FIXTURES / "duplicado.html"), "--dir", str(folder))
    assert result.returncode == 1
    assert "added:" in result.stdout
    assert "near-identical text already present in microsoft-y-openai" in result.stderr
    assert len(list(folder.glob("*.md"))) == 1


def test_add_title_override_needs_a_single_source(run_bot: RunBot, tmp_path: Path) -> None:
    result = run_bot("add", str(NEWS), str(NEWS), "--title", "X", "--dir", str(tmp_path))
    assert result.returncode == 2 and "single SOURCE" in result.stderr
    assert list(tmp_path.iterdir()) == []
