"""Static checks of what cannot be built here (no container engine): the PostgreSQL image's Dockerfile, its build
context, and that both scripts are POSIX sh a slim image runs."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess

import pytest

from harness import IMAGE_DIR, REPO_ROOT, SCRIPTS, image_env

BASHISMS = [
    r"\[\[", r"^\s*local ", r"^\s*function ", r"^\s*source ", r"<<<", r"\$\{[A-Za-z_]+//", r"\$'[^']*\\", r"pipefail",
]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for line in (IMAGE_DIR / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert current == "", "Dockerfile ends inside a continued line"
    return [(line.split(" ", 1)[0].upper(), line.split(" ", 1)[1].strip()) for line in logical]


def args_of(instruction: str) -> list[str]:
    return [args for instr, args in instructions() if instr == instruction]


def test_builds_on_the_postgres_image_herd_pins() -> None:
    settings = (REPO_ROOT / "components" / "postgres-settings.ts").read_text()
    pinned = re.search(r'^export const POSTGRES_IMAGE = "([^"]+)";$', settings, flags=re.MULTILINE)
    assert pinned, "POSTGRES_IMAGE not found in components/postgres-settings.ts"
    assert args_of("FROM") == [pinned.group(1)], "one stage, on exactly the image the component runs"


def test_installs_an_exact_pgbackrest_from_pgdg_and_leaves_no_apt_lists_or_config_file() -> None:
    (arg,) = [a for a in args_of("ARG") if a.startswith("PGBACKREST_VERSION=")]
    version = arg.split("=", 1)[1]
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?-\d+\.pgdg120\+\d+", version), f"not a PGDG bookworm build: {version}"
    (run,) = [a for a in args_of("RUN") if "apt-get install" in a]
    assert 'apt-get install -y --no-install-recommends "pgbackrest=${PGBACKREST_VERSION}"' in run
    assert "rm -rf /var/lib/apt/lists/*" in run, "apt lists removed in the same layer"
    assert "/etc/pgbackrest.conf" in run and re.search(r"/etc/pgbackrest(\s|$)", run), "environment-only configuration"
    assert "pgbackrest version" in run, "the build proves the binary runs"


def test_copies_both_scripts_executable_to_the_path() -> None:
    assert args_of("COPY") == ["--chmod=0755 herd-pg-backup herd-pg-restore /usr/local/bin/"]


def test_runs_as_the_official_images_postgres_user_and_keeps_its_entrypoint() -> None:
    steps = instructions()
    assert steps[-1] == ("USER", "999")
    assert not any(instr in ("ENTRYPOINT", "CMD") for instr, _ in steps), "docker-entrypoint.sh postgres stays"


def test_environment_defaults_suit_a_read_only_pod() -> None:
    env = image_env()
    assert env["PGBACKREST_STANZA"] == "herd"
    assert env["PGBACKREST_LOG_LEVEL_FILE"] == "off", "logs to the container log, not to the read-only root"
    assert env["PGBACKREST_LOCK_PATH"].startswith("/tmp/"), "locks on the /tmp emptyDir"
    assert env["PGBACKREST_REPO1_BUNDLE"] == "y"
    assert env["PGBACKREST_COMPRESS_TYPE"] == "zst"
    assert not any("KEY" in name or "SECRET" in name or "PASS" in name for name in env), "no credentials in the image"


def test_build_context_holds_only_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (IMAGE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(name: str) -> bool:
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            if fnmatch.fnmatch(name, pattern.lstrip("!")):
                result = not negate
        return result

    for script in SCRIPTS:
        assert (IMAGE_DIR / script).exists() and not ignored(script)
    for never in ("tests", "README.md", "pyproject.toml"):
        assert ignored(never), never


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_posix_sh_that_stop_on_errors(script: str) -> None:
    path = IMAGE_DIR / script
    text = path.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert re.search(r"^set -eu$", text, flags=re.MULTILINE)
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    for pattern in BASHISMS:
        assert not re.search(pattern, text, flags=re.MULTILINE), f"{script}: not POSIX sh: {pattern}"
    for shell in ("sh", "dash"):  # dash is Debian's /bin/sh, the image's
        binary = shutil.which(shell)
        if binary:
            parsed = subprocess.run([binary, "-n", str(path)], capture_output=True, text=True, timeout=30)
            assert parsed.returncode == 0, f"{shell} -n {script}: {parsed.stderr}"


def test_readme_documents_the_environment_contract_and_restore_steps() -> None:
    readme = (IMAGE_DIR / "README.md").read_text()
    for must in ("PGBACKREST_PG1_PATH", "PGBACKREST_REPO1_TYPE", "archive_timeout", "herd-pg-restore --target",
                 "herd-pg-backup full"):
        assert must in readme, must
