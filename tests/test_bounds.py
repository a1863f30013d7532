"""Loading has bounds: `python -m bot check` never hangs or balloons on a hostile folder.

Each case runs the real process with a timeout (a hang fails the test instead of blocking it)
and, where memory could grow, an address-space limit (a runaway read fails instead of eating
the machine).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_python

from bot.core.errors import KnowledgeError
from bot.core.glossary import load_glossary
from bot.core.text import Analyzer

MEMORY_LIMIT = 2 * 1024**3  # bytes of address space for the child


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


Check = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def check(cli_env: Callable[..., dict[str, str]]) -> Check:
    """Return `check(folder, **env)`: `python -m bot check FOLDER`, timed out, memory-limited."""

    def run(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
        return _check(folder, cli_env(**env))

    return run


def _check(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_python(
        ["-m", "bot", "check", str(folder)], cwd=folder.parent, env=env, preexec_fn=limit_memory
    )


def problems(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The `file:line: message` lines of a failed check (no traceback, one line each)."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line.removeprefix("error: ") for line in result.stderr.splitlines()]
    return [line for line in lines if not re.match(r"the knowledge folder has \d+ problems", line)]


@pytest.fixture
def folder(tmp_path: Path, make_knowledge: Callable[..., Path], make_doc) -> Path:
    """A valid knowledge folder with one document."""
    return make_knowledge(tmp_path, {"a.md": make_doc()})


# ---------------------------------------------------------------------- only regular files


def test_a_fifo_named_like_a_document_is_reported_not_read(folder: Path, check: Check) -> None:
    os.mkfifo(folder / "x.md")  # reading it would block until a writer comes: forever
    assert problems(check(folder)) == [
        f"{folder / 'x.md'}:1: a FIFO, not a regular file; only files are read"
    ]


def test_a_link_to_dev_zero_is_reported_not_read(folder: Path, check: Check) -> None:
    (folder / "zero.md").symlink_to("/dev/zero")  # endless zeros: memory would grow forever
    (line,) = problems(check(folder))
    assert line.startswith(f"{folder / 'zero.md'}:1: a character device")


def test_a_folder_named_like_a_document_is_reported(folder: Path, check: Check) -> None:
    (folder / "dir.md").mkdir()
    (line,) = problems(check(folder))
    assert line.startswith(f"{folder / 'dir.md'}:1: a folder")


def test_a_fifo_glossary_or_template_is_reported_not_read(folder: Path, check: Check) -> None:
    os.mkfifo(folder / "glossary.yaml")
    (folder / "templates").mkdir()
    os.mkfifo(folder / "templates" / "summary.es.txt")
    found = problems(check(folder))
    assert f"{folder / 'glossary.yaml'}:1: a FIFO, not a regular file; only files are read" in found
    assert any(p.startswith(f"{folder / 'templates' / 'summary.es.txt'}:1: a FIFO") for p in found)


def test_a_document_over_the_size_limit_is_reported(folder: Path, make_doc, check: Check) -> None:
    paragraph = "Un párrafo de relleno sobre el acuerdo y sus cláusulas. " * 20
    big = make_doc(title="Grande", body="\n\n".join([paragraph] * 1200))  # ~1.4 MB
    (folder / "big.md").write_text(big, encoding="utf-8")
    assert len(big.encode()) > 1024 * 1024
    (line,) = problems(check(folder, MAX_DOCUMENT_MB="1"))
    assert line == (
        f"{folder / 'big.md'}:1: larger than 1 MB (the MAX_DOCUMENT_MB limit); "
        "split it into several documents"
    )
    ok = check(folder, MAX_DOCUMENT_MB="2")
    assert ok.returncode == 0 and "2 document(s)" in ok.stdout, ok.stderr


def test_max_document_mb_must_be_a_positive_number(folder: Path, check: Check) -> None:
    result = check(folder, MAX_DOCUMENT_MB="0")
    assert result.returncode == 2
    assert result.stderr.startswith("error: setting MAX_DOCUMENT_MB:"), result.stderr


# ---------------------------------------------------------------------- bounded YAML

# 10 lines, 9 levels of aliases: expanding it builds 10**9 list items (minutes of CPU, then
# the memory limit); refused at the first alias instead.
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)
LAUGHS += "en:\n  bomb: *i\n"


def test_a_glossary_alias_bomb_is_refused_at_the_first_alias(folder: Path, check: Check) -> None:
    (folder / "glossary.yaml").write_text(LAUGHS, encoding="utf-8")
    (line,) = problems(check(folder))
    assert re.match(rf"^{re.escape(str(folder / 'glossary.yaml'))}:2: invalid YAML: ", line)
    assert "aliases (*a) are not allowed" in line


def test_deeply_nested_glossary_is_refused_without_recursion_error(
    folder: Path, check: Check
) -> None:
    (folder / "glossary.yaml").write_text("en: " + "[" * 997 + "]" * 997 + "\n", "utf-8")
    (line,) = problems(check(folder))
    assert "nested deeper than 20 levels" in line and "RecursionError" not in line
    assert line.startswith(f"{folder / 'glossary.yaml'}:1: invalid YAML")


def test_front_matter_aliases_are_refused_too(folder: Path, make_doc, check: Check) -> None:
    doc = make_doc(title="Alias", extra="x: &x [1, 2]\ny: *x\n")
    (folder / "alias.md").write_text(doc, encoding="utf-8")
    (line,) = problems(check(folder))
    assert re.match(rf"^{re.escape(str(folder / 'alias.md'))}:\d+: invalid YAML: aliases", line)


def test_unknown_glossary_sections_are_reported_not_ignored(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text("version: 1\nen:\n  winery: [bodega]\nesp:\n  bodega: [vino]\n", "utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_glossary(path, Analyzer("spanish"), Analyzer("english"))
    assert info.value.problems == (
        f"{path}:4: unknown section 'esp' (known: version, en, es, framing, keep, metadata)",
    )


def test_the_bundled_glossary_passes_the_bounds(knowledge_dir: Path) -> None:
    glossary = load_glossary(
        knowledge_dir / "glossary.yaml", Analyzer("spanish"), Analyzer("english")
    )
    assert glossary.size > 50
